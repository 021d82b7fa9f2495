"""How undisturbed a measurement was — the one place that decides what counts as noise.

A learner's laptop is rarely idle: a browser, a video call or an IDE take CPUs while a
notebook measures. A run that wanted two CPUs and got one says nothing about threads,
processes or the GIL, so the words must call it *disturbed* and ask for another run
instead of explaining it by a mechanism.

Three signs, all measured:

1. **Other programs' CPU use during the run** (:class:`MachineLoad`): the busy time of
   the CPUs this process may run on, minus what this process and its children used.
   If that leaves fewer CPUs than the run could use, the run was disturbed.
2. **A starved baseline**: CPU-bound serial work that kept less than one CPU busy.
3. **Repeats that disagree**: most of them more than an eighth away from their median.

And one check on a result: a speedup *above the ideal* (more than the CPUs or workers
can give) is noise too — the baseline ran slow — never parallelism.
"""
from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from helpers.core.system import effective_cpu_count
from helpers.core.workloads import WORKLOADS

try:  # psutil is in requirements.txt; a bare free-threaded venv may lack it
    import psutil
except ImportError:  # pragma: no cover - exercised only where psutil is missing
    psutil = None  # type: ignore[assignment]

UNNOTICED = 0.25  # CPUs other programs may use unnoticed (a browser tab, the notebook's UI)
SLACK = 0.1  # CPUs a run may miss of what it could use (timer ticks, this process's threads)
STARVED = 0.85  # a CPU-bound serial run with fewer CPUs busy was squeezed by other work
SPREAD = 0.25  # repeats disagree when most lie outside ±SPREAD/2 of their median…
SPREAD_FLOOR = 0.005  # …and outside ±SPREAD_FLOOR/2 seconds (scheduling jitters by ms)
DISTURBED = "disturbed"  # the word every disturbed-run sentence contains


class RunLike(Protocol):
    """What the run-level checks read: a :class:`~helpers.core.runner.RunResult`."""

    workload: str
    executor: str
    workers: int
    tasks: int
    walls: list[float]
    load: MachineLoad | None

    @property
    def utilisation(self) -> float: ...


@dataclass(frozen=True)
class MachineLoad:
    """What the rest of the machine did while a run ran.

    ``others`` is the average number of CPUs that other programs kept busy (on the CPUs
    this process may use); ``allowed`` is how many CPUs this process may run on;
    ``uncertainty`` is how far ``others`` may be off, in CPUs: the kernel counts CPU time
    in ticks (usually 10 ms), so a short run over several processes is measured coarsely.
    """

    others: float
    allowed: int
    uncertainty: float = 0.0

    @property
    def spare(self) -> float:
        """CPUs left for this run on average: ``allowed - others``."""
        return max(self.allowed - self.others, 0.0)


@dataclass(frozen=True)
class _Sample:
    when: float  # perf_counter seconds
    busy: float  # busy CPU seconds of the allowed CPUs, whole machine
    ours: float  # CPU seconds of this process and its children
    processes: int  # how many processes ``ours`` added up (each rounded to a tick)


def _allowed_cpus() -> list[int] | None:
    """The CPU numbers this process may run on, or ``None`` when not knowable."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    if psutil is not None:
        try:
            return sorted(psutil.Process().cpu_affinity())
        except (AttributeError, psutil.Error, OSError):  # macOS has no affinity
            return list(range(psutil.cpu_count() or 1))
    return None


def _busy_seconds(cpus: Sequence[int]) -> float:
    """Busy seconds (all but idle and I/O wait) of ``cpus`` since boot."""
    per_cpu = psutil.cpu_times(percpu=True)
    busy = 0.0
    for number in cpus:
        if number < len(per_cpu):
            times = per_cpu[number]
            idle = times.idle + getattr(times, "iowait", 0.0)
            busy += sum(times) - idle - getattr(times, "guest", 0.0) \
                - getattr(times, "guest_nice", 0.0)
    return busy


def _our_seconds() -> tuple[float, int]:
    """CPU seconds of this process and all its children: the living ones, and those that
    ended and were waited for (the kernel adds those to ``children_user/system``); and
    how many processes that added up."""
    me = psutil.Process()
    total, counted = sum(me.cpu_times()[:4]), 1
    for child in me.children(recursive=True):
        try:
            total += sum(child.cpu_times()[:4])
            counted += 1
        except psutil.Error:  # it exited meanwhile
            pass
    return total, counted


def _sample(cpus: Sequence[int]) -> _Sample | None:
    try:
        return _Sample(time.perf_counter(), _busy_seconds(cpus), *_our_seconds())
    except (psutil.Error, OSError):
        return None


def _load_between(first: _Sample | None, last: _Sample | None, allowed: int
                  ) -> MachineLoad | None:
    if first is None or last is None or last.when - first.when < 0.05:
        return None  # too short for the kernel's 10 ms CPU-time ticks to say much
    wall = last.when - first.when
    others = ((last.busy - first.busy) - (last.ours - first.ours)) / wall
    ticks = allowed + max(first.processes, last.processes)  # each count rounds to a tick
    uncertainty = ticks * _tick_seconds() / 2 / wall
    return MachineLoad(min(max(others, 0.0), float(allowed)), allowed, round(uncertainty, 3))


def _tick_seconds() -> float:
    """The kernel's CPU-time tick (``1 / SC_CLK_TCK``; 10 ms on most systems)."""
    try:
        return 1 / os.sysconf("SC_CLK_TCK")
    except (AttributeError, ValueError, OSError):  # not on Windows: psutil uses 100 ns there
        return 1e-4


class LoadWatch:
    """Filled in by :func:`watch_load` when its block ends: ``load`` is a
    :class:`MachineLoad`, or ``None`` where it cannot be measured (no psutil, a
    block shorter than 50 ms)."""

    load: MachineLoad | None = None


@contextmanager
def watch_load() -> Iterator[LoadWatch]:
    """Measure how busy other programs kept this machine's CPUs during a block::

        with watch_load() as watch:
            ...  # the measurement
        watch.load  # MachineLoad(others=1.02, allowed=2)

    Children of this process count as *this* work, also those that ended inside the
    block once they were waited for (``Process.join()``, a pool's shutdown).
    """
    watch = LoadWatch()
    cpus = _allowed_cpus() if psutil is not None else None
    first = _sample(cpus) if cpus else None
    try:
        yield watch
    finally:
        if cpus and first is not None:
            watch.load = _load_between(first, _sample(cpus), len(cpus))


def cpus_wanted(workers: int, tasks: int, effective_cpus: int, waits: bool = False) -> int:
    """How many CPUs a run could keep busy: none for waiting, else one per running task,
    at most the effective CPUs."""
    return 0 if waits else max(min(workers, tasks, effective_cpus), 1)


def load_disturbed(load: MachineLoad | None, wanted: float) -> bool:
    """True when other programs left fewer than ``wanted`` CPUs (by more than
    :data:`SLACK`) while they kept more than :data:`UNNOTICED` CPUs busy: the run could
    not get the CPUs it would have used. Judged on the least other programs can have
    used (``others - uncertainty``), so a coarse measurement never disturbs a run.

    Other programs' share shrinks as the run competes with them (the scheduler shares
    the CPUs out), so a hog that had a whole CPU may show as 0.4 of one beside four
    busy workers: what counts is that the run was left short, not by how much.
    """
    if load is None or wanted <= 0:
        return False
    surely_others = load.others - load.uncertainty  # the least other programs used
    return (surely_others > UNNOTICED
            and load.allowed - surely_others < wanted - SLACK)


def repeats_disagree(walls: Sequence[float]) -> bool:
    """True when the median of three or more repeats cannot be trusted: fewer than half
    of them lie within :data:`SPREAD` / 2 of it (and within :data:`SPREAD_FLOOR` / 2).

    One slow repeat does not move a median, so it disturbs nothing; repeats scattered
    all over do — then the machine kept changing speed while it measured.
    """
    if len(walls) < 3:
        return False
    ordered = sorted(walls)
    median = ordered[len(ordered) // 2]
    tolerance = max(median * SPREAD / 2, SPREAD_FLOOR / 2)
    close = sum(1 for wall in ordered if abs(wall - median) <= tolerance)
    return median > 0 and close <= len(ordered) / 2


def starved(cpus_busy: float, waits: bool = False) -> bool:
    """True when work that computes serially kept less than :data:`STARVED` of a CPU."""
    return not waits and not math.isnan(cpus_busy) and cpus_busy < STARVED


def beyond_ideal(gain: float, ideal: float) -> bool:
    """True when a speedup is more than ``ideal`` (CPUs, workers) can give, by more than
    timing noise (5 % + 0.05): the baseline was slow, the gain is not parallelism."""
    return gain > ideal * 1.05 + 0.05


def _cpus(count: float) -> str:
    """'1 CPU', '2 CPUs', '0.7 CPUs' — a count of CPUs in words."""
    return f"{count:g} CPU" if count == 1 else f"{count:.1f} CPUs" if count % 1 else \
        f"{count:g} CPUs"


def _seconds(value: float) -> str:
    """'1.23 s', or '12.3 ms' for short times (so two short repeats do not look equal)."""
    return f"{value:.2f} s" if value >= 0.1 else f"{value * 1000:.1f} ms"


def beyond_cpus(gain: float, cpus_busy: float, baseline_cpus_busy: float) -> bool:
    """True when a speedup of computing work is more than the CPUs it kept busy explain.

    The same work needs the same CPU time, so a run that kept ``cpus_busy`` CPUs busy
    against a baseline's ``baseline_cpus_busy`` can be at most their ratio faster. More
    than that (by 15 % + 0.05) means the baseline spent extra CPU time on the same work:
    it ran slow, and the gain is noise.
    """
    if baseline_cpus_busy <= 0 or math.isnan(cpus_busy):
        return False
    return gain > cpus_busy / baseline_cpus_busy * 1.15 + 0.05


def beyond_cpus_sentence(what: str, name: str, gain: float, cpus_busy: float,
                         baseline: str, baseline_cpus_busy: float) -> str:
    """The disturbed sentence for a gain that :func:`beyond_cpus` rejects: ``name``
    measured ``gain``× with more speed than the CPUs it kept busy explain."""
    return disturbed_sentence(what, (
        f"{name} measured {gain:.2f}× with {cpus_busy:.1f} CPUs busy against "
        f"{baseline_cpus_busy:.1f} for {baseline}: more than its CPUs explain, so the "
        f"{baseline} run spent extra time on the same work"))


def busy_sentence(load: MachineLoad | None, wanted: float, what: str = "this run") -> str:
    """'Other programs kept about 0.7 of this machine's 2 CPUs busy while processes ran …
    **disturbed** …' — or ``''`` when the run had the CPUs it could use."""
    if not load_disturbed(load, wanted):
        return ""
    assert load is not None
    return (f"Other programs kept about {load.others:.1f} of this machine's "
            f"{_cpus(load.allowed)} busy while {what} ran, leaving about {load.spare:.1f} "
            f"of the {_cpus(wanted)} it could use: this measurement is **{DISTURBED}** and "
            "says nothing about how it works. Close other work and run it again.")


def disturbed_sentence(what: str, seen: str) -> str:
    """The sentence for any disturbed measurement: what was seen, then that ``what``
    (e.g. 'the threads run') was disturbed, and 'run it again'."""
    return (f"{seen[:1].upper()}{seen[1:]}: {what} was **{DISTURBED}** — this machine did "
            "not run it at a steady speed — so it says nothing about how it works. Run it "
            "again, with other work closed.")


def run_waits(run: RunLike) -> bool | None:
    """True when the run's work waits (sleeps, I/O) rather than computes; ``None`` when
    that is not known (a function that is not a lab workload, run without ``waits=``)."""
    declared = getattr(run, "waits", None)
    if declared is not None:
        return declared
    workload = WORKLOADS.get(run.workload)
    return None if workload is None else workload.behaviour == "waits"


def run_cpus_wanted(run: RunLike, effective_cpus: int | None = None) -> int:
    """:func:`cpus_wanted` for a :class:`~helpers.core.runner.RunResult` (work not known
    to wait is taken to compute)."""
    cpus = effective_cpu_count() if effective_cpus is None else effective_cpus
    return cpus_wanted(run.workers, run.tasks, cpus, bool(run_waits(run)))


def ideal_gain(run: RunLike, effective_cpus: int | None = None) -> int:
    """The most ``run`` could gain over one worker: one task per worker for waiting (waits
    need no CPU), at most one per effective CPU for work that computes."""
    cpus = effective_cpu_count() if effective_cpus is None else effective_cpus
    if run_waits(run):
        return min(run.workers, run.tasks)
    return min(run.workers, run.tasks, cpus)


def run_disturbed(run: RunLike, effective_cpus: int | None = None) -> bool:
    """True when a run's numbers are noise: other programs took the CPUs it needed, a
    one-worker run of work known to compute got less than a CPU, or its repeats disagree."""
    return bool(run_disturbance(run, effective_cpus))


def run_disturbance(run: RunLike, effective_cpus: int | None = None, what: str = "") -> str:
    """Why :func:`run_disturbed` said so, as one sentence naming ``what`` ran (default:
    the executor); ``''`` for an undisturbed run."""
    what = what or run.executor
    wanted = run_cpus_wanted(run, effective_cpus)
    if load_disturbed(run.load, wanted):
        return busy_sentence(run.load, wanted, what)
    if run_waits(run) is False and run.workers == 1 and starved(run.utilisation):
        return disturbed_sentence("this measurement", f"{what} kept only "
                                  f"{run.utilisation:.1f} CPUs busy on work that computes "
                                  "all the time")
    if repeats_disagree(run.walls):
        return disturbed_sentence("this measurement", f"the repeats of {what} took from "
                                  f"{_seconds(min(run.walls))} to {_seconds(max(run.walls))}")
    return ""
