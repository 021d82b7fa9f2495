"""One or two sentences for a measurement made of many runs that other work disturbed.

A sweep (chunk sizes, worker counts, ways of moving data) is made of several runs, and
on a busy machine several of them are disturbed the same way. :func:`disturbance_lines`
groups them by the sign :mod:`helpers.core.noise` saw — other programs' CPU use, a
starved one-worker run, repeats that disagree — so the learner reads one sentence per
sign, each naming the runs and containing "disturbed", instead of one per run.
"""
from __future__ import annotations

from collections.abc import Sequence

from helpers.core.noise import (
    DISTURBED,
    disturbed_sentence,
    load_disturbed,
    repeats_disagree,
    run_cpus_wanted,
    starved,
)
from helpers.core.runner import RunResult
from helpers.core.words import plural


def join_words(words: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def join_labels(labels: Sequence[str]) -> str:
    """Labels joined, their shared first words said once: 'chunks of 1, 4 and 16'."""
    heads = {label.rpartition(" ")[0] for label in labels}
    if len(labels) > 1 and len(heads) == 1 and "" not in heads:
        return f"{heads.pop()} {join_words([label.rpartition(' ')[2] for label in labels])}"
    return join_words(labels)


def _range(values: Sequence[float]) -> str:
    low, high = min(values), max(values)
    return f"{low:.1f}" if round(low, 1) == round(high, 1) else f"{low:.1f}–{high:.1f}"


def disturbance_lines(runs: Sequence[tuple[str, RunResult]], effective_cpus: int,
                      what: str, computes_throughout: bool = True) -> list[str]:
    """Sentences (each containing "disturbed") for the runs of ``runs`` — pairs of a
    label such as "chunks of 4" and its run — that :mod:`helpers.core.noise` judges
    disturbed; ``what`` names the whole measurement ("this sweep"). ``[]`` if none.

    ``computes_throughout=False`` for runs that also wait by design (one short task
    sent to a worker waits for the pipe): a one-worker run that kept less than a
    CPU busy is then no sign of other work."""
    busy, squeezed, spread = [], [], []
    for label, run in runs:
        wanted = run_cpus_wanted(run, effective_cpus)
        if load_disturbed(run.load, wanted):
            busy.append((label, run))
        elif (computes_throughout and wanted == 1 and run.workers == 1
              and starved(run.utilisation)):
            squeezed.append((label, run))
        elif repeats_disagree(run.walls):
            spread.append((label, run))
    lines = []
    if busy:
        allowed = busy[0][1].load.allowed  # type: ignore[union-attr]
        others = [run.load.others for _, run in busy]  # type: ignore[union-attr]
        lines.append(f"Other programs kept about {_range(others)} of this machine's "
                     f"{plural(allowed, 'CPU')} busy while {join_labels([l for l, _ in busy])} "
                     f"ran, leaving fewer CPUs than they could use: {what} is "
                     f"**{DISTURBED}** and says nothing about how it works. Close other work "
                     "and run it again.")
    if squeezed:
        lines.append(disturbed_sentence(what, (
            f"{join_labels([l for l, _ in squeezed])} kept only "
            f"{_range([run.utilisation for _, run in squeezed])} CPUs busy on work that "
            "computes all the time")))
    if spread:
        label, run = max(spread, key=lambda pair: max(pair[1].walls) / min(pair[1].walls))
        which = f"{label}: " if len(spread) > 1 else ""
        lines.append(disturbed_sentence(what, (
            f"the repeats of {join_labels([l for l, _ in spread])} disagreed ({which}from "
            f"{min(run.walls):.3g} s to {max(run.walls):.3g} s)")))
    return lines
