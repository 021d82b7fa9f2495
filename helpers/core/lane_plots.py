"""Lanes over time: one row per thread, a bar wherever it ran (or held the GIL, or waited).

:func:`draw_lanes` draws any such picture; :func:`plot_traces` stacks traces measured by
:mod:`helpers.core.thread_trace` on one time axis, so turn-taking and side-by-side running
can be compared at a glance. Python 3.15's GIL lanes (:mod:`helpers.the_gil.gil_profile`)
are drawn by :func:`draw_lanes` too.
"""
from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from helpers.core.noise import DISTURBED
from helpers.core.plots import LABEL_SIZE, colour_for, finish_figure
from helpers.core.thread_trace import Trace, turn_stats
from helpers.core.trace_words import trace_disturbance


@dataclass(frozen=True)
class LaneStyle:
    """How one state is drawn: fill colour, hatch, and its name in the legend."""

    label: str
    colour: str
    hatch: str = ""


Bars = Sequence[tuple[float, float]]  # (start, end) in ms
TITLE_WIDTH = 72  # characters per title line: wider would stick out of the figure


def draw_lanes(ax: Axes, lanes: Sequence[tuple[str, Mapping[LaneStyle, Bars]]],
               window_ms: tuple[float, float], title: str) -> None:
    """One row per ``(name, {style: bars})``, top to bottom, inside ``window_ms``, under
    ``title`` (wrapped to fit); the caller labels the time axis (once, under the lowest of
    stacked axes)."""
    for row, (_, states) in enumerate(lanes):
        for style, bars in states.items():
            shown = [(a, b - a) for a, b in bars if b > window_ms[0] and a < window_ms[1]]
            ax.broken_barh(shown, (row - 0.4, 0.8), facecolors=style.colour,
                           hatch=style.hatch, edgecolors="white" if not style.hatch else
                           "black", linewidth=0.3)
    ax.set_yticks(range(len(lanes)), [name for name, _ in lanes], fontsize=LABEL_SIZE + 1)
    ax.set_ylim(len(lanes) - 0.4, -0.6)
    ax.set_xlim(*window_ms)
    ax.set_title("\n".join(textwrap.wrap(title, TITLE_WIDTH)), fontsize=10)


def legend_for(ax: Axes, styles: Sequence[LaneStyle]) -> None:
    """A legend naming each state drawn, outside the lanes (right of the axes)."""
    handles = [Patch(facecolor=s.colour, hatch=s.hatch, edgecolor="black" if s.hatch else
                     s.colour, label=s.label) for s in styles]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              fontsize=LABEL_SIZE, frameon=False)


def default_window_ms(trace: Trace) -> tuple[float, float]:
    """The first ~100 ms, longer for a long switch interval (so ~5 turns show), at most
    the whole trace."""
    wanted = max(100.0, 8 * trace.switch_interval * 1000)
    return (0.0, min(wanted, trace.seconds * 1000))


def trace_title(name: str, trace: Trace, interval: bool = True) -> str:
    """'2 threads: turns of 5.1 ms (median) · switch interval 5 ms', or how much of the
    time two or more ran at once — what was measured, nothing more; "(disturbed)" after
    it when :func:`~helpers.core.trace_words.trace_disturbance` says so."""
    stats, overlap = turn_stats(trace), trace.share_running(2)
    if len(trace.lanes) == 1:
        shape = f"ran {trace.share_running(1):.0%} of the time"
    elif stats and overlap < 0.1:
        shape = f"turns of {stats.median * 1000:.1f} ms (median)"
    else:
        shape = f"2 or more ran at once {overlap:.0%} of the time"
    said = (f" · switch interval {trace.switch_interval * 1000:g} ms"
            if interval and trace.kind == "threads" else "")
    mark = f" ({DISTURBED})" if trace_disturbance(trace) else ""
    return f"{name}: {shape}{said}{mark}"


def _ran_style(trace: Trace) -> LaneStyle:
    return LaneStyle("ran Python code", colour_for(trace.kind))


def plot_traces(traces: Mapping[str, Trace], window_ms: tuple[float, float] | None = None,
                interval: bool = True) -> Figure:
    """Each trace's lanes, stacked on one time axis (``window_ms``, default the first
    ~100 ms of the first trace): a bar wherever that worker made progress. ``interval``:
    threads' titles end with their switch interval (leave it out when the names say it)."""
    first = next(iter(traces.values()))
    window = window_ms or default_window_ms(first)
    heights = [len(trace.lanes) * 0.32 + 0.9 for trace in traces.values()]
    fig, axes = plt.subplots(len(traces), 1, figsize=(8.5, sum(heights) + 0.5), squeeze=False,
                             sharex=True, gridspec_kw={"height_ratios": heights})
    for ax, (name, trace) in zip(axes[:, 0], traces.items()):
        noun = "thread" if trace.kind == "threads" else "process"
        lanes = [(f"{noun} {i + 1}", {_ran_style(trace): trace.shifted(lane)})
                 for i, lane in enumerate(trace.lanes)]
        draw_lanes(ax, lanes, window, trace_title(name, trace, interval))
        legend_for(ax, [_ran_style(trace)])
    axes[-1, 0].set_xlabel("time since the workers started (ms)")
    fig.suptitle("When each worker ran Python code (a bar = it made progress)", fontsize=11)
    return finish_figure(fig)
