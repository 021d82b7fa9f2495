"""Part 5 · the convoy effect: an I/O thread waits for the GIL.

``convoy`` times round trips of one I/O thread over a local socket pair while CPU-bound
threads run, with a chosen :func:`sys.setswitchinterval` (always restored afterwards).
"""
from __future__ import annotations

import socket
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from helpers.core.arguments import require_float, require_int
from helpers.core.colours import OKABE_ITO
from helpers.core.plots import finish_figure
from helpers.core.settings import default
from helpers.core.words import FASTER, plural
from helpers.core.workloads import count_up
from helpers.io_bound.waiting import JOIN_TIMEOUT

MAX_ROUND_TRIPS = 2_000
MAX_CPU_THREADS = 4


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
    mine, threads = _echo_and_burners(cpu_threads, stop)
    try:
        sys.setswitchinterval(interval)
        times = _time_round_trips(mine, threads, trips)
    finally:
        sys.setswitchinterval(original)
        _stop_threads(stop, mine, threads)
    return ConvoyResult(cpu_threads, interval, times)


def _echo_and_burners(cpu_threads: int, stop: threading.Event
                      ) -> tuple[socket.socket, list[threading.Thread]]:
    """Our end of a local socket pair, and the threads (not started yet): one echoing on
    the other end, ``cpu_threads`` counting until ``stop`` is set."""
    mine, theirs = socket.socketpair()
    mine.settimeout(JOIN_TIMEOUT)
    threads = [threading.Thread(target=_echo, args=(theirs,), daemon=True)]
    threads += [threading.Thread(target=_burn, args=(stop,), daemon=True)
                for _ in range(cpu_threads)]
    return mine, threads


def _time_round_trips(mine: socket.socket, threads: list[threading.Thread],
                      trips: int) -> list[float]:
    """Start ``threads``, give the CPU threads a head start, then time ``trips`` one-byte
    echoes through ``mine``: seconds each."""
    for thread in threads:
        thread.start()
    time.sleep(0.05)  # let the CPU threads get going
    times = []
    for _ in range(trips):
        start = time.perf_counter()
        mine.sendall(b"x")
        mine.recv(1)
        times.append(time.perf_counter() - start)
    return times


def _stop_threads(stop: threading.Event, mine: socket.socket,
                  threads: list[threading.Thread]) -> None:
    """Stop the CPU threads, close our end (so the echo thread ends), join all (bounded)."""
    stop.set()
    mine.close()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)


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
