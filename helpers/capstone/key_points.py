"""Notebook 09's key points, written from the learner's own comparison.

Each point that states a result takes its numbers from the measurements (a disturbed
stage is called **disturbed** and explained by nothing else, :mod:`helpers.core.noise`);
the last point is advice that holds on any machine.
"""
from __future__ import annotations

from helpers.capstone.pipeline import (
    PipelineComparison,
    require_comparison,
    stage_runs,
    stage_speedups,
)
from helpers.capstone.verdicts import WAITS_BELOW, kind_of_work, stage_disturbance
from helpers.core.noise import disturbed_sentence
from helpers.core.system import gil_enabled
from helpers.core.words import FASTER, Verdict, plural, speedup_phrase, where_run


def key_points(comparison: PipelineComparison) -> Verdict:
    """Four to five bullets: profile, waits, computing, the next bottleneck, the advice."""
    require_comparison(comparison)
    points = [_profile(comparison), _stage_point(comparison, "fetch"),
              _stage_point(comparison, "compute"), _next_bottleneck(comparison),
              "Leave the cheap stages (parse, aggregate) where the data already is, and count "
              "the pools' set-up when a pipeline runs once and is short."]
    return Verdict(tuple(point for point in points if point))


def _profile(comparison: PipelineComparison) -> str:
    base = comparison.baseline
    said = "; ".join(f"**{stage}** kept {base.utilisation(stage):.2f} CPUs busy — it "
                     f"{kind_of_work(base, stage)}" for stage in ("fetch", "compute"))
    return (f"Profile before choosing: in **{base.label}**, {said}. CPUs busy, not a "
            "stage's name, says whether a stage waits or computes.")


def _disturbed(comparison: PipelineComparison, stage: str, kinds: tuple[str, ...]) -> str:
    """The first of ``kinds``' measurements of ``stage`` that was disturbed, as a sentence."""
    runs, cpus = stage_runs(comparison, stage), comparison.effective_cpus
    waits = runs["serial"].utilisation < WAITS_BELOW
    return next((said for kind in kinds if kind in runs
                 and (said := stage_disturbance(runs[kind], stage, cpus, waits))), "")


def _stage_point(comparison: PipelineComparison, stage: str) -> str:
    """How much the best tool shrank ``stage`` here, and why — or that it was disturbed."""
    gains = stage_speedups(comparison, stage)
    if not gains:
        return ""
    kind = max(gains, key=gains.__getitem__)
    runs = stage_runs(comparison, stage)
    line = (f"**{stage}** ran {speedup_phrase(gains[kind])} {where_run(kind)} "
            f"({plural(runs[kind].workers, 'worker')})")
    said = _disturbed(comparison, stage, ("serial", kind))
    if said:
        return f"{line}. {said}"
    return line + _why(comparison, stage, kind, gains[kind])


def _why(comparison: PipelineComparison, stage: str, kind: str, gain: float) -> str:
    cpus = comparison.effective_cpus
    if stage_runs(comparison, stage)["serial"].utilisation < WAITS_BELOW:
        return (": waits overlap, whatever the number of CPUs." if gain >= FASTER else
                ": its waits did not overlap here — try more workers.")
    if cpus == 1 and gain >= FASTER:
        return ". " + disturbed_sentence(f"the {stage} stage {where_run(kind)}",
                                         f"{gain:.1f}× on 1 effective CPU is more than one CPU "
                                         "can give")
    if cpus == 1:
        return (": with 1 effective CPU nothing computes in parallel, so no tool can shrink "
                "a stage that computes.")
    if gain < FASTER:
        return (f": none of the tools measured used the {cpus} effective CPUs for it — the "
                "tasks may be too small for a pool to pay off.")
    one_process = kind in ("threads", "asyncio")
    return (f" on {cpus} effective CPUs: "
            + ("the GIL is off in this Python, so threads compute in parallel."
               if one_process and not gil_enabled() else
               "each worker runs Python with its own GIL." if not one_process else
               "faster than the GIL allows: run it again."))


def _next_bottleneck(comparison: PipelineComparison) -> str:
    best, base = comparison.fastest, comparison.baseline
    if best is base:
        return (f"No choice beat **{base.label}** here; its longest stage, "
                f"**{base.bottleneck}**, is where to start.")
    return (f"Fastest here: **{best.label}**, "
            f"{speedup_phrase(comparison.speedup(best.label), base.label)} — and its longest "
            f"stage is now **{best.bottleneck}**: after the obvious fix, that is the next "
            "bottleneck.")
