"""Sentences from the capstone's measurements, so the words match what this machine did.

:func:`describe_profile` says, stage by stage, whether one run waited or computed;
:func:`describe_pipelines` compares every choice, names the fastest and explains each
stage; :func:`describe_choice` is the lab widget's line about one run (and
:func:`describe_partial` its line while the run is measured). A stage "waits"
or "computes" by its CPUs busy (:func:`kind_of_work`), never by its name.
"""
from __future__ import annotations

import html

from helpers.capstone.pipeline import (
    PipelineComparison,
    PipelineRun,
    expected_summary,
    stage_runs,
    stage_speedups,
)
from helpers.capstone.plan import STAGES
from helpers.core.noise import (
    beyond_ideal,
    busy_sentence,
    cpus_wanted,
    disturbed_sentence,
    repeats_disagree,
    starved,
)
from helpers.core.runner import RunResult
from helpers.core.system import gil_enabled
from helpers.core.words import (
    FASTER,
    SLIGHTLY,
    Verdict,
    against_ideal,
    plural,
    speedup_phrase,
    where_run,
)

NOISE = SLIGHTLY  # two totals closer than this ratio are called a tie
WAITS_BELOW = 0.2  # CPUs busy: a stage below this mostly waits
IN_ONE_PROCESS = ("threads", "asyncio")  # kinds whose Python code shares one GIL


def format_duration(seconds: float) -> str:
    """'0.4 ms', '37 ms', '1.25 s'."""
    if seconds < 0.01:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def stage_disturbance(measured: RunResult, stage: str, cpus: int, waits: bool) -> str:
    """Why one stage's measurement is noise, as a sentence with "disturbed" — or ``''``.

    A waiting stage wants no CPU, so only its repeats can disagree; a computing one was
    disturbed when other programs took the CPUs it could use, or when serially it kept
    less than a CPU (:mod:`helpers.core.noise`)."""
    what = f"the {stage} stage on {measured.executor}"
    if not waits:
        wanted = cpus_wanted(measured.workers, measured.tasks, cpus)
        said = busy_sentence(measured.load, wanted, what)
        if said:
            return said
        if measured.workers == 1 and starved(measured.utilisation):
            return disturbed_sentence(what, f"{stage} kept only {measured.utilisation:.2f} "
                                            "CPUs busy on work that computes all the time")
    if repeats_disagree(measured.walls):
        return disturbed_sentence(what, f"its repeats took from {min(measured.walls):.3f} s "
                                        f"to {max(measured.walls):.3f} s")
    return ""


def run_stage_disturbance(run: PipelineRun, stage: str) -> str:
    """:func:`stage_disturbance` of ``stage`` in one pipeline run."""
    return stage_disturbance(run.runs[stage], stage, run.effective_cpus,
                             kind_of_work(run, stage) == "waits")


def kind_of_work(run: PipelineRun, stage: str) -> str:
    """'waits' or 'computes', from the stage's CPUs busy. Threshold low on purpose: on a
    crowded machine a computing stage may get only a third of a CPU."""
    return "waits" if run.utilisation(stage) < WAITS_BELOW else "computes"


# --- one run, stage by stage ----------------------------------------------------------------

def describe_profile(run: PipelineRun) -> Verdict:
    """Per stage: its time, CPUs busy, and so whether it waits or computes."""
    lines = [_profile_line(run, stage) for stage in STAGES]
    lines.append(_what_the_cpus_allow(run.effective_cpus))
    return Verdict(tuple(lines))


def _profile_line(run: PipelineRun, stage: str) -> str:
    """'**fetch**: 800 ms, 0.05 CPUs busy — it waits.'"""
    busy, share = run.utilisation(stage), run.wall(stage) / run.total
    line = f"**{stage}**: {format_duration(run.wall(stage))}, {busy:.2f} CPUs busy — "
    if share < 0.05:
        line += f"{share:.0%} of the total: too brief to matter"
    else:
        line += f"it {kind_of_work(run, stage)}"
    if stage == run.bottleneck:
        line += f"; the longest stage, {share:.0%} of the total"
    said = run_stage_disturbance(run, stage) if share >= 0.05 else ""
    return line + "." + (" " + said if said else "")


def _what_the_cpus_allow(cpus: int) -> str:
    if cpus == 1:
        return ("With 1 effective CPU only waits can overlap: processes cannot speed a "
                "computing stage up here.")
    return (f"With {cpus} effective CPUs, waits can overlap on threads or asyncio, and "
            f"pure-Python computing can run at best {cpus}× faster — in processes.")


# --- several choices ------------------------------------------------------------------------

def describe_pipelines(comparison: PipelineComparison) -> Verdict:
    """Sentences from the measurements: each choice, the fastest, and why, stage by stage."""
    base = comparison.baseline
    lines = [f"**{base.label}**: {base.total:.2f} s — "
             + ", ".join(f"{stage} {format_duration(base.wall(stage))}" for stage in STAGES)
             + "."]
    for label, run in list(comparison.runs.items())[1:]:
        lines.append(f"**{label}**: {run.total:.2f} s, "
                     f"{speedup_phrase(comparison.speedup(label), base.label)}; its longest "
                     f"stage: {run.bottleneck} ({format_duration(run.wall(run.bottleneck))}).")
    lines.append(_fastest_line(comparison))
    lines += [line for line in (_fetch_line(comparison), _compute_line(comparison)) if line]
    lines += [_parse_line(comparison), _setup_line(comparison)]
    return Verdict(tuple(lines))


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
    text = (f"**fetch** waits: done serially it kept {serial.utilisation:.2f} CPUs busy. "
            f"With {kind} ({plural(runs[kind].workers, 'worker')}) it was "
            f"{speedup_phrase(gains[kind])}")
    cpus, waits = comparison.effective_cpus, serial.utilisation < WAITS_BELOW
    said = " ".join(text for text in (stage_disturbance(serial, "fetch", cpus, waits),
                                      stage_disturbance(runs[kind], "fetch", cpus, waits))
                    if text)
    if said:
        return f"{text}. {said}"
    return text + ": waits overlap, whatever the number of CPUs."


def _compute_line(comparison: PipelineComparison) -> str | None:
    """Compute serially, then on each kind that ran it: how much faster, and why."""
    runs, gains = stage_runs(comparison, "compute"), stage_speedups(comparison, "compute")
    if not gains:
        return None
    cpus = comparison.effective_cpus
    serial_said = stage_disturbance(runs["serial"], "compute", cpus, False)
    parts = [_serial_compute(runs["serial"], serial_said)]
    if serial_said:  # every gain is measured against it: none says anything
        return " ".join(parts)
    for kind, gain in gains.items():
        said = stage_disturbance(runs[kind], "compute", cpus, False)
        if not said and beyond_ideal(gain, _ideal(runs[kind], cpus)):
            said = disturbed_sentence(f"the compute stage on {kind}", f"{_subject(kind)} "
                                      f"measured {gain:.1f}×, more than "
                                      f"{plural(_ideal(runs[kind], cpus), 'CPU')} can give")
        if said:
            parts.append(f"{_subject(kind)} were {speedup_phrase(gain)}. {said}")
        elif kind in IN_ONE_PROCESS:
            parts.append(_compute_in_one_process(kind, gain, cpus))
        else:
            parts.append(_compute_in_a_pool(kind, gain, runs[kind], cpus))
    return " ".join(parts)


def _ideal(run: RunResult, cpus: int) -> int:
    """The most a computing stage can gain on ``run``'s pool: workers, tasks, CPUs."""
    return max(min(cpus, run.workers, run.tasks), 1)


def _serial_compute(serial: RunResult, disturbance: str) -> str:
    """Serial compute's time and CPUs busy — and, when it was disturbed, that it was."""
    return (f"**compute** ran serially in {format_duration(serial.wall)} with "
            f"{serial.utilisation:.1f} CPUs busy."
            + (f" {disturbance} Every compute gain is measured against it, so none is "
               "described here." if disturbance else ""))


def _subject(kind: str) -> str:
    """The executor kind as a sentence's subject: "Threads were…", "Asyncio tasks were…"."""
    return {"asyncio": "Asyncio tasks", "dask": "Dask workers"}.get(kind, kind.capitalize())


def _compute_in_one_process(kind: str, gain: float, cpus: int) -> str:
    """Threads or asyncio on compute (undisturbed): one at a time, unless the GIL is off."""
    if cpus == 1:
        why = (": with 1 effective CPU only one of them computes at a time, GIL or not."
               if gain < FASTER else "")
    elif kind == "threads" and not gil_enabled():
        why = ": the GIL is off in this Python, so threads can compute in parallel."
    elif gain >= FASTER:
        return disturbed_sentence(f"the compute stage on {kind}", f"{_subject(kind)} were "
                                  f"{speedup_phrase(gain)} on pure-Python work in one process")
    elif kind == "threads":
        why = ": the GIL lets one thread at a time run Python code."
    else:
        why = ": one event loop runs one coroutine's computation at a time."
    return f"{_subject(kind)} were {speedup_phrase(gain)}{why}"


def _compute_in_a_pool(kind: str, gain: float, run: RunResult, cpus: int) -> str:
    """Processes (or another pool with its own GILs) on compute, against the CPUs there."""
    line = f"{_subject(kind)} were {speedup_phrase(gain)}"
    if cpus == 1:
        return line + (": this machine gives you 1 effective CPU, so processes (or any other "
                       "pool) cannot speed the compute stage up — only the waiting stage can "
                       "gain here.")
    ideal = _ideal(run, cpus)
    if ideal == 1:
        return line + (f": with {plural(run.workers, 'worker')} it computes on one CPU at a "
                       "time.")
    if gain >= FASTER:
        return line + (f" on {cpus} effective CPUs — {against_ideal(gain, ideal)}. Each "
                       "worker has its own interpreter and GIL.")
    return line + (f" although {cpus} effective CPUs were there and no other program was "
                   "measured taking them: the tasks may be too small for the pool to pay "
                   "off. Run it again, or with more work per page.")


def _parse_line(comparison: PipelineComparison) -> str:
    slowest = max(run.wall("parse") for run in comparison.runs.values())
    fastest = comparison.fastest
    share = fastest.wall("parse") / fastest.total if fastest.total else 0.0
    line = (f"**parse** took at most {format_duration(slowest)} in any choice, {share:.0%} of "
            "the fastest total")
    if share < 0.1:
        return line + ": too little work for any pool to pay for itself — leave it serial."
    return line + ": large enough to be worth trying a pool on."


def _setup_line(comparison: PipelineComparison) -> str:
    heaviest = max(comparison.runs.values(), key=lambda run: run.setup_total)
    return (f"Starting, warming up and shutting down the pools cost up to "
            f"{heaviest.setup_total:.2f} s more (**{heaviest.label}**), once per run. The totals "
            "leave it out, as every measurement in this lab does; count it if your pipeline "
            "runs once and is short.")


# --- one choice, for the lab widget ---------------------------------------------------------

def describe_choice(run: PipelineRun, comparison: PipelineComparison | None = None) -> str:
    """A line of HTML about one run: its total, against the baseline and the fastest."""
    slow = run.bottleneck
    text = (f"<b>{html.escape(run.label)}</b>: {run.total:.2f} s "
            f"(+ {run.setup_total:.2f} s pool set-up); longest stage: <b>{slow}</b> "
            f"({format_duration(run.wall(slow))}, {run.utilisation(slow):.1f} CPUs busy).")
    if comparison is not None:
        base, best = comparison.baseline, comparison.fastest
        text += (f" That is {html.escape(speedup_phrase(base.total / run.total, base.label))}"
                 f" and {html.escape(speedup_phrase(best.total / run.total, best.label))}.")
    if run.summary != expected_summary(run.job):
        text += " <b>The aggregate is wrong!</b>"
    said = " ".join(part for stage in STAGES if (part := run_stage_disturbance(run, stage)))
    return text + (" " + html.escape(said).replace("**", "") if said else "")


def describe_partial(run: PipelineRun) -> str:
    """A line of HTML while ``run`` is measured: the stages timed so far, and their tools."""
    if run.complete:
        return describe_choice(run)
    done = ", ".join(f"{stage} {format_duration(measured.wall)} {where_run(measured.executor)}"
                     for stage, measured in run.runs.items())
    return (f"Measuring <b>{html.escape(run.label)}</b>, stage by stage — so far: "
            f"{html.escape(done) or 'nothing yet'}.")
