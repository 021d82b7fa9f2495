"""When did each thread run? A timeline the threads measure themselves.

Each traced worker does its work in small steps (a few tens of microseconds each) and
notes :func:`time.perf_counter` after every step. While a thread runs, its notes come
every step; while it does not run — it waits for the GIL, or the operating system gave
its CPU to someone else — they stop. :func:`running_intervals` turns the notes into the
stretches of time the thread ran, and :func:`trace_run` does this for several threads
(or processes) started at the same instant, so their lanes can be drawn one above the
other.

What this shows is *when each worker made progress running Python code*: it is not a
probe of the GIL. With the GIL, two counting threads take turns, and a turn lasts about
the switch interval (:func:`sys.getswitchinterval`); processes, or threads of a
free-threaded build, run side by side when there are CPUs for them. Python 3.15's
sampling profiler shows the GIL itself (:mod:`helpers.the_gil.gil_profile`).

``perf_counter`` reads one clock for the whole machine (``CLOCK_MONOTONIC`` on Linux,
``mach_absolute_time`` on macOS, ``QueryPerformanceCounter`` on Windows), so the notes of
worker processes line up with each other too.
"""
from __future__ import annotations

import hashlib
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

from helpers.core.arguments import require_choice, require_float, require_int
from helpers.core.executors import open_executor
from helpers.core.noise import MachineLoad, watch_load
from helpers.core.settings import default
from helpers.core.system import effective_cpu_count, gil_enabled

MAX_WORKERS = 8
MAX_SECONDS = 2.0  # a trace keeps every note in memory: ~50,000 a second per worker
SWITCH_INTERVALS_MS = (1, 5, 20)  # the settings the lab offers for the switch interval
MIN_GAP = 0.0002  # s: a pause shorter than this is the thread's own step, not a stop
GAP_STEPS = 10  # ...and a pause must also be this many typical steps long
START_MARGIN = 0.05  # s: workers are told to start this long after they are handed the work
TRACE_KINDS = ("threads", "processes")
_COUNT_STEP = 500  # additions per step: ~10-30 µs of Python bytecode
_HASH_BLOCK = bytes(64 * 1024)  # SHA-256 of 64 KiB, ~0.05-0.2 ms with the GIL released


def _count_step() -> None:
    total = 0
    for number in range(_COUNT_STEP):
        total += number


def _hash_step() -> None:
    hashlib.sha256(_HASH_BLOCK).digest()  # >= 2048 bytes: hashlib releases the GIL


STEPS: dict[str, Callable[[], None]] = {"count": _count_step, "hash": _hash_step}
"""The traceable workloads: ``count`` holds the GIL (pure Python additions); ``hash``
spends most of each step in C code that releases it."""


def default_seconds() -> float:
    """How long a trace lasts by default: 0.3 s (0.2 s in quick mode)."""
    return float(default(0.3, 0.2))


# --- from notes to intervals -----------------------------------------------------------

def pause_threshold(stamps: Sequence[float]) -> float:
    """The shortest pause between two notes that means "this thread stopped running":
    :data:`GAP_STEPS` typical (median) steps, and at least :data:`MIN_GAP`."""
    if len(stamps) < 2:
        return MIN_GAP
    steps = [later - earlier for earlier, later in zip(stamps, stamps[1:])]
    return max(MIN_GAP, GAP_STEPS * statistics.median(steps))


def running_intervals(stamps: Sequence[float], gap: float | None = None
                      ) -> list[tuple[float, float]]:
    """The stretches ``(start, end)`` in which a thread ran, from its progress notes.

    ``stamps`` are the times (seconds, ascending) at which the thread finished a step. A
    pause longer than ``gap`` (default :func:`pause_threshold`) between two notes ends a
    stretch; a note alone is a stretch of length zero.

    >>> running_intervals([0.0, 0.001, 0.002, 0.010, 0.011], gap=0.003)
    [(0.0, 0.002), (0.01, 0.011)]
    """
    if any(later < earlier for earlier, later in zip(stamps, stamps[1:])):
        raise ValueError("stamps must be in ascending order")
    if not stamps:
        return []
    gap = pause_threshold(stamps) if gap is None else gap
    intervals, first = [], stamps[0]
    for earlier, later in zip(stamps, stamps[1:]):
        if later - earlier > gap:
            intervals.append((first, earlier))
            first = later
    intervals.append((first, stamps[-1]))
    return intervals


def union_length(spans: Sequence[tuple[float, float]]) -> float:
    """How long at least one of ``spans`` (``(start, end)`` pairs, overlapping or not)
    covers: overlaps counted once.

    >>> union_length([(0, 2), (1, 3), (5, 6)])
    4.0
    """
    covered, reach = 0.0, float("-inf")
    for a, b in sorted(spans):
        covered += max(0.0, b - max(a, reach))
        reach = max(reach, b)
    return covered


# --- one worker's lane -----------------------------------------------------------------

@dataclass(frozen=True)
class Lane:
    """One traced worker: where it ran, the stretches it ran (``perf_counter`` seconds)
    and the CPU time it used (``thread_time``) while traced."""

    pid: int
    tid: int
    intervals: list[tuple[float, float]]
    cpu: float
    steps: int

    @property
    def ran(self) -> float:
        """Seconds this worker ran, added up."""
        return sum(end - start for start, end in self.intervals)


def _wait_until(moment: float) -> None:
    while (left := moment - time.perf_counter()) > 0:
        time.sleep(min(left, 0.001))


def trace_progress(workload: str, start_at: float, seconds: float,
                   switch_interval: float | None = None) -> Lane:
    """Run in a worker: wait until ``start_at`` (``perf_counter``), then do ``workload``
    steps for ``seconds``, noting the time after each; return the :class:`Lane`."""
    step = STEPS[require_choice("workload", workload, STEPS)]
    if switch_interval is not None:  # a worker process has its own interpreter
        sys.setswitchinterval(switch_interval)
    _wait_until(start_at)
    stamps, end = [], start_at + seconds
    cpu_before = time.thread_time()
    now = time.perf_counter()
    while now < end:
        step()
        now = time.perf_counter()
        stamps.append(now)
    cpu = time.thread_time() - cpu_before
    clipped = [(a, min(b, end)) for a, b in running_intervals(stamps) if a < end]
    return Lane(os.getpid(), threading.get_native_id(), clipped, cpu, len(stamps))


def _ready(_: int) -> int:
    """A worker's first task: it exists and has imported this module."""
    time.sleep(0.02)  # long enough that each warm-up task goes to its own worker
    return os.getpid()


# --- a whole trace ---------------------------------------------------------------------

@dataclass(frozen=True)
class Trace:
    """Lanes of workers started together, and the facts needed to read them."""

    kind: str
    workload: str
    lanes: list[Lane]
    start: float  # perf_counter seconds at which every worker started
    seconds: float
    switch_interval: float  # seconds, in the process whose threads were traced
    gil_enabled: bool
    python: str
    effective_cpus: int
    load: MachineLoad | None = None
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def end(self) -> float:
        return self.start + self.seconds

    def shifted(self, lane: Lane) -> list[tuple[float, float]]:
        """A lane's stretches in milliseconds since the trace started."""
        return [((a - self.start) * 1000, (b - self.start) * 1000) for a, b in lane.intervals]

    def turns(self) -> list[float]:
        """Lengths (s) of the turns: from when a worker started running until another
        worker started. A pause of the same worker with nobody else running in between
        (the operating system gave its CPU to another program) does not end its turn.
        Turns cut by the start or end of the trace are left out. Meaningful for workers
        that take turns; side by side, every start of another worker ends a "turn"."""
        stretches = sorted((a, b, number) for number, lane in enumerate(self.lanes)
                           for a, b in lane.intervals)
        merged: list[list[float]] = []  # [start, end, lane]
        for a, b, number in stretches:
            if merged and merged[-1][2] == number:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b, number])
        edge = 0.002
        return [b - a for a, b, _ in merged if a > self.start + edge and b < self.end - edge]

    def running_counts(self) -> list[tuple[float, int]]:
        """``(seconds, how many workers ran)`` for each piece of the trace between two
        starts or ends of stretches, clipped to the trace."""
        events = []
        for lane in self.lanes:
            for a, b in lane.intervals:
                a, b = max(a, self.start), min(b, self.end)
                if b > a:
                    events += [(a, 1), (b, -1)]
        events.sort()
        pieces, running, last = [], 0, self.start
        for moment, change in events:
            pieces.append((moment - last, running))
            running, last = running + change, moment
        pieces.append((self.end - last, running))
        return [(length, count) for length, count in pieces if length > 0]

    def share_running(self, at_least: int) -> float:
        """Share of the trace in which at least ``at_least`` workers ran."""
        return sum(length for length, count in self.running_counts()
                   if count >= at_least) / self.seconds

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Trace":
        """The inverse of :meth:`to_dict` (JSON from another Python, :mod:`measure_cli`)."""
        lanes = [Lane(lane["pid"], lane["tid"], [tuple(i) for i in lane["intervals"]],
                      lane["cpu"], lane["steps"]) for lane in data["lanes"]]
        load = MachineLoad(**data["load"]) if data.get("load") else None
        return cls(**{**data, "lanes": lanes, "load": load})


@dataclass(frozen=True)
class Spread:
    """The middle and the tail of some durations: median, 95th percentile, how many."""

    median: float
    p95: float
    count: int


def spread(values: Sequence[float], name: str = "values") -> Spread:
    """:class:`Spread` of ``values``; ``ValueError`` naming ``name`` when there are none."""
    if not values:
        raise ValueError(f"{name} must hold at least one value, got none")
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return Spread(statistics.median(ordered), p95, len(ordered))


def turn_stats(trace: Trace) -> Spread | None:
    """How long a worker ran before another took over (:meth:`Trace.turns`, seconds):
    median and 95th percentile; ``None`` with fewer than 3 turns."""
    turns = trace.turns()
    return spread(turns) if len(turns) >= 3 else None


@contextmanager
def switch_interval_set(seconds: float | None) -> Iterator[None]:
    """``sys.setswitchinterval(seconds)`` inside the block, the old value restored after
    (``None``: leave it as it is)."""
    before = sys.getswitchinterval()
    if seconds is not None:
        sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def check_trace_arguments(workload: str, workers: int, seconds: float, kind: str,
                          switch_interval_ms: float | None) -> None:
    """``ValueError`` naming the first bad argument and what it may be."""
    require_choice("workload", workload, STEPS)
    require_int("workers", workers, 1, MAX_WORKERS)
    require_float("seconds", seconds, 0.05, MAX_SECONDS)
    require_choice("kind", kind, TRACE_KINDS)
    if switch_interval_ms is not None:
        require_float("switch_interval_ms", switch_interval_ms, 0.1, 100.0)


def trace_run(workload: str = "count", workers: int = 2, seconds: float | None = None,
              kind: str = "threads", switch_interval_ms: float | None = None,
              start_method: str | None = None, timeout: float = 60.0) -> Trace:
    """Start ``workers`` threads (or processes) on ``workload`` at the same instant and
    trace them for ``seconds`` (default :func:`default_seconds`).

    ``switch_interval_ms`` sets the switch interval while the trace runs (restored
    after). Every wait is bounded by ``timeout``; on a timeout or an interrupt the worker
    processes are stopped (threads end on their own after ``seconds``).
    """
    seconds = default_seconds() if seconds is None else seconds
    check_trace_arguments(workload, workers, seconds, kind, switch_interval_ms)
    interval = None if switch_interval_ms is None else switch_interval_ms / 1000
    deadline = time.perf_counter() + timeout
    with switch_interval_set(interval), watch_load() as watch, \
            open_executor(kind, workers, start_method) as pool:
        wait_for_results([pool.submit(_ready, n) for n in range(workers)], deadline)
        start = time.perf_counter() + START_MARGIN
        lanes = wait_for_results([pool.submit(trace_progress, workload, start, seconds,
                                              interval) for _ in range(workers)], deadline)
        used_interval = sys.getswitchinterval()
    return Trace(kind, workload, lanes, start, seconds, used_interval, gil_enabled(),
                 sys.version.split()[0], effective_cpu_count(), watch.load)


def trace_as_dict(workload: str, workers: int, seconds: float, kind: str = "threads",
                  switch_interval_ms: float | None = None) -> dict:
    """:func:`trace_run` as a dict, for another Python to print as JSON::

        python -m helpers.core.measure_cli call helpers.core.thread_trace:trace_as_dict \\
            '["count", 2, 0.3, "threads"]'
    """
    return trace_run(workload, workers, seconds, kind, switch_interval_ms).to_dict()


def wait_for_results(futures: list[Future], deadline: float) -> list:
    """Each future's result, in order, all by ``deadline`` (``perf_counter``); else
    ``TimeoutError`` (the executor's block then stops the worker processes)."""
    try:
        return [future.result(timeout=max(deadline - time.perf_counter(), 0.0))
                for future in futures]
    except FutureTimeout:
        raise TimeoutError("the traced workers did not finish within the timeout; "
                           "they were stopped") from None
