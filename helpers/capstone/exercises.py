"""Notebook 09's exercises' self-checks: find the bottleneck, beat a target, pick tools.

Each check returns a :class:`~helpers.core.selfcheck.CheckResult`: ✓ with why it is right,
✗ with what is wrong and a hint that comes from *this* run's measurements, or ✎ while the
answer is still ``...`` (not answered: neither right nor wrong).

Exercise 2's target is not a fixed number: :func:`target_time` builds it from the
learner's own comparison — the best time measured for each stage, on any tool, added up.
"""
from __future__ import annotations

from helpers.capstone.decision_guide import measured_here
from helpers.capstone.pipeline import (
    PipelineComparison,
    PipelineRun,
    expected_summary,
    run_pipeline,
)
from helpers.capstone.plan import (
    JOB_OPTIONS,
    STAGES,
    StagePlan,
    check_stages,
    describe_plan,
)
from helpers.capstone.target import SLACK, Target, describe_target, target_time
from helpers.capstone.verdicts import format_duration, kind_of_work, run_stage_disturbance
from helpers.core.arguments import require_float
from helpers.core.executors import EXECUTORS, get_executor_kind
from helpers.core.experiments import stepped_progress
from helpers.core.noise import cpus_wanted
from helpers.core.progress import progress_bar
from helpers.core.selfcheck import (
    CheckResult,
    blank,
    first_problem,
    inconclusive,
    not_answered,
    not_yet,
    passed,
)
from helpers.core.system import gil_enabled
from helpers.core.words import FASTER, plural

__all__ = ["SLACK", "Target", "check_beat_target", "check_bottleneck", "check_tool_guide",
           "describe_target", "target_time"]

ATTEMPTS = 3  # a target check measures up to this many times and keeps the fastest
GUIDE_JOBS = {
    "download 5,000 product pages from one slow web shop": ("asyncio", "threads"),
    "resize 400 photos with a pure-Python loop on an 8-core laptop": (
        "processes", "interpreters", "free-threading"),
    "parse 30 small JSON replies that already arrived": ("serial",),
    "count words in 2 TB of logs spread over a cluster": ("dask",),
}
GUIDE_TOOLS = ("serial", "threads", "asyncio", "processes", "interpreters", "free-threading",
               "dask")


def _parallel(kind: str) -> bool:
    """True for kinds that can run Python code on several CPUs even with the GIL on."""
    return kind == "interpreters" or not get_executor_kind(kind).in_this_process


# --- exercise 1: the bottleneck -------------------------------------------------------------

def check_bottleneck(answer: object, run: object) -> CheckResult:
    """Exercise 1: ``answer`` names the longest stage of the measured ``run``."""
    if blank(answer):
        return not_answered("set bottleneck to the name of the longest stage of the "
                            "'all threads' bar, e.g. \"parse\", then run this cell again.")
    if not isinstance(run, PipelineRun):
        return not_yet(f"the second argument should be a PipelineRun, got {type(run).__name__}.",
                       "pass comparison.runs['all threads'].")
    times = ", ".join(f"{stage} {format_duration(run.wall(stage))}" for stage in STAGES)
    if answer not in STAGES:
        return not_yet(f"bottleneck is {answer!r}, not one of {list(STAGES)}.",
                       "write the name of one stage as a string, e.g. \"parse\".")
    if answer != run.bottleneck:
        return not_yet(f"in this run {answer} took {format_duration(run.wall(answer))}, but "
                       "another stage took longer.",
                       f"compare the segments of the '{run.label}' bar; the stage "
                       f"{kind_of_work(run, answer)} ({run.utilisation(answer):.2f} CPUs busy)."
                       " Which stage did the tools not shrink as much?")
    said = run_stage_disturbance(run, answer)
    return passed(f"{answer} was the bottleneck ({times})"
                  + (f". {said}" if said else f": {_why_bottleneck(run, answer)}."))


def _why_bottleneck(run: PipelineRun, stage: str) -> str:
    kind, cpus, fetch_kind = run.plan[stage][0], run.effective_cpus, run.plan["fetch"][0]
    if kind_of_work(run, stage) == "waits":
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


# --- exercise 2: the best mix, from the learner's measurements ------------------------------
# (the target itself: helpers.capstone.target)

def check_beat_target(stages: object, target: Target | float, *, progress: bool = False,
                      **options) -> CheckResult:
    """Exercise 2: run the pipeline with ``stages``; pass when its total ≤ ``target``.

    Timings on a shared machine vary, so it measures up to :data:`ATTEMPTS` times and
    keeps the fastest run (it stops as soon as one beats the target). With a
    :class:`Target`, it runs the target's job and its hints point at the stage furthest
    from its best; ``progress=True`` shows a bar while it measures.
    """
    if blank(stages):
        return not_answered("give my_stages a (kind, workers) pair for every stage, e.g. "
                            "\"fetch\": (\"threads\", 4), then run this cell again.")
    try:
        target_s = require_float("target", float(target) if isinstance(target, Target)
                                 else target, 0.001, 3600)
    except ValueError as error:
        return not_yet(f"{error}.", "pass the target that target_time(comparison) made above.")
    try:
        plan = check_stages(stages)
    except (TypeError, ValueError) as error:
        return not_yet(f"{error}.", "use a dict such as {\"fetch\": (\"threads\", 8)}; kinds "
                       f"are {list(EXECUTORS)}.")
    if isinstance(target, Target):
        options = {**{name: getattr(target.job, name) for name in JOB_OPTIONS}, **options}
    try:
        runs = _measure_until_beaten(plan, target_s, options, progress)
    except Exception as error:  # a wrong answer must not stop "Run all"
        return not_yet(f"the pipeline failed: {type(error).__name__}: {error}",
                       "start from the reference solution and change one stage at a time.")
    return against_target(plan, runs, target)


def _measure_until_beaten(plan: StagePlan, target_s: float, options: dict,
                          progress: bool = False) -> list[PipelineRun]:
    """Up to :data:`ATTEMPTS` runs of ``plan``; stops after the first within ``target_s``."""
    on_progress = progress_bar("measuring your stages") if progress else None
    runs: list[PipelineRun] = []
    while len(runs) < ATTEMPTS and (not runs or runs[-1].total > target_s):
        runs.append(run_pipeline(plan, label="your stages", **options,
                                 on_progress=stepped_progress(on_progress, len(runs),
                                                              ATTEMPTS)))
    if on_progress is not None:
        on_progress(1, 1)  # done, even when fewer than ATTEMPTS runs were needed
    return runs


def against_target(plan: StagePlan, runs: list[PipelineRun], target: Target | float
                   ) -> CheckResult:
    """Right answer first, then the fastest of ``runs`` against ``target`` — unless that
    run was disturbed and over the target: then it is not judged on noise."""
    target_s = float(target)
    run = min(runs, key=lambda r: r.total)
    slow, tries = _stage_to_shrink(run, target), plural(len(runs), "run")
    right = all(r.summary == expected_summary(r.job) for r in runs)
    said = " ".join(text for stage in STAGES if (text := run_stage_disturbance(run, stage)))
    if right and run.total > target_s >= best_case_total(run):  # noise might explain it
        return inconclusive(f"Not judged: the fastest of {tries} took {run.total:.2f} s "
                            f"against the target of {target_s:.2f} s, but "
                            f"{said[:1].lower()}{said[1:]} Your choice may well be right; "
                            "if it is still over on a quiet machine: "
                            + target_hint(run, slow))
    return first_problem([
        (right, "the aggregate is not the right answer.",
         "keep the four stages; only choose tools and workers."),
        (run.total <= target_s, _over_target(run, target_s, tries),
         _against_best(run, target, slow) + target_hint(run, slow)
         + (" You are close: timings vary, so run it again." if run.total < target_s * 1.1
            else "")),
    ], f"{run.total:.2f} s ≤ {target_s:.2f} s (fastest of {tries}) with "
       f"{describe_plan(plan)}; longest stage: {run.bottleneck}." + _go_further(run, target))


def _stage_to_shrink(run: PipelineRun, target: Target | float) -> str:
    """The stage furthest above its best measured time (with a Target), else the longest."""
    if not isinstance(target, Target):
        return run.bottleneck
    return max(STAGES, key=lambda stage: run.wall(stage) - target.best[stage].wall)


def _against_best(run: PipelineRun, target: Target | float, stage: str) -> str:
    if not isinstance(target, Target):
        return ""
    return (f"{stage} took {format_duration(run.wall(stage))} here; the fastest any choice "
            f"measured for it was {format_duration(target.best[stage].wall)} — find which "
            "tool and how many workers did that in the table above. ")


def best_case_total(run: PipelineRun) -> float:
    """The least ``run`` could have taken had nothing disturbed it: a disturbed stage's CPU
    time spread over the CPUs it could use (no faster than that), the others as measured."""
    total = 0.0
    for stage in STAGES:
        measured = run.runs[stage]
        if run_stage_disturbance(run, stage):
            wanted = cpus_wanted(measured.workers, measured.tasks, run.effective_cpus)
            total += min(measured.wall, measured.cpu / wanted)
        else:
            total += measured.wall
    return total


def _over_target(run: PipelineRun, target_s: float, tries: str) -> str:
    """How far over the target the fastest run was, and what its longest stage did."""
    slow = run.bottleneck
    return (f"the fastest of {tries} took {run.total:.2f} s, {run.total - target_s:.2f} s over "
            f"the target of {target_s:.2f} s. The longest stage was {slow} "
            f"({format_duration(run.wall(slow))}, {run.utilisation(slow):.2f} CPUs busy: it "
            f"{kind_of_work(run, slow)}).")


def _go_further(run: PipelineRun, target: Target | float | None = None) -> str:
    """After a pass: what the measurement says about the compute stage's tool here."""
    kind = run.plan["compute"][0]
    gain = target.gain("compute") if isinstance(target, Target) else None
    if gain is not None and gain < FASTER:
        return (f" No tool measured compute clearly faster than serial here (best "
                f"{gain:.2f}×{' on 1 effective CPU' if run.effective_cpus == 1 else ''}), so "
                "its tool hardly mattered: the target was won on the stage that waits.")
    if run.effective_cpus > 1 and gil_enabled() and not _parallel(kind):
        return (f" Compute still ran on {kind}, one CPU at a time: try processes for it "
                f"and see how far below the target you get.")
    return ""


def target_hint(run: PipelineRun, stage: str) -> str:
    """What would make ``stage`` of ``run`` shorter, from how it behaved."""
    kind, workers = run.plan[stage]
    if kind_of_work(run, stage) == "waits":
        return (f"{stage} mostly waits: threads or asyncio overlap the waits"
                + (" — try more workers." if kind != "serial" else "."))
    if run.effective_cpus == 1:
        return (f"{stage} computes, and with 1 effective CPU no pool can speed it up: "
                "win the time back in the stage that waits.")
    if _parallel(kind):
        return f"{stage} already runs on {kind} ×{workers}; another stage may have room."
    return (f"{stage} computes in pure Python: under the GIL only processes (or "
            "interpreters on 3.14+) run it on several CPUs.")


# --- exercise 3: a tool per job -------------------------------------------------------------

GUIDE_ROWS = {"serial": "no pool (serial)", "interpreters": "interpreters (3.14+)",
              "free-threading": "free-threading (3.13t and later)", "dask": "Dask"}


def check_tool_guide(choices: object, comparison: PipelineComparison | None = None
                     ) -> CheckResult:
    """Exercise 3: a tool from :data:`GUIDE_TOOLS` for every job in :data:`GUIDE_JOBS`.

    With ``comparison``, a wrong tool's hint quotes what the learner's own run measured
    for it (the decision guide's last column)."""
    if blank(choices):
        return not_answered("replace each ... in tools by a tool's name, e.g. \"threads\", "
                            "then run this cell again.")
    if not isinstance(choices, dict):
        return not_yet(f"expected a dict of job → tool, got {type(choices).__name__}.",
                       "start from the dict given in the exercise and fill in each value.")
    measured = measured_here(comparison)
    for job, good in GUIDE_JOBS.items():
        choice = choices.get(job)
        if choice not in GUIDE_TOOLS:
            return not_yet(f"the job {job!r} has {choice!r}.",
                           f"write one of {list(GUIDE_TOOLS)} for every job.")
        if choice not in good:
            seen = measured.get(GUIDE_ROWS.get(choice, choice))
            return not_yet(f"{choice!r} is not the best fit for {job!r}.",
                           "look the job up in the decision guide: does it wait, compute, "
                           "or need more than one machine — and is it worth a pool at all?"
                           + (f" Your capstone run measured for {choice}: {seen}." if seen
                              else ""))
    return passed("every job has a good tool; the guide's last column says which notebook "
                  "measured why.")
