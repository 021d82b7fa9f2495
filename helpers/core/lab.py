"""The lab widget: pick a workload and sizes, press Run, watch the results arrive.

>>> lab = Lab()          # in a notebook cell; the last line displays it
>>> lab                  # doctest: +SKIP

Everything runs through :func:`helpers.core.experiments.compare`, so the widget
measures exactly what the notebook cells measure. The plot is redrawn after each
executor finishes and the progress bar moves with every task. Results stay on
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
from IPython.display import clear_output, display

from helpers.core.controls import Throttle, bounded_slider
from helpers.core.executors import EXECUTORS, resolve_start_method
from helpers.core.experiments import DEFAULT_EXECUTORS, Comparison, compare
from helpers.core.plots import plot_comparison
from helpers.core.progress import progress_updater
from helpers.core.runner import default_workers
from helpers.core.settings import default, quick_mode
from helpers.core.system import effective_cpu_count
from helpers.core.words import describe
from helpers.core.workloads import WORKLOADS, get_workload

MAX_LAB_TASKS = 16
MAX_LAB_REPEATS = 5
MAX_LAB_WORKERS = 16


class Lab:
    """Compare executors on one workload, interactively."""

    def __init__(self, workload: str = "count", executors: Sequence[str] = DEFAULT_EXECUTORS,
                 *, size: int | None = None, tasks: int | None = None,
                 workers: int | None = None, repeats: int | None = None,
                 start_method: str | None = None) -> None:
        chosen = get_workload(workload)
        self.cpus = effective_cpu_count()
        self.start_method = resolve_start_method(start_method)
        for name in executors:
            if name not in EXECUTORS:
                raise ValueError(f"executors must be among {list(EXECUTORS)}, got {name!r}")
        self.workload = widgets.Dropdown(
            options=[(f"{w.name} ({w.behaviour})", w.name) for w in WORKLOADS.values()],
            value=chosen.name, description="workload")
        self.size = bounded_slider(chosen.size_name, chosen.default_size(), 1, 2)
        self._fit_size_slider(chosen.name, size)
        most_workers = min(MAX_LAB_WORKERS, max(4, 2 * self.cpus))
        self.tasks = bounded_slider("tasks", tasks or min(2 * default_workers(), MAX_LAB_TASKS),
                                    1, MAX_LAB_TASKS)
        self.workers = bounded_slider("workers",
                                      workers or min(default_workers(), most_workers), 1,
                                      most_workers)
        self.repeats = bounded_slider("repeats", repeats or int(default(3, 1)), 1,
                                      MAX_LAB_REPEATS)
        self.executor_boxes = {
            name: widgets.Checkbox(value=name in executors, description=name, indent=False,
                                   layout=widgets.Layout(width="120px"))
            for name in EXECUTORS
        }
        self.run_button = widgets.Button(description="Run", button_style="primary", icon="play")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="progress")
        self.status = widgets.HTML(self._header())
        self.output = widgets.Output()
        self.results: Comparison | None = None
        self.history: list[Comparison] = []
        self.figure = None
        self.throttle = Throttle()  # plots as results arrive, at most one a second
        self.error: BaseException | None = None
        self.workload.observe(lambda change: self._fit_size_slider(change["new"]), "value")
        self.run_button.on_click(lambda _: self.run())
        self.ui = widgets.VBox([
            widgets.HBox([self.workload, self.size]),
            widgets.HBox([self.tasks, self.workers]),
            widgets.HBox([self.repeats, *self.executor_boxes.values()]),
            widgets.HBox([self.run_button, self.progress]),
            self.status, self.output,
        ])

    def _fit_size_slider(self, name: str, size: int | None = None) -> None:
        """Give the size slider the chosen workload's unit, bounds and default."""
        workload = get_workload(name)
        slider = self.size
        slider.min, slider.max = min(slider.min, workload.min_size), max(slider.max,
                                                                         workload.max_size)
        slider.min, slider.max = workload.min_size, workload.max_size
        slider.step = workload.step
        slider.value = workload.default_size() if size is None else workload.check_size(size)
        slider.description = f"{workload.size_name} ({workload.unit})"

    def _header(self) -> str:
        mode = " · quick mode" if quick_mode() else ""
        return (f"<small>{self.cpus} effective CPUs · processes start with "
                f"'{html.escape(self.start_method)}'{mode} · interrupt the kernel (■) to "
                "stop a run</small>")

    def selected_executors(self) -> list[str]:
        return [name for name, box in self.executor_boxes.items() if box.value]

    def run(self) -> Comparison | None:
        """Run the comparison with the current settings; redraw as results arrive."""
        executors = self.selected_executors()
        if not executors:
            self.status.value = "<b>Tick at least one executor.</b>"
            return None
        self.run_button.disabled = True
        self.progress.value, self.progress.bar_style = 0, ""
        self.status.value = self._header() + "<p>Running…</p>"
        self.error = None
        try:
            with self.throttle.run():
                comparison = compare(
                    self.workload.value, executors, tasks=self.tasks.value,
                    size=self.size.value, workers=self.workers.value,
                    repeats=self.repeats.value, start_method=self.start_method,
                    on_result=lambda partial: self.throttle(lambda: self._show(partial)),
                    on_progress=progress_updater(self.progress))
        except KeyboardInterrupt:  # the kernel was interrupted (■): say so, then stop
            self.progress.bar_style = "warning"
            self.status.value = (self._header() + "<p><b>Stopped:</b> the kernel was "
                                 "interrupted; no worker is left running. Press Run to "
                                 "start again.</p>")
            raise
        except Exception as exc:  # shown to the learner
            self.error = exc
            self.progress.bar_style = "danger"
            self.status.value = (self._header() + "<p><b>The run failed:</b> "
                                 f"{html.escape(type(exc).__name__)}: {html.escape(str(exc))}</p>")
            return None
        finally:
            self.run_button.disabled = False
        self.results = comparison
        self.history.append(comparison)
        return comparison

    def _show(self, comparison: Comparison) -> None:
        """Redraw the plot and the sentences with every run finished so far."""
        self.figure = plot_comparison(comparison)
        with self.output:
            clear_output(wait=True)
            display(self.figure)
        self.status.value = self._header() + describe(comparison)._repr_html_()

    def _ipython_display_(self) -> None:
        display(self.ui)
