"""Exercise 2's target in notebook 09, built from the learner's own comparison.

For each stage, the fastest median *any* measured choice got for it; added up, that is
the **best mix** — a plan no single choice has to have used. The target is the best mix
plus :data:`SLACK` for timing noise, so only a plan that runs every stage that matters on
a tool (and with workers) as good as its best reaches it — on *this* machine. With 1
effective CPU no tool shrinks a stage that computes; the words say so, and call a gain
there **disturbed** (:mod:`helpers.core.noise`), as they do any disturbed measurement.
"""
from __future__ import annotations

from dataclasses import dataclass

from helpers.capstone.pipeline import PipelineComparison, require_comparison, stage_runs
from helpers.capstone.plan import STAGES, Settings
from helpers.capstone.verdicts import WAITS_BELOW, format_duration, stage_disturbance
from helpers.core.noise import disturbed_sentence
from helpers.core.runner import RunResult
from helpers.core.words import FASTER, plural

SLACK = 1.25  # the target: the best mix's total plus a quarter, for timing noise


@dataclass(frozen=True)
class Target:
    """Exercise 2's target, from a measured comparison: for each stage the fastest median
    *any* choice measured for it, added up (the best mix), times :data:`SLACK` for noise.

    Only a plan that puts every stage that matters on a tool as fast as its best reaches
    it — on *this* machine: with 1 effective CPU no tool shrinks a computing stage, and the
    words say so. Displays as a Markdown paragraph; ``float(target)`` is the seconds.
    """

    seconds: float
    best: dict[str, RunResult]  # stage → its fastest measurement, whatever the tool
    serial: dict[str, RunResult]  # stage → its serial measurement (if one was made)
    job: Settings
    effective_cpus: int
    within: int  # how many of the measured choices finished within the target
    choices: int

    @property
    def best_mix(self) -> float:
        """Seconds: the fastest measurement of each stage, added up."""
        return sum(run.wall for run in self.best.values())

    def gain(self, stage: str) -> float | None:
        """Serial time ÷ the best time of ``stage`` (None if serial was not measured)."""
        serial = self.serial.get(stage)
        return serial.wall / self.best[stage].wall if serial and self.best[stage].wall else None

    def __float__(self) -> float:
        return self.seconds

    def _repr_markdown_(self) -> str:
        return describe_target(self)


def target_time(comparison: PipelineComparison) -> Target:
    """The target for exercise 2, from ``comparison`` (see :class:`Target`)."""
    require_comparison(comparison)
    best = {stage: min(stage_runs(comparison, stage).values(), key=lambda r: r.wall)
            for stage in STAGES}
    serial = {stage: runs["serial"] for stage in STAGES
              if "serial" in (runs := stage_runs(comparison, stage))}
    seconds = SLACK * sum(run.wall for run in best.values())
    within = sum(run.total <= seconds for run in comparison.runs.values())
    return Target(seconds, best, serial, comparison.baseline.job, comparison.effective_cpus,
                  within, len(comparison.runs))


def describe_target(target: Target) -> str:
    """The target in words: where it comes from, which stages a tool can shrink here."""
    bests = ", ".join(f"{stage} {format_duration(run.wall)}" for stage, run in target.best.items())
    text = (f"**Target: {target.seconds:.2f} s.** For each stage, the fastest time any choice "
            f"above measured ({bests}), added up: {target.best_mix:.2f} s; plus "
            f"{SLACK - 1:.0%} for timing noise. {target.within} of the "
            f"{plural(target.choices, 'choice')} measured above finished within it.")
    disturbed = {stage: found for stage in STAGES if (found := _target_disturbance(target, stage))}
    text += _gains_sentence(target, [stage for stage in STAGES if stage not in disturbed])
    if target.effective_cpus == 1:
        text += (" This machine gives you 1 effective CPU: nothing computes in parallel "
                 "here, so no tool can shrink a stage that computes — only the waits can "
                 "overlap.")
    if disturbed:
        text += (f" {next(iter(disturbed.values()))} The target rests on it: run section 2 "
                 "again for a fair one.")
    return text


def _gains_sentence(target: Target, stages: list[str]) -> str:
    """Which of ``stages`` some tool made clearly faster than serial; on 1 CPU, a computing
    stage that measured so is called disturbed (one CPU cannot compute in parallel)."""
    gains = {stage: gain for stage in stages if (gain := target.gain(stage)) is not None}
    faster = [stage for stage, gain in gains.items() if gain >= FASTER]
    noise = [stage for stage in faster if target.effective_cpus == 1
             and target.serial[stage].utilisation >= WAITS_BELOW]
    shrunk = [stage for stage in faster if stage not in noise]
    rest = [stage for stage in gains if stage not in faster]
    text = ""
    if shrunk:
        text += (f" Some tool made {_and([f'{s} ({gains[s]:.1f}×)' for s in shrunk])} clearly "
                 f"faster than serial" + (f"; on {_and(rest)} none did." if rest else "."))
    for stage in noise:
        text += " " + disturbed_sentence(f"the fastest {stage} measurement", (
            f"{stage} measured {gains[stage]:.1f}× faster than serial on 1 effective CPU, "
            "more than one CPU can give"))
    return text


def _target_disturbance(target: Target, stage: str) -> str:
    """The first disturbance of ``stage``'s best or serial measurement, or ``''``."""
    for run in (target.best[stage], target.serial.get(stage)):
        if run is not None:
            found = stage_disturbance(run, stage, target.effective_cpus,
                                      target.best[stage].utilisation < WAITS_BELOW)
            if found:
                return found
    return ""


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
