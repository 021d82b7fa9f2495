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
plus whatever else did not scale (starting tasks, moving results, other programs).
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
from helpers.core.executors import MAX_WORKERS
from helpers.core.experiments import stepped_progress
from helpers.core.plots import colour_for, draw_speedup_frame, finish_figure, mark_effective_cpus
from helpers.core.runner import ProgressCallback, RunResult, run_tasks
from helpers.core.system import effective_cpu_count
from helpers.core.words import Verdict, plural
from helpers.core.workloads import WORKLOADS, get_workload

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

    def fitted(self) -> float | None:
        """The serial fraction that explains the speedups (:func:`fit_serial_fraction`)."""
        return fit_serial_fraction(self.speedups(), self.effective_cpus)


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
    equal task per worker. ``on_result(scaling)`` follows each worker count.
    """
    name = require_choice("workload", workload, SPLITTABLE)
    spec = get_workload(name)
    fraction = require_float("serial_fraction", serial_fraction, 0.0, MAX_SERIAL_FRACTION)
    cpus = effective_cpu_count()
    counts = sorted(set(workers or range(1, min(2 * cpus, MAX_WORKERS) + 1)) | {1})
    for count in counts:
        require_int("workers", count, 1, MAX_WORKERS)
    total = spec.check_size(min(4 * spec.default_size(), spec.max_size) if total is None
                            else total)
    serial_size = round(total * fraction)
    steps = len(counts) + 1
    serial = _serial_part(spec.name, serial_size, repeats,
                          stepped_progress(on_progress, 0, steps))
    scaling = Scaling(name, executor, fraction, cpus, serial)
    parallel_total = total - serial_size
    for index, count in enumerate(counts, start=1):
        size = max(spec.min_size, round(parallel_total / count))
        scaling.parallel[count] = run_tasks(
            name, executor=executor, workers=count, tasks=count, size=size, repeats=repeats,
            start_method=start_method,
            on_progress=stepped_progress(on_progress, index, steps))
        if on_result is not None:
            on_result(scaling)
    return scaling


def _serial_part(name: str, size: int, repeats: int | None,
                 on_progress: ProgressCallback | None) -> RunResult:
    """The serial part as one task on the serial executor (zero work if ``size`` is 0)."""
    spec = WORKLOADS[name]
    return run_tasks(spec.function, executor="serial", arguments=[size], repeats=repeats,
                     on_progress=on_progress)


def describe_scaling(scaling: Scaling) -> Verdict:
    """The measured speedups, the fitted serial fraction, and what more workers did."""
    speedups = scaling.speedups()
    cpus = scaling.effective_cpus
    best = max(speedups, key=speedups.__getitem__)
    lines = [f"The serial part took {scaling.measured_serial_share():.0%} of the 1-worker job "
             f"(you asked for {scaling.serial_fraction:.0%})."]
    fitted = scaling.fitted()
    if fitted is None:
        lines.append(f"With 1 effective CPU no number of workers can speed the job up (the "
                     f"best measured, {speedups[best]:.2f}×, is noise), so there is no serial "
                     "fraction to measure here: every worker takes turns on the same CPU.")
        return Verdict(tuple(lines))
    lines[0] += f" Best speedup: **{speedups[best]:.2f}×** with {plural(best, 'worker')}."
    limit = "no limit" if fitted == 0 else f"at most {1 / fitted:.1f}× with any number of CPUs"
    lines.append(f"The Amdahl curve that fits these points has a serial fraction of "
                 f"**{fitted:.0%}**: {limit}.")
    gap = fitted - scaling.serial_fraction
    if gap > 0.05:
        lines.append(f"That is {gap:.0%} more than the serial part you chose: the rest is "
                     "what did not scale — handing tasks to workers, sending results back, "
                     "and other programs sharing the CPUs.")
    beyond = [n for n in speedups if n > cpus]
    if beyond:
        most = max(beyond)
        lines.append(f"With {most} workers on {plural(cpus, 'effective CPU')}: "
                     f"{speedups[most]:.2f}× — workers beyond the CPU count only take turns "
                     "(oversubscription).")
    return Verdict(tuple(lines))


def plot_scaling(scaling: Scaling) -> Figure:
    """Measured speedups, the ideal line, and the fitted (and chosen) Amdahl curves."""
    fig, ax = plt.subplots(figsize=(7, 4))
    speedups = scaling.speedups()
    cpus = scaling.effective_cpus
    counts = draw_speedup_frame(ax, max(speedups), cpus, "ideal (no serial part)")
    ax.plot(counts, [amdahl_speedup(n, scaling.serial_fraction, cpus) for n in counts],
            color=REFERENCE_GREY, linestyle=":", label=f"Amdahl, s = {scaling.serial_fraction:.0%} "
            "(chosen)")
    fitted = scaling.fitted()
    if fitted is not None:
        ax.plot(counts, [amdahl_speedup(n, fitted, cpus) for n in counts],
                color=FITTED_COLOUR, label=f"Amdahl, s = {fitted:.0%} (fitted)")
    ax.plot(list(speedups), list(speedups.values()), "o", markersize=8,
            color=colour_for(scaling.executor), label=f"measured ({scaling.executor})")
    mark_effective_cpus(ax, cpus)
    ax.set_ylabel("speedup (× the 1-worker job)")
    ax.set_title(f"Amdahl's law: {scaling.workload} job with a "
                 f"{scaling.serial_fraction:.0%} serial part")
    ax.legend(fontsize=8)
    return finish_figure(fig)


class AmdahlLab(RunPanel):
    """A widget: pick the workload, the executor and the serial fraction; press Run."""

    def __init__(self, workload: str = "count", serial_fraction: float = 0.2,
                 executor: str = "processes", start_method: str | None = None) -> None:
        self.workload = widgets.Dropdown(
            options=[(f"{n} ({WORKLOADS[n].behaviour})", n) for n in SPLITTABLE],
            value=require_choice("workload", workload, SPLITTABLE), description="workload")
        self.executor = widgets.Dropdown(options=["processes", "threads"],
                                         value=require_choice("executor", executor,
                                                              ("processes", "threads")),
                                         description="executor")
        percent = round(100 * require_float("serial_fraction", serial_fraction, 0.0,
                                            MAX_SERIAL_FRACTION))
        self.serial_percent = bounded_slider("serial part (%)", percent, 0,
                                             round(100 * MAX_SERIAL_FRACTION), 5)
        self.start_method = start_method
        self.scaling: Scaling | None = None
        super().__init__([self.serial_percent, widgets.HBox([self.workload, self.executor])])

    def run(self) -> Scaling | None:
        scaling = self.guarded(lambda on_progress: measure_scaling(
            self.workload.value, self.serial_percent.value / 100,
            executor=self.executor.value, start_method=self.start_method,
            on_progress=on_progress, on_result=self.live(plot_scaling)))
        if scaling is not None:
            self.scaling = scaling
            self.words.value = describe_scaling(scaling)._repr_html_()
        return scaling
