"""Scaling and Amdahl's law: why adding workers stops helping.

A job has a part that only one worker can do (reading the input, merging the
results: its **serial fraction** *s*) and a part that splits across *n* workers.
Amdahl's law gives the best speedup *n* workers can reach::

    speedup(n) = 1 / (s + (1 - s) / n)

so with *s* = 0.1 no number of workers gets past 10×. With more workers than
CPUs, the extra workers only take turns: *n* is capped at the effective CPUs.

:func:`measure_scaling` builds such a job from a lab workload: a serial part
run in this thread, then the parallel part split into one task per worker, on
1, 2, … workers — both parts timed by the runner. :func:`fit_serial_fraction`
finds the *s* that best explains the measured speedups: the fraction you chose,
plus whatever else did not scale. A sweep that other programs disturbed
(:mod:`helpers.core.noise`) is called disturbed, and no serial fraction is fitted to
it: it would describe the busy machine, not the job. Work that waits needs no CPU, so
its ideal is one task per worker, whatever the number of CPUs.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from helpers.core.arguments import require_choice, require_float, require_int
from helpers.core.colours import REFERENCE_GREY, VERMILLION
from helpers.core.controls import RunPanel, bounded_slider
from helpers.core.estimates import run_seconds, runner_repeats, task_seconds
from helpers.core.executors import MAX_WORKERS
from helpers.core.experiments import stepped_progress
from helpers.core.noise import DISTURBED, beyond_ideal, disturbed_sentence, run_disturbed
from helpers.core.plots import (
    IDEAL_STYLE,
    LABEL_SIZE,
    colour_for,
    finish_figure,
    floor_at_zero,
    mark_effective_cpus,
)
from helpers.core.runner import ProgressCallback, RunResult, run_tasks
from helpers.core.settings import resolve_start_method
from helpers.core.system import effective_cpu_count, gil_enabled
from helpers.core.words import Verdict, plural
from helpers.core.workloads import WORKLOADS, get_workload
from helpers.processes_in_depth.disturbance import disturbance_lines

# Workloads whose work grows in proportion to their size, so a job splits evenly.
SPLITTABLE = ("count", "hash", "hash-1k", "zlib", "sleep")
MAX_SERIAL_FRACTION = 0.95
FITTED_COLOUR = VERMILLION  # apart from every executor colour of these plots


def amdahl_speedup(workers: int, serial_fraction: float, cpus: int | None = None) -> float:
    """Amdahl's law; with ``cpus`` given, workers beyond it add nothing."""
    require_int("workers", workers, 1, MAX_WORKERS)
    s = require_float("serial_fraction", serial_fraction, 0.0, 1.0)
    n = workers if cpus is None else min(workers, require_int("cpus", cpus, 1, 4096))
    return 1.0 / (s + (1.0 - s) / n)


def fit_serial_fraction(speedups: Mapping[int, float], cpus: int) -> float | None:
    """The serial fraction *s* whose Amdahl curve is closest to the measured speedups.

    Least squares on ``1/speedup = s + (1 - s)/n`` (a straight line in ``1/n``), with
    ``n`` capped at ``cpus``; the answer is clipped to 0…1. Returns ``None`` when no
    point has more than one CPU at work (e.g. on 1 effective CPU): nothing to fit.
    """
    require_int("cpus", cpus, 1, 4096)
    top = bottom = 0.0
    for workers, speedup in speedups.items():
        x = 1.0 / min(require_int("workers", workers, 1, MAX_WORKERS), cpus)
        y = 1.0 / require_float("speedup", speedup, 1e-9, 1e9)
        top += (y - x) * (1.0 - x)
        bottom += (1.0 - x) ** 2
    if bottom == 0.0:
        return None
    return min(max(top / bottom, 0.0), 1.0)


@dataclass
class Scaling:
    """One job (serial part + parallel part) measured on 1, 2, … workers."""

    workload: str
    executor: str
    serial_fraction: float  # the fraction of the work put in the serial part
    effective_cpus: int
    serial_part: RunResult  # the serial part, run once in this thread
    parallel: dict[int, RunResult] = field(default_factory=dict)  # workers -> parallel part
    planned: tuple[int, ...] = ()  # every worker count the sweep will measure (for the axis)

    def job_seconds(self, workers: int) -> float:
        """Median seconds of the serial part plus the parallel part on ``workers``."""
        return self.serial_part.wall + self.parallel[workers].wall

    def speedups(self) -> dict[int, float]:
        """Job time on 1 worker ÷ job time on n workers, for each n measured."""
        base = self.job_seconds(1)
        return {n: base / self.job_seconds(n) for n in sorted(self.parallel)}

    def measured_serial_share(self) -> float:
        """The share of the 1-worker job spent in the serial part, as measured."""
        return self.serial_part.wall / self.job_seconds(1)

    @property
    def waits(self) -> bool:
        """True when the work waits (sleeps) rather than computes: it needs no CPU."""
        return WORKLOADS[self.workload].behaviour == "waits"

    @property
    def cap(self) -> int:
        """How many workers can gain at once: the effective CPUs for work that computes,
        every worker for work that waits."""
        return MAX_WORKERS if self.waits else self.effective_cpus

    def ideal(self, workers: int) -> int:
        """The best speedup ``workers`` could reach with no serial part."""
        return min(workers, self.cap)

    def fitted(self) -> float | None:
        """The serial fraction that explains the speedups (:func:`fit_serial_fraction`)."""
        return fit_serial_fraction(self.speedups(), self.cap)

    def disturbances(self) -> list[str]:
        """One sentence per sign that other work disturbed the sweep (each contains
        "disturbed"): a run :mod:`helpers.core.noise` judges disturbed, or a speedup above
        the ideal. Empty when the sweep can be read as it is."""
        runs = [(f"{plural(n, 'worker')}", self.parallel[n]) for n in sorted(self.parallel)]
        if self._serial_part_counts():
            runs.insert(0, ("the serial part", self.serial_part))
        found = disturbance_lines(runs, self.effective_cpus, "this sweep")
        above = self.beyond_ideal()
        if above:
            n = max(above, key=self.part_speedups().__getitem__)
            found.append(disturbed_sentence(
                "this sweep", f"{plural(n, 'worker')} ran the part that splits "
                f"{self.part_speedups()[n]:.2f}× faster than 1 worker, more than the ideal "
                f"{self.ideal(n)}×"))
        return found

    def part_speedups(self) -> dict[int, float]:
        """The part that splits: its time on 1 worker ÷ its time on n workers. It alone can
        reach the ideal (the serial part takes as long on any number of workers)."""
        one = self.parallel[1].wall
        return {n: one / run.wall for n, run in sorted(self.parallel.items())}

    def beyond_ideal(self) -> list[int]:
        """Worker counts whose part that splits ran faster than they could make it (noise:
        the 1-worker run was slow). The whole job's speedup would hide it: its serial part
        dilutes the gain (1.93× against a bound of 1.71× with a 17 % serial part on 2 CPUs
        was let through)."""
        return [n for n, gain in self.part_speedups().items()
                if beyond_ideal(gain, self.ideal(n))]

    def disturbed_counts(self) -> list[int]:
        """Worker counts whose speedup cannot be read: their run was disturbed or their
        speedup is beyond the ideal — every count when the 1-worker job or the serial part
        (part of every job) was disturbed."""
        if not self.disturbances():
            return []
        bad = {n for n, run in self.parallel.items()
               if run_disturbed(run, self.effective_cpus)} | set(self.beyond_ideal())
        if 1 in bad or (self._serial_part_counts()
                        and run_disturbed(self.serial_part, self.effective_cpus)):
            return sorted(self.parallel)
        return sorted(bad)

    def _serial_part_counts(self) -> bool:
        """False for an empty serial part (0 %): too short to say anything about noise."""
        return self.serial_fraction > 0


def measure_scaling(workload: str = "count", serial_fraction: float = 0.2, *,
                    executor: str = "processes", total: int | None = None,
                    workers: Sequence[int] | None = None, repeats: int | None = None,
                    start_method: str | None = None,
                    on_result: Callable[[Scaling], None] | None = None,
                    on_progress: ProgressCallback | None = None) -> Scaling:
    """Measure one job of ``total`` work on 1 … 2 × effective CPUs workers.

    ``total`` is in the workload's unit (default: 4 × its default size, within its
    slider range). The serial
    part does ``serial_fraction × total`` in this thread; the rest is split into one
    equal task per worker. ``on_result(scaling)`` follows every repeat of every worker
    count (each run's wall time the median of its repeats so far), so a plot shows the
    first point after one repeat on 1 worker; the last call holds the finished sweep.
    """
    name = require_choice("workload", workload, SPLITTABLE)
    spec = get_workload(name)
    fraction = require_float("serial_fraction", serial_fraction, 0.0, MAX_SERIAL_FRACTION)
    cpus = effective_cpu_count()
    counts = worker_counts(workers, cpus)
    total = job_size(name, total)
    serial_size = round(total * fraction)
    steps = len(counts) + 1
    serial = _serial_part(spec.name, serial_size, repeats,
                          stepped_progress(on_progress, 0, steps))
    scaling = Scaling(name, executor, fraction, cpus, serial, planned=tuple(counts))
    parallel_total = total - serial_size
    for index, count in enumerate(counts, start=1):
        size = task_size(spec.name, parallel_total, count)
        scaling.parallel[count] = run_tasks(
            name, executor=executor, workers=count, tasks=count, size=size, repeats=repeats,
            start_method=start_method,
            on_progress=stepped_progress(on_progress, index, steps),
            on_repeat=_so_far(scaling, count, on_result))
        if on_result is not None:
            on_result(scaling)
    return scaling


def worker_counts(workers: Sequence[int] | None, cpus: int) -> list[int]:
    """The worker counts a sweep measures: ``workers`` (checked), else 1 … 2 × ``cpus``;
    1 always (every speedup is against it)."""
    counts = sorted(set(workers or range(1, min(2 * cpus, MAX_WORKERS) + 1)) | {1})
    for count in counts:
        require_int("workers", count, 1, MAX_WORKERS)
    return counts


def job_size(workload: str, total: int | None = None) -> int:
    """The whole job's work in the workload's unit: ``total`` (checked), else 4 × its
    default size, within its range."""
    spec = get_workload(workload)
    return spec.check_size(min(4 * spec.default_size(), spec.max_size) if total is None
                           else total)


def task_size(workload: str, parallel_total: int, workers: int) -> int:
    """One worker's share of the parallel part: an equal split, at least the smallest size."""
    return max(get_workload(workload).min_size, round(parallel_total / workers))


def estimate_scaling_seconds(workload: str, serial_fraction: float,
                             executor: str = "processes", repeats: int | None = None) -> float:
    """About how long :func:`measure_scaling` takes here: the serial part once, then for
    each worker count its tasks (one per worker, as many at once as
    :func:`~helpers.core.estimates.run_seconds` allows)."""
    spec, cpus, repeats = get_workload(workload), effective_cpu_count(), runner_repeats(repeats)
    total = job_size(spec.name)
    serial_size = round(total * serial_fraction)
    seconds = repeats * task_seconds(spec.name, serial_size)
    for count in worker_counts(None, cpus):
        size = task_size(spec.name, total - serial_size, count)
        seconds += run_seconds(executor, spec.behaviour,
                               task_seconds=task_seconds(spec.name, size), tasks=count,
                               workers=count, repeats=repeats, cpus=cpus)
    return seconds


def _so_far(scaling: Scaling, count: int, on_result: Callable[[Scaling], None] | None
            ) -> Callable[[RunResult], None] | None:
    """An ``on_repeat`` for ``count`` workers: the sweep with that run's repeats so far."""
    if on_result is None:
        return None

    def report(partial: RunResult) -> None:
        scaling.parallel[count] = partial
        on_result(scaling)

    return report


def _serial_part(name: str, size: int, repeats: int | None,
                 on_progress: ProgressCallback | None) -> RunResult:
    """The serial part as one task on the serial executor (zero work if ``size`` is 0)."""
    spec = WORKLOADS[name]
    return run_tasks(spec.function, executor="serial", arguments=[size], repeats=repeats,
                     on_progress=on_progress)


def describe_scaling(scaling: Scaling) -> Verdict:
    """The measured speedups, the fitted serial fraction, and what more workers did.

    A disturbed sweep is called disturbed (what was seen, run it again) and gets no
    fitted fraction; one CPU for work that computes has none to fit."""
    speedups = scaling.speedups()
    best = max(speedups, key=speedups.__getitem__)
    lines = [f"The serial part took {scaling.measured_serial_share():.0%} of the 1-worker job "
             f"(you asked for {scaling.serial_fraction:.0%}). Best speedup: "
             f"**{speedups[best]:.2f}×** with {plural(best, 'worker')}."]
    disturbances = scaling.disturbances()
    if scaling.cap == 1:
        lines.append("With 1 effective CPU the workers take turns on it: no number of workers "
                     "can speed this job up, so there is no serial fraction to measure here.")
        return Verdict(tuple(lines + disturbances))  # lines[1]: the key line (summary)
    if disturbances:
        lines.extend(disturbances)
        lines.append(f"A serial fraction fitted to a **{DISTURBED}** sweep would describe the "
                     "busy machine, not this job, so none is given: press **Run** again when "
                     "the machine is quieter.")
        return Verdict(tuple(lines))
    fitted = scaling.fitted()
    assert fitted is not None  # more than one CPU can gain
    lines.append(_fitted_sentence(scaling, fitted))
    gap = fitted - scaling.measured_serial_share()
    if gap > 0.05:
        lines.append(_did_not_scale(scaling, gap))
    beyond = [n for n in speedups if n > scaling.cap]
    if beyond:
        most = max(beyond)
        lines.append(f"With {most} workers on {plural(scaling.effective_cpus, 'effective CPU')}: "
                     f"{speedups[most]:.2f}× — workers beyond the CPU count only take turns "
                     "(oversubscription).")
    return Verdict(tuple(lines))


def _fitted_sentence(scaling: Scaling, fitted: float) -> str:
    """The fitted fraction and what it allows here and on any machine."""
    text = (f"The Amdahl curve that fits these points has a serial fraction of "
            f"**{fitted:.0%}**: ")
    if fitted >= 0.995:
        return text + "no part of the job ran faster on more workers."
    most = max(scaling.parallel)
    here = amdahl_speedup(most, fitted, scaling.cap)
    where = (f"{plural(most, 'worker')}" if scaling.waits else
             f"this machine's {plural(min(most, scaling.cap), 'CPU')}")
    if fitted <= 0.005:
        return text + f"nothing but the ideal limits it (up to {here:.1f}× on {where})."
    limit = f"never more than {1 / fitted:.1f}× however many workers and CPUs"
    best = max(scaling.speedups().values())
    if best > here + 0.05:  # a point above the curve: "at most" would contradict it
        return (text + f"{here:.1f}× on {where}, below the {best:.2f}× measured — the points "
                f"scatter around the curve, so read the fraction as rough — and {limit}.")
    return text + f"at most {here:.1f}× on {where}, and {limit}."


def _did_not_scale(scaling: Scaling, gap: float) -> str:
    """What the measured part that should have split did, when the fit exceeds the
    serial part: measured numbers only, no guessed cause."""
    n = max(w for w in scaling.parallel if w <= scaling.cap)
    one, many = scaling.parallel[1].wall, scaling.parallel[n].wall
    text = (f"That is {gap:.0%} more than the serial part's measured share: something else "
            f"did not scale. With {plural(n, 'worker')} the part that splits took "
            f"{many:.2f} s, against {one / scaling.ideal(n):.2f} s if it had split perfectly "
            f"({one:.2f} s on 1 worker), with {scaling.parallel[n].utilisation:.1f} CPUs busy.")
    if scaling.executor == "threads" and scaling.workload == "count" and gil_enabled():
        text += (" These threads run a pure-Python loop under the GIL, which lets one thread "
                 "at a time run Python code.")
    return text


def plot_scaling(scaling: Scaling) -> Figure:
    """Measured speedups, the ideal line, and the fitted (and chosen) Amdahl curves.
    Disturbed points are drawn hollow; a disturbed sweep gets no fitted curve."""
    fig, ax = plt.subplots(figsize=(7, 4))
    speedups = scaling.speedups()
    cpus = scaling.effective_cpus
    counts = list(range(1, max([*speedups, *scaling.planned]) + 1))
    ideal_label = ("ideal: one task per worker (waiting needs no CPU)" if scaling.waits
                   else "ideal: min(workers, CPUs), no serial part")
    ax.plot(counts, [scaling.ideal(n) for n in counts], label=ideal_label, **IDEAL_STYLE)
    ax.plot(counts, [amdahl_speedup(n, scaling.serial_fraction, scaling.cap) for n in counts],
            color=REFERENCE_GREY, linestyle=":", label=f"Amdahl, s = {scaling.serial_fraction:.0%} "
            "(chosen)")
    disturbed = scaling.disturbed_counts()
    fitted = scaling.fitted()
    if fitted is not None and not disturbed:
        ax.plot(counts, [amdahl_speedup(n, fitted, scaling.cap) for n in counts],
                color=FITTED_COLOUR, label=f"Amdahl, s = {fitted:.0%} (fitted)")
    colour = colour_for(scaling.executor)
    clean = [n for n in speedups if n not in disturbed]
    ax.plot(clean, [speedups[n] for n in clean], "o", markersize=8, color=colour,
            label=f"measured ({scaling.executor})")
    if disturbed:
        ax.plot(disturbed, [speedups[n] for n in disturbed], "o", markersize=8,
                markerfacecolor="none", markeredgecolor=colour, markeredgewidth=2,
                label=f"measured, {DISTURBED} (run again)")
    mark_effective_cpus(ax, cpus)
    floor_at_zero(ax)
    ax.set_xticks(counts)
    ax.set_xlabel("workers")
    ax.set_ylabel("speedup (× the 1-worker job)")
    title = (f"Amdahl's law: {scaling.workload} job with a "
             f"{scaling.serial_fraction:.0%} serial part")
    if disturbed:
        title += f"\n(measurement {DISTURBED} by other work)"
    ax.set_title(title)
    ax.legend(fontsize=LABEL_SIZE)
    return finish_figure(fig)


class AmdahlLab(RunPanel):
    """A widget: pick the workload, the executor and the serial fraction; press Run."""

    def __init__(self, workload: str = "count", serial_fraction: float = 0.2,
                 executor: str = "processes", start_method: str | None = None) -> None:
        self.workload = widgets.Dropdown(
            options=[(f"{n} ({WORKLOADS[n].behaviour})", n) for n in SPLITTABLE],
            value=require_choice("workload", workload, SPLITTABLE), description="workload",
            style={"description_width": "initial"},
            layout=widgets.Layout(width="320px"))  # "zlib (releases the GIL)" fits whole
        self.executor = widgets.Dropdown(options=["processes", "threads"],
                                         value=require_choice("executor", executor,
                                                              ("processes", "threads")),
                                         description="executor")
        percent = round(100 * require_float("serial_fraction", serial_fraction, 0.0,
                                            MAX_SERIAL_FRACTION))
        self.serial_percent = bounded_slider("serial part (%)", percent, 0,
                                             round(100 * MAX_SERIAL_FRACTION), 5)
        # checked now (a typo fails here, not at Run); None: the lab's default at Run
        self.start_method = start_method and resolve_start_method(start_method)
        self.scaling: Scaling | None = None
        super().__init__([self.serial_percent, widgets.HBox([self.workload, self.executor])])

    def estimate(self) -> float:
        """About how many seconds a Run with the controls as they are takes here."""
        return estimate_scaling_seconds(self.workload.value, self.serial_percent.value / 100,
                                        self.executor.value)

    def run(self) -> Scaling | None:
        scaling = self.guarded(lambda on_progress: measure_scaling(
            self.workload.value, self.serial_percent.value / 100,
            executor=self.executor.value, start_method=self.start_method,
            on_progress=on_progress, on_result=self.live(plot_scaling)))
        if scaling is not None:
            self.scaling = scaling
            self.words.value = describe_scaling(scaling)._repr_html_()
        return scaling
