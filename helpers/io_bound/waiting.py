"""Part 4 · waiting for events, and what a waiter costs.

``cpu_while_waiting`` measures the CPU time used by threads blocked on an ``Event`` or a
queue (or spinning); ``tasks_vs_threads`` the start time and memory of N waiting asyncio
tasks versus N threads. Every wait has a time limit (``JOIN_TIMEOUT``) and every thread
is joined.
"""
from __future__ import annotations

import asyncio
import queue
import threading
import time
import tracemalloc
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass

import psutil

from helpers.core import noise
from helpers.core.arguments import require_choice, require_float, require_int
from helpers.core.words import plural

MAX_WAITERS = 5_000
JOIN_TIMEOUT = 10.0


@dataclass(frozen=True)
class WaitResult:
    """CPU time this process used while ``threads`` threads waited ``wall`` seconds."""

    how: str
    threads: int
    wall: float
    cpu: float
    load: noise.MachineLoad | None = None  # what other programs did meanwhile

    def disturbance(self) -> str:
        """Spinning wants a whole CPU: **disturbed** when other programs left it less."""
        wanted = 1 if self.how == "spin" else 0  # blocked waiters want none
        return noise.busy_sentence(self.load, wanted, f"the {self.how} measurement")

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
    lines = [f"- **{r.how}**: {plural(r.threads, 'thread')} waited {r.wall:.2f} s; the whole "
             f"process used {r.cpu * 1000:.1f} ms of CPU ({r.cpus_busy:.3f} CPUs busy)."
             for r in results]
    disturbed = [r.disturbance() for r in results if r.disturbance()]
    return "\n".join(lines + [f"- {s}" for s in disturbed[:1]])


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
        with noise.watch_load() as watch:
            cpu, start = time.process_time(), time.perf_counter()
            time.sleep(seconds)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - start
    finally:
        flag.set()
        for _ in workers:
            inbox.put(None)
        for worker in workers:
            worker.join(JOIN_TIMEOUT)
    return WaitResult(how, threads, wall, cpu, watch.load)


@dataclass(frozen=True)
class WaitersCost:
    """Starting ``count`` waiters of one ``kind``: time, and memory while all wait."""

    kind: str
    count: int
    seconds: float
    rss_bytes: int  # growth of this process's resident memory
    traced_bytes: int  # Python allocations (tracemalloc)
    load: noise.MachineLoad | None = None  # other programs while they were started

    def per_item(self) -> dict[str, float]:
        return {"µs each": self.seconds / self.count * 1e6,
                "RSS KiB each": self.rss_bytes / self.count / 1024,
                "Python KiB each": self.traced_bytes / self.count / 1024}


def resident_memory() -> int:
    """This process's resident memory (bytes): what the OS holds in RAM for it."""
    return psutil.Process().memory_info().rss


def _start_threads(count: int) -> WaitersCost:
    flag = threading.Event()
    rss = resident_memory()
    tracemalloc.start()
    workers: list[threading.Thread] = []
    try:
        with noise.watch_load() as watch:
            start = time.perf_counter()
            workers += [threading.Thread(target=flag.wait, args=(JOIN_TIMEOUT,), daemon=True)
                        for _ in range(count)]
            for worker in workers:
                worker.start()
            seconds = time.perf_counter() - start
        traced, grown = tracemalloc.get_traced_memory()[0], resident_memory() - rss
    finally:
        tracemalloc.stop()
        flag.set()
        for worker in workers:
            worker.join(JOIN_TIMEOUT)
    return WaitersCost("threads", count, seconds, grown, traced, watch.load)


async def _start_tasks(count: int) -> WaitersCost:
    flag = asyncio.Event()
    rss = resident_memory()
    tracemalloc.start()
    try:
        with noise.watch_load() as watch:
            start = time.perf_counter()
            tasks = [asyncio.ensure_future(asyncio.wait_for(flag.wait(), JOIN_TIMEOUT))
                     for _ in range(count)]
            await asyncio.sleep(0)  # let every task run up to its wait
            seconds = time.perf_counter() - start
        traced, grown = tracemalloc.get_traced_memory()[0], resident_memory() - rss
    finally:
        tracemalloc.stop()
    flag.set()
    await asyncio.wait_for(asyncio.gather(*tasks), JOIN_TIMEOUT)
    return WaitersCost("asyncio tasks", count, seconds, grown, traced, watch.load)


def run_in_new_loop(coroutine: Coroutine) -> object:
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
            "asyncio tasks": run_in_new_loop(_start_tasks(count))}  # type: ignore[dict-item]


def describe_tasks_vs_threads(costs: Mapping[str, WaitersCost]) -> str:
    """Per kind: start time and memory growth; then how many times a thread costs a task."""
    threads, tasks = costs["threads"], costs["asyncio tasks"]
    lines = [f"- **{c.kind}**: {c.count} started in {c.seconds * 1000:.1f} ms "
             f"({c.seconds / c.count * 1e6:.1f} µs each); resident memory grew "
             f"{c.rss_bytes / 2**20:.1f} MiB, Python objects {c.traced_bytes / 2**20:.2f} MiB."
             for c in (threads, tasks)]
    time_ratio = threads.seconds / max(tasks.seconds, 1e-9)
    memory_ratio = threads.rss_bytes / max(tasks.rss_bytes, 1)
    lines.append(f"- The threads took {memory_ratio:.0f}× the resident memory of the tasks"
                 + (" (a thread has its own stack; a task is one Python object)."
                    if memory_ratio > 1.5 else
                    " (memory grows by whole pages, so small counts are noisy)."))
    disturbed = [noise.busy_sentence(c.load, 1, f"the start of the {c.kind}")
                 for c in (threads, tasks)]
    if any(disturbed):
        lines.append("- " + next(s for s in disturbed if s))
    else:
        lines.append(f"- A task started {time_ratio:.0f}× as fast as a thread here"
                     if time_ratio >= 1 else
                     f"- A thread started {1 / time_ratio:.1f}× as fast as a task here")
        lines[-1] += "."
    return "\n".join(lines)
