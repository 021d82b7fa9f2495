"""Part 2 · pool size: throughput (requests/s) against the number of threads.

``measure_throughput`` sweeps thread-pool sizes over the same requests to a server in its
own process, and measures the CPU time of both processes; the ideal is
``min(threads, requests) ÷ latency``, and ``PoolSizeLab`` is the widget that runs the sweep.

The sweep measures the *largest* pool first: its point arrives a fraction of a second
after Run, so the plot appears at once; the one-thread pool, which fetches the pages one
after another (requests × latency), comes last. Each pool size is its own measurement
(its own pool, the server's counters reset), so the order changes nothing measured; one
fetch before the first keeps the server's first connection out of every timing.

A learner's guess of the fastest pool size (``guess=``, :mod:`helpers.core.guess`) is
drawn as a vertical line and compared in words with the pool size that measured best.
"""
from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from helpers.core import noise
from helpers.core.arguments import require_choice, require_float, require_int
from helpers.core.colours import REFERENCE_GREY
from helpers.core.controls import RunPanel, bounded_slider
from helpers.core.estimates import START_SECONDS, run_seconds
from helpers.core.guess import check_guess, draw_guess, guess_sentence
from helpers.core.latency_server import MODES, LatencyServer, fetch
from helpers.core.plots import IDEAL_STYLE, colour_for, finish_figure
from helpers.core.runner import RunResult, run_tasks
from helpers.core.settings import default
from helpers.core.system import gil_enabled
from helpers.core.words import plural


@dataclass
class Throughput:
    """A sweep of thread-pool sizes over the same requests.

    ``server_cpu[w]`` is the CPU time (seconds) the server's process spent on the
    measured requests with ``w`` threads; ``runs[w].cpu`` is this process's.
    """

    latency_s: float
    requests: int
    mode: str
    runs: dict[int, RunResult]
    server_cpu: dict[int, float] = field(default_factory=dict)

    def rate(self, workers: int) -> float:
        """Requests per second measured with ``workers`` threads."""
        return self.requests / self.runs[workers].wall

    def ideal(self, workers: int) -> float:
        """Requests per second if ``workers`` requests always wait together:
        ``min(workers, requests) ÷ latency``."""
        return min(workers, self.requests) / self.latency_s

    def cpu_needed(self, workers: int) -> float:
        """CPUs the requests kept busy (this process and the server's) at the ideal pace."""
        ideal_wall = self.requests / self.ideal(workers)
        return (self.runs[workers].cpu + self.server_cpu.get(workers, 0.0)) / ideal_wall

    def best(self) -> int:
        """The pool size with the highest measured throughput."""
        return max(sorted(self.runs), key=self.rate)

    def disturbance(self, workers: int) -> str:
        """The **disturbed** sentence when other programs left fewer CPUs than the requests
        needed at the ideal pace (:func:`helpers.core.noise.busy_sentence`), else ``''``."""
        return noise.busy_sentence(self.runs[workers].load, round(self.cpu_needed(workers), 1),
                                   f"the {plural(workers, 'thread')}")


def measure_throughput(workers: Sequence[int], latency_ms: float = 50, requests: int = 16,
                       mode: str = "threading", on_result: Callable | None = None,
                       on_progress: Callable | None = None) -> Throughput:
    """Fetch ``requests`` pages with a thread pool of each size in ``workers``, from a
    server in its own process; also measure the server's CPU time for each pool size.

    The largest pool goes first (see the module's docstring); ``on_result(runs)`` gets the
    pool sizes measured so far after each one."""
    require_float("latency_ms", latency_ms, 1, 2000)
    require_int("requests", requests, 1, 256)
    require_choice("mode", mode, MODES)
    counts = sorted({require_int("workers", w, 1, 256) for w in workers}, reverse=True)
    if not counts:
        raise ValueError("workers must list at least one pool size")
    runs: dict[int, RunResult] = {}
    server_cpu: dict[int, float] = {}
    with LatencyServer(latency_ms=latency_ms, mode=mode) as server:
        urls = server.urls(requests)
        fetch(urls[0])  # the server's first connection, before any timing
        for index, count in enumerate(counts):
            server.reset_stats()
            before = server.cpu_seconds()
            runs[count] = run_tasks(fetch, executor="threads", workers=count, arguments=urls,
                                    waits=True, repeats=1, timeout=120,
                                    on_progress=_part(on_progress, index, len(counts)))
            handled = max(server.requests, 1)
            server_cpu[count] = (server.cpu_seconds() - before) / handled * requests
            if on_result is not None:
                on_result(runs)
    return Throughput(latency_ms / 1000, requests, mode, dict(sorted(runs.items())),
                      server_cpu)


def estimate_throughput_seconds(workers: Sequence[int], latency_ms: float, requests: int,
                                mode: str = "threading") -> float:
    """About how long :func:`measure_throughput` takes: per pool size, rounds of as many
    requests as the pool sends at once, each one latency long — or one request at a time
    when the server handles one at a time (``mode="single"``); plus starting the server."""
    at_most = 1 if mode == "single" else max(workers, default=1)
    return START_SECONDS["processes"] + sum(
        run_seconds("threads", "waits", task_seconds=latency_ms / 1000, tasks=requests,
                    workers=min(count, at_most), repeats=1, cpus=1)
        for count in workers)


def _bold(text: str) -> str:
    """Escape ``text`` for the widget's HTML and turn its **bold** markers into <b>."""
    parts = html.escape(text).split("**")
    return "".join(f"<b>{part}</b>" if i % 2 else part for i, part in enumerate(parts))


def _part(on_progress: Callable | None, index: int, parts: int) -> Callable | None:
    """One pool size's (done, total) as progress over ``parts`` equal pool sizes."""
    if on_progress is None:
        return None
    return lambda done, total: on_progress(index * total + done, parts * total)


def _bend_words(result: Throughput, bend: int) -> str:
    """What was measured where the throughput left the ideal: the extra time next to the
    CPU time both processes spent on the requests."""
    run = result.runs[bend]
    ideal_wall = result.requests / result.ideal(bend)
    extra = run.wall - ideal_wall
    mine, theirs = run.cpu, result.server_cpu.get(bend, 0.0)
    text = (f"It falls below 70 % of the ideal at {plural(bend, 'thread')}: "
            f"{run.wall * 1000:.0f} ms instead of {ideal_wall * 1000:.0f} ms. Meanwhile this "
            f"process used {mine * 1000:.0f} ms of CPU and the server's process "
            f"{theirs * 1000:.0f} ms")
    if result.mode == "single":
        return text + (". This server answers one request at a time, so from here on the "
                       "server is the limit, not the client.")
    if extra <= 1.2 * (mine + theirs):
        return text + (f" — about the {extra * 1000:.0f} ms extra: connecting, sending and "
                       "reading HTTP costs CPU in both processes, and with "
                       f"{plural(bend, 'request')} at once that work no longer hides inside "
                       "the waits (in each process, under the GIL, Python runs on one CPU at "
                       "a time)." if gil_enabled() else
                       f" — about the {extra * 1000:.0f} ms extra: the CPU work of "
                       "connecting, sending and reading HTTP no longer hides inside the "
                       "waits.")
    return text + (f", less than the {extra * 1000:.0f} ms extra: the measured CPU work "
                   "does not account for it.")


GUESS_RANGE = (1, 64)  # pool sizes a guess may name: the lab's largest pool is 64


def describe_guess(result: Throughput, guess: float | None) -> str:
    """The learner's guess of the fastest pool size against the one measured best; when
    the guessed size was measured, how close its throughput came to the best."""
    if guess is None:
        return ""
    best = result.best()
    disturbed = any(result.disturbance(w) for w in result.runs)
    text = guess_sentence(guess, best, quantity="the number of threads in the fastest pool",
                          unit="", digits=0, disturbed=disturbed)
    size = round(guess)
    if disturbed or size == best or size != guess or size not in result.runs:
        return text
    share = result.rate(size) / result.rate(best)
    return text + (f" Your {plural(size, 'thread')} fetched {share:.0%} as many requests "
                   "per second as the best pool.")


def describe_throughput(result: Throughput, guess: float | None = None) -> str:
    """Where the measured throughput leaves the ideal, and what was measured there; then
    the guess of the fastest pool size, if one was given (:func:`describe_guess`)."""
    guessed = describe_guess(result, check_guess("guess", guess, *GUESS_RANGE))
    text = _describe_measured(result)
    return f"{text} {guessed}" if guessed else text


def _describe_measured(result: Throughput) -> str:
    counts = sorted(result.runs)
    best = result.best()
    text = (f"Best: {result.rate(best):.0f} requests/s with {plural(best, 'thread')} "
            f"(1 thread: {result.rate(1 if 1 in result.runs else counts[0]):.0f}/s). ")
    disturbed = [result.disturbance(w) for w in counts]
    bend = next((w for w in counts if result.rate(w) < 0.7 * result.ideal(w)), None)
    if any(disturbed):
        shown = next(s for s in disturbed if s)
        return text + shown
    if bend is None:
        text += "Every pool size stayed within 70 % of the ideal."
    else:
        text += _bend_words(result, bend)
    if max(counts) > result.requests:
        text += (f" The ideal itself flattens at {result.requests} threads, the number of "
                 "requests: beyond it the extra threads have nothing to wait for.")
    return text


def plot_throughput(result: Throughput, guess: float | None = None,
                    planned: Sequence[int] = ()) -> Figure:
    """Requests per second against threads, with the ideal ``min(threads, requests) ÷ latency``.

    ``planned``: every pool size the sweep will measure, so that a partial plot already
    has the whole axis; ``guess``: the learner's fastest pool size, a dotted vertical line.
    """
    counts = sorted(result.runs)
    guess = check_guess("guess", guess, *GUESS_RANGE)
    axis = sorted(set(planned) | set(counts))
    fig, ax = plt.subplots(figsize=(6, 3.8))
    span = range(1, max(axis) + 1)
    ax.plot(list(span), [result.ideal(w) for w in span],
            label="ideal: min(threads, requests) ÷ latency", **IDEAL_STYLE)
    if result.mode == "single":
        ax.axhline(1 / result.latency_s, color=REFERENCE_GREY, linestyle=":", linewidth=1,
                   label="one request at a time: 1 ÷ latency")
    ax.plot(counts, [result.rate(w) for w in counts], marker="o", color=colour_for("threads"),
            label=f"measured ({result.mode} server)")
    draw_guess(ax, guess, along="x", label="your guess: the fastest pool")
    ax.set_xscale("log", base=2)
    ax.set_xticks(axis, [str(c) for c in axis])
    ax.set_xlabel("threads in the pool")
    ax.set_ylabel("throughput (requests/s)")
    ax.set_title(f"{result.requests} requests, {result.latency_s * 1000:.0f} ms latency each")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    return finish_figure(fig)


POOL_SIZES = (1, 2, 4, 8, 16, 32, 64)


class PoolSizeLab(RunPanel):
    """Choose a latency, a server mode and the largest pool; press Run; see the throughput.

    The plot follows the sweep, one pool size after another from the largest (redrawn at
    most once a second). ``guess``: the learner's fastest pool size (1–64), drawn and
    compared in words; ``None`` changes nothing.
    """

    def __init__(self, latency_ms: int = 50, requests: int | None = None,
                 max_threads: int | None = None, guess: float | None = None) -> None:
        self.guess = check_guess("guess", guess, *GUESS_RANGE)
        requests = int(default(32, 16)) if requests is None else requests
        latency_ms = require_int("latency_ms", latency_ms, 10, 200)
        self.latency = bounded_slider("latency (ms)", latency_ms, 10, 200, 10)
        self.requests = bounded_slider("requests", require_int("requests", requests, 4, 64),
                                       4, 64, 4)
        most = int(default(64, 32)) if max_threads is None else max_threads
        self.max_threads = widgets.Dropdown(options=[4, 8, 16, 32, 64],
                                            value=require_choice("max_threads", most,
                                                                 [4, 8, 16, 32, 64]),
                                            description="largest pool (threads)",
                                            style={"description_width": "initial"})
        self.mode = widgets.Dropdown(options=list(MODES), value="threading",
                                     description="server",
                                     style={"description_width": "initial"})
        self.result: Throughput | None = None
        super().__init__([self.latency, self.requests, self.max_threads, self.mode])

    advice = "lower the latency, the requests or the largest pool"

    def pool_sizes(self) -> list[int]:
        """The pool sizes a Run measures: 1, 2, 4, … up to the largest chosen."""
        return [w for w in POOL_SIZES if w <= self.max_threads.value]

    def estimate(self) -> float:
        """About how many seconds a Run with the controls as they are takes here."""
        return estimate_throughput_seconds(self.pool_sizes(), self.latency.value,
                                           self.requests.value, self.mode.value)

    def run(self) -> Throughput | None:
        """Measure the pool sizes 1, 2, 4, … up to the chosen largest, the largest first."""
        counts = self.pool_sizes()
        latency, requests, mode = self.latency.value, self.requests.value, self.mode.value

        def partial(runs: dict[int, RunResult]) -> Figure:
            return plot_throughput(Throughput(latency / 1000, requests, mode, dict(runs)),
                                   self.guess, planned=counts)

        result = self.guarded(lambda on_progress: measure_throughput(
            counts, latency, requests, mode, on_result=self.live(partial),
            on_progress=on_progress))
        if result is not None:
            self.result = result
            self.words.value = _bold(describe_throughput(result, self.guess))
        return result
