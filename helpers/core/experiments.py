"""Experiments built from :func:`helpers.core.runner.run_tasks`: compare executors,
and sweep the number of workers.

Both hand their results to an ``on_result`` callback as soon as they exist,
which is how the lab widget redraws its plot while the experiment goes on.
"""
from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from helpers.core.arguments import require_choice, require_int
from helpers.core.executors import EXECUTORS, MAX_WORKERS
from helpers.core.runner import ProgressCallback, RunResult, plan_run, run_tasks
from helpers.core.system import effective_cpu_count

DEFAULT_EXECUTORS = ("serial", "threads", "processes")


@dataclass
class Comparison:
    """Runs of the same tasks on several executors; the first run is the baseline."""

    runs: dict[str, RunResult] = field(default_factory=dict)
    effective_cpus: int = field(default_factory=effective_cpu_count)

    @property
    def baseline(self) -> RunResult:
        return next(iter(self.runs.values()))

    def speedup(self, executor: str) -> float:
        """Baseline wall time ÷ this executor's wall time (median of repeats)."""
        return self.baseline.wall / self.runs[executor].wall

    def rows(self) -> list[dict[str, object]]:
        """One dict per executor: the numbers shown in tables and plots."""
        return [
            {"executor": name, "workers": run.workers, "wall_s": run.wall, "cpu_s": run.cpu,
             "cpus_busy": run.utilisation, "speedup": self.speedup(name)}
            for name, run in self.runs.items()
        ]

    def _repr_html_(self) -> str:
        head = ("<tr><th>executor</th><th>workers</th><th>wall (s)</th><th>CPU (s)</th>"
                "<th>CPUs busy</th><th>speedup</th></tr>")
        body = "".join(
            f"<tr><td>{html.escape(str(r['executor']))}</td><td>{r['workers']}</td>"
            f"<td>{r['wall_s']:.3f}</td><td>{r['cpu_s']:.3f}</td>"
            f"<td>{r['cpus_busy']:.2f}</td><td>{r['speedup']:.2f}×</td></tr>"
            for r in self.rows()
        )
        return f"<table>{head}{body}</table>"


def compare(workload: str = "count", executors: Sequence[str] = DEFAULT_EXECUTORS, *,
            on_result: Callable[[Comparison], None] | None = None,
            on_progress: ProgressCallback | None = None, **run_options) -> Comparison:
    """Run the same tasks on each executor in turn; return a :class:`Comparison`.

    ``run_options`` go to :func:`run_tasks` (tasks, size, workers, repeats,
    start_method, timeout). ``on_result(comparison)`` is called after every repeat
    of every executor — the run in progress holds the repeats done so far — so a plot
    can show the first measurement within one repeat of the baseline;
    ``on_progress(done, total)`` counts tasks over all of them.
    """
    executors = check_executors(executors)
    for name in executors:  # every mistake shows now, not after the first runs
        plan_run(workload, executor=name, **_plan_options(run_options))
    comparison = Comparison()

    def show_partial(name: str, partial: RunResult) -> None:
        if on_result is not None:
            on_result(Comparison({**comparison.runs, name: partial},
                                 comparison.effective_cpus))

    for index, name in enumerate(executors):
        progress = _offset_progress(on_progress, index, len(executors))
        comparison.runs[name] = run_tasks(
            workload, executor=name, on_progress=progress,
            on_repeat=lambda partial, name=name: show_partial(name, partial), **run_options)
        if on_result is not None:
            on_result(comparison)
    return comparison


def check_executors(executors: object) -> list[str]:
    """``executors`` as a list of registered executor kinds, at least one, each once.

    ``TypeError`` for a single string: ``"threads"`` would otherwise be read letter by
    letter, as the kinds ``"t"``, ``"h"``, …; ``ValueError`` naming the kinds there are.
    """
    known = list(EXECUTORS)
    if isinstance(executors, str) or not isinstance(executors, Iterable):
        raise TypeError(f"executors must be a list of executor kinds from {known}, e.g. "
                        f"[{executors!r}], got {type(executors).__name__} {executors!r:.60}")
    names = list(executors)
    if not names:
        raise ValueError(f"executors must name at least one executor kind from {known}")
    for name in names:
        require_choice("executors", name, known)
    if len(set(names)) < len(names):
        raise ValueError(f"executors must name each executor kind once, got {names}")
    return names


def _plan_options(run_options: dict) -> dict:
    """The options of :func:`run_tasks` that :func:`plan_run` checks (all but warm-up)."""
    return {key: value for key, value in run_options.items() if key != "warmup"}


def _offset_progress(on_progress: ProgressCallback | None, index: int, parts: int
                     ) -> ProgressCallback | None:
    """Turn one run's (done, total) into progress over ``parts`` equal runs."""
    if on_progress is None:
        return None
    return lambda done, total: on_progress(index * total + done, parts * total)


def stepped_progress(on_progress: ProgressCallback | None, index: int, steps: int
                     ) -> ProgressCallback | None:
    """Progress of run ``index`` of ``steps`` runs whose task counts differ: each run is
    one equal step of the bar (reported in thousandths of a step)."""
    if on_progress is None:
        return None
    return lambda done, total: on_progress(index * 1000 + done * 1000 // total, steps * 1000)


def sweep_workers(workload: str = "count", executor: str = "processes",
                  workers: Sequence[int] | None = None, *, tasks: int | None = None,
                  on_result: Callable[[dict[int, RunResult]], None] | None = None,
                  on_progress: ProgressCallback | None = None,
                  **run_options) -> dict[int, RunResult]:
    """Run the same ``tasks`` with 1, 2, … workers; speedup is ``runs[1].wall / runs[w].wall``.

    Defaults: workers 1 … 2 × effective CPUs (to show oversubscription), and as
    many tasks as the largest pool so that every worker has work.
    """
    cpus = effective_cpu_count()
    if workers is not None and (isinstance(workers, str) or not isinstance(workers, Iterable)):
        raise TypeError(f"workers must be a list of worker counts such as [1, 2, 4] (or None),"
                        f" got {type(workers).__name__} {workers!r:.60}")
    counts = list(workers) if workers else list(range(1, min(2 * cpus, MAX_WORKERS) + 1))
    for count in counts:
        require_int("workers", count, 1, MAX_WORKERS)
    counts = sorted(set(counts) | {1})  # the 1-worker run is what speedup is measured against
    tasks = tasks if tasks is not None else max(counts) * 2
    for count in counts:  # every mistake shows now, not after the first runs
        plan_run(workload, executor=executor, workers=count, tasks=tasks,
                 **_plan_options(run_options))
    runs: dict[int, RunResult] = {}
    for index, count in enumerate(counts):
        progress = _offset_progress(on_progress, index, len(counts))
        runs[count] = run_tasks(workload, executor=executor, workers=count, tasks=tasks,
                                on_progress=progress, **run_options)
        if on_result is not None:
            on_result(runs)
    return runs
