"""Part 2 · pool size: throughput (requests/s) against the number of threads.

``measure_throughput`` sweeps thread-pool sizes over the same requests; the ideal is
``min(threads, requests) ÷ latency``, and ``PoolSizeLab`` is the widget that runs the sweep.
"""
from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from helpers.core.arguments import require_choice, require_float, require_int
from helpers.core.colours import REFERENCE_GREY
from helpers.core.controls import RunPanel, bounded_slider
from helpers.core.experiments import sweep_workers
from helpers.core.latency_server import MODES, LatencyServer, fetch
from helpers.core.plots import IDEAL_STYLE, colour_for, finish_figure
from helpers.core.runner import RunResult
from helpers.core.settings import default
from helpers.core.words import plural


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
