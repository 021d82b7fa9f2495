"""How many waits were under way at once: notebook 01's timeline of sleeping threads, in words.

A sleeping thread needs no CPU, so several can wait at the same time even on one CPU:
that is **concurrency** without **parallelism** (notebook 00 defines both). The words
below count, from each task's start and end, how many sleeps were under way at the
same instant — they are not assumed from the number of threads.
"""
from __future__ import annotations

from collections.abc import Mapping

from helpers.core import noise
from helpers.core.runner import RunResult
from helpers.core.system import effective_cpu_count
from helpers.core.words import Verdict, plural, speedup_phrase


def most_at_once(run: RunResult) -> int:
    """The most tasks of ``run`` under way (started, not yet ended) at the same instant."""
    events = sorted([(r.start, 1) for r in run.records] + [(r.end, -1) for r in run.records])
    most = under_way = 0
    for _, step in events:  # at equal times an end (-1) sorts before a start (+1)
        under_way += step
        most = max(most, under_way)
    return most


def cpu_share(run: RunResult) -> float:
    """The average share of its duration a task spent on a CPU (0 for pure waiting)."""
    shares = [r.cpu / r.duration for r in run.records if r.duration > 0 and r.cpu == r.cpu]
    return sum(shares) / len(shares) if shares else 0.0


def _run_line(name: str, run: RunResult, base: RunResult) -> str:
    line = (f"**{name}**: {run.wall:.2f} s, up to "
            f"{most_at_once(run)} of {run.tasks} sleeps under way at the same instant, each "
            f"on a CPU {cpu_share(run):.0%} of its time")
    if run is not base:
        line += f"; {speedup_phrase(base.wall / run.wall, base.executor)}"
    return line + "."


def _not_overlapped(runs: Mapping[str, RunResult]) -> str:
    """A disturbed-sentence for the first run whose waits overlapped less than its
    threads allow, or gained more than its threads can give; else ``''``."""
    base = next(iter(runs.values()))
    for name, run in list(runs.items())[1:]:
        allowed = min(run.workers, run.tasks)
        gain = base.wall / run.wall
        if most_at_once(run) < allowed or noise.beyond_ideal(gain, allowed):
            return noise.disturbed_sentence(
                f"the {name} run", f"{name} had up to {most_at_once(run)} of {allowed} "
                f"threads waiting at once and was {gain:.1f}× as fast as {base.executor}")
    return ""


def waits_disturbance(runs: Mapping[str, RunResult], effective_cpus: int) -> str:
    """Why these runs of sleep tasks were **disturbed** (one sentence per sign), or ``''``."""
    disturbed = " ".join(sentence for name, run in runs.items()
                         if (sentence := noise.run_disturbance(run, effective_cpus, name)))
    return disturbed or _not_overlapped(runs)


def describe_waits(runs: Mapping[str, RunResult], effective_cpus: int | None = None
                   ) -> Verdict:
    """One line per run of sleep tasks (the first is the baseline), then what they show:
    waits overlap as far as there are threads, whatever the CPUs — or that a run was
    disturbed."""
    cpus = effective_cpu_count() if effective_cpus is None else effective_cpus
    base = next(iter(runs.values()))
    lines = [_run_line(name, run, base) for name, run in runs.items()]
    most = max(most_at_once(run) for run in runs.values())
    lines.append(waits_disturbance(runs, cpus) or (
        f"Waiting needs no CPU, so the waits overlapped: up to {most} at the same "
        f"instant on {plural(cpus, 'effective CPU')}, as many as there were threads. "
        "That is **concurrency** without parallelism: each pool waits for as many tasks at "
        "once as it has threads, so a smaller pool waits in rounds."))
    return Verdict(tuple(lines))
