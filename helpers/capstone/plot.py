"""The capstone's plot: one stacked bar per choice, a segment per stage, then the set-up.

Each stage keeps its colour in every bar, so a stage that shrank (or did not) shows at a
glance; the hatched tail is the pools' set-up, paid once and left out of the total.
"""
from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from helpers.capstone.pipeline import PipelineComparison, PipelineRun
from helpers.capstone.plan import STAGES
from helpers.core.colours import REDDISH_PURPLE, REFERENCE_GREY, SKY_BLUE, VERMILLION, YELLOW
from helpers.core.plots import finish_figure
from helpers.core.words import plural

STAGE_COLOURS = {"fetch": SKY_BLUE, "parse": YELLOW, "compute": VERMILLION,
                 "aggregate": REDDISH_PURPLE}
SETUP_COLOUR = REFERENCE_GREY


def plot_pipelines(comparison: PipelineComparison) -> Figure:
    """One stacked bar per choice: each stage's median time, then the pools' set-up."""
    runs = list(comparison.runs.values())
    fig, ax = plt.subplots(figsize=(9, 1.0 + 0.75 * len(runs)))
    for row, run in enumerate(runs):
        _draw_bar(ax, row, run, comparison.speedup(run.label))
    ax.set_yticks(range(len(runs)), [f"{run.label}\n{_tools(run.plan)}" for run in runs],
                  fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("time (s): median per stage, stacked")
    job, cpus = comparison.baseline.job, plural(comparison.effective_cpus, "effective CPU")
    ax.set_title(f"{job.pages} pages, {job.latency_ms:g} ms latency each, primes below "
                 f"{job.compute_size:,} per page — {cpus}", fontsize=9)
    ax.margins(x=0.2)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.45 / len(runs) ** 0.5), ncol=5,
              fontsize=7, frameon=False)
    return finish_figure(fig)


def _draw_bar(ax: Axes, row: int, run: PipelineRun, speedup: float) -> None:
    """Row ``row``: the stages end to end, the set-up hatched, then total and speedup.

    Only the first row labels its segments, so the legend names each stage once.
    """
    left = 0.0
    for stage in STAGES:
        ax.barh(row, run.wall(stage), left=left, color=STAGE_COLOURS[stage],
                edgecolor="white", label=stage if row == 0 else None)
        left += run.wall(stage)
    ax.barh(row, run.setup_total, left=left, color="white", edgecolor=SETUP_COLOUR,
            hatch="//", label="pool set-up, once (not in the total)" if row == 0 else None)
    ax.annotate(f" {run.total:.2f} s · {speedup:.1f}×", (left + run.setup_total, row),
                va="center", fontsize=8)


def _tools(plan: Mapping[str, tuple[str, int]]) -> str:
    return " → ".join(kind for kind, _ in plan.values())
