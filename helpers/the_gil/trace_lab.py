"""Notebook 03's second lab: who ran when, trace after trace.

:class:`ThreadTraceLab` traces a few workers (:func:`helpers.core.thread_trace.trace_run`)
with the learner's setting — how many, what they do, the switch interval, threads or
processes — three times in a row. After each trace the plot shows that trace's lanes (a
bar wherever a worker made progress running Python code) and the words say what it
showed (:func:`helpers.core.trace_words.describe_trace`), with the median turn of every
trace so far beside the switch interval: three traces that agree are a measurement, one
is an anecdote.

The drawing happens *between* traces, never while one runs, so it cannot disturb them:
every trace is drawn as soon as it arrives (no throttle). The first plot comes one trace
after Run (0.3 s of tracing, 0.2 s in quick mode, plus starting the workers and drawing).

The switch interval is set only while a trace runs: :func:`trace_run` restores the
kernel's own value after each trace, also after a failure or an interrupt (■).

Driving it without a browser (what the tests do)::

    lab = ThreadTraceLab()
    lab.switch_interval.value = 20
    lab.run_button.click()
    lab.latest.switch_interval   # 0.02
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import ipywidgets as widgets
from matplotlib.figure import Figure

from helpers.core.arguments import require_choice, require_float, require_int
from helpers.core.controls import RunPanel, Throttle, bounded_slider
from helpers.core.estimates import START_SECONDS
from helpers.core.executors import resolve_start_method
from helpers.core.lane_plots import default_window_ms, plot_traces
from helpers.core.runner import ProgressCallback
from helpers.core.thread_trace import (
    MAX_SECONDS,
    SWITCH_INTERVALS_MS,
    TRACE_KINDS,
    Trace,
    default_seconds,
    trace_run,
    turn_stats,
)
from helpers.core.trace_words import TOOK_TURNS, describe_trace, trace_disturbance
from helpers.core.words import Verdict

TRACES = 3  # traces per Run: enough to see whether they agree, each well under a second
MAX_LAB_WORKERS = 4  # lanes stay readable; 4 processes fit a laptop
WORKLOAD_CHOICES = (("count — pure Python, holds the GIL", "count"),
                    ("hash — hashlib, releases the GIL", "hash"))
NO_TURN = "—"
Tracer = Callable[..., Trace]
"""Traces one setting somewhere, called with the keywords ``workload``, ``workers``,
``seconds``, ``kind`` and ``switch_interval_ms`` — e.g. in another Python (notebook 07)."""


def turn_entry(trace: Trace) -> tuple[str, str]:
    """One trace's median turn as shown (``'5.1 ms'``), or :data:`NO_TURN` with the reason."""
    if len(trace.lanes) == 1:
        return NO_TURN, "one worker has no one to take turns with"
    if trace.share_running(2) > TOOK_TURNS:
        return NO_TURN, (f"two or more workers ran at once for over {TOOK_TURNS:.0%} "
                         "of that trace")
    stats = turn_stats(trace)
    if stats is None:
        return NO_TURN, "too few complete turns"
    shown = f"{stats.median * 1000:.1f} ms"
    return (f"{shown} (**disturbed**)" if trace_disturbance(trace) else shown), ""


def turns_so_far(traces: Sequence[Trace], planned: int = TRACES) -> str:
    """Markdown: the median turn of each trace so far, beside the switch interval."""
    if not traces:
        raise ValueError("traces must hold at least one trace, got none")
    entries = [turn_entry(trace) for trace in traces]
    interval = traces[-1].switch_interval * 1000
    text = (f"Median turn, trace by trace ({len(traces)} of {planned}): "
            f"{', '.join(shown for shown, _ in entries)}; switch interval {interval:g} ms.")
    reasons = list(dict.fromkeys(reason for _, reason in entries if reason))
    if reasons:
        text += f" ({NO_TURN}: {'; '.join(reasons)}.)"
    return text


def trace_name(trace: Trace, number: int, planned: int = TRACES, where: str = "") -> str:
    """The plot's name for a trace: ``'trace 2 of 3 · 2 threads, count'`` (and where it
    ran, when the lab offers several Pythons: ``'… · GIL off'``)."""
    count = len(trace.lanes)
    noun = {"threads": "thread", "processes": "process"}[trace.kind]
    nouns = noun if count == 1 else trace.kind
    return (f"trace {number} of {planned} · {count} {nouns}, {trace.workload}"
            + (f" · {where}" if where else ""))


def plot_latest(traces: Sequence[Trace], planned: int = TRACES, where: str = "") -> Figure:
    """The latest trace's lanes over its default window (a few switch intervals)."""
    latest = traces[-1]
    return plot_traces({trace_name(latest, len(traces), planned, where): latest},
                       default_window_ms(latest))


def lab_words(traces: Sequence[Trace], planned: int = TRACES) -> str:
    """HTML: what the latest trace showed, then the turns of every trace so far."""
    latest = traces[-1]
    lines = [describe_trace(latest), turns_so_far(traces, planned)]
    if len(traces) < planned:
        lines.append(f"Trace {len(traces) + 1} of {planned} is running…")
    return Verdict(tuple(lines))._repr_html_()


class ThreadTraceLab(RunPanel):
    """Pick workers, a workload, the switch interval and threads or processes; Run traces
    them :data:`TRACES` times and redraws after each trace.

    ``pythons`` maps names to :data:`Tracer` functions that trace somewhere else (notebook
    07: a free-threaded Python with the GIL off, and with ``PYTHON_GIL=1``); with more than
    one, a "Python" control picks among them. ``kinds`` limits "run as" (one kind: no
    control).

    The traces of the latest Run stay on the panel, as they arrive: :attr:`traces`, and
    :attr:`latest` (the last of them) for later cells to read.
    """

    def __init__(self, workers: int = 2, workload: str = "count",
                 switch_interval_ms: int = 5, kind: str = "threads",
                 seconds: float | None = None, start_method: str | None = None,
                 pythons: Mapping[str, Tracer] | None = None,
                 kinds: Sequence[str] = TRACE_KINDS) -> None:
        require_int("workers", workers, 1, MAX_LAB_WORKERS)
        require_choice("workload", workload, [value for _, value in WORKLOAD_CHOICES])
        require_choice("switch_interval_ms", switch_interval_ms, SWITCH_INTERVALS_MS)
        if not kinds or any(k not in TRACE_KINDS for k in kinds):
            raise ValueError(f"kinds must be some of {list(TRACE_KINDS)}, got {kinds!r}")
        require_choice("kind", kind, kinds)
        if pythons is not None and not pythons:
            raise ValueError("pythons must name at least one place to trace, got none")
        self.pythons = dict(pythons or {})
        self.seconds = default_seconds() if seconds is None else require_float(
            "seconds", seconds, 0.05, MAX_SECONDS)
        self.start_method = resolve_start_method(start_method)
        wide = {"description_width": "initial"}
        self.workers = bounded_slider("workers", workers, 1, MAX_LAB_WORKERS, width="300px")
        self.workload = widgets.Dropdown(options=WORKLOAD_CHOICES, value=workload,
                                         description="workload", style=wide,
                                         layout=widgets.Layout(width="420px"))
        self.switch_interval = _toggles([(f"{ms} ms", ms) for ms in SWITCH_INTERVALS_MS],
                                        switch_interval_ms, "64px")
        self.kind = _toggles([(name, name) for name in kinds], kind, "96px")
        self.python = _toggles([(name, name) for name in self.pythons or ["this kernel"]],
                               next(iter(self.pythons), "this kernel"), "128px")
        self.traces: list[Trace] = []
        second = [_label("switch interval"), self.switch_interval]
        if len(kinds) > 1:
            second += [_label("run as"), self.kind]
        rows = [widgets.HBox([self.workers, self.workload]), widgets.HBox(second)]
        if len(self.pythons) > 1:
            rows.append(widgets.HBox([_label("Python"), self.python]))
        super().__init__(rows)
        self.throttle = Throttle(0.0)  # drawn between traces, never during one: draw each

    def estimate(self) -> float:
        """About how many seconds a Run takes: :data:`TRACES` traces, each ``seconds`` long,
        plus starting its processes or another Python where it runs there."""
        start = (START_SECONDS["python"] if self.python.value in self.pythons else 0.0) + (
            START_SECONDS["processes"] if self.kind.value == "processes" else 0.0)
        return TRACES * (self.seconds + start)

    @property
    def latest(self) -> Trace | None:
        """The last trace measured, or ``None`` before the first."""
        return self.traces[-1] if self.traces else None

    def run(self) -> list[Trace] | None:
        """Trace the chosen setting :data:`TRACES` times; plot and words follow each."""
        return self.guarded(self._trace)

    def _trace(self, on_progress: ProgressCallback) -> list[Trace]:
        setting = dict(workload=self.workload.value, workers=self.workers.value,
                       seconds=self.seconds, kind=self.kind.value,
                       switch_interval_ms=self.switch_interval.value)
        where = self.pythons.get(self.python.value)
        self.traces = traces = []  # this Run's, kept as they arrive (also if it fails)
        named = self.python.value if len(self.pythons) > 1 else ""
        redraw = self.live(lambda so_far: plot_latest(so_far, where=named), lab_words)
        on_progress(0, TRACES)
        self.say(f"Running… trace 1 of {TRACES} ({self.seconds * 1000:.0f} ms each).")
        for done in range(1, TRACES + 1):
            traces.append(trace_run(**setting, start_method=self.start_method)
                          if where is None else where(**setting))
            redraw(list(traces))
            on_progress(done, TRACES)
        return traces


def _toggles(options: list[tuple[str, object]], value: object,
             width: str) -> widgets.ToggleButtons:
    """Buttons of which one is pressed; named by a :func:`_label` beside them (a
    ToggleButtons' own description is drawn above its buttons, not beside them)."""
    return widgets.ToggleButtons(options=options, value=value,
                                 style={"button_width": width})


def _label(text: str) -> widgets.Label:
    return widgets.Label(text, layout=widgets.Layout(margin="0 4px 0 12px"))
