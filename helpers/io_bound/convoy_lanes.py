"""Part 5 · the convoy effect, drawn: when the I/O thread waited, beside the CPU threads.

:func:`convoy_trace` puts the I/O thread and the CPU-bound threads on **one time axis**
(:func:`time.perf_counter`): each CPU thread notes its own progress
(:func:`helpers.core.thread_trace.trace_progress`, all started at the same ``start_at``),
and the I/O thread notes, for each one-byte echo, when it sent the byte and when the
reply was back in its Python code. The echo device answers at once (``delay=0``) and runs
in its own process, so a round trip alone lasts about a tenth of a millisecond.

With the GIL held by a CPU thread, a reply that has arrived is not *seen* until the I/O
thread has the GIL back, and a CPU-bound thread drops it only when asked, after the switch
interval. So a round trip behind CPU threads stretches to about a switch interval (5 ms by
default) or more. What the lanes show is measured by the threads themselves: when each
CPU thread ran Python code, and when the I/O thread was between sending and seeing its
reply. It is not a probe of the GIL (Python 3.15's profiler shows that: notebook 03).
"""
from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from helpers.core import noise
from helpers.core.arguments import require_float, require_int
from helpers.core.colours import BLACK, BLUE, REFERENCE_GREY, SKY_BLUE
from helpers.core.lane_plots import LaneStyle, draw_lanes, legend_for
from helpers.core.plots import LABEL_SIZE, colour_for, finish_figure
from helpers.core.settings import default
from helpers.core.system import effective_cpu_count, gil_enabled
from helpers.core.thread_trace import (
    MAX_SECONDS,
    START_MARGIN,
    Lane,
    Spread,
    default_seconds,
    spread,
    trace_progress,
    union_length,
)
from helpers.core.words import FASTER, plural
from helpers.io_bound.convoy import MAX_CPU_THREADS, EchoDevice
from helpers.io_bound.waiting import JOIN_TIMEOUT

MAX_TRIPS = 50_000  # round trips one phase may note (0.1 ms each: 2 s of echoes at most)
ALONE_LIMIT = 0.001  # s: a loopback echo takes well under this; longer alone = disturbed
IDLE_LIMIT = 0.15  # share of the trace in which no CPU thread ran: more = disturbed
CPU_RAN = LaneStyle("ran Python code", colour_for("threads"))
IO_WAITED = LaneStyle("waiting for reply + GIL", SKY_BLUE, "////")

Trip = tuple[float, float]  # (sent, reply seen), perf_counter seconds


def alone_seconds() -> float:
    """How long the I/O thread echoes alone first: 0.1 s (0.05 s in quick mode)."""
    return float(default(0.1, 0.05))


def trip_stats(durations: Sequence[float]) -> Spread:
    """Median and 95th percentile of round trips (seconds); ``ValueError`` if empty."""
    return spread(durations, "durations")


def check_trips(trips: Sequence[Trip]) -> list[Trip]:
    """``trips`` as a list, after checking each reply came after its request and each
    request after the previous reply (one I/O thread does one echo at a time)."""
    last = float("-inf")
    for sent, back in trips:
        if back < sent or sent < last:
            raise ValueError("trips must be (sent, back) pairs in time order, each back "
                             f">= sent; got ({sent}, {back}) after a reply at {last}")
        last = back
    return list(trips)


@dataclass(frozen=True)
class ConvoyTrace:
    """The I/O thread's round trips beside the CPU threads' lanes, on one time axis.

    ``alone`` are round trips (s) timed first, with no CPU thread running; ``trips`` the
    ``(sent, back)`` moments (``perf_counter`` s) of those the I/O thread *started* in
    the ``seconds`` from ``start`` with the CPU threads running (the last may end later).
    """

    cpu_lanes: list[Lane]
    trips: list[Trip]
    alone: list[float]
    start: float
    seconds: float
    switch_interval: float  # seconds, read during the trace
    gil: bool
    effective_cpus: int
    load: noise.MachineLoad | None = None

    @property
    def end(self) -> float:
        return self.start + self.seconds

    @property
    def behind(self) -> list[float]:
        """Round trips (s) behind the CPU threads."""
        return [back - sent for sent, back in self.trips]

    def ms(self, moments: Sequence[Trip]) -> list[tuple[float, float]]:
        """``(start, end)`` pairs in milliseconds since the trace started."""
        return [((a - self.start) * 1000, (b - self.start) * 1000) for a, b in moments]

    def cpus_wanted(self) -> int:
        """CPUs the trace needs to time its threads undisturbed: one per thread, the I/O
        thread included, up to the effective CPUs — under the GIL too, since a thread whose
        wait ran out (for the GIL, or for its reply) must get a CPU at once, or the delay
        measured is the operating system's (:func:`helpers.core.trace_words.cpus_for_timing`)."""
        threads = len(self.cpu_lanes) + 1
        return noise.cpus_wanted(threads, threads, self.effective_cpus)

    def idle_share(self) -> float:
        """Share of the trace in which no CPU thread ran (they always want to)."""
        covered = union_length([(max(a, self.start), min(b, self.end))
                                for lane in self.cpu_lanes for a, b in lane.intervals
                                if min(b, self.end) > max(a, self.start)])
        return 1 - covered / self.seconds


# --- the measurement ---------------------------------------------------------------------

def echo_until(sock: socket.socket, start_at: float, seconds: float, trips: list[Trip]
               ) -> None:
    """The I/O thread: from ``start_at`` for ``seconds``, send one byte, wait for it to
    come back, and note ``(sent, back)``; at most :data:`MAX_TRIPS` (socket timeout bounds
    each wait)."""
    while (now := time.perf_counter()) < start_at:
        time.sleep(min(start_at - now, 0.001))
    end = start_at + seconds
    while (sent := time.perf_counter()) < end and len(trips) < MAX_TRIPS:
        sock.sendall(b"x")
        if not sock.recv(1):
            raise ConnectionError("the echo device hung up")
        trips.append((sent, time.perf_counter()))


def _run(target: Callable[[], object], results: list, errors: list) -> None:
    """A thread's body: ``target()``'s return value or exception, kept for the caller."""
    try:
        results.append(target())
    except BaseException as error:  # re-raised in the thread that waits for us
        errors.append(error)


def _run_threads(targets: list[Callable[[], object]], timeout: float) -> list:
    """Run each target in its own thread, join them all (bounded); their results, in order
    of the targets; the first exception, re-raised."""
    boxes = [([], []) for _ in targets]
    threads = [threading.Thread(target=_run, args=(t, *box), name=f"convoy-lanes-{i}")
               for i, (t, box) in enumerate(zip(targets, boxes))]
    for thread in threads:
        thread.start()
    deadline = time.perf_counter() + timeout
    for thread in threads:
        thread.join(max(deadline - time.perf_counter(), 0.0))
    if any(thread.is_alive() for thread in threads):
        raise TimeoutError(f"the traced threads did not finish within {timeout:g} s")
    for _, errors in boxes:
        if errors:
            raise errors[0]
    return [results[0] for results, _ in boxes]


def _phase(sock: socket.socket, cpu_threads: int, seconds: float
           ) -> tuple[float, list[Trip], list[Lane]]:
    """One traced phase: the I/O thread and ``cpu_threads`` counting threads, all started
    at the same moment; ``(start, trips, lanes)``."""
    start, trips = time.perf_counter() + START_MARGIN, []
    targets = [lambda: echo_until(sock, start, seconds, trips)]
    targets += [lambda: trace_progress("count", start, seconds)] * cpu_threads
    lanes = _run_threads(targets, START_MARGIN + seconds + 2 * JOIN_TIMEOUT)[1:]
    return start, trips, lanes


def convoy_trace(cpu_threads: int = 1, seconds: float | None = None,
                 device: EchoDevice | None = None,
                 on_progress: Callable[[int, int], None] | None = None) -> ConvoyTrace:
    """Echo alone for :func:`alone_seconds`, then for ``seconds`` (default
    :func:`~helpers.core.thread_trace.default_seconds`) beside ``cpu_threads`` threads
    counting in pure Python. Without ``device`` an echo device (answering at once) is
    started and stopped. ``on_progress(done, 3)`` between the phases, never inside one."""
    require_int("cpu_threads", cpu_threads, 1, MAX_CPU_THREADS)
    seconds = require_float("seconds", default_seconds() if seconds is None else seconds,
                            0.05, MAX_SECONDS)
    report = on_progress or (lambda done, total: None)
    if device is None:
        report(0, 3)
        with EchoDevice(delay=0.0) as device:
            return convoy_trace(cpu_threads, seconds, device, on_progress)
    report(1, 3)
    with device.connect() as sock:
        _, alone, _ = _phase(sock, 0, alone_seconds())
        report(2, 3)
        with noise.watch_load() as watch:
            start, trips, lanes = _phase(sock, cpu_threads, seconds)
    report(3, 3)
    return ConvoyTrace(lanes, check_trips(trips), [b - a for a, b in alone], start, seconds,
                       sys.getswitchinterval(), gil_enabled(), effective_cpu_count(),
                       watch.load)


# --- the picture -------------------------------------------------------------------------

def window_ms(result: ConvoyTrace) -> tuple[float, float]:
    """The first ~100 ms (longer for a long switch interval), at most the whole trace."""
    return (0.0, min(max(100.0, 8 * result.switch_interval * 1000), result.seconds * 1000))


def convoy_lanes(result: ConvoyTrace) -> list[tuple[str, dict[LaneStyle, list]]]:
    """Rows for :func:`~helpers.core.lane_plots.draw_lanes`: one per CPU thread (when it
    ran Python code), then the I/O thread (each round trip, sent → reply seen), in ms."""
    rows = [(f"CPU thread {i + 1}", {CPU_RAN: result.ms(lane.intervals)})
            for i, lane in enumerate(result.cpu_lanes)]
    return rows + [("I/O thread", {IO_WAITED: result.ms(result.trips)})]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds < 0.01 else f"{seconds * 1000:.1f} ms"


def _draw_latency(ax: Axes, result: ConvoyTrace) -> None:
    """Median and p95 of the round trip, alone and behind, beside the switch interval."""
    rows = {"alone": trip_stats(result.alone),
            f"behind {plural(len(result.cpu_lanes), 'CPU thread')}": trip_stats(result.behind)}
    for y, stats in enumerate(rows.values()):
        ax.barh(y - 0.2, stats.median * 1000, 0.4, color=BLUE,
                label="median" if y == 0 else None)
        ax.barh(y + 0.2, stats.p95 * 1000, 0.4, color=SKY_BLUE, hatch="..",
                edgecolor=BLACK, linewidth=0.3, label="95th percentile" if y == 0 else None)
    ax.axvline(result.switch_interval * 1000, color=REFERENCE_GREY, linestyle="--",
               label=f"switch interval ({result.switch_interval * 1000:g} ms)")
    ax.set_yticks(range(len(rows)), list(rows), fontsize=LABEL_SIZE + 1)
    ax.set_ylim(len(rows) - 0.4, -0.6)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.set_xlabel("round trip of the echo (ms, log scale)")
    ax.set_title("The echo's measured round trip", fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=LABEL_SIZE,
              frameon=False)


REPLY_SEEN = {"linestyle": "", "marker": "|", "markersize": 14, "color": BLACK}


def _legend_with_ticks(ax: Axes) -> None:
    """The lanes' legend (:func:`legend_for`), with the tick that marks a reply seen."""
    legend_for(ax, [CPU_RAN, IO_WAITED])
    legend = ax.get_legend()
    handles = list(getattr(legend, "legend_handles", None) or legend.legendHandles)
    tick = Line2D([], [], label="reply seen in Python", **REPLY_SEEN)
    ax.legend(handles=[*handles, tick], loc="upper left", bbox_to_anchor=(1.01, 1.0),
              fontsize=LABEL_SIZE, frameon=False)


def plot_convoy_trace(result: ConvoyTrace) -> Figure:
    """Top: the lanes over the first ~100 ms, a tick where each reply was seen. Below: the
    echo's round trip alone and behind the CPU threads (median, p95), log scale."""
    rows = convoy_lanes(result)
    fig, (lanes_ax, latency_ax) = plt.subplots(
        2, 1, figsize=(8.5, 0.32 * len(rows) + 3.4),
        gridspec_kw={"height_ratios": [0.32 * len(rows) + 0.9, 1.4]})
    behind, alone = trip_stats(result.behind), trip_stats(result.alone)
    draw_lanes(lanes_ax, rows, window_ms(result),
               f"I/O thread behind {plural(len(result.cpu_lanes), 'CPU thread')}: round "
               f"trip {_ms(behind.median)} (median; alone {_ms(alone.median)}) · switch "
               f"interval {result.switch_interval * 1000:g} ms")
    seen = [b for _, b in result.ms(result.trips)]
    lanes_ax.plot(seen, [len(rows) - 1] * len(seen), **REPLY_SEEN)
    lanes_ax.set_xlim(*window_ms(result))
    _legend_with_ticks(lanes_ax)
    lanes_ax.set_xlabel("time since the threads started (ms)")
    _draw_latency(latency_ax, result)
    return finish_figure(fig)


# --- the words ---------------------------------------------------------------------------

def convoy_trace_disturbance(result: ConvoyTrace) -> str:
    """The **disturbed** sentence for this trace, or ``''``: other programs took the CPU,
    the echo was slow even alone, or the CPU threads often did not run at all."""
    wanted = result.cpus_wanted()
    if noise.load_disturbed(result.load, wanted):
        return noise.busy_sentence(result.load, wanted, "the traced threads")
    alone = trip_stats(result.alone).median
    if alone > ALONE_LIMIT:
        return noise.disturbed_sentence(
            "the echo's timing", f"alone, the echo's round trip took {_ms(alone)} (median), "
            f"where a loopback echo takes well under {ALONE_LIMIT * 1000:g} ms")
    idle = result.idle_share()
    if idle > IDLE_LIMIT:
        return noise.disturbed_sentence(
            "the trace", f"for {idle:.0%} of the {result.seconds * 1000:.0f} ms none of the "
            "CPU threads ran, although they always wanted to")
    return ""


def _measured(result: ConvoyTrace, alone: Spread, behind: Spread) -> str:
    threads = plural(len(result.cpu_lanes), "CPU thread")
    return (f"Alone, the echo's round trip took **{_ms(alone.median)}** (median of "
            f"{alone.count}; 95 % within {_ms(alone.p95)}). Behind {threads} it took "
            f"**{_ms(behind.median)}** (median of {behind.count}; 95 % within "
            f"{_ms(behind.p95)}), with the switch interval at "
            f"{result.switch_interval * 1000:g} ms.")


def _why_gil(result: ConvoyTrace, alone: Spread, behind: Spread) -> str:
    interval = result.switch_interval
    extra = (behind.median - alone.median) / interval
    text = (f" That is {behind.median / alone.median:.0f}× longer, {extra:.1f} switch "
            "intervals more a trip. Each hatched bar is one trip, from sending the byte to "
            "seeing the reply in Python.")
    if result.effective_cpus < 2:
        return text + (" With 1 effective CPU the operating system also shares the one "
                       "CPU between the CPU threads, the I/O thread and the echo device, so "
                       "part of this wait can be its doing; the switch-interval sweep above "
                       "shows how much of it follows the GIL.")
    text += (" Why: the reply is back within a fraction of a millisecond, but the I/O thread "
             "can read it only with the GIL; it waits one switch interval, then asks the "
             "CPU-bound thread to drop it.")
    if len(result.cpu_lanes) > 1 and behind.p95 > 2 * interval:
        text += (f" With {len(result.cpu_lanes)} CPU threads some trips waited several "
                 "intervals: when a CPU thread gives the GIL up, another CPU thread may take "
                 "it before the I/O thread.")
    return text


def describe_convoy_trace(result: ConvoyTrace) -> str:
    """Markdown: the round trip alone and behind the CPU threads (median, p95) beside the
    switch interval; why, when it applies — or that the trace was **disturbed**."""
    alone, behind = trip_stats(result.alone), trip_stats(result.behind)
    text = _measured(result, alone, behind)
    disturbance = convoy_trace_disturbance(result)
    if disturbance:
        return f"{text} {disturbance}"
    seen = behind.median >= FASTER * alone.median
    if not result.gil:
        return text + (" This Python runs without the GIL: the I/O thread never waits for "
                       "it" + (". The round trips that grew shared the CPUs with the "
                               "counting threads, which the operating system takes turns on."
                               if seen else ", and the CPU threads did not slow it down."))
    if not seen:
        return text + (" CPU-bound threads did not slow the round trips down in this run, "
                       "although the GIL is on: that is not what the GIL leads us to "
                       "expect, so run it again.")
    return text + _why_gil(result, alone, behind)
