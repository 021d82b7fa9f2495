"""Part 5 · the convoy effect: an I/O thread waits for the GIL.

``convoy`` times round trips of one I/O thread to an echo "device" while CPU-bound threads
run, with a chosen :func:`sys.setswitchinterval` (always restored afterwards). The device
(:class:`EchoDevice`) runs in its **own process**: it never waits for this process's GIL,
so the only thread that waits for the GIL is the I/O thread being measured.

The arithmetic the words check: each round trip, the I/O thread waits in ``recv`` without
the GIL. When the answer arrives it needs the GIL back; it asks, and a CPU-bound thread
gives the GIL up only when the switch interval has run out. So a round trip costs at least
*alone + 1 switch interval* — more when another CPU-bound thread takes the GIL first, or
when the I/O thread also has to wait after ``sendall`` (which lets go of the GIL too, but
usually takes it back before a CPU-bound thread has woken up).
"""
from __future__ import annotations

import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from helpers.core import noise
from helpers.core.arguments import require_float, require_int
from helpers.core.colours import OKABE_ITO
from helpers.core.latency_server import LOOPBACK, PARENT_CHECK, ServerChannel, ServerProcess
from helpers.core.plots import finish_figure
from helpers.core.settings import default
from helpers.core.system import effective_cpu_count, gil_enabled
from helpers.core.words import FASTER, plural
from helpers.core.workloads import count_up
from helpers.io_bound.waiting import JOIN_TIMEOUT

MAX_ROUND_TRIPS = 2_000
MAX_CPU_THREADS = 4
ECHO_DELAY = 0.001  # seconds the echo device takes to answer, like a fast device
GIL_WAITS_PER_TRIP = 1  # at least: when the answer arrives, the GIL must be won back
BURN_STEP = 20_000  # additions per step of a CPU-bound thread (about a millisecond)


@dataclass(frozen=True)
class ConvoyResult:
    """Round trips of one I/O thread while ``cpu_threads`` CPU-bound threads ran.

    ``switch_interval`` is what :func:`sys.getswitchinterval` read during the measurement;
    ``burn_steps`` how many counting steps the CPU-bound threads finished together, in
    ``seconds`` of measuring; ``load`` what other programs did meanwhile; ``gil`` whether
    the GIL was on.
    """

    cpu_threads: int
    switch_interval: float  # seconds
    round_trips: list[float]  # seconds each
    burn_steps: int = 0
    seconds: float = 0.0
    load: noise.MachineLoad | None = None
    gil: bool = True

    @property
    def median(self) -> float:
        return statistics.median(self.round_trips)

    @property
    def burn_rate(self) -> float:
        """Counting steps per second the CPU-bound threads got done together."""
        return self.burn_steps / self.seconds if self.seconds > 0 else 0.0

    def cpus_wanted(self, effective_cpus: int | None = None) -> int:
        """CPUs this measurement could keep busy: none for waiting alone; one for CPU
        threads under the GIL (one runs at a time); else one per CPU thread."""
        cpus = effective_cpu_count() if effective_cpus is None else effective_cpus
        if not self.cpu_threads:
            return 0
        return 1 if self.gil else noise.cpus_wanted(self.cpu_threads, self.cpu_threads, cpus)

    def disturbance(self, effective_cpus: int | None = None) -> str:
        """The **disturbed** sentence for this measurement, or ``''``."""
        what = f"the round trips with {plural(self.cpu_threads, 'CPU thread')}"
        return noise.busy_sentence(self.load, self.cpus_wanted(effective_cpus), what)


# --- the echo device: its own process ---------------------------------------------------

def serve_echo(channel: ServerChannel, delay: float) -> None:
    """In the device's process: accept one connection at a time on loopback and send back
    every byte ``delay`` seconds after it arrived, until ``channel.stopping``."""
    with socket.create_server((LOOPBACK, 0)) as listener:
        listener.settimeout(PARENT_CHECK)
        channel.ready(listener.getsockname()[:2])
        while not channel.stopping.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:  # socket.timeout: check the stop flag again
                continue
            with connection:
                _echo(connection, delay, channel.stopping)


def _echo(connection: socket.socket, delay: float, stopping: threading.Event) -> None:
    """Send back every byte ``delay`` s later, until the client closes or we must stop."""
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    connection.settimeout(PARENT_CHECK)
    while not stopping.is_set():
        try:
            data = connection.recv(64)
        except TimeoutError:
            continue
        except OSError:
            return
        if not data:
            return
        time.sleep(delay)
        connection.sendall(data)


class EchoDevice:
    """The echo "device" in its own process (a :class:`ServerProcess`)::

        with EchoDevice() as device:
            convoy(1, device=device)

    Always stopped at the end of the block (and never outlives this process).
    """

    def __init__(self, delay: float = ECHO_DELAY, start_method: str | None = None) -> None:
        self.delay = require_float("delay", delay, 0, 0.1)
        self._process = ServerProcess(serve_echo, (self.delay,), start_method, "EchoDevice")
        self.address: tuple[str, int] | None = None

    def __enter__(self) -> EchoDevice:
        host, port = self._process.start()  # type: ignore[misc]
        self.address = (str(host), int(port))
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._process.stop()

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def connect(self) -> socket.socket:
        """A new connection to the device (no Nagle delay; every wait bounded)."""
        if self.address is None:
            raise RuntimeError("the echo device is not started: use it in a with block")
        sock = socket.create_connection(self.address, timeout=JOIN_TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock


# --- the measurement ---------------------------------------------------------------------

def _burn(stop: threading.Event, steps: list[int]) -> None:
    """Pure-Python counting (holds the GIL) until ``stop`` is set; counts its steps."""
    while not stop.is_set():
        count_up(BURN_STEP)
        steps.append(1)


def convoy(cpu_threads: int, switch_interval: float | None = None,
           round_trips: int | None = None, device: EchoDevice | None = None) -> ConvoyResult:
    """Time ``round_trips`` one-byte echoes to the echo device (its own process; it answers
    after ``ECHO_DELAY`` s) while ``cpu_threads`` threads count in pure Python.

    ``switch_interval`` (seconds) is set with :func:`sys.setswitchinterval` for the
    measurement and always restored afterwards. Without ``device`` a new one is started
    and stopped.
    """
    require_int("cpu_threads", cpu_threads, 0, MAX_CPU_THREADS)
    trips = require_int("round_trips", int(default(100, 15)) if round_trips is None
                        else round_trips, 1, MAX_ROUND_TRIPS)
    original = sys.getswitchinterval()
    interval = original if switch_interval is None else require_float(
        "switch_interval", switch_interval, 1e-5, 0.1)
    if device is None:
        with EchoDevice() as device:
            return convoy(cpu_threads, interval, trips, device)
    stop, steps = threading.Event(), []
    burners = [threading.Thread(target=_burn, args=(stop, steps), daemon=True)
               for _ in range(cpu_threads)]
    sock = device.connect()
    try:
        sys.setswitchinterval(interval)
        measured_interval = sys.getswitchinterval()  # what the interpreter really uses
        times, seconds, done, load = _time_round_trips(sock, burners, trips, steps)
    finally:
        sys.setswitchinterval(original)
        _stop_threads(stop, sock, burners)
    return ConvoyResult(cpu_threads, measured_interval, times, done, seconds, load,
                        gil_enabled())


def _time_round_trips(sock: socket.socket, burners: list[threading.Thread], trips: int,
                      steps: list[int]) -> tuple[list[float], float, int, noise.MachineLoad | None]:
    """Start the CPU threads, give them a head start, then time ``trips`` one-byte echoes:
    (seconds each, seconds in all, counting steps done meanwhile, machine load)."""
    for thread in burners:
        thread.start()
    time.sleep(0.05)  # let the CPU threads get going
    times = []
    with noise.watch_load() as watch:
        first_step, start_all = len(steps), time.perf_counter()
        for _ in range(trips):
            start = time.perf_counter()
            sock.sendall(b"x")
            if not sock.recv(1):
                raise ConnectionError("the echo device hung up")
            times.append(time.perf_counter() - start)
        seconds, done = time.perf_counter() - start_all, len(steps) - first_step
    return times, seconds, done, watch.load


def _stop_threads(stop: threading.Event, sock: socket.socket,
                  threads: list[threading.Thread]) -> None:
    """Stop the CPU threads, close our connection, join all (bounded)."""
    stop.set()
    sock.close()
    for thread in threads:
        if thread.ident is not None:
            thread.join(JOIN_TIMEOUT)


def measure_convoy(cpu_threads: Sequence[int] = (0, 1, 2),
                   switch_intervals: Sequence[float] = (0.005, 0.001),
                   round_trips: int | None = None,
                   on_progress: Callable[[int, int], None] | None = None
                   ) -> list[ConvoyResult]:
    """:func:`convoy` for every combination, all with one echo device (the switch interval
    is restored after each). ``on_progress(done, total)`` after each combination, outside
    the timed round trips (a progress bar's update must not delay one)."""
    plan = [(n, s) for s in switch_intervals for n in cpu_threads]
    results = []
    with EchoDevice() as device:
        if on_progress is not None:
            on_progress(0, len(plan))
        for n, interval in plan:
            results.append(convoy(n, interval, round_trips, device))
            if on_progress is not None:
                on_progress(len(results), len(plan))
    return results


# --- the words ---------------------------------------------------------------------------

def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds < 0.01 else f"{seconds * 1000:.1f} ms"


def _interval_line(interval: float, runs: dict[int, ConvoyResult]) -> str:
    """One interval: the round trip alone, then with each number of CPU threads — how much
    longer, and how many switch intervals that is."""
    alone = runs.get(0)
    parts = []
    for n, run in sorted(runs.items()):
        part = f"{plural(n, 'CPU thread')}: {_ms(run.median)}"
        if alone is not None and n:
            extra = run.median - alone.median
            part += (f" ({_ms(extra)} more, {extra / interval:.1f} switch intervals)"
                     if run.median >= FASTER * alone.median else " (about the same)")
        parts.append(part)
    return (f"- switch interval **{interval * 1000:g} ms** — median round trip with "
            + "; ".join(parts) + ".")


def _arithmetic(results: Sequence[ConvoyResult]) -> str:
    """The GIL arithmetic set against what was measured with one CPU thread."""
    ones = [r for r in results if r.cpu_threads == 1]
    alone = {r.switch_interval: r.median for r in results if r.cpu_threads == 0}
    if not ones or not alone:
        return ""
    waits = [(r.median - alone.get(r.switch_interval, r.median)) / r.switch_interval
             for r in ones]
    low, high = min(waits), max(waits)
    seen = f"{low:.1f}" if abs(high - low) < 0.15 else f"{low:.1f} to {high:.1f}"
    text = ("- Why: in each round trip the I/O thread waits in `recv` without the GIL. When "
            "the answer arrives it must win the GIL back: it waits one switch interval, then "
            "asks the CPU-bound thread to drop it — about **one switch interval** a trip on "
            "top of the echo's own time (less when the GIL happens to be free, more when "
            f"hand-overs pile up). Measured with one CPU thread: {seen} switch intervals "
            "more.")
    more = [r for r in results if r.cpu_threads > 1]
    if more and all(r.median > _ones_median(results, r.switch_interval) * FASTER
                    for r in more):
        text += (" With more CPU threads the wait was longer still: when a CPU thread "
                 "gives the GIL up, another CPU thread may take it before the I/O thread.")
    return text + (" The echo device runs in its own process, so it never waits for this "
                   "process's GIL.")


def _ones_median(results: Sequence[ConvoyResult], interval: float) -> float:
    """The median round trip with one CPU thread at ``interval`` (``inf`` if not measured)."""
    return next((r.median for r in results if r.cpu_threads == 1
                 and r.switch_interval == interval), float("inf"))


def _interval_effect(results: Sequence[ConvoyResult]) -> list[str]:
    """The shortest interval against the longest, with the most CPU threads: round trips,
    and the CPU threads' counting."""
    busiest = max(r.cpu_threads for r in results)
    slow = [r for r in results if r.cpu_threads == busiest]
    if not busiest or len(slow) < 2:
        return []
    short = min(slow, key=lambda r: r.switch_interval)
    long = max(slow, key=lambda r: r.switch_interval)
    ratio = long.median / short.median
    line = (f"- With {plural(busiest, 'CPU thread')}, the {short.switch_interval * 1000:g} ms "
            "interval made round trips " + (f"{ratio:.1f}× faster than" if ratio >= FASTER
                                           else f"about as fast as ({ratio:.2f}×)")
            + f" the {long.switch_interval * 1000:g} ms one")
    if long.burn_rate > 0:
        share = short.burn_rate / long.burn_rate
        line += (f"; the CPU threads got {share:.0%} as much counting done per second "
                 "(more hand-overs of the GIL)" if share < 0.95 else
                 f"; the CPU threads' counting went on at {share:.0%} of the rate")
    return [line + "."]


def convoy_seen(results: Sequence[ConvoyResult]) -> bool:
    """Did CPU-bound threads make the round trips clearly longer (``FASTER`` ×) than
    without them?"""
    alone = [r.median for r in results if r.cpu_threads == 0]
    busy = [r.median for r in results if r.cpu_threads > 0]
    return bool(alone and busy and max(busy) >= FASTER * max(alone))


def describe_convoy(results: Sequence[ConvoyResult], effective_cpus: int | None = None) -> str:
    """Markdown: per switch interval the round trips and how many intervals the GIL cost;
    the arithmetic when it applies; a disturbed measurement is called disturbed."""
    if not results:
        raise ValueError("results must hold at least one ConvoyResult")
    lines = []
    for interval in dict.fromkeys(r.switch_interval for r in results):
        lines.append(_interval_line(interval, {r.cpu_threads: r for r in results
                                               if r.switch_interval == interval}))
    disturbed = [s for s in (r.disturbance(effective_cpus) for r in results) if s]
    if disturbed:
        return "\n".join(lines + [f"- {disturbed[0]}"])
    seen = convoy_seen(results)
    gil = all(r.gil for r in results)
    if not gil:
        lines.append("- The GIL is off in this Python: the I/O thread never waits for it"
                     + (". The round trips that grew shared the CPUs with the counting "
                        "threads, which the operating system takes turns on."
                        if seen else ", and the CPU threads did not slow it down."))
    elif seen:
        lines.append(_arithmetic(results))
        lines.extend(_interval_effect(results))
    else:
        lines.append("- CPU-bound threads did not slow the round trips down in this run, "
                     "although the GIL is on: that is not what the GIL leads us to expect, "
                     "so run it again.")
    return "\n".join(line for line in lines if line)


def plot_convoy(results: Sequence[ConvoyResult]) -> Figure:
    """Median round trip (ms, log scale) against CPU-bound threads, one line per interval,
    each with the least the GIL adds under the GIL: alone + one switch interval."""
    fig, ax = plt.subplots(figsize=(6.4, 4))
    intervals = list(dict.fromkeys(r.switch_interval for r in results))
    for i, interval in enumerate(intervals):
        runs = sorted((r for r in results if r.switch_interval == interval),
                      key=lambda r: r.cpu_threads)
        colour = OKABE_ITO[i % len(OKABE_ITO)]
        ax.plot([r.cpu_threads for r in runs], [r.median * 1000 for r in runs], marker="o",
                color=colour, label=f"switch interval {interval * 1000:g} ms")
        alone = next((r.median for r in runs if r.cpu_threads == 0), None)
        if alone is not None and all(r.gil for r in runs):
            ax.axhline((alone + GIL_WAITS_PER_TRIP * interval) * 1000, color=colour,
                       linestyle=":", linewidth=1,
                       label=f"alone + one switch interval ({interval * 1000:g} ms)")
    ax.set_yscale("log")
    ax.set_xticks(sorted({r.cpu_threads for r in results}))
    ax.set_xlabel("CPU-bound threads running in this process")
    ax.set_ylabel("median round trip (ms, log scale)")
    gil = all(r.gil for r in results)
    ax.set_title("Round trips of one I/O thread beside CPU-bound threads"
                 + ("" if gil else " (GIL off)"))
    ax.legend(fontsize=8)
    return finish_figure(fig)
