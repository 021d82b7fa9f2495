"""Notebook 09's capstone: a four-stage pipeline where you choose a tool per stage.

``fetch`` pages from a local :class:`~helpers.core.latency_server.LatencyServer` → ``parse``
them → ``compute`` something CPU-heavy per page → ``aggregate`` the results. The stage
functions live in :mod:`helpers.capstone.stages`; the job and the plan (which tool per
stage) in :mod:`helpers.capstone.plan`.

:func:`run_pipeline` runs the stages one after another. Each stage is one call of the
lab's runner (:func:`helpers.core.runner.run_tasks`) on the executor kind you chose for it
— any registered kind name works — so every stage is warmed up, repeated, and timed
with its median wall time and CPU time, like every other measurement in the lab.
The pipeline's **total** is the sum of the stages' median times. Starting, warming up
and shutting down each stage's pool is reported beside it (``setup``), not in the total.
``on_result`` gets the run measured so far — after each repeat and each stage, outside
the timed part — so a plot can show the first stage long before the last one ends.

:func:`compare_pipelines` runs several choices of the same job; :func:`stage_runs` and
:func:`stage_speedups` compare them stage by stage. The sentences about them are in
:mod:`helpers.capstone.verdicts`, the plot in :mod:`helpers.capstone.plot`.
"""
from __future__ import annotations

import html
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from helpers.capstone.plan import (
    STAGES,
    Settings,
    StagePlan,
    check_stages,
    default_choices,
    describe_plan,
    settings,
)
from helpers.capstone.stages import (
    STAGE_FUNCTIONS,
    ComputeTask,
    Summary,
    aggregate,
    compute_page,
    parse_page,
)
from helpers.core.arguments import require_float, require_int
from helpers.core.estimates import START_SECONDS, run_seconds, runner_repeats, task_seconds
from helpers.core.executors import get_executor_kind
from helpers.core.experiments import stepped_progress
from helpers.core.latency_server import LatencyServer, page_body
from helpers.core.runner import (
    DEFAULT_TIMEOUT,
    MAX_REPEATS,
    ProgressCallback,
    RunResult,
    run_tasks,
    runs_coroutines,
)
from helpers.core.settings import default, resolve_start_method
from helpers.core.system import effective_cpu_count

RUN_OPTIONS = ("repeats", "start_method", "timeout")  # run_pipeline's options beside the job


# --- one run --------------------------------------------------------------------------------

@dataclass
class PipelineRun:
    """One pipeline run: a RunResult per stage, the pools' set-up time, the summary."""

    label: str
    plan: StagePlan
    job: Settings
    runs: dict[str, RunResult] = field(default_factory=dict)
    setup: dict[str, float] = field(default_factory=dict)  # s: start, warm up, shut down
    summary: Summary | None = None
    effective_cpus: int = field(default_factory=effective_cpu_count)

    def wall(self, stage: str) -> float:
        """Median wall time of ``stage`` in seconds."""
        return self.runs[stage].wall

    @property
    def total(self) -> float:
        """The pipeline's time: the stages' median wall times added up (pools warm)."""
        return sum(run.wall for run in self.runs.values())

    @property
    def setup_total(self) -> float:
        """Seconds spent starting, warming up and shutting down the pools, once."""
        return sum(self.setup.values())

    @property
    def complete(self) -> bool:
        """True once every stage ran and the aggregate is in (a partial run is not)."""
        return self.summary is not None

    def snapshot(self, stage: str | None = None, partial: RunResult | None = None
                 ) -> PipelineRun:
        """A copy of the run so far, with ``partial`` (the repeats done) as ``stage``."""
        runs = {**self.runs, **({stage: partial} if stage and partial else {})}
        return PipelineRun(self.label, self.plan, self.job, runs, dict(self.setup),
                           None, self.effective_cpus)

    @property
    def bottleneck(self) -> str:
        """The stage that took longest."""
        return max(self.runs, key=self.wall)

    def utilisation(self, stage: str) -> float:
        """CPUs busy during ``stage``: its CPU time ÷ its wall time."""
        return self.runs[stage].utilisation

    def rows(self) -> list[dict[str, object]]:
        return [{"stage": stage, "tool": run.executor, "workers": run.workers,
                 "wall_s": run.wall, "cpu_s": run.cpu, "cpus_busy": run.utilisation,
                 "share": run.wall / self.total if self.total else 0.0,
                 "setup_s": self.setup.get(stage, 0.0)} for stage, run in self.runs.items()]

    def _repr_html_(self) -> str:
        head = ("<tr><th>stage</th><th>tool</th><th>workers</th><th>wall (s)</th>"
                "<th>CPU (s)</th><th>CPUs busy</th><th>share of total</th>"
                "<th>pool set-up (s)</th></tr>")
        body = "".join(
            f"<tr><td>{r['stage']}</td><td>{html.escape(str(r['tool']))}</td>"
            f"<td>{r['workers']}</td><td>{r['wall_s']:.3f}</td><td>{r['cpu_s']:.3f}</td>"
            f"<td>{r['cpus_busy']:.2f}</td><td>{r['share']:.0%}</td>"
            f"<td>{r['setup_s']:.3f}</td></tr>" for r in self.rows())
        return (f"<p><b>{html.escape(self.label)}</b>: {self.total:.3f} s in total "
                f"(+ {self.setup_total:.2f} s pool set-up)</p><table>{head}{body}</table>")


def _stage_function(stage: str, kind: str) -> Callable:
    plain, coroutine = STAGE_FUNCTIONS[stage]
    return coroutine if runs_coroutines(get_executor_kind(kind)) else plain


def _next_arguments(stage: str, results: list, job: Settings) -> list:
    """Glue between stages, in this process: the next stage's task arguments."""
    if stage == "parse":
        return [ComputeTask(info, job.compute_size + info.page) for info in results]
    if stage == "compute":
        return [list(results)]  # aggregate is one task that gets every page's result
    return list(results)


def run_pipeline(stages: Mapping | None = None, *, pages: int | None = None,
                 latency_ms: float | None = None, payload_bytes: int | None = None,
                 compute_size: int | None = None, repeats: int | None = None,
                 start_method: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                 label: str = "pipeline", on_progress: ProgressCallback | None = None,
                 on_result: Callable[[PipelineRun], None] | None = None) -> PipelineRun:
    """Fetch ``pages`` pages from a local server, parse, compute and aggregate them, each
    stage on the executor ``stages`` names for it (:func:`~helpers.capstone.plan.check_stages`).

    Each stage runs through :func:`helpers.core.runner.run_tasks` (warm-up, ``repeats``
    repeats, median; 3 repeats, 1 in quick mode). The server runs in a ``with`` block
    and every pool is shut down, also on errors; ``TimeoutError`` after ``timeout`` s.
    ``on_result(partial)`` gets the run so far (:meth:`PipelineRun.snapshot`) after every
    repeat but a stage's last, and after each stage but the last; the result is the rest.
    """
    plan = check_stages(stages)
    job = settings(pages, latency_ms, payload_bytes, compute_size)
    repeats, start_method, timeout = check_run_options(repeats, start_method, timeout)
    result = PipelineRun(label, plan, job)
    deadline = time.perf_counter() + timeout
    with LatencyServer(latency_ms=job.latency_ms, payload_bytes=job.payload_bytes,
                       pages=job.pages) as server:
        arguments: list = server.urls(job.pages)
        for index, stage in enumerate(STAGES):
            arguments = _run_stage(result, stage, arguments, repeats=repeats,
                                   start_method=start_method, deadline=deadline,
                                   on_progress=stepped_progress(on_progress, index, len(STAGES)),
                                   on_result=on_result)
            if on_result is not None and index < len(STAGES) - 1:
                on_result(result.snapshot())
    result.summary = result.runs["aggregate"].results[0]
    return result


def estimate_pipeline_seconds(stages: Mapping | None = None, job: Settings | None = None,
                              repeats: int | None = None) -> float:
    """About how long :func:`run_pipeline` takes here: starting the server, then per stage
    its tasks as many at once as its tool allows
    (:func:`~helpers.core.estimates.run_seconds`): one page each to fetch (waits one
    latency), parse (light) and compute (count the primes below ``compute_size``), then one
    aggregate."""
    plan, job = check_stages(stages), job or settings()
    cpus, repeats = effective_cpu_count(), runner_repeats(repeats)
    work = {"fetch": ("waits", job.latency_ms / 1000, job.pages),
            "parse": ("cpu-bound", 0.0, job.pages),
            "compute": ("cpu-bound", task_seconds("primes", job.compute_size), job.pages),
            "aggregate": ("cpu-bound", 0.0, 1)}
    return START_SECONDS["processes"] + sum(
        run_seconds(kind, work[stage][0], task_seconds=work[stage][1], tasks=work[stage][2],
                    workers=workers, repeats=repeats, cpus=cpus)
        for stage, (kind, workers) in plan.items())


def check_run_options(repeats: int | None = None, start_method: str | None = None,
                      timeout: float = DEFAULT_TIMEOUT) -> tuple[int, str, float]:
    """:func:`run_pipeline`'s ``repeats`` (``None``: 3, 1 in quick mode), ``start_method``
    (``None``: the lab's) and ``timeout``, checked: ``ValueError`` naming a bad one."""
    return (require_int("repeats", int(default(3, 1)) if repeats is None else repeats,
                        1, MAX_REPEATS),
            resolve_start_method(start_method),
            require_float("timeout", timeout, 0.1, 24 * 3600))


def _run_stage(result: PipelineRun, stage: str, arguments: list, *, repeats: int,
               start_method: str | None, deadline: float,
               on_progress: ProgressCallback | None,
               on_result: Callable[[PipelineRun], None] | None = None) -> list:
    """Run ``stage`` on its tool; note its RunResult and set-up time in ``result``.

    Returns the next stage's arguments. The stage may use what is left until ``deadline``.
    """
    kind, workers = result.plan[stage]
    shown = [0.0]  # seconds spent in on_result between repeats: not the pool's set-up

    def show_partial(partial: RunResult) -> None:
        begun = time.perf_counter()
        on_result(result.snapshot(stage, partial))
        shown[0] += time.perf_counter() - begun

    started = time.perf_counter()
    run = run_tasks(_stage_function(stage, kind), executor=kind, workers=workers,
                    arguments=arguments, repeats=repeats, start_method=start_method,
                    warmup=kind != "serial",  # no pool to warm up
                    timeout=max(deadline - started, 0.001), on_progress=on_progress,
                    on_repeat=None if on_result is None else show_partial)
    result.runs[stage] = run
    spent = time.perf_counter() - started - shown[0]
    result.setup[stage] = max(spent - sum(run.walls), 0.0)
    return _next_arguments(stage, run.results, result.job)


def expected_summary(job: Settings | None = None) -> Summary:
    """The right answer, computed serially without a server (tests and checks use it)."""
    return _expected_summary(job or settings())


@lru_cache(maxsize=8)
def _expected_summary(job: Settings) -> Summary:
    infos = [parse_page(page_body(page, job.payload_bytes).decode("utf-8"))
             for page in range(job.pages)]
    return aggregate([compute_page(ComputeTask(info, job.compute_size + info.page))
                      for info in infos])


# --- several runs ---------------------------------------------------------------------------

@dataclass
class PipelineComparison:
    """Several pipeline runs of the same job; the first is the baseline."""

    runs: dict[str, PipelineRun] = field(default_factory=dict)
    effective_cpus: int = field(default_factory=effective_cpu_count)

    @property
    def baseline(self) -> PipelineRun:
        return next(iter(self.runs.values()))

    @property
    def fastest(self) -> PipelineRun:
        return min(self.runs.values(), key=lambda run: run.total)

    def speedup(self, label: str) -> float:
        """The baseline's total ÷ this choice's total."""
        return self.baseline.total / self.runs[label].total

    def with_run(self, run: PipelineRun) -> PipelineComparison:
        """A copy with ``run`` added (or replacing the run of the same label)."""
        return PipelineComparison({**self.runs, run.label: run}, self.effective_cpus)

    def _repr_html_(self) -> str:
        head = "<tr><th>choice</th><th>tools</th><th>total (s)</th><th>speedup</th>" + "".join(
            f"<th>{stage} (s)</th>" for stage in STAGES) + "<th>pool set-up (s)</th></tr>"
        body = "".join(
            f"<tr><td>{html.escape(label)}</td><td>{html.escape(describe_plan(run.plan))}</td>"
            f"<td>{run.total:.3f}</td><td>{self.speedup(label):.2f}×</td>"
            + "".join(f"<td>{run.wall(stage):.3f}</td>" for stage in STAGES)
            + f"<td>{run.setup_total:.2f}</td></tr>" for label, run in self.runs.items())
        return f"<table>{head}{body}</table>"


def compare_pipelines(choices: Mapping[str, Mapping] | None = None, *,
                      baseline: PipelineRun | None = None,
                      on_result: Callable[[PipelineComparison], None] | None = None,
                      on_progress: ProgressCallback | None = None,
                      **options) -> PipelineComparison:
    """Run every choice ({label: stages}) on the same job; ``options`` go to run_pipeline.

    ``baseline``: a run already measured on the same job; it comes first and the choice
    with its label is not measured again.
    """
    job = settings(*(options.get(k) for k in ("pages", "latency_ms", "payload_bytes",
                                              "compute_size")))
    choices = dict(default_choices(job) if choices is None else choices)
    comparison = PipelineComparison()
    if baseline is not None:
        comparison.runs[baseline.label] = _checked_baseline(baseline, job)
        choices.pop(baseline.label, None)
    if not choices and baseline is None:
        raise ValueError("choices must hold at least one {label: stages} entry")
    for stages in choices.values():  # every mistake shows now, not after the first runs
        check_stages(stages)
    for index, (label, stages) in enumerate(choices.items()):
        comparison.runs[label] = run_pipeline(
            stages, label=label, on_progress=stepped_progress(on_progress, index, len(choices)),
            **options)
        if on_result is not None:
            on_result(comparison)
    return comparison


def require_comparison(comparison: object, *, optional: bool = False
                       ) -> PipelineComparison | None:
    """``comparison`` if it is a :class:`PipelineComparison` (or ``None`` when
    ``optional``); ``ValueError`` naming the parameter and where one comes from."""
    if isinstance(comparison, PipelineComparison) or (optional and comparison is None):
        return comparison
    allowed = "a PipelineComparison from compare_pipelines" + (" or None" if optional else "")
    raise ValueError(f"comparison must be {allowed}, got {type(comparison).__name__} "
                     f"{comparison!r:.60}")


def _checked_baseline(baseline: object, job: Settings) -> PipelineRun:
    """``baseline`` if it is a run of ``job``; ``ValueError`` otherwise."""
    if not isinstance(baseline, PipelineRun) or baseline.job != job:
        raise ValueError(f"baseline must be a PipelineRun of the same job ({job}), got "
                         f"{getattr(baseline, 'job', type(baseline).__name__)}")
    return baseline


def stage_runs(comparison: PipelineComparison, stage: str) -> dict[str, RunResult]:
    """The fastest measurement of ``stage`` on each kind, over every choice."""
    best: dict[str, RunResult] = {}
    for run in comparison.runs.values():
        measured = run.runs[stage]
        if measured.executor not in best or measured.wall < best[measured.executor].wall:
            best[measured.executor] = measured
    return best


def stage_speedups(comparison: PipelineComparison, stage: str) -> dict[str, float]:
    """Serial time of ``stage`` ÷ each kind's best time for it (serial must be measured)."""
    runs = stage_runs(comparison, stage)
    if "serial" not in runs:
        return {}
    return {kind: runs["serial"].wall / run.wall for kind, run in runs.items()
            if kind != "serial"}
