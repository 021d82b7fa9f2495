"""Every plot of the lab, drawn once here: times, speedup, and the task timeline.

Colours come from :mod:`helpers.core.colours` (the Okabe–Ito palette, which stays
distinguishable with the common forms of colour blindness); each executor kind has one.
Each function returns a matplotlib Figure, finished by :func:`finish_figure`: laid out
and already closed in pyplot, so it is displayed once, where you choose.
"""
from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text

from helpers.core.colours import (
    BLACK,
    BLUE,
    BLUISH_GREEN,
    OKABE_ITO,
    ORANGE,
    REDDISH_PURPLE,
    REFERENCE_GREY,
    SKY_BLUE,
    VERMILLION,
    WHITE,
)
from helpers.core.experiments import Comparison
from helpers.core.noise import DISTURBED, run_disturbed
from helpers.core.noise import ideal_gain as ideal_speedup
from helpers.core.runner import RunResult
from helpers.core.settings import present_mode

EXECUTOR_COLOURS = {"serial": BLUE, "threads": ORANGE, "processes": BLUISH_GREEN,
                    "interpreters": REDDISH_PURPLE, "asyncio": SKY_BLUE, "dask": VERMILLION}
IDEAL_STYLE = {"color": BLACK, "linestyle": "--", "linewidth": 1}
START_METHOD_HATCHES = {"fork": "", "forkserver": "..", "spawn": "//"}
"""Start methods are all *processes*: they share the processes' colour, told apart by hatch."""
LABEL_SIZE = 8  # points: the smallest text drawn on a plot


def colour_for(executor: str, index: int = 0) -> str:
    """A fixed colour per executor kind, so every plot of the lab agrees."""
    return EXECUTOR_COLOURS.get(executor, OKABE_ITO[index % len(OKABE_ITO)])


def start_method_style(method: str) -> dict[str, str]:
    """Bar style for a start method: the processes' colour, hatched per method, so a
    start method never looks like another executor kind."""
    return {"color": colour_for("processes"), "hatch": START_METHOD_HATCHES.get(method, "xx"),
            "edgecolor": "white"}


def _luminance(colour: str) -> float:
    """Relative luminance of a ``#RRGGBB`` colour (WCAG 2)."""
    channels = [int(colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def text_colour_on(colour: str) -> str:
    """Black or white, whichever contrasts more with ``colour`` (a ``#RRGGBB`` fill):
    black on orange and sky blue, white on blue and vermillion."""
    light = _luminance(colour)
    return BLACK if (light + 0.05) / 0.05 >= 1.05 / (light + 0.05) else WHITE


PRESENT_TEXT_SCALE = 1.25  # classroom mode: every text of a plot this much larger
SCREEN_FIT_PX = (820, 540)  # what a figure may fill of a 1280×720 projector: JupyterLab's
# file browser (left open), top bars, the cell's prompt and margins take the rest


def finish_figure(fig: Figure) -> Figure:
    """Tight layout, and closed in pyplot so that it shows once, where it is displayed.

    In classroom mode (``LAB_PRESENT=1``) its text is enlarged and it is shrunk, if need
    be, to fit a 1280×720 screen (:func:`fit_for_projector`)."""
    if present_mode():
        fit_for_projector(fig)
    fig.tight_layout()
    plt.close(fig)
    return fig


def fit_for_projector(fig: Figure) -> None:
    """Enlarge every text of ``fig`` and keep the figure within :data:`SCREEN_FIT_PX`."""
    for text in fig.findobj(match=lambda artist: isinstance(artist, Text)):
        text.set_fontsize(text.get_fontsize() * PRESENT_TEXT_SCALE)
    width, height = fig.get_size_inches()
    most_width, most_height = (pixels / fig.dpi for pixels in SCREEN_FIT_PX)
    shrink = min(1.0, most_width / width, most_height / height)
    fig.set_size_inches(width * shrink, height * shrink)


def _disturbed_mark(comparison: Comparison, executor: str) -> str:
    """A last line for a bar's label when its run, or the baseline its speedup is measured
    against, was disturbed (:mod:`helpers.core.noise`): the words say so too."""
    runs = (comparison.baseline, comparison.runs[executor])
    disturbed = any(run_disturbed(run, comparison.effective_cpus) for run in runs)
    return f"\n({DISTURBED})" if disturbed else ""


def draw_times(ax: Axes, comparison: Comparison) -> None:
    """Bars of median wall time and CPU time per executor, labelled with the speedup."""
    names = list(comparison.runs)
    for i, name in enumerate(names):
        run = comparison.runs[name]
        colour = colour_for(name, i)
        ax.bar(i - 0.2, run.wall, 0.4, color=colour, label="wall time" if i == 0 else None)
        ax.bar(i + 0.2, run.cpu, 0.4, color="white", edgecolor=colour, hatch="//",
               label="CPU time" if i == 0 else None)
        ax.annotate(f"{comparison.speedup(name):.2f}×\n{run.utilisation:.1f} CPUs"
                    + _disturbed_mark(comparison, name),
                    (i - 0.2, run.wall), ha="center", va="bottom", fontsize=LABEL_SIZE)
    ax.set_xticks(range(len(names)), names)
    ax.set_ylabel("time (s)")
    ax.set_title(f"Wall and CPU time ({comparison.baseline.tasks} × "
                 f"{comparison.baseline.workload})")
    ax.margins(y=0.25)
    ax.legend(loc="upper right", fontsize=8)


def draw_timeline(ax: Axes, run: RunResult, colour: str, span: float | None = None,
                  label: str | None = None) -> None:
    """One lane per worker, one bar per task: overlapping bars ran at the same time.

    Inside each wide-enough bar: the share of its time the task was on a CPU. Under
    the GIL, two CPU-bound threads each show about 50 %: they took turns.
    """
    lanes = run.worker_ids()
    for record in run.records:
        lane = lanes[(record.pid, record.thread)]
        ax.broken_barh([(record.start, record.duration)], (lane - 0.4, 0.8),
                       facecolors=colour, edgecolors="white", linewidth=0.5)
        if record.duration > 0.06 * (span or run.wall or 1) and record.cpu == record.cpu:
            share = record.cpu / record.duration if record.duration > 0 else 0
            ax.text(record.start + record.duration / 2, lane, f"{share:.0%} CPU",
                    ha="center", va="center", fontsize=LABEL_SIZE,
                    color=text_colour_on(colour))
    ax.set_yticks(range(len(lanes)), [f"worker {i}" for i in range(len(lanes))])
    ax.set_ylim(-0.6, max(len(lanes), 1) - 0.4)
    ax.invert_yaxis()
    ax.set_xlim(0, span if span else max((r.end for r in run.records), default=1) * 1.02)
    ax.set_xlabel("time since the run started (s)")
    ax.set_title(f"{label or run.executor}: {run.tasks} task{'' if run.tasks == 1 else 's'} "
                 f"on {run.workers} worker{'' if run.workers == 1 else 's'}, "
                 f"{run.wall:.2f} s, {run.utilisation:.1f} CPUs busy", fontsize=9)


def plot_timeline(runs: Comparison | Mapping[str, RunResult] | RunResult) -> Figure:
    """Timelines of several runs stacked on one time axis, so lengths compare directly."""
    if isinstance(runs, RunResult):
        runs = {runs.executor: runs}
    elif isinstance(runs, Comparison):
        runs = runs.runs
    span = max(max((r.end for r in run.records), default=0) for run in runs.values()) * 1.02
    heights = [max(run.worker_count_seen, 1) * 0.35 + 0.9 for run in runs.values()]
    fig, axes = plt.subplots(len(runs), 1, figsize=(8, sum(heights) + 0.4), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    for i, (ax, (name, run)) in enumerate(zip(axes[:, 0], runs.items())):
        draw_timeline(ax, run, colour_for(run.executor, i), span, label=name)
    fig.suptitle("Which worker ran which task, when")
    return finish_figure(fig)


def plot_times(comparison: Comparison) -> Figure:
    """Wall time and CPU time per executor, one figure."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    draw_times(ax, comparison)
    return finish_figure(fig)


def plot_comparison(comparison: Comparison) -> Figure:
    """The lab widget's picture: times on the left, every executor's timeline on the right."""
    runs = comparison.runs
    lanes = [max(run.worker_count_seen, 1) for run in runs.values()]
    fig = plt.figure(figsize=(11, max(3.6, 0.45 * sum(lanes) + 1.1 * len(runs))))
    grid = fig.add_gridspec(len(runs), 2, width_ratios=[1, 1.6],
                            height_ratios=[n + 1.5 for n in lanes])
    draw_times(fig.add_subplot(grid[:, 0]), comparison)
    span = max(max((r.end for r in run.records), default=0) for run in runs.values()) * 1.02
    for i, (name, run) in enumerate(runs.items()):
        ax = fig.add_subplot(grid[i, 1])
        draw_timeline(ax, run, colour_for(name, i), span)
        if i < len(runs) - 1:
            ax.set_xlabel("")
    return finish_figure(fig)


def plot_speedup(sweeps: Mapping[str, Mapping[int, RunResult]], effective_cpus: int) -> Figure:
    """Measured speedup against workers, with the ideal: min(workers, effective CPUs)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    draw_speedup_frame(ax, max(max(sweep) for sweep in sweeps.values()), effective_cpus)
    for i, (name, sweep) in enumerate(sweeps.items()):
        base = sweep[min(sweep)].wall
        workers = sorted(sweep)
        ax.plot(workers, [base / sweep[w].wall for w in workers], marker="o",
                color=colour_for(name, i), label=name)
    mark_effective_cpus(ax, effective_cpus)
    ax.set_ylabel("speedup (× the 1-worker time)")
    ax.set_title("Speedup versus number of workers")
    ax.legend()
    return finish_figure(fig)


def draw_speedup_frame(ax: Axes, most_workers: int, effective_cpus: int,
                       ideal_label: str = "ideal") -> list[int]:
    """Workers 1 … ``most_workers`` on x and the ideal min(workers, CPUs); returns the
    worker counts. The caller adds its points, :func:`mark_effective_cpus`, title, y label."""
    counts = list(range(1, most_workers + 1))
    ax.plot(counts, [min(w, effective_cpus) for w in counts], label=ideal_label, **IDEAL_STYLE)
    ax.set_xticks(counts)
    ax.set_xlabel("workers")
    floor_at_zero(ax)
    return counts


def floor_at_zero(ax: Axes) -> None:
    """Start the y axis at 0 and let it grow with every point drawn later (a fixed
    limit set now would cut off a point above it)."""
    x = ax.dataLim.x0 if math.isfinite(ax.dataLim.x0) else 0.0
    zero, = ax.plot([x], [0], linestyle="none")
    zero.sticky_edges.y.append(0)


def mark_effective_cpus(ax: Axes, effective_cpus: int) -> None:
    """A dotted vertical line at the CPU count: beyond it, workers only take turns."""
    ax.axvline(effective_cpus, color=REFERENCE_GREY, linestyle=":", linewidth=1)
    at_the_right_edge = effective_cpus >= ax.dataLim.x1
    ax.annotate(f"{effective_cpus} effective CPU{'' if effective_cpus == 1 else 's'} ",
                (effective_cpus, 0.02), xycoords=("data", "axes fraction"),
                fontsize=LABEL_SIZE, ha="right" if at_the_right_edge else "left")


def plot_speedup_by_workload(comparisons: Mapping[str, Comparison],
                             executor: str = "threads", *, xlabel: str = "workload",
                             title: str | None = None) -> Figure:
    """One bar per workload (or per interpreter, whatever the keys name): ``executor``'s
    speedup over the baseline, with the ideal."""
    fig, ax = plt.subplots(figsize=(7, 3.8))
    names = list(comparisons)
    for i, name in enumerate(names):
        comparison = comparisons[name]
        run = comparison.runs[executor]
        ideal = ideal_speedup(run, comparison.effective_cpus)
        ax.bar(i, comparison.speedup(executor), 0.6, color=colour_for(executor))
        ax.hlines(ideal, i - 0.4, i + 0.4, label="ideal" if i == 0 else None, **IDEAL_STYLE)
        ax.annotate(f"{comparison.speedup(executor):.2f}×\n{run.utilisation:.1f} CPUs"
                    + _disturbed_mark(comparison, executor),
                    (i, max(comparison.speedup(executor), ideal)), ha="center", va="bottom",
                    fontsize=LABEL_SIZE)
    ax.set_xticks(range(len(names)), ["\n".join(textwrap.wrap(n, 18)) for n in names])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"speedup of {executor} (× serial)")
    ax.set_title(title or f"{executor.capitalize()} versus serial, by kind of work")
    ax.margins(y=0.35)  # room for three-line labels above the tallest bar or ideal
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=LABEL_SIZE)
    return finish_figure(fig)
