"""The lab widget: pick a workload and sizes, press Run, watch the results arrive.

>>> lab = Lab()          # in a notebook cell; the last line displays it
>>> lab                  # doctest: +SKIP

Everything runs through :func:`helpers.core.experiments.compare`, so the widget
measures exactly what the notebook cells measure. ``Lab`` is a
:class:`helpers.core.controls.RunPanel`: the panel disables Run while it works, moves
the progress bar with every task, redraws the plot as results arrive (at most once a
second) and shows a failure or an interrupt (■) in the widget. ``Lab`` adds the
controls, a header line above the sentences, and what to measure. Results stay on
the object: ``lab.results`` (the latest :class:`Comparison`) and ``lab.history``.

Driving it without a browser (what the tests do)::

    lab = Lab(size=100_000)
    lab.workers.value = 2
    lab.run_button.click()
    lab.results.speedup("processes")

Every slider is bounded so that no setting can freeze a laptop, and none
updates while it is dragged (``continuous_update=False``): nothing runs until Run.
"""
from __future__ import annotations

import html
from collections.abc import Sequence

import ipywidgets as widgets

from helpers.core.controls import RunPanel, bounded_slider
from helpers.core.executors import EXECUTORS, resolve_start_method
from helpers.core.experiments import DEFAULT_EXECUTORS, Comparison, compare
from helpers.core.plots import plot_comparison
from helpers.core.runner import ProgressCallback
from helpers.core.settings import default, quick_mode
from helpers.core.system import default_workers, effective_cpu_count
from helpers.core.words import describe
from helpers.core.workloads import WORKLOADS, Workload, get_workload

MAX_LAB_TASKS = 16
MAX_LAB_REPEATS = 5
MAX_LAB_WORKERS = 16


class Lab(RunPanel):
    """Compare executors on one workload, interactively."""

    def __init__(self, workload: str = "count", executors: Sequence[str] = DEFAULT_EXECUTORS,
                 *, size: int | None = None, tasks: int | None = None,
                 workers: int | None = None, repeats: int | None = None,
                 start_method: str | None = None) -> None:
        chosen = get_workload(workload)
        self.cpus = effective_cpu_count()
        self.start_method = resolve_start_method(start_method)
        _require_executors(executors)
        self._add_workload_controls(chosen, size)
        self._add_count_sliders(tasks, workers, repeats)
        self.executor_boxes = _executor_checkboxes(ticked=executors)
        self.results: Comparison | None = None
        self.history: list[Comparison] = []
        super().__init__(self._control_rows(), words_above_plot=True)
        self.words.value = self._header()

    # --- building the controls ------------------------------------------------------------

    def _add_workload_controls(self, chosen: Workload, size: int | None) -> None:
        """The workload dropdown, and the size slider that follows its choice."""
        self.workload = widgets.Dropdown(
            options=[(f"{w.name} ({w.behaviour})", w.name) for w in WORKLOADS.values()],
            value=chosen.name, description="workload")
        self.size = bounded_slider(chosen.size_name, chosen.default_size(), 1, 2)
        self._fit_size_slider(chosen.name, size)
        self.workload.observe(lambda change: self._fit_size_slider(change["new"]), "value")

    def _add_count_sliders(self, tasks: int | None, workers: int | None,
                           repeats: int | None) -> None:
        """Tasks, workers and repeats: the given values, or defaults for this machine."""
        most_workers = min(MAX_LAB_WORKERS, max(4, 2 * self.cpus))
        self.tasks = bounded_slider("tasks", tasks or min(2 * default_workers(), MAX_LAB_TASKS),
                                    1, MAX_LAB_TASKS)
        self.workers = bounded_slider("workers",
                                      workers or min(default_workers(), most_workers), 1,
                                      most_workers)
        self.repeats = bounded_slider("repeats", repeats or int(default(3, 1)), 1,
                                      MAX_LAB_REPEATS)

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
        slider.description = f"{workload.size_name} ({workload.unit})"

    # --- what the words line shows ----------------------------------------------------------

    @property
    def status(self) -> widgets.HTML:
        """The words line: the header, then "Running…", the sentences, or what went wrong."""
        return self.words

    def _header(self) -> str:
        mode = " · quick mode" if quick_mode() else ""
        return (f"<small>{self.cpus} effective CPUs · processes start with "
                f"'{html.escape(self.start_method)}'{mode} · interrupt the kernel (■) to "
                "stop a run</small>")

    def say(self, message: str) -> None:
        """A status message (RunPanel's "Running…", failure, stop) under the header."""
        self.words.value = self._header() + f"<p>{message}</p>"

    def _describe(self, comparison: Comparison) -> str:
        """The header, then the sentences about every run finished so far."""
        return self._header() + describe(comparison)._repr_html_()

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
        comparison = self.guarded(lambda on_progress: self._compare(executors, on_progress))
        if comparison is not None:
            self.results = comparison
            self.history.append(comparison)
        return comparison

    def _compare(self, executors: list[str], on_progress: ProgressCallback) -> Comparison:
        """One comparison with the sliders' values; plot and words follow each result."""
        return compare(self.workload.value, executors, tasks=self.tasks.value,
                       size=self.size.value, workers=self.workers.value,
                       repeats=self.repeats.value, start_method=self.start_method,
                       on_result=self.live(plot_comparison, self._describe),
                       on_progress=on_progress)


def _require_executors(names: Sequence[str]) -> None:
    """ValueError unless every name is an executor kind."""
    for name in names:
        if name not in EXECUTORS:
            raise ValueError(f"executors must be among {list(EXECUTORS)}, got {name!r}")


def _executor_checkboxes(ticked: Sequence[str]) -> dict[str, widgets.Checkbox]:
    """One checkbox per executor kind, ticked for those in ``ticked``."""
    return {name: widgets.Checkbox(value=name in ticked, description=name, indent=False,
                                   layout=widgets.Layout(width="120px"))
            for name in EXECUTORS}
