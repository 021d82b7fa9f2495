"""``CapstoneLab``: pick a tool and a number of workers per stage, press Run, compare.

A :class:`~helpers.core.controls.RunPanel` with one row per stage. Each run is measured
like the notebook's choices (:func:`helpers.capstone.pipeline.run_pipeline`), drawn beside
them (:func:`helpers.capstone.plot.plot_pipelines`) and described in one line
(:func:`helpers.capstone.verdicts.describe_choice`). A failure is shown, not raised.

The plot does not wait for the whole pipeline: it is drawn after the first stage's first
repeat, then again as stages end (at most once a second, :class:`~helpers.core.controls.
Throttle`), always between repeats — outside the timed part — so drawing changes nothing
that is measured.
"""
from __future__ import annotations

from collections.abc import Mapping

import ipywidgets as widgets

from helpers.capstone.pipeline import (
    RUN_OPTIONS,
    PipelineComparison,
    PipelineRun,
    check_run_options,
    estimate_pipeline_seconds,
    require_comparison,
    run_pipeline,
)
from helpers.capstone.plan import (
    JOB_OPTIONS,
    STAGES,
    StagePlan,
    check_stages,
    reference_stages,
    settings,
)
from helpers.capstone.plot import plot_pipelines
from helpers.capstone.verdicts import describe_choice, describe_partial
from helpers.core.controls import RunPanel, bounded_slider
from helpers.core.executors import EXECUTORS, get_executor_kind
from helpers.core.runner import ProgressCallback, most_workers

MAX_STAGE_WORKERS = 32  # per stage, whatever the kind allows: enough to see oversubscription


class CapstoneLab(RunPanel):
    """Pick a tool and a number of workers per stage, press Run, compare with ``comparison``.

    ``options`` are :func:`run_pipeline`'s job and run options, checked here: a mistake
    raises now, naming the option, not when Run is pressed. Each stage's workers slider
    offers what its kind takes: at most 16 on Dask, 1 (and disabled) for serial.
    """

    def __init__(self, comparison: PipelineComparison | None = None,
                 stages: Mapping | None = None, **options) -> None:
        self.comparison = require_comparison(comparison, optional=True)
        self.options = _checked_options(options)
        self.job = comparison.baseline.job if comparison else settings(
            *(options.get(k) for k in JOB_OPTIONS))
        plan = check_stages(stages if stages is not None else reference_stages(self.job))
        self.kinds, self.workers = {}, {}
        rows = [self._stage_row(stage, *plan[stage]) for stage in STAGES]
        self.results: PipelineRun | None = None
        super().__init__(rows)

    def _stage_row(self, stage: str, kind: str, count: int) -> widgets.HBox:
        """The stage's kind and workers controls, kept in ``self.kinds`` / ``self.workers``."""
        self.kinds[stage] = widgets.Dropdown(options=list(EXECUTORS), value=kind,
                                             description=stage,
                                             style={"description_width": "80px"},
                                             layout=widgets.Layout(width="250px"))
        self.workers[stage] = bounded_slider("workers", count, 1, _most(kind), width="300px",
                                             name=f"workers of stages[{stage!r}]")
        _fit_workers(self.workers[stage], kind)
        self.kinds[stage].observe(
            lambda change: _fit_workers(self.workers[stage], change["new"]), "value")
        return widgets.HBox([self.kinds[stage], self.workers[stage]])

    def stages(self) -> StagePlan:
        """The plan the controls show now."""
        return check_stages({stage: (self.kinds[stage].value, self.workers[stage].value)
                             for stage in STAGES})

    advice = ("give the slowest stage a tool that runs its tasks at once (threads or asyncio "
              "for waits, processes for computing) and more workers")

    def estimate(self) -> float:
        """About how many seconds a Run of the plan the controls show takes here."""
        return estimate_pipeline_seconds(self.stages(), self.job,
                                         self.options.get("repeats"))

    def run(self) -> PipelineRun | None:
        result = self.guarded(self._measure_and_show)
        if result is not None:
            self.results = result
        return result

    def _measure_and_show(self, on_progress: ProgressCallback) -> PipelineRun:
        """Run the pipeline as the controls say, on this lab's job; plot each partial run
        and then the whole one, and say how it went."""
        job = {name: getattr(self.job, name) for name in JOB_OPTIONS}
        draw = self.live(lambda run: plot_pipelines(self._beside_the_others(run)),
                         self._describe)
        run = run_pipeline(self.stages(), label="your choice", on_progress=on_progress,
                           on_result=draw, **{**job, **self.options})
        draw(run)  # the last one: drawn now or, if too soon after a partial one, at the end
        return run

    def _beside_the_others(self, run: PipelineRun) -> PipelineComparison:
        return (self.comparison.with_run(run) if self.comparison
                else PipelineComparison({run.label: run}))

    def _describe(self, run: PipelineRun) -> str:
        return (describe_choice(run, self.comparison) if run.complete
                else describe_partial(run))


def _checked_options(options: dict) -> dict:
    """``options`` if each is one of :func:`run_pipeline`'s job or run options and valid;
    ``TypeError`` for an unknown name, ``ValueError`` for a bad value — before any Run."""
    allowed = [*JOB_OPTIONS, *RUN_OPTIONS]
    unknown = [name for name in options if name not in allowed]
    if unknown:
        raise TypeError(f"CapstoneLab's options must be among {allowed}, got {unknown[0]!r}")
    settings(*(options.get(name) for name in JOB_OPTIONS))
    check_run_options(**{name: options[name] for name in RUN_OPTIONS if name in options})
    return options


def _most(kind: str) -> int:
    """The most workers a stage on ``kind`` may have here."""
    return min(MAX_STAGE_WORKERS, most_workers(get_executor_kind(kind)))


def _fit_workers(slider: widgets.IntSlider, kind: str) -> None:
    """Bound ``slider`` by what ``kind`` takes; a kind with a fixed pool (serial: 1 worker)
    shows that number, disabled."""
    fixed = get_executor_kind(kind).fixed_workers
    slider.max = fixed or _most(kind)  # ipywidgets moves a value above max down to it
    if fixed:
        slider.value = fixed
    slider.disabled = fixed is not None
