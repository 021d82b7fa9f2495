"""Notebook 04's measurements: waiting for the network, for events, and for the GIL.

Everything here waits rather than computes, and every wait is bounded:

``describe_scrape``        words for serial / threads / asyncio / processes fetching pages
``PoolSizeLab``            a widget: throughput (requests/s) against the number of threads
``load_test``              K client threads against a :class:`LatencyServer`: throughput, p50, p95
``cpu_while_waiting``      CPU time used by threads blocked on an Event or a queue (or spinning)
``tasks_vs_threads``       start time and memory of N waiting asyncio tasks versus N threads
``convoy``                 round-trip time of an I/O thread while CPU-bound threads run
``pool_cost``              start-up time and memory of a thread pool versus a process pool
``check_fetch_all``        exercise 1's self-check (a semaphore-bounded asyncio client)
``check_fetch_within``     exercise 2's self-check (a thread pool that meets a deadline)

The clients are :func:`helpers.core.latency_server.fetch` (blocking, ``urllib``) and
:func:`helpers.core.latency_server.fetch_async` (asyncio streams), both standard library.
"""
from __future__ import annotations

import asyncio
import html
import inspect
import math
import queue
import socket
import statistics
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import ipywidgets as widgets
import matplotlib.pyplot as plt
import psutil
from matplotlib.figure import Figure

from helpers.core.arguments import require_choice, require_float, require_int
from helpers.core.colours import OKABE_ITO, ORANGE, REFERENCE_GREY, SKY_BLUE, VERMILLION
from helpers.core.controls import RunPanel, bounded_slider
from helpers.core.executors import open_executor, resolve_start_method
from helpers.core.experiments import sweep_workers
from helpers.core.latency_server import MODES, LatencyServer, fetch
from helpers.core.memory import total_memory
from helpers.core.plots import IDEAL_STYLE, colour_for, finish_figure
from helpers.core.runner import RunResult
from helpers.core.selfcheck import CheckResult, first_problem, not_yet
from helpers.core.settings import default
from helpers.core.words import FASTER, plural, speedup_phrase
from helpers.core.workloads import count_up

MAX_CLIENTS = 64
MAX_WAITERS = 5_000
MAX_ROUND_TRIPS = 2_000
MAX_CPU_THREADS = 4
MODE_COLOURS = {"single": VERMILLION, "threading": ORANGE, "asyncio": SKY_BLUE}
JOIN_TIMEOUT = 10.0


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) by the nearest-rank method."""
    ranked = sorted(values)
    return ranked[max(0, math.ceil(q / 100 * len(ranked)) - 1)]


# --- 1 · scraping ---------------------------------------------------------------------------

def ideal_wall(requests: int, workers: int, latency_s: float) -> float:
    """The shortest possible time: rounds of ``workers`` requests, each round one latency."""
    require_int("requests", requests, 1, 100_000)
    require_int("workers", workers, 1, 100_000)
    require_float("latency_s", latency_s, 0, 100)
    return math.ceil(requests / workers) * latency_s


def describe_scrape(runs: Mapping[str, RunResult], latency_s: float) -> str:
    """Markdown lines: each executor's time, speedup over the first run, CPU time, ideal."""
    if not runs:
        raise ValueError("runs must hold at least one RunResult")
    base_name, base = next(iter(runs.items()))
    lines = [f"- **{base_name}**: {base.wall:.2f} s for {base.tasks} pages "
             f"({base.wall / base.tasks * 1000:.0f} ms a page; the server waits "
             f"{latency_s * 1000:.0f} ms), CPU time {base.cpu:.2f} s."]
    for name, run in list(runs.items())[1:]:
        ideal = ideal_wall(run.tasks, run.workers, latency_s)
        lines.append(f"- **{name}** ({plural(run.workers, 'worker')}): {run.wall:.2f} s, "
                     f"{speedup_phrase(base.wall / run.wall, base_name)}; CPU time "
                     f"{run.cpu:.2f} s; the ideal with {run.workers} at a time is {ideal:.2f} s.")
    busy = max(run.utilisation for run in runs.values())
    lines.append(f"- Waiting needs no CPU: at most {busy:.2f} CPUs were busy on average, so "
                 "the time went to waiting, and waits overlap whatever the number of CPUs.")
    return "\n".join(lines)


def asyncio_run_error(coroutine_function: Callable, argument: object) -> str | None:
    """Try ``asyncio.run(coroutine_function(argument))``; return the error text, or None.

    Inside Jupyter the kernel's own event loop is already running this cell, and
    ``asyncio.run`` refuses to start a second loop in the same thread.
    """
    coroutine = coroutine_function(argument)
    try:
        asyncio.run(coroutine)
    except RuntimeError as error:
        return f"RuntimeError: {error}"
    finally:
        coroutine.close()  # never started: close it, so no "never awaited" warning
    return None


# --- 2 · pool size --------------------------------------------------------------------------

@dataclass
class Throughput:
    """A sweep of thread-pool sizes over the same requests."""

    latency_s: float
    requests: int
    mode: str
    runs: dict[int, RunResult]

    def rate(self, workers: int) -> float:
        """Requests per second measured with ``workers`` threads."""
        return self.requests / self.runs[workers].wall

    def ideal(self, workers: int) -> float:
        """Requests per second if ``workers`` requests always wait together:
        ``min(workers, requests) ÷ latency``."""
        return min(workers, self.requests) / self.latency_s


def measure_throughput(workers: Sequence[int], latency_ms: float = 50, requests: int = 16,
                       mode: str = "threading", on_result: Callable | None = None,
                       on_progress: Callable | None = None) -> Throughput:
    """Fetch ``requests`` pages with a thread pool of each size in ``workers``."""
    require_float("latency_ms", latency_ms, 1, 2000)
    require_int("requests", requests, 1, 256)
    require_choice("mode", mode, MODES)
    if not workers:
        raise ValueError("workers must list at least one pool size")
    with LatencyServer(latency_ms=latency_ms, mode=mode) as server:
        urls = server.urls(requests)
        runs = sweep_workers(fetch, "threads", list(workers), arguments=urls, repeats=1,
                             on_result=on_result, on_progress=on_progress, timeout=120)
    return Throughput(latency_ms / 1000, requests, mode, runs)


def describe_throughput(result: Throughput) -> str:
    """Where the measured throughput leaves the ideal line, and why."""
    counts = sorted(result.runs)
    best = max(counts, key=result.rate)
    text = (f"Best: {result.rate(best):.0f} requests/s with {plural(best, 'thread')} "
            f"(1 thread: {result.rate(1):.0f}/s). ")
    bend = next((w for w in counts if result.rate(w) < 0.7 * result.ideal(w)), None)
    if bend is None:
        text += "Every pool size stayed within 70 % of the ideal."
    elif result.mode == "single":
        text += (f"From {plural(bend, 'thread')} on, throughput stays near "
                 f"{1 / result.latency_s:.0f}/s: this server answers one request at a time, "
                 "so the server is the limit, not the client.")
    elif bend > result.requests:
        text += (f"It falls below 70 % of the ideal only at {plural(bend, 'thread')}, more "
                 "threads than requests: starting threads that get nothing to do costs time.")
    else:
        text += (f"It falls below 70 % of the ideal at {plural(bend, 'thread')}: starting "
                 "threads and sharing the CPUs start to cost as much as the waits they overlap.")
    if max(counts) > result.requests:
        text += (f" The ideal itself flattens at {result.requests} threads, the number of "
                 "requests: beyond it the extra threads have nothing to wait for.")
    return text


def plot_throughput(result: Throughput) -> Figure:
    """Requests per second against threads, with the ideal ``min(threads, requests) ÷ latency``."""
    counts = sorted(result.runs)
    fig, ax = plt.subplots(figsize=(6, 3.8))
    span = range(1, max(counts) + 1)
    ax.plot(list(span), [result.ideal(w) for w in span],
            label="ideal: min(threads, requests) ÷ latency", **IDEAL_STYLE)
    if result.mode == "single":
        ax.axhline(1 / result.latency_s, color=REFERENCE_GREY, linestyle=":", linewidth=1,
                   label="one request at a time: 1 ÷ latency")
    ax.plot(counts, [result.rate(w) for w in counts], marker="o", color=colour_for("threads"),
            label=f"measured ({result.mode} server)")
    ax.set_xscale("log", base=2)
    ax.set_xticks(counts, [str(c) for c in counts])
    ax.set_xlabel("threads in the pool")
    ax.set_ylabel("throughput (requests/s)")
    ax.set_title(f"{result.requests} requests, {result.latency_s * 1000:.0f} ms latency each")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    return finish_figure(fig)


class PoolSizeLab(RunPanel):
    """Choose a latency, a server mode and the largest pool; press Run; see the throughput.

    The plot follows the sweep, one pool size after another (redrawn at most once a second).
    """

    def __init__(self, latency_ms: int = 50, requests: int | None = None,
                 max_threads: int | None = None) -> None:
        requests = int(default(32, 16)) if requests is None else requests
        latency_ms = require_int("latency_ms", latency_ms, 10, 200)
        self.latency = bounded_slider("latency (ms)", latency_ms, 10, 200, 10)
        self.requests = bounded_slider("requests", require_int("requests", requests, 4, 64),
                                       4, 64, 4)
        most = int(default(64, 32)) if max_threads is None else max_threads
        self.max_threads = widgets.Dropdown(options=[4, 8, 16, 32, 64],
                                            value=require_choice("max_threads", most,
                                                                 [4, 8, 16, 32, 64]),
                                            description="up to threads")
        self.mode = widgets.Dropdown(options=list(MODES), value="threading",
                                     description="server")
        self.result: Throughput | None = None
        super().__init__([self.latency, self.requests, self.max_threads, self.mode])

    def run(self) -> Throughput | None:
        """Sweep the pool sizes 1, 2, 4, … up to the chosen largest."""
        counts = [w for w in (1, 2, 4, 8, 16, 32, 64) if w <= self.max_threads.value]
        latency, requests, mode = self.latency.value, self.requests.value, self.mode.value

        def partial(runs: dict[int, RunResult]) -> Figure:
            return plot_throughput(Throughput(latency / 1000, requests, mode, dict(runs)))

        result = self.guarded(lambda on_progress: measure_throughput(
            counts, latency, requests, mode, on_result=self.live(partial),
            on_progress=on_progress))
        if result is not None:
            self.result = result
            self.words.value = html.escape(describe_throughput(result))
        return result


# --- 3 · a server under simultaneous requests -------------------------------------------

@dataclass
class LoadResult:
    """``clients`` threads, each sending requests one after another to one server."""

    mode: str
    clients: int
    latency_s: float
    wall: float
    latencies: list[float] = field(default_factory=list)  # seconds, one per request

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        """Requests answered per second."""
        return self.requests / self.wall

    @property
    def p50(self) -> float:
        return percentile(self.latencies, 50)

    @property
    def p95(self) -> float:
        return percentile(self.latencies, 95)


def _client(urls: list[str]) -> list[float]:
    """One client: fetch ``urls`` one after another; the time each took (s)."""
    times = []
    for url in urls:
        start = time.perf_counter()
        fetch(url, timeout=30)
        times.append(time.perf_counter() - start)
    return times


def load_test(server: LatencyServer, clients: int, requests_per_client: int = 3,
              timeout: float = 60.0) -> LoadResult:
    """Start ``clients`` threads at once, each sending ``requests_per_client`` requests."""
    require_int("clients", clients, 1, MAX_CLIENTS)
    require_int("requests_per_client", requests_per_client, 1, 100)
    timeout = require_float("timeout", timeout, 0.1, 600)
    urls = server.urls(requests_per_client)
    with ThreadPoolExecutor(clients) as pool:
        start = time.perf_counter()
        futures = [pool.submit(_client, urls) for _ in range(clients)]
        done, pending = wait(futures, timeout=timeout)
        wall = time.perf_counter() - start
        if pending:
            raise TimeoutError(f"{len(pending)} clients still waiting after {timeout} s")
    latencies = [t for future in futures for t in future.result()]
    return LoadResult(server.mode, clients, server.latency_ms / 1000, wall, latencies)


def measure_server_modes(clients: Sequence[int], modes: Sequence[str] = MODES,
                         latency_ms: float = 50, requests_per_client: int | None = None,
                         on_progress: Callable | None = None) -> dict[str, list[LoadResult]]:
    """:func:`load_test` for each server mode and each number of clients
    (``requests_per_client``: 3, or 2 in quick mode)."""
    requests_per_client = int(default(3, 2)) if requests_per_client is None else (
        requests_per_client)
    for count in clients:
        require_int("clients", count, 1, MAX_CLIENTS)
    results: dict[str, list[LoadResult]] = {}
    steps, done = len(modes) * len(clients), 0
    for mode in modes:
        with LatencyServer(latency_ms=latency_ms, mode=require_choice("mode", mode, MODES)) as s:
            results[mode] = []
            for count in clients:
                results[mode].append(load_test(s, count, requests_per_client))
                done += 1
                if on_progress is not None:
                    on_progress(done, steps)
    return results


def describe_load(results: Mapping[str, list[LoadResult]]) -> str:
    """Markdown: each mode at the most clients, and the gap between the best and worst."""
    lines = []
    for mode, runs in results.items():
        last = runs[-1]
        lines.append(f"- **{mode}** with {plural(last.clients, 'client')}: "
                     f"{last.throughput:.0f} requests/s, p50 {last.p50 * 1000:.0f} ms, "
                     f"p95 {last.p95 * 1000:.0f} ms (latency {last.latency_s * 1000:.0f} ms).")
    last_runs = {mode: runs[-1] for mode, runs in results.items()}
    best = max(last_runs, key=lambda m: last_runs[m].throughput)
    worst = min(last_runs, key=lambda m: last_runs[m].throughput)
    gain = last_runs[best].throughput / last_runs[worst].throughput
    if gain >= FASTER:
        lines.append(f"- **{best}** answered {gain:.1f}× as many requests per second as "
                     f"**{worst}**: a server that waits for one request at a time makes every "
                     "other client queue, and the queue shows up in the p95.")
    else:
        lines.append("- All modes served about the same rate here: with this few clients "
                     "nobody had to queue.")
    return "\n".join(lines)


def plot_load(results: Mapping[str, list[LoadResult]]) -> Figure:
    """Throughput and p50/p95 response time against the number of clients, per mode."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for i, (mode, runs) in enumerate(results.items()):
        colour = MODE_COLOURS.get(mode, OKABE_ITO[i % len(OKABE_ITO)])
        counts = [r.clients for r in runs]
        left.plot(counts, [r.throughput for r in runs], marker="o", color=colour, label=mode)
        right.plot(counts, [r.p95 * 1000 for r in runs], marker="o", color=colour,
                   label=f"{mode} p95")
        right.plot(counts, [r.p50 * 1000 for r in runs], marker="x", linestyle=":",
                   color=colour, label=f"{mode} p50")
    for ax in (left, right):
        ax.set_xlabel("clients sending at the same time")
        ax.set_xticks(counts)
        ax.set_ylim(bottom=0)
    left.set_ylabel("throughput (requests/s)")
    left.set_title("Requests answered per second")
    right.set_ylabel("response time (ms)")
    right.set_title("Response time: median (p50) and p95")
    left.legend(fontsize=8)
    right.legend(fontsize=7, ncol=2)
    return finish_figure(fig)


# --- 4 · waiting for events -----------------------------------------------------------------

@dataclass(frozen=True)
class WaitResult:
    """CPU time this process used while ``threads`` threads waited ``wall`` seconds."""

    how: str
    threads: int
    wall: float
    cpu: float

    @property
    def cpus_busy(self) -> float:
        return self.cpu / self.wall if self.wall > 0 else 0.0


WAYS_TO_WAIT = ("event", "queue", "spin")


def _spin(flag: threading.Event, deadline: float) -> None:
    """Busy-wait: check the flag again and again (what *not* to do)."""
    while not flag.is_set() and time.monotonic() < deadline:
        pass


def describe_waits(results: Sequence[WaitResult]) -> str:
    """One Markdown line per way of waiting: threads, seconds, CPU seconds, CPUs busy."""
    return "\n".join(
        f"- **{r.how}**: {plural(r.threads, 'thread')} waited {r.wall:.2f} s; the whole "
        f"process used {r.cpu * 1000:.1f} ms of CPU ({r.cpus_busy:.3f} CPUs busy)."
        for r in results)


def cpu_while_waiting(threads: int = 100, seconds: float = 0.5, how: str = "event"
                      ) -> WaitResult:
    """Start ``threads`` threads that wait (``event``: ``Event.wait``; ``queue``:
    ``Queue.get``; ``spin``: a busy loop), then measure this process's CPU time over
    ``seconds`` of waiting. Every thread has a time limit and is joined."""
    require_int("threads", threads, 1, MAX_WAITERS)
    seconds = require_float("seconds", seconds, 0.01, 30)
    require_choice("how", how, WAYS_TO_WAIT)
    flag, inbox = threading.Event(), queue.Queue()
    limit = time.monotonic() + seconds + JOIN_TIMEOUT
    target = {"event": lambda: flag.wait(seconds + JOIN_TIMEOUT),
              "queue": lambda: inbox.get(timeout=seconds + JOIN_TIMEOUT),
              "spin": lambda: _spin(flag, limit)}[how]
    workers = [threading.Thread(target=target, daemon=True) for _ in range(threads)]
    try:
        for worker in workers:
            worker.start()
        cpu, start = time.process_time(), time.perf_counter()
        time.sleep(seconds)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - start
    finally:
        flag.set()
        for _ in workers:
            inbox.put(None)
        for worker in workers:
            worker.join(JOIN_TIMEOUT)
    return WaitResult(how, threads, wall, cpu)


@dataclass(frozen=True)
class WaitersCost:
    """Starting ``count`` waiters of one ``kind``: time, and memory while all wait."""

    kind: str
    count: int
    seconds: float
    rss_bytes: int  # growth of this process's resident memory
    traced_bytes: int  # Python allocations (tracemalloc)

    def per_item(self) -> dict[str, float]:
        return {"µs each": self.seconds / self.count * 1e6,
                "RSS KiB each": self.rss_bytes / self.count / 1024,
                "Python KiB each": self.traced_bytes / self.count / 1024}


def _rss() -> int:
    return psutil.Process().memory_info().rss


def _start_threads(count: int) -> WaitersCost:
    flag = threading.Event()
    rss = _rss()
    tracemalloc.start()
    start = time.perf_counter()
    workers = [threading.Thread(target=flag.wait, args=(JOIN_TIMEOUT,), daemon=True)
               for _ in range(count)]
    try:
        for worker in workers:
            worker.start()
        seconds = time.perf_counter() - start
        traced, grown = tracemalloc.get_traced_memory()[0], _rss() - rss
    finally:
        tracemalloc.stop()
        flag.set()
        for worker in workers:
            worker.join(JOIN_TIMEOUT)
    return WaitersCost("threads", count, seconds, grown, traced)


async def _start_tasks(count: int) -> WaitersCost:
    flag = asyncio.Event()
    rss = _rss()
    tracemalloc.start()
    start = time.perf_counter()
    try:
        tasks = [asyncio.ensure_future(asyncio.wait_for(flag.wait(), JOIN_TIMEOUT))
                 for _ in range(count)]
        await asyncio.sleep(0)  # let every task run up to its wait
        seconds = time.perf_counter() - start
        traced, grown = tracemalloc.get_traced_memory()[0], _rss() - rss
    finally:
        tracemalloc.stop()
    flag.set()
    await asyncio.wait_for(asyncio.gather(*tasks), JOIN_TIMEOUT)
    return WaitersCost("asyncio tasks", count, seconds, grown, traced)


def _in_new_loop(coroutine) -> object:
    """Run ``coroutine`` with ``asyncio.run`` in a helper thread (Jupyter's loop is busy)."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coroutine)
        except BaseException as error:  # hand it to the caller
            box["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(2 * JOIN_TIMEOUT)
    if thread.is_alive():
        raise TimeoutError("the event loop did not finish in time")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]


def tasks_vs_threads(count: int) -> dict[str, WaitersCost]:
    """Start ``count`` waiting threads, then ``count`` waiting asyncio tasks; measure both."""
    require_int("count", count, 1, MAX_WAITERS)
    return {"threads": _start_threads(count),
            "asyncio tasks": _in_new_loop(_start_tasks(count))}  # type: ignore[dict-item]


def describe_tasks_vs_threads(costs: Mapping[str, WaitersCost]) -> str:
    """Per kind: start time and memory growth; then how many times a thread costs a task."""
    threads, tasks = costs["threads"], costs["asyncio tasks"]
    lines = [f"- **{c.kind}**: {c.count} started in {c.seconds * 1000:.1f} ms "
             f"({c.seconds / c.count * 1e6:.1f} µs each); resident memory grew "
             f"{c.rss_bytes / 2**20:.1f} MiB, Python objects {c.traced_bytes / 2**20:.2f} MiB."
             for c in (threads, tasks)]
    time_ratio = threads.seconds / max(tasks.seconds, 1e-9)
    memory_ratio = threads.rss_bytes / max(tasks.rss_bytes, 1)
    lines.append(f"- A task started {time_ratio:.0f}× as fast as a thread here, and the "
                 f"threads took {memory_ratio:.0f}× the resident memory"
                 + (" (a thread has its own stack; a task is one Python object)."
                    if memory_ratio > 1.5 else
                    " (memory grows by whole pages, so small counts are noisy)."))
    return "\n".join(lines)


# --- 5 · the convoy effect ------------------------------------------------------------------

@dataclass(frozen=True)
class ConvoyResult:
    """Round trips of one I/O thread while ``cpu_threads`` CPU-bound threads ran."""

    cpu_threads: int
    switch_interval: float  # seconds
    round_trips: list[float]  # seconds each

    @property
    def median(self) -> float:
        return statistics.median(self.round_trips)


ECHO_DELAY = 0.001  # seconds the echo thread takes to answer, like a fast device


def _echo(sock: socket.socket) -> None:
    """Send back every byte, ``ECHO_DELAY`` s later, until the other end closes."""
    with sock:
        while data := sock.recv(64):
            time.sleep(ECHO_DELAY)
            sock.sendall(data)


def _burn(stop: threading.Event) -> None:
    """Pure-Python counting (holds the GIL) until ``stop`` is set."""
    while not stop.is_set():
        count_up(20_000)


def convoy(cpu_threads: int, switch_interval: float | None = None,
           round_trips: int | None = None) -> ConvoyResult:
    """Time ``round_trips`` one-byte echoes over a local socket pair (an echo thread
    answers after ``ECHO_DELAY`` s, like a fast device) while ``cpu_threads`` threads
    count in pure Python.

    ``switch_interval`` (seconds) is set with :func:`sys.setswitchinterval` for the
    measurement and always restored afterwards.
    """
    require_int("cpu_threads", cpu_threads, 0, MAX_CPU_THREADS)
    trips = require_int("round_trips", int(default(100, 15)) if round_trips is None
                        else round_trips, 1, MAX_ROUND_TRIPS)
    original = sys.getswitchinterval()
    interval = original if switch_interval is None else require_float(
        "switch_interval", switch_interval, 1e-5, 0.1)
    stop = threading.Event()
    mine, theirs = socket.socketpair()
    mine.settimeout(JOIN_TIMEOUT)
    threads = [threading.Thread(target=_echo, args=(theirs,), daemon=True)]
    threads += [threading.Thread(target=_burn, args=(stop,), daemon=True)
                for _ in range(cpu_threads)]
    times = []
    try:
        sys.setswitchinterval(interval)
        for thread in threads:
            thread.start()
        time.sleep(0.05)  # let the CPU threads get going
        for _ in range(trips):
            start = time.perf_counter()
            mine.sendall(b"x")
            mine.recv(1)
            times.append(time.perf_counter() - start)
    finally:
        sys.setswitchinterval(original)
        stop.set()
        mine.close()
        for thread in threads:
            thread.join(JOIN_TIMEOUT)
    return ConvoyResult(cpu_threads, interval, times)


def measure_convoy(cpu_threads: Sequence[int] = (0, 1, 2),
                   switch_intervals: Sequence[float] = (0.005, 0.001),
                   round_trips: int | None = None) -> list[ConvoyResult]:
    """:func:`convoy` for every combination (the switch interval is restored after each)."""
    return [convoy(n, s, round_trips) for s in switch_intervals for n in cpu_threads]


def describe_convoy(results: Sequence[ConvoyResult]) -> str:
    lines = []
    for interval in dict.fromkeys(r.switch_interval for r in results):
        runs = {r.cpu_threads: r.median for r in results if r.switch_interval == interval}
        alone = runs.get(0)
        parts = [f"{plural(n, 'CPU thread')}: {m * 1000:.2f} ms"
                 + (f" ({m / alone:.1f}× slower)" if alone and n and m / alone >= FASTER
                    else "") for n, m in sorted(runs.items())]
        lines.append(f"- switch interval **{interval * 1000:g} ms** — median round trip with "
                     + "; ".join(parts) + ".")
    busiest = max(r.cpu_threads for r in results)
    slow = [r for r in results if r.cpu_threads == busiest]
    if busiest and len(slow) > 1:
        fast = min(slow, key=lambda r: r.switch_interval)
        long = max(slow, key=lambda r: r.switch_interval)
        ratio = long.median / fast.median
        lines.append(f"- With {plural(busiest, 'CPU thread')}, the {fast.switch_interval * 1000:g}"
                     f" ms interval made round trips "
                     + (f"{ratio:.1f}× faster than" if ratio >= FASTER else
                        f"about as fast as ({ratio:.2f}×)")
                     + f" the {long.switch_interval * 1000:g} ms one.")
    alone = [r.median for r in results if r.cpu_threads == 0]
    busy = [r.median for r in results if r.cpu_threads > 0]
    if alone and busy and max(busy) < FASTER * max(alone):
        lines.append("- No convoy showed here: CPU-bound threads did not slow the I/O thread "
                     "down (is the GIL off in this Python?).")
    return "\n".join(lines)


def plot_convoy(results: Sequence[ConvoyResult]) -> Figure:
    """Median round trip (ms, log scale) against CPU-bound threads, one line per interval."""
    fig, ax = plt.subplots(figsize=(6, 3.8))
    intervals = list(dict.fromkeys(r.switch_interval for r in results))
    for i, interval in enumerate(intervals):
        runs = sorted((r for r in results if r.switch_interval == interval),
                      key=lambda r: r.cpu_threads)
        ax.plot([r.cpu_threads for r in runs], [r.median * 1000 for r in runs], marker="o",
                color=OKABE_ITO[i % len(OKABE_ITO)],
                label=f"switch interval {interval * 1000:g} ms")
    ax.set_yscale("log")
    ax.set_xticks(sorted({r.cpu_threads for r in results}))
    ax.set_xlabel("CPU-bound threads running")
    ax.set_ylabel("median round trip (ms, log scale)")
    ax.set_title("An I/O thread waits for the GIL: the convoy effect")
    ax.legend(fontsize=8)
    return finish_figure(fig)


# --- 6 · processes for I/O: the cost ------------------------------------------------------

@dataclass(frozen=True)
class PoolCost:
    """One pool of ``workers`` fetching pages, from creation to shutdown."""

    kind: str
    workers: int
    seconds: float  # create the pool, fetch every page, shut it down
    memory_bytes: int  # extra memory: new processes' unique memory, or this process's growth


def pool_cost(kind: str, workers: int, urls: Sequence[str],
              start_method: str | None = None) -> PoolCost:
    """Create a ``kind`` (threads or processes) pool, fetch ``urls``, measure it all."""
    require_choice("kind", kind, ("threads", "processes"))
    require_int("workers", workers, 1, 64)
    if not urls:
        raise ValueError("urls must hold at least one URL")
    method = resolve_start_method(start_method)
    rss = _rss()
    start = time.perf_counter()
    with open_executor(kind, workers, method) as pool:
        futures = [pool.submit(fetch, url) for url in urls]
        for future in futures:
            future.result(timeout=60)
        memory = (total_memory(list(getattr(pool, "_processes", None) or {})).unique
                  if kind == "processes" else max(_rss() - rss, 0))
    return PoolCost(kind, workers, time.perf_counter() - start, memory)


def describe_pool_costs(threads: PoolCost, processes: PoolCost) -> str:
    ratio = processes.seconds / threads.seconds
    return (f"- **threads**: {threads.seconds:.2f} s from creating the pool to the last page, "
            f"{threads.memory_bytes / 2**20:.1f} MiB extra memory.\n"
            f"- **processes**: {processes.seconds:.2f} s "
            f"({speedup_phrase(1 / ratio, 'threads')}), "
            f"{processes.memory_bytes / 2**20:.1f} MiB in {processes.workers} worker processes"
            " — each one a whole interpreter, started only to wait.")


# --- the exercise ---------------------------------------------------------------------------

def check_fetch_all(fetch_all: object, limit: int = 3, pages: int = 12) -> CheckResult:
    """Check ``async def fetch_all(urls, limit)``: every page, in order, at most
    ``limit`` requests in the air at once, and more than one at a time."""
    if not inspect.iscoroutinefunction(fetch_all):
        return not_yet(f"fetch_all should be an `async def` function, got "
                       f"{type(fetch_all).__name__}.",
                       "start with `async def fetch_all(urls, limit):`.")
    try:
        with LatencyServer(latency_ms=50, payload_bytes=100 + pages, pages=pages) as server:
            urls = server.urls(pages)
            expected = [server.payload_bytes] * pages
            start = time.perf_counter()
            got = _in_new_loop(asyncio.wait_for(fetch_all(urls, limit), 15))  # type: ignore
            seconds = time.perf_counter() - start
            peak = server.peak_in_flight
    except Exception as error:  # a wrong answer must not stop "Run all"
        return not_yet(f"calling fetch_all raised {type(error).__name__}: {error}",
                       "await fetch_async(url) for each URL, inside `async with semaphore`.")
    got_list = list(got) if isinstance(got, (list, tuple)) else None
    return first_problem([
        (got_list is not None, f"fetch_all returned {type(got).__name__}, not a list.",
         "return `await asyncio.gather(...)`, which is a list in the order of the URLs."),
        (got_list == expected, "the sizes returned do not match the pages, in order.",
         "fetch every URL once and keep gather's order."),
        (peak <= limit, f"the server saw {peak} requests at once; the limit was {limit}.",
         "make every request wait for `asyncio.Semaphore(limit)` with `async with`."),
        (peak > 1, "the requests ran one at a time.",
         "create all the coroutines and gather them, instead of awaiting them in a loop."),
    ], f"{pages} pages in {seconds:.2f} s, at most {peak} in the air (limit {limit}).")



def _mixed_urls(fast: LatencyServer, slow: LatencyServer, pages: int
                ) -> tuple[list[str], list[int | None]]:
    """``pages`` URLs, every third one slow (so order mistakes show), and the answer:
    the fast pages' sizes, ``None`` for the slow ones."""
    servers = [slow if i % 3 == 1 else fast for i in range(pages)]
    return ([server.page_url(i) for i, server in enumerate(servers)],
            [fast.payload_bytes if server is fast else None for server in servers])


def check_fetch_within(fetch_within: object, seconds: float = 0.3, slow_s: float = 3.0,
                       pages: int = 8) -> CheckResult:
    """Check ``fetch_within(urls, seconds)``: the sizes in order, ``None`` for every page
    slower than ``seconds``, back within about ``seconds`` (under ``2 × seconds + 0.1``)
    — and no thread left running.

    Two local servers: a fast one (50 ms) and a slow one (``slow_s``). A right answer
    returns after about ``seconds``; a wrong one at most after the slow latency (or
    ``fetch``'s own 10 s), since closing the servers ends every wait.
    """
    require_float("seconds", seconds, 0.1, 5)
    require_float("slow_s", slow_s, 2 * seconds, 30)
    require_int("pages", pages, 3, 32)
    if not callable(fetch_within):
        return not_yet(f"fetch_within should be a function, got {type(fetch_within).__name__}.",
                       "start with `def fetch_within(urls, seconds):`.")
    before = set(threading.enumerate())
    try:
        with LatencyServer(latency_ms=50, payload_bytes=100, pages=pages) as fast, \
                LatencyServer(latency_ms=slow_s * 1000, payload_bytes=200, pages=pages) as slow:
            urls, expected = _mixed_urls(fast, slow, pages)
            start = time.perf_counter()
            got = fetch_within(urls, seconds)
            took = time.perf_counter() - start
            left = [t for t in threading.enumerate() if t not in before and t.is_alive()
                    and not t.name.startswith("LatencyServer")]
    except Exception as error:  # a wrong answer must not stop "Run all"
        hint = ("a page that misses the deadline raises TimeoutError in its future: turn it "
                "into None (`future.exception()` tells you) instead of calling result() on it."
                if isinstance(error, TimeoutError) else
                "submit `fetch(url, timeout=seconds)` for every URL to a ThreadPoolExecutor.")
        return not_yet(f"calling fetch_within raised {type(error).__name__}: {error}", hint)
    got_list = list(got) if isinstance(got, (list, tuple)) else None
    late = [i for i, size in enumerate(expected) if size is None]
    return first_problem([
        (got_list is not None and len(got_list) == len(urls),
         f"fetch_within returned {got!r}, not a list of {len(urls)} sizes.",
         "return one entry per URL: the size, or None."),
        (took < min(2 * seconds + 0.1, (seconds + slow_s) / 2),
         f"it took {took:.2f} s; the deadline was {seconds} s, and the slow pages take "
         f"{slow_s:g} s.",
         "waiting with a timeout does not stop a thread, and a pool's `with` block waits for "
         "every fetch it started: give each fetch its own limit, `fetch(url, timeout=seconds)`"
         ", and start all of them at once (enough threads)."),
        (got_list == expected,
         f"expected {expected} (None for the slow pages {late}), got {got_list}.",
         "keep the order of the URLs (a list of futures, not as_completed), a size for each "
         "page that arrived and None for each that did not."),
        (not left, f"{plural(len(left), 'thread')} you started still ran after fetch_within "
                   "returned.",
         "leave the pool's `with` block before returning, so its threads are joined — bounded "
         "by fetch's own timeout, not by shutdown(wait=False)."),
    ], f"{len(urls) - len(late)} pages in order and {len(late)} × None, back after "
       f"{took:.2f} s (deadline {seconds} s, slow pages {slow_s:g} s), no thread left behind.")
