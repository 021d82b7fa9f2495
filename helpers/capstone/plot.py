"""The capstone's plot: one stacked bar per choice, a segment per stage, then the set-up.

A colour means the same here as in every plot of the lab: the executor kind
(:func:`helpers.core.plots.colour_for`) — so each segment is coloured by the tool that ran
that stage, and the stages are told apart by their place, their hatch and their name
written on the segment. The white tail hatched in grey is the pools' set-up, paid once and
left out of the total.

A run still being measured (:attr:`PipelineRun.complete` false) shows the stages measured
so far, then "measuring…": the lab draws it after the first stage's first repeat.
"""
from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from helpers.capstone.pipeline import PipelineComparison, PipelineRun
from helpers.capstone.plan import STAGES
from helpers.core.colours import BLACK, REFERENCE_GREY
from helpers.core.plots import LABEL_SIZE, colour_for, finish_figure, text_colour_on
from helpers.core.words import plural

STAGE_HATCHES = {"fetch": "", "parse": "..", "compute": "xx", "aggregate": "oo"}
SETUP_COLOUR = REFERENCE_GREY
SETUP_HATCH = "//"
NAMED_FROM = 0.06  # a segment at least this share of the widest bar carries its stage's name


def plot_pipelines(comparison: PipelineComparison) -> Figure:
    """One stacked bar per choice: each stage's median time, then the pools' set-up.

    A run still being measured shows the stages done so far and "measuring…"."""
    runs = list(comparison.runs.values())
    fig, ax = plt.subplots(figsize=(9, 1.4 + 0.75 * len(runs)))
    widest = max(run.total + run.setup_total for run in runs) or 1.0
    for row, run in enumerate(runs):
        _draw_bar(ax, row, run, comparison.speedup(run.label) if run.runs else 0.0, widest)
    ax.set_yticks(range(len(runs)), [f"{run.label}\n{_tools(run.plan)}" for run in runs],
                  fontsize=LABEL_SIZE)
    ax.invert_yaxis()
    ax.set_xlabel("time (s): median per stage, stacked")
    ax.set_xlim(0, widest * 1.25)  # room for the "total · speedup" labels
    job, cpus = comparison.baseline.job, plural(comparison.effective_cpus, "effective CPU")
    ax.set_title(f"{job.pages} pages, {job.latency_ms:g} ms latency each, primes below "
                 f"{job.compute_size:,} per page — {cpus}", fontsize=9)
    ax.legend(handles=_legend(runs), loc="upper center", ncol=5, fontsize=LABEL_SIZE,
              bbox_to_anchor=(0.5, -0.5 / len(runs) ** 0.5), frameon=False)
    return finish_figure(fig)


def _draw_bar(ax: Axes, row: int, run: PipelineRun, speedup: float, widest: float) -> None:
    """Row ``row``: the stages end to end, each in its tool's colour with its stage's hatch
    (named when wide enough), the set-up hatched, then total and speedup."""
    left = 0.0
    for stage in (stage for stage in STAGES if stage in run.runs):
        kind, width = run.plan[stage][0], run.wall(stage)
        fill = colour_for(kind)
        ax.barh(row, width, left=left, color=fill, hatch=STAGE_HATCHES[stage],
                edgecolor="white", linewidth=0.8)
        if width >= NAMED_FROM * widest:
            ax.text(left + width / 2, row, stage, ha="center", va="center",
                    fontsize=LABEL_SIZE, color=text_colour_on(fill),
                    bbox={"facecolor": fill, "edgecolor": "none", "pad": 1})
        left += width
    ax.barh(row, run.setup_total, left=left, color="white", edgecolor=SETUP_COLOUR,
            hatch=SETUP_HATCH)
    label = (f" {run.total:.2f} s · {speedup:.1f}×" if run.complete
             else " measuring…")
    ax.annotate(label, (left + run.setup_total, row), va="center", fontsize=LABEL_SIZE)


def _legend(runs: list[PipelineRun]) -> list[Patch]:
    """The tools' colours (those used), the stages' hatches, the set-up."""
    kinds = list(dict.fromkeys(kind for run in runs for kind, _ in run.plan.values()))
    return ([Patch(color=colour_for(kind), label=kind) for kind in kinds]
            + [Patch(facecolor="white", edgecolor=BLACK, hatch=STAGE_HATCHES[stage],
                     label=stage) for stage in STAGES]
            + [Patch(facecolor="white", edgecolor=SETUP_COLOUR, hatch=SETUP_HATCH,
                     label="pool set-up, once (not in the total)")])


def _tools(plan: Mapping[str, tuple[str, int]]) -> str:
    return " → ".join(kind for kind, _ in plan.values())
