"""Notebook 09's capstone: a four-stage pipeline where you choose a tool per stage.

``fetch`` pages from a local :class:`~helpers.core.latency_server.LatencyServer` → ``parse``
them → ``compute`` something CPU-heavy per page → ``aggregate`` the results. The stage
functions live in :mod:`helpers.capstone.stages`.

:func:`run_pipeline` runs the stages one after another. Each stage is one call of the
lab's runner (:func:`helpers.core.runner.run_tasks`) on the executor kind you chose for it
— any registered kind name works — so every stage is warmed up, repeated, and timed
with its median wall time and CPU time, like every other measurement in the lab.
The pipeline's **total** is the sum of the stages' median times. Starting, warming up
and shutting down each stage's pool is reported beside it (``setup``), not in the total.

:func:`compare_pipelines` runs several choices; :func:`describe_pipelines` turns them
into sentences; :func:`plot_pipelines` draws stacked bars; :class:`CapstoneLab` lets
you pick a tool per stage; the ``check_…`` functions are the exercises' self-checks.
"""
from __future__ import annotations

import html
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from helpers.capstone.stages import (
    STAGE_FUNCTIONS,
    ComputeTask,
    Summary,
    aggregate,
    compute_page,
    parse_page,
)
from helpers.core.arguments import require_float, require_int
from helpers.core.colours import REDDISH_PURPLE, REFERENCE_GREY, SKY_BLUE, VERMILLION, YELLOW
from helpers.core.controls import RunPanel, bounded_slider
from helpers.core.executors import EXECUTORS, MAX_WORKERS, get_executor_kind
from helpers.core.experiments import stepped_progress
from helpers.core.latency_server import LatencyServer, page_body
from helpers.core.plots import finish_figure
from helpers.core.runner import DEFAULT_TIMEOUT, MAX_REPEATS, ProgressCallback, RunResult, run_tasks
from helpers.core.selfcheck import CheckResult, first_problem, not_yet, passed
from helpers.core.settings import default
from helpers.core.system import effective_cpu_count, gil_enabled
from helpers.core.words import (
    FASTER,
    SLIGHTLY,
    STARVED,
    Verdict,
    against_ideal,
    plural,
    speedup_phrase,
)

STAGES = ("fetch", "parse", "compute", "aggregate")
ASYNC_KINDS = frozenset({"asyncio"})  # kinds that run coroutine functions
STAGE_COLOURS = {"fetch": SKY_BLUE, "parse": YELLOW, "compute": VERMILLION,
                 "aggregate": REDDISH_PURPLE}
SETUP_COLOUR = REFERENCE_GREY
MAX_PAGES = 64
MAX_LATENCY_MS = 1000
MIN_COMPUTE, MAX_COMPUTE = 1_000, 200_000
MIN_PAYLOAD, MAX_PAYLOAD = 16, 100_000
NOISE = SLIGHTLY  # two totals closer than this ratio are called a tie

StagePlan = dict[str, tuple[str, int]]


# --- settings and the plan ------------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    """The pipeline's job: how many pages, how slow the server, how heavy the compute."""

    pages: int
    latency_ms: float
    payload_bytes: int
    compute_size: int  # count primes below compute_size + page number

    @property
    def io_workers(self) -> int:
        """Threads (or coroutines) for fetching: enough to send every page at once, ≤ 16."""
        return min(self.pages, 16)


def settings(pages: int | None = None, latency_ms: float | None = None,
             payload_bytes: int | None = None, compute_size: int | None = None) -> Settings:
    """Checked settings; ``None`` means the default (smaller in quick mode)."""
    return Settings(
        require_int("pages", int(default(16, 8)) if pages is None else pages, 1, MAX_PAGES),
        require_float("latency_ms", 100 if latency_ms is None else latency_ms, 0, MAX_LATENCY_MS),
        require_int("payload_bytes", 4096 if payload_bytes is None else payload_bytes,
                    MIN_PAYLOAD, MAX_PAYLOAD),
        require_int("compute_size", int(default(60_000, 40_000)) if compute_size is None
                    else compute_size, MIN_COMPUTE, MAX_COMPUTE))


def check_stages(stages: object) -> StagePlan:
    """``stages`` as {stage: (kind, workers)} for all four stages; missing ones are serial.

    Each value is a registered executor kind (``"threads"``) or a pair
    ``(kind, workers)``; ``ValueError`` names what is wrong and what is allowed.
    """
    if stages is None:
        stages = {}
    if not isinstance(stages, Mapping):
        raise ValueError(f"stages must be a dict of stage → (kind, workers) with stages from "
                         f"{list(STAGES)}, got {type(stages).__name__}")
    unknown = [name for name in stages if name not in STAGES]
    if unknown:
        raise ValueError(f"stages must only name stages from {list(STAGES)}, got {unknown[0]!r}")
    plan: StagePlan = {}
    for stage in STAGES:
        value = stages.get(stage, "serial")
        kind, workers = (value, 1) if isinstance(value, str) else (
            tuple(value) if isinstance(value, (tuple, list)) and len(value) == 2 else (None, 0))
        if kind not in EXECUTORS:
            raise ValueError(f"stages[{stage!r}] must be a kind from {list(EXECUTORS)} or a "
                             f"pair (kind, workers), got {value!r}")
        workers = require_int(f"workers of stages[{stage!r}]", workers, 1, MAX_WORKERS)
        plan[stage] = (kind, get_executor_kind(kind).fixed_workers or workers)
    return plan


def describe_plan(plan: Mapping[str, tuple[str, int]]) -> str:
    """'fetch: threads ×16 · parse: serial · …'."""
    return " · ".join(f"{stage}: {kind}" + (f" ×{workers}" if kind != "serial" else "")
                      for stage, (kind, workers) in plan.items())


def reference_stages(job: Settings | None = None) -> StagePlan:
    """The reference solution: wait in threads, compute in processes, the rest in place.

    Fetching waits, so threads overlap the waits (one per page, at most 16). Computing is
    pure Python, so only processes (one per effective CPU) can run it in parallel under
    the GIL. Parsing and aggregating are too small to be worth sending anywhere.
    """
    job = job or settings()
    return {"fetch": ("threads", job.io_workers), "parse": ("serial", 1),
            "compute": ("processes", effective_cpu_count()), "aggregate": ("serial", 1)}


def default_choices(job: Settings | None = None) -> dict[str, StagePlan]:
    """The choices notebook 09 compares; the first is the baseline."""
    job = job or settings()
    io, cpus = job.io_workers, effective_cpu_count()
    choices = {
        "all serial": check_stages({}),
        "all threads": check_stages({stage: ("threads", io) for stage in STAGES}),
        "asyncio + processes": check_stages({"fetch": ("asyncio", io),
                                             "compute": ("processes", cpus)}),
        "threads + processes": check_stages(reference_stages(job)),
    }
    if "interpreters" in EXECUTORS:  # Python 3.14+
        choices["threads + interpreters"] = check_stages(
            {"fetch": ("threads", io), "compute": ("interpreters", cpus)})
    return choices


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
    return coroutine if kind in ASYNC_KINDS else plain


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
                 label: str = "pipeline", on_progress: ProgressCallback | None = None
                 ) -> PipelineRun:
    """Fetch ``pages`` pages from a local server, parse, compute and aggregate them, each
    stage on the executor ``stages`` names for it (:func:`check_stages`).

    Each stage runs through :func:`helpers.core.runner.run_tasks` (warm-up, ``repeats``
    repeats, median; 3 repeats, 1 in quick mode). The server runs in a ``with`` block
    and every pool is shut down, also on errors; ``TimeoutError`` after ``timeout`` s.
    """
    plan = check_stages(stages)
    job = settings(pages, latency_ms, payload_bytes, compute_size)
    repeats = require_int("repeats", int(default(3, 1)) if repeats is None else repeats,
                          1, MAX_REPEATS)
    timeout = require_float("timeout", timeout, 0.1, 24 * 3600)
    result = PipelineRun(label, plan, job)
    deadline = time.perf_counter() + timeout
    with LatencyServer(latency_ms=job.latency_ms, payload_bytes=job.payload_bytes,
                       pages=job.pages) as server:
        arguments: list = server.urls(job.pages)
        for index, stage in enumerate(STAGES):
            kind, workers = plan[stage]
            started = time.perf_counter()
            run = run_tasks(_stage_function(stage, kind), executor=kind, workers=workers,
                            arguments=arguments, repeats=repeats, start_method=start_method,
                            warmup=kind != "serial",  # no pool to warm up
                            timeout=max(deadline - started, 0.001),
                            on_progress=stepped_progress(on_progress, index, len(STAGES)))
            result.runs[stage] = run
            result.setup[stage] = max(time.perf_counter() - started - sum(run.walls), 0.0)
            arguments = _next_arguments(stage, run.results, job)
    result.summary = result.runs["aggregate"].results[0]
    return result


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
        if not isinstance(baseline, PipelineRun) or baseline.job != job:
            raise ValueError(f"baseline must be a PipelineRun of the same job ({job}), got "
                             f"{getattr(baseline, 'job', type(baseline).__name__)}")
        comparison.runs[baseline.label] = baseline
        choices.pop(baseline.label, None)
    if not choices and baseline is None:
        raise ValueError("choices must hold at least one {label: stages} entry")
    for index, (label, stages) in enumerate(choices.items()):
        comparison.runs[label] = run_pipeline(
            stages, label=label, on_progress=stepped_progress(on_progress, index, len(choices)),
            **options)
        if on_result is not None:
            on_result(comparison)
    return comparison


# --- words ----------------------------------------------------------------------------------

def describe_profile(run: PipelineRun) -> Verdict:
    """Per stage: its time, CPUs busy, and so whether it waits or computes."""
    lines = []
    for stage in STAGES:
        busy, share = run.utilisation(stage), run.wall(stage) / run.total
        line = f"**{stage}**: {_ms(run.wall(stage))}, {busy:.2f} CPUs busy — "
        if share < 0.05:
            line += f"{share:.0%} of the total: too brief to matter"
        else:
            line += f"it {_kind_of_work(run, stage)}"
            if busy < STARVED and _kind_of_work(run, stage) == "computes":
                line += (" (on less than a whole CPU: other programs are using this "
                         "machine's CPUs)")
        if stage == run.bottleneck:
            line += f"; the longest stage, {share:.0%} of the total"
        lines.append(line + ".")
    cpus = run.effective_cpus
    lines.append("With 1 effective CPU only waits can overlap: processes cannot speed a "
                 "computing stage up here." if cpus == 1 else
                 f"With {cpus} effective CPUs, waits can overlap on threads or asyncio, and "
                 f"pure-Python computing can run at best {cpus}× faster — in processes.")
    return Verdict(tuple(lines))


def _ms(seconds: float) -> str:
    """'0.4 ms', '37 ms', '1.25 s'."""
    if seconds < 0.01:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


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


def _fastest_line(comparison: PipelineComparison) -> str:
    ranked = sorted(comparison.runs.values(), key=lambda run: run.total)
    best = ranked[0]
    line = f"Fastest here: **{best.label}** ({best.total:.2f} s)"
    ties = [run.label for run in ranked[1:] if run.total / best.total < NOISE]
    if ties:
        line += (f"; {', '.join(f'**{t}**' for t in ties)} finished within "
                 f"{(NOISE - 1):.0%} of it — a difference that small is noise on a shared "
                 "machine, so call it a tie")
    return line + "."


def _fetch_line(comparison: PipelineComparison) -> str | None:
    runs, gains = stage_runs(comparison, "fetch"), stage_speedups(comparison, "fetch")
    if not gains:
        return None
    kind = max(gains, key=gains.__getitem__)
    serial = runs["serial"]
    return (f"**fetch** waits: done serially it kept {serial.utilisation:.2f} CPUs busy. "
            f"With {kind} ({plural(runs[kind].workers, 'worker')}) it was "
            f"{speedup_phrase(gains[kind])}: waits overlap, whatever the number of CPUs.")


def _compute_line(comparison: PipelineComparison) -> str | None:
    runs, gains = stage_runs(comparison, "compute"), stage_speedups(comparison, "compute")
    if not gains:
        return None
    cpus, serial = comparison.effective_cpus, runs["serial"]
    starved = serial.utilisation < STARVED
    parts = [f"**compute** ran serially in {_ms(serial.wall)} with {serial.utilisation:.1f} "
             "CPUs busy" + (" — less than one whole CPU: other programs were using this "
                            "machine, so every compute time here is noisy." if starved else ".")]
    for kind in ("threads", "asyncio"):
        if kind not in gains:
            continue
        gain = gains[kind]
        if kind == "threads" and not gil_enabled():
            why = ": the GIL is off in this Python, so threads can compute in parallel."
        elif gain >= FASTER:
            why = (" — that is noise, not parallelism: the serial run was slowed by other "
                   "work. Run it again.")
        elif kind == "threads":
            why = ": the GIL lets one thread at a time run Python code."
        else:
            why = ": one event loop runs one coroutine's computation at a time."
        parts.append(f"{kind.capitalize()} were {speedup_phrase(gain)}{why}")
    for kind, gain in gains.items():
        if kind in ("threads", "asyncio"):
            continue
        line = f"{kind.capitalize()} were {speedup_phrase(gain)}"
        if cpus == 1:
            line += (": this machine gives you 1 effective CPU, so processes (or any other "
                     "pool) cannot speed the compute stage up — only the waiting stage can "
                     "gain here" + (", and a 'faster' is noise." if gain >= FASTER else "."))
        elif gain >= FASTER:
            ideal = min(cpus, runs[kind].workers, runs[kind].tasks)
            line += (f" on {cpus} effective CPUs — {against_ideal(gain, ideal)}. Each worker "
                     "has its own interpreter and GIL.")
        else:
            line += (f" although {cpus} effective CPUs were there: the machine was busy with "
                     "other work, or the tasks were too small. Run it again.")
        parts.append(line)
    return " ".join(parts)


def _parse_line(comparison: PipelineComparison) -> str:
    slowest = max(run.wall("parse") for run in comparison.runs.values())
    fastest = comparison.fastest
    share = fastest.wall("parse") / fastest.total if fastest.total else 0.0
    line = (f"**parse** took at most {_ms(slowest)} in any choice, {share:.0%} of the fastest "
            "total")
    if share < 0.1:
        return line + ": too little work for any pool to pay for itself — leave it serial."
    return line + ": large enough to be worth trying a pool on."


def _setup_line(comparison: PipelineComparison) -> str:
    heaviest = max(comparison.runs.values(), key=lambda run: run.setup_total)
    return (f"Starting, warming up and shutting down the pools cost up to "
            f"{heaviest.setup_total:.2f} s more (**{heaviest.label}**), once per run. The totals "
            "leave it out, as every measurement in this lab does; count it if your pipeline "
            "runs once and is short.")


def describe_pipelines(comparison: PipelineComparison) -> Verdict:
    """Sentences from the measurements: each choice, the fastest, and why, stage by stage."""
    base = comparison.baseline
    lines = [f"**{base.label}**: {base.total:.2f} s — "
             + ", ".join(f"{stage} {_ms(base.wall(stage))}" for stage in STAGES) + "."]
    for label, run in list(comparison.runs.items())[1:]:
        lines.append(f"**{label}**: {run.total:.2f} s, "
                     f"{speedup_phrase(comparison.speedup(label), base.label)}; its longest "
                     f"stage: {run.bottleneck} ({_ms(run.wall(run.bottleneck))}).")
    lines.append(_fastest_line(comparison))
    lines += [line for line in (_fetch_line(comparison), _compute_line(comparison)) if line]
    lines += [_parse_line(comparison), _setup_line(comparison)]
    return Verdict(tuple(lines))


# --- the plot -------------------------------------------------------------------------------

def plot_pipelines(comparison: PipelineComparison) -> Figure:
    """One stacked bar per choice: each stage's median time, then the pools' set-up."""
    runs = list(comparison.runs.values())
    fig, ax = plt.subplots(figsize=(9, 1.0 + 0.75 * len(runs)))
    for row, run in enumerate(runs):
        left = 0.0
        for stage in STAGES:
            ax.barh(row, run.wall(stage), left=left, color=STAGE_COLOURS[stage],
                    edgecolor="white", label=stage if row == 0 else None)
            left += run.wall(stage)
        ax.barh(row, run.setup_total, left=left, color="white", edgecolor=SETUP_COLOUR,
                hatch="//", label="pool set-up, once (not in the total)" if row == 0 else None)
        ax.annotate(f" {run.total:.2f} s · {comparison.speedup(run.label):.1f}×",
                    (left + run.setup_total, row), va="center", fontsize=8)
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


def _tools(plan: Mapping[str, tuple[str, int]]) -> str:
    return " → ".join(kind for kind, _ in plan.values())


# --- the lab widget -------------------------------------------------------------------------

class CapstoneLab(RunPanel):
    """Pick a tool and a number of workers per stage, press Run, compare with ``comparison``."""

    def __init__(self, comparison: PipelineComparison | None = None,
                 stages: Mapping | None = None, **options) -> None:
        self.comparison = comparison
        self.options = options
        self.job = comparison.baseline.job if comparison else settings(
            *(options.get(k) for k in ("pages", "latency_ms", "payload_bytes", "compute_size")))
        plan = check_stages(stages if stages is not None else reference_stages(self.job))
        self.kinds, self.workers = {}, {}
        rows = []
        for stage in STAGES:
            kind, count = plan[stage]
            self.kinds[stage] = widgets.Dropdown(options=list(EXECUTORS), value=kind,
                                                 description=stage,
                                                 layout=widgets.Layout(width="230px"))
            self.workers[stage] = bounded_slider("workers", count, 1, 32, width="300px")
            rows.append(widgets.HBox([self.kinds[stage], self.workers[stage]]))
        self.results: PipelineRun | None = None
        super().__init__(rows)

    def stages(self) -> StagePlan:
        """The plan the controls show now."""
        return check_stages({stage: (self.kinds[stage].value, self.workers[stage].value)
                             for stage in STAGES})

    def run(self) -> PipelineRun | None:
        def work(on_progress: ProgressCallback) -> PipelineRun:
            run = run_pipeline(self.stages(), label="your choice", on_progress=on_progress,
                               **{"pages": self.job.pages, "latency_ms": self.job.latency_ms,
                                  "payload_bytes": self.job.payload_bytes,
                                  "compute_size": self.job.compute_size, **self.options})
            shown = (self.comparison.with_run(run) if self.comparison
                     else PipelineComparison({run.label: run}))
            self.show(plot_pipelines(shown))
            self.words.value = describe_choice(run, self.comparison)
            return run

        result = self.guarded(work)
        if result is not None:
            self.results = result
        return result


def describe_choice(run: PipelineRun, comparison: PipelineComparison | None = None) -> str:
    """A line of HTML about one run: its total, against the baseline and the fastest."""
    text = (f"<b>{html.escape(run.label)}</b>: {run.total:.2f} s "
            f"(+ {run.setup_total:.2f} s pool set-up); longest stage: <b>{run.bottleneck}</b> "
            f"({_ms(run.wall(run.bottleneck))}, {run.utilisation(run.bottleneck):.1f} CPUs busy).")
    if comparison is not None:
        base, best = comparison.baseline, comparison.fastest
        text += (f" That is {html.escape(speedup_phrase(base.total / run.total, base.label))}"
                 f" and {html.escape(speedup_phrase(best.total / run.total, best.label))}.")
    if run.summary != expected_summary(run.job):
        text += " <b>The aggregate is wrong!</b>"
    return text


# --- exercises ------------------------------------------------------------------------------

WAITS_BELOW = 0.2  # CPUs busy: a stage below this mostly waits


def _kind_of_work(run: PipelineRun, stage: str) -> str:
    """'waits' or 'computes', from the stage's CPUs busy. Threshold low on purpose: on a
    crowded machine a computing stage may get only a third of a CPU."""
    return "waits" if run.utilisation(stage) < WAITS_BELOW else "computes"


def check_bottleneck(answer: object, run: object) -> CheckResult:
    """Exercise 1: ``answer`` names the longest stage of the measured ``run``."""
    if not isinstance(run, PipelineRun):
        return not_yet(f"the second argument should be a PipelineRun, got {type(run).__name__}.",
                       "pass comparison.runs['all threads'].")
    times = ", ".join(f"{stage} {_ms(run.wall(stage))}" for stage in STAGES)
    if answer not in STAGES:
        return not_yet(f"bottleneck is {answer!r}, not one of {list(STAGES)}.",
                       "write the name of one stage as a string, e.g. \"parse\".")
    if answer != run.bottleneck:
        return not_yet(f"in this run {answer} took {_ms(run.wall(answer))}, but another stage "
                       "took longer.",
                       f"compare the segments of the '{run.label}' bar; the stage "
                       f"{_kind_of_work(run, answer)} ({run.utilisation(answer):.2f} CPUs busy)."
                       " Which stage did the tools not shrink as much?")
    return passed(f"{answer} was the bottleneck ({times}): {_why_bottleneck(run, answer)}.")


def _parallel(kind: str) -> bool:
    """True for kinds that can run Python code on several CPUs even with the GIL on."""
    return kind == "interpreters" or not get_executor_kind(kind).in_this_process


def _why_bottleneck(run: PipelineRun, stage: str) -> str:
    kind, cpus, fetch_kind = run.plan[stage][0], run.effective_cpus, run.plan["fetch"][0]
    if _kind_of_work(run, stage) == "waits":
        return f"{stage} waits: more threads or asyncio tasks would overlap more of its waits"
    text = (f"{fetch_kind} removed most of the waiting; what is left is {stage}, computing on "
            f"{kind}" if fetch_kind != "serial" and stage != "fetch"
            else f"{stage} computes, on {kind}")
    if cpus == 1:
        return text + "; with 1 effective CPU no tool can shrink it"
    if _parallel(kind):
        return text + f"; only more than your {cpus} effective CPUs would shrink it further"
    if gil_enabled():
        return (text + ": under the GIL that is one CPU at a time — processes could use your "
                f"{cpus} effective CPUs")
    return text + f": the GIL is off, so threads can use your {cpus} effective CPUs"


def target_time(comparison: PipelineComparison) -> float:
    """Halfway between the baseline's total and the fastest measured total, in seconds."""
    best = comparison.fastest.total
    return best + (comparison.baseline.total - best) / 2


ATTEMPTS = 3  # a target check measures up to this many times and keeps the fastest


def check_beat_target(stages: object, target_s: float, **options) -> CheckResult:
    """Exercise 2: run the pipeline with ``stages``; pass when its total ≤ ``target_s``.

    Timings on a shared machine vary, so it measures up to :data:`ATTEMPTS` times and
    keeps the fastest run (it stops as soon as one beats the target).
    """
    try:
        plan = check_stages(stages)
        target_s = require_float("target_s", target_s, 0.001, 3600)
    except ValueError as error:
        return not_yet(f"{error}.", "use a dict such as {\"fetch\": (\"threads\", 8)}; kinds "
                       f"are {list(EXECUTORS)}.")
    runs: list[PipelineRun] = []
    try:
        while len(runs) < ATTEMPTS and (not runs or runs[-1].total > target_s):
            runs.append(run_pipeline(plan, label="your stages", **options))
    except Exception as error:  # a wrong answer must not stop "Run all"
        return not_yet(f"the pipeline failed: {type(error).__name__}: {error}",
                       "start from the reference solution and change one stage at a time.")
    run = min(runs, key=lambda r: r.total)
    slow, tries = run.bottleneck, plural(len(runs), "run")
    return first_problem([
        (all(r.summary == expected_summary(r.job) for r in runs),
         "the aggregate is not the right answer.",
         "keep the four stages; only choose tools and workers."),
        (run.total <= target_s,
         f"the fastest of {tries} took {run.total:.2f} s, {run.total - target_s:.2f} s over "
         f"the target of {target_s:.2f} s. The longest stage was {slow} "
         f"({_ms(run.wall(slow))}, {run.utilisation(slow):.2f} CPUs busy: it "
         f"{_kind_of_work(run, slow)}).",
         target_hint(run, slow) + (" You are close: timings vary, so run it again."
                                    if run.total < target_s * 1.1 else "")),
    ], f"{run.total:.2f} s ≤ {target_s:.2f} s (fastest of {tries}) with "
       f"{describe_plan(plan)}; longest stage: {slow}." + _go_further(run))


def _go_further(run: PipelineRun) -> str:
    kind = run.plan["compute"][0]
    if run.effective_cpus > 1 and gil_enabled() and not _parallel(kind):
        return (f" Compute still ran on {kind}, one CPU at a time: try processes for it "
                f"and see how far below the target you get.")
    return ""


def target_hint(run: PipelineRun, stage: str) -> str:
    kind, workers = run.plan[stage]
    if _kind_of_work(run, stage) == "waits":
        return (f"{stage} mostly waits: threads or asyncio overlap the waits"
                + (" — try more workers." if kind != "serial" else "."))
    if run.effective_cpus == 1:
        return (f"{stage} computes, and with 1 effective CPU no pool can speed it up: "
                "win the time back in the stage that waits.")
    if _parallel(kind):
        return (f"{stage} already runs on {kind} ×{workers}; another stage may have room, or "
                "the machine is busy with other work.")
    return (f"{stage} computes in pure Python: under the GIL only processes (or "
            "interpreters on 3.14+) run it on several CPUs.")


GUIDE_JOBS = {
    "download 5,000 product pages from one slow web shop": ("asyncio", "threads"),
    "resize 400 photos with a pure-Python loop on an 8-core laptop": ("processes",
                                                                      "interpreters"),
    "parse 30 small JSON replies that already arrived": ("serial",),
    "count words in 2 TB of logs spread over a cluster": ("dask",),
}
GUIDE_TOOLS = ("serial", "threads", "asyncio", "processes", "interpreters", "free-threading",
               "dask")


def check_tool_guide(choices: object) -> CheckResult:
    """Exercise 3: a tool from :data:`GUIDE_TOOLS` for every job in :data:`GUIDE_JOBS`."""
    if not isinstance(choices, dict):
        return not_yet(f"expected a dict of job → tool, got {type(choices).__name__}.",
                       "start from the dict given in the exercise and fill in each value.")
    for job, good in GUIDE_JOBS.items():
        choice = choices.get(job)
        if choice not in GUIDE_TOOLS:
            return not_yet(f"the job {job!r} has {choice!r}.",
                           f"write one of {list(GUIDE_TOOLS)} for every job.")
        if choice not in good:
            return not_yet(f"{choice!r} is not the best fit for {job!r}.",
                           "look the job up in the decision guide: does it wait, compute, "
                           "or need more than one machine — and is it worth a pool at all?")
    return passed("every job has a good tool; the guide's last column says which notebook "
                  "measured why.")
