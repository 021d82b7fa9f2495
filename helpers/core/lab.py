"""The lab widget: pick a workload and sizes, press Run, watch the results arrive.

>>> lab = Lab()          # in a notebook cell; the last line displays it
>>> lab                  # doctest: +SKIP

Everything runs through :func:`helpers.core.experiments.compare`, so the widget
measures exactly what the notebook cells measure. ``Lab`` is a
:class:`helpers.core.controls.RunPanel`: the panel disables Run while it works, moves
the progress bar with every task, redraws the plot as results arrive (at most once a
second), ends a run on Stop, and shows a failure, a stop or an interrupt (■) in the widget.
``Lab`` adds the
controls, a header line above the sentences, and what to measure. Results stay on
the object: ``lab.results`` (the latest :class:`Comparison`) and ``lab.history``.

Driving it without a browser (what the tests do)::

    lab = Lab(size=100_000)
    lab.workers.value = 2
    lab.run_button.click()
    lab.results.speedup("processes")

Every slider is bounded so that no setting can freeze a laptop, and none
updates while it is dragged (``continuous_update=False``): nothing runs until Run.
A value outside a slider's range raises ``ValueError`` at construction (never quietly
moved into range), and an executor box is offered only where it can run the workload:
asyncio runs coroutine functions (``async def``) only, so for the lab's workloads its box
is off and its tooltip says why.

Predict, then measure: ``Lab(guess=1.5)`` takes the learner's guess of how many times
faster than serial the processes will be (:mod:`helpers.core.guess`). The plot marks it
as a dotted line on the time axis — where the processes' wall-time bar would end if the
guess were right (serial time ÷ guess) — and the words compare it with the measured
speedup. ``guess=None`` (the default) changes nothing.

How long a Run takes is said before it runs: the line above Run says "A Run with these
settings takes about N s here", updated whenever a control changes. The estimate
(:func:`estimate_run_seconds`, :mod:`helpers.core.estimates`) times one small call of the
workload in this kernel (once per workload), scales it to the chosen size, and counts how
many tasks run at once on each ticked executor. A Run estimated above
:data:`~helpers.core.estimates.RUN_BUDGET_SECONDS`, or needing more memory than the
machine has (:func:`estimate_run_memory`), is refused in words
before anything runs — the sliders' maxima together (primes up to 400,000, 16 tasks, 5
repeats) would take about 8 minutes on a 2-CPU laptop.

The first plot comes after the first timed repeat of the first executor (serial: one
pass over the tasks: 1.1–1.4 s at default sizes on the bench's 2-CPU machine): the baseline's
warm-up is a single small call, and each later repeat redraws (throttled).
"""
from __future__ import annotations

import html
from collections.abc import Sequence

import ipywidgets as widgets
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from helpers.core.controls import RunPanel, bounded_slider
from helpers.core.estimates import WORKER_MIB, run_seconds, task_seconds
from helpers.core.executors import EXECUTORS, get_executor_kind, resolve_start_method
from helpers.core.experiments import DEFAULT_EXECUTORS, Comparison, check_executors, compare
from helpers.core.guess import check_guess, draw_guess, guess_sentence
from helpers.core.memory import MIB
from helpers.core.plots import plot_comparison
from helpers.core.runner import ProgressCallback, check_fits
from helpers.core.settings import default, quick_mode
from helpers.core.system import default_workers, effective_cpu_count
from helpers.core.words import Verdict, comparison_disturbance, describe, plural
from helpers.core.workloads import WORKLOADS, Workload, get_workload

MAX_LAB_TASKS = 16
MAX_LAB_REPEATS = 5
MAX_LAB_WORKERS = 16
GUESS_RANGE = (0.1, float(MAX_LAB_WORKERS))  # × serial: no pool here can beat its workers
TIME_LABEL = "time (s)"  # the y label of plot_comparison's time axes
GUESSED = "processes"  # the executor whose speedup over serial the learner guesses


class Lab(RunPanel):
    """Compare executors on one workload, interactively."""

    def __init__(self, workload: str = "count", executors: Sequence[str] = DEFAULT_EXECUTORS,
                 *, size: int | None = None, tasks: int | None = None,
                 workers: int | None = None, repeats: int | None = None,
                 start_method: str | None = None, guess: float | None = None) -> None:
        chosen = get_workload(workload)
        self.guess = check_guess("guess", guess, *GUESS_RANGE)
        self.cpus = effective_cpu_count()
        self.start_method = resolve_start_method(start_method)
        executors = check_executors(executors)
        for name in executors:  # a box that could not run this workload is not offered
            check_fits(get_executor_kind(name), chosen.function, chosen.name)
        self._add_workload_controls(chosen, size)
        self._add_count_sliders(tasks, workers, repeats)
        self.executor_boxes = executor_checkboxes(ticked=executors)
        offer_what_can_run(self.executor_boxes, chosen)
        self.workload.observe(lambda change: offer_what_can_run(
            self.executor_boxes, get_workload(change["new"])), "value")
        self.results: Comparison | None = None
        self._executors_run: list[str] = []  # what the run in progress (or the last) measures
        self.history: list[Comparison] = []
        super().__init__(self._control_rows(), words_above_plot=True)
        self.words.value = self._header()

    # --- building the controls ------------------------------------------------------------

    def _add_workload_controls(self, chosen: Workload, size: int | None) -> None:
        """The workload dropdown, and the size slider that follows its choice."""
        self.workload = widgets.Dropdown(
            options=[(f"{w.name} ({w.behaviour})", w.name) for w in WORKLOADS.values()],
            value=chosen.name, description="workload",
            style={"description_width": "initial"},  # the longest option must show whole:
            layout=widgets.Layout(width="360px"))  # "numpy (releases the GIL)"
        self.size = bounded_slider(chosen.size_name, chosen.default_size(), chosen.min_size,
                                   chosen.max_size, chosen.step)
        self._fit_size_slider(chosen.name, size)
        self.workload.observe(lambda change: self._fit_size_slider(change["new"]), "value")

    def _add_count_sliders(self, tasks: int | None, workers: int | None,
                           repeats: int | None) -> None:
        """Tasks, workers and repeats: the given values (``ValueError`` outside a slider's
        range, never quietly moved into it), or defaults for this machine."""
        most_workers = min(MAX_LAB_WORKERS, max(4, 2 * self.cpus))
        self.tasks = bounded_slider(
            "tasks", min(2 * default_workers(), MAX_LAB_TASKS) if tasks is None else tasks,
            1, MAX_LAB_TASKS)
        self.workers = bounded_slider(
            "workers", min(default_workers(), most_workers) if workers is None else workers,
            1, most_workers)
        self.repeats = bounded_slider("repeats", int(default(3, 1)) if repeats is None
                                      else repeats, 1, MAX_LAB_REPEATS)

    def _control_rows(self) -> list[widgets.Widget]:
        """The rows above Run: what to run, how much of it, and on which executors."""
        return [widgets.HBox([self.workload, self.size]),
                widgets.HBox([self.tasks, self.workers]),
                widgets.HBox([self.repeats, *self.executor_boxes.values()])]

    def _fit_size_slider(self, name: str, size: int | None = None) -> None:
        """Give the size slider the chosen workload's unit, bounds and default."""
        workload = get_workload(name)
        slider = self.size
        # widen first to span old and new bounds: min may never pass max, even for a moment
        slider.min, slider.max = min(slider.min, workload.min_size), max(slider.max,
                                                                         workload.max_size)
        slider.min, slider.max = workload.min_size, workload.max_size
        slider.step = workload.step
        slider.value = workload.default_size() if size is None else workload.check_size(size)
        slider.description = (workload.size_name if workload.unit == workload.size_name
                               else f"{workload.size_name} ({workload.unit})")

    # --- what the words line shows ----------------------------------------------------------

    @property
    def status(self) -> widgets.HTML:
        """The words line: the header, then "Running…", the sentences, or what went wrong."""
        return self.words

    def _header(self) -> str:
        mode = " · quick mode" if quick_mode() else ""
        return (f"<small>{plural(self.cpus, 'effective CPU')} · processes start with "
                f"'{html.escape(self.start_method)}'{mode} · Stop ends a run (or the "
                "kernel's ■)</small>")

    @property
    def advice(self) -> str:
        """What to change when a Run is refused (RunPanel's refusal says it)."""
        return (f"lower the tasks, the workers, the repeats or the {self.size.description}, "
                "or tick fewer executors")

    def memory_needed(self) -> int:
        """About how many bytes a Run with the controls' current values adds at its peak."""
        return estimate_run_memory(get_workload(self.workload.value),
                                   self.selected_executors(), size=self.size.value,
                                   tasks=self.tasks.value, workers=self.workers.value)

    def estimate(self) -> float:
        """About how many seconds a Run with the controls' current values takes here."""
        workload = get_workload(self.workload.value)
        return estimate_run_seconds(
            workload, self.selected_executors(),
            task_seconds=task_seconds(workload.name, self.size.value),
            tasks=self.tasks.value, workers=self.workers.value, repeats=self.repeats.value,
            cpus=self.cpus)

    def say(self, message: str) -> None:
        """A status message (RunPanel's "Running…", failure, stop) under the header."""
        self.words.value = self._header() + f"<p>{message}</p>"

    def _describe(self, comparison: Comparison) -> str:
        """The header, then the sentences about every run finished so far (and, with a
        guess, how it compares with the processes' measured speedup)."""
        verdict = describe(comparison)
        said = self._guess_words(comparison)
        if said:
            verdict = Verdict((*verdict.lines, said))
        return self._header() + verdict._repr_html_()

    # --- the learner's guess ----------------------------------------------------------------

    def _guess_checkable(self) -> bool:
        """A guess was given, and the run in progress (or the last) measures serial first
        and processes too."""
        ticked = self._executors_run
        return (self.guess is not None and ticked[:1] == ["serial"]
                and GUESSED in ticked)

    def _guess_words(self, comparison: Comparison) -> str:
        """The guess sentence once the processes have a measurement; '' before that, or
        without a guess; how to check it when serial or processes is not ticked."""
        if self.guess is None:
            return ""
        if not self._guess_checkable():
            return (f"You guessed {self.guess:g}× for the processes' speedup over serial: "
                    "tick serial and processes, then press Run, to measure it.")
        if GUESSED not in comparison.runs:
            return ""
        pair = Comparison({"serial": comparison.baseline, GUESSED: comparison.runs[GUESSED]},
                          comparison.effective_cpus)
        return guess_sentence(self.guess, pair.speedup(GUESSED),
                              quantity="the processes' speedup over serial",
                              disturbed=bool(comparison_disturbance(pair)))

    def _plot(self, comparison: Comparison) -> object:
        """:func:`plot_comparison`, with the guess marked on its time axis: serial's wall
        time ÷ guess is where the processes' bar would end if the guess were right."""
        figure = plot_comparison(comparison)
        if self._guess_checkable() and comparison.baseline.executor == "serial":
            axes = times_axes(figure)
            draw_guess(axes, comparison.baseline.wall / self.guess,
                       label=f"your guess for processes: {self.guess:g}×")
            _refresh_legend(axes)
        return figure

    # --- running ----------------------------------------------------------------------------

    def selected_executors(self) -> list[str]:
        """The executors whose box is ticked, in the boxes' order."""
        return [name for name, box in self.executor_boxes.items() if box.value]

    def run(self) -> Comparison | None:
        """Run the comparison with the current settings; redraw as results arrive."""
        executors = self.selected_executors()
        if not executors:
            self.words.value = "<b>Tick at least one executor.</b>"
            return None
        # refused in words before anything runs if too long or too big (RunPanel.refusal)
        comparison = self.guarded(lambda on_progress: self._compare(executors, on_progress))
        if comparison is not None:
            self.results = comparison
            self.history.append(comparison)
        return comparison

    def _compare(self, executors: list[str], on_progress: ProgressCallback) -> Comparison:
        """One comparison with the sliders' values; plot and words follow each result."""
        self._executors_run = executors
        return compare(self.workload.value, executors, tasks=self.tasks.value,
                       size=self.size.value, workers=self.workers.value,
                       repeats=self.repeats.value, start_method=self.start_method,
                       on_result=self.live(self._plot, self._describe),
                       on_progress=on_progress)


# --- how long a Run takes, how much memory it needs (helpers.core.estimates) --------------

def estimate_run_seconds(workload: Workload, executors: Sequence[str], *, task_seconds: float,
                         tasks: int, workers: int, repeats: int, cpus: int) -> float:
    """About how long :func:`compare` takes: per executor, ``repeats`` rounds of the tasks
    (``task_seconds`` each, :func:`~helpers.core.estimates.parallel_slots` of them at once),
    plus starting a pool."""
    return sum(run_seconds(name, workload.behaviour, task_seconds=task_seconds, tasks=tasks,
                           workers=workers, repeats=repeats, cpus=cpus) for name in executors)


def estimate_run_memory(workload: Workload, executors: Sequence[str], *, size: int,
                        tasks: int, workers: int) -> int:
    """About how many bytes the hungriest executor adds while its tasks run: each task
    that runs at once holds its data (numpy sorts ``size`` MiB; the other workloads hold
    about 1 MiB), and each worker process costs :data:`WORKER_MIB` (measured: numpy at
    128 MiB on 16 processes peaks at 2.7 GiB of summed RSS)."""
    task_mib = size if workload.name == "numpy" else 1

    def peak_mib(name: str) -> int:
        at_once = min(tasks, 1 if name == "serial" else workers)
        return at_once * task_mib + workers * WORKER_MIB.get(name, 0)

    return max((peak_mib(name) * MIB for name in executors), default=0)


def times_axes(figure: Figure) -> Axes:
    """The axes of :func:`plot_comparison` that show wall and CPU time per executor."""
    found = [ax for ax in figure.axes if ax.get_ylabel() == TIME_LABEL]
    if len(found) != 1:
        raise ValueError(f"figure must have one axes labelled {TIME_LABEL!r}, "
                         f"found {len(found)}")
    return found[0]


def _refresh_legend(axes: Axes) -> None:
    """Rebuild the legend to list every labelled line, keeping its place and text size."""
    old = axes.get_legend()
    size = old.get_texts()[0].get_fontsize() if old and old.get_texts() else None
    axes.legend(loc="upper right", fontsize=size)


def executor_checkboxes(ticked: Sequence[str]) -> dict[str, widgets.Checkbox]:
    """One checkbox per executor kind, ticked for those in ``ticked``."""
    return {name: widgets.Checkbox(value=name in ticked, description=name, indent=False,
                                   layout=widgets.Layout(width="120px"))
            for name in EXECUTORS}


def offer_what_can_run(boxes: dict[str, widgets.Checkbox], workload: Workload) -> None:
    """Enable the boxes of the executors that can run ``workload``; untick and disable the
    others, their tooltip saying why (asyncio runs coroutine functions only, and no lab
    workload is one: its box stays off here; notebook 04 runs coroutines on it)."""
    for name, box in boxes.items():
        why = why_not(name, workload)
        box.disabled, box.tooltip = bool(why), why
        if why:
            box.value = False


def why_not(executor: str, workload: Workload) -> str:
    """Why ``executor`` cannot run ``workload`` (:func:`check_fits`' words); '' if it can."""
    try:
        check_fits(get_executor_kind(executor), workload.function, workload.name)
    except ValueError as error:
        return str(error)
    return ""
