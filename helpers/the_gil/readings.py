"""Notebook 03's own sentences about its lab and GIL-releasing runs, generated from them.

Each function reads runs of the lab's runner and says what they show — for this many
effective CPUs, with the GIL on or off — or, when a run was disturbed by other programs
(:mod:`helpers.core.noise`), says so and explains nothing.
"""
from __future__ import annotations

from collections.abc import Mapping

from helpers.core.experiments import Comparison
from helpers.core.noise import beyond_ideal, disturbed_sentence, run_waits
from helpers.core.runner import RunResult
from helpers.core.system import gil_enabled
from helpers.core.thread_trace import Trace
from helpers.core.words import (
    FASTER,
    PARALLEL,
    Verdict,
    comparison_disturbance,
    describe,
    describe_sweep,
    plural,
    speedup_phrase,
)
from helpers.core.workloads import WORKLOADS
from helpers.the_gil.overlap import Overlap, describe_overlap
from helpers.the_gil.turns import trace_key_point


def _check_comparison(comparison: object) -> Comparison:
    if not isinstance(comparison, Comparison):
        raise ValueError(f"comparison must be a Comparison (from compare() or lab.results), "
                         f"got {type(comparison).__name__}")
    return comparison


def _disturbances(comparison: Comparison) -> str:
    """One sentence on the disturbed runs (:func:`~helpers.core.words.comparison_disturbance`),
    or ``''``."""
    return comparison_disturbance(comparison)


def describe_cpus_busy(comparison: Comparison, gil: bool | None = None) -> Verdict:
    """Section 2: what the CPUs-busy column of ``comparison`` shows, executor by executor.

    ``gil`` is whether the GIL was on (default: this interpreter's)."""
    comparison = _check_comparison(comparison)
    gil = gil_enabled() if gil is None else gil
    noise = _disturbances(comparison)
    busy = {name: run.utilisation for name, run in comparison.runs.items()}
    lines = ["CPUs busy: " + ", ".join(f"{name} {value:.1f}" for name, value in busy.items())
             + f" (on {comparison.effective_cpus} effective CPU"
               f"{'s' if comparison.effective_cpus != 1 else ''})."]
    if noise:
        return Verdict((*lines, noise))
    if run_waits(comparison.baseline):
        return Verdict((*lines, "This work waits: waiting needs no CPU, so CPUs busy stays "
                                "near 0 whatever runs it. Pick a computing workload to see "
                                "the GIL."))
    if comparison.effective_cpus == 1:
        return Verdict((*lines, "With 1 effective CPU nothing can keep more than 1 CPU "
                                "busy — threads and processes alike: the difference the GIL "
                                "makes needs 2 or more CPUs."))
    return Verdict((*lines, *(_busy_line(name, value, gil, comparison.baseline.workload)
                              for name, value in busy.items() if name != "serial")))


def _busy_line(name: str, busy: float, gil: bool, workload: str) -> str:
    """One executor's CPUs busy, read for this GIL and this kind of work."""
    releases = WORKLOADS[workload].behaviour == "releases the GIL" if workload in WORKLOADS \
        else False
    if busy >= PARALLEL:
        why = {"threads": ("this work releases the GIL, so the threads computed at once"
                           if releases else "the GIL is off, so threads computed at once"
                           if not gil else ""),
               "processes": "each process has its own GIL, so they computed at once"}
        reason = why.get(name, "they computed at once")
        if not reason:
            return disturbed_sentence("the threads run", f"the threads kept {busy:.1f} CPUs "
                                      "busy on pure-Python work with the GIL on")
        return f"**{name}** kept {busy:.1f} CPUs busy: {reason}."
    if name == "threads" and gil and not releases:
        return (f"**threads** kept {busy:.1f} CPUs busy: however many threads there were, "
                "they never computed at the same time — the GIL let one at a time run.")
    return (f"**{name}** kept {busy:.1f} CPUs busy: they did not compute at the same time "
            "here; the sentences under the lab say why.")


def compare_lanes(comparison: Comparison) -> str:
    """Section 3: the threads' lanes against the processes' — both overlap in time; which
    kept more than one CPU busy is read from the measurement."""
    comparison = _check_comparison(comparison)
    runs = comparison.runs
    if not {"threads", "processes"} <= runs.keys():
        return "Run the lab with both threads and processes to compare their lanes."
    noise = _disturbances(comparison)
    if noise:
        return noise
    threads, processes = runs["threads"].utilisation, runs["processes"].utilisation
    seen = (f"Both lanes overlap in time; the threads kept {threads:.1f} CPUs busy, the "
            f"processes {processes:.1f}")
    if run_waits(comparison.baseline):
        return seen + ": this work waits, and waiting needs no CPU."
    if comparison.effective_cpus == 1:
        return seen + (": with 1 effective CPU neither can keep more than one busy, so "
                       "overlapping bars here mean taking turns on that CPU.")
    parallel = [name for name, value in (("threads", threads), ("processes", processes))
                if value >= PARALLEL]
    if parallel == ["processes"]:
        return seen + ": only the processes computed at the same time."
    if not parallel:
        return seen + ": neither computed at the same time in this run."
    return seen + ": both computed at the same time."


def describe_by_workload(comparisons: Mapping[str, Comparison], gil: bool | None = None
                         ) -> Verdict:
    """Section 6: one sentence per kind of work — threads against serial, read from
    what the work does with the GIL and what was measured."""
    gil = gil_enabled() if gil is None else gil
    return Verdict(tuple(_workload_line(name, _check_comparison(comparison), gil)
                         for name, comparison in comparisons.items()))


def _workload_line(name: str, comparison: Comparison, gil: bool) -> str:
    run = comparison.runs["threads"]
    gain, busy = comparison.speedup("threads"), run.utilisation
    seen = f"**{name}**: threads were {speedup_phrase(gain)}, {busy:.1f} CPUs busy"
    noise = _disturbances(comparison)
    if noise:
        return f"{seen}. {noise}"
    behaviour = WORKLOADS[comparison.baseline.workload].behaviour
    if behaviour == "waits":
        ideal = min(run.workers, run.tasks)  # waiting is limited by workers, not CPUs
        if beyond_ideal(gain, ideal):
            return f"{seen}. " + disturbed_sentence(
                "this run", f"{gain:.2f}× is more than {plural(ideal, 'worker')} can give")
        if gain >= FASTER:
            return (f"{seen}: waits overlap on any number of CPUs — waiting needs no CPU "
                    "and releases the GIL.")
        return f"{seen}. " + disturbed_sentence(
            "this run", "waiting threads did not overlap their waits")
    ideal = (min(run.workers, run.tasks, comparison.effective_cpus)
             if behaviour == "releases the GIL" or not gil else 1)
    if beyond_ideal(gain, ideal):
        return f"{seen}. " + disturbed_sentence(
            "this run", f"{gain:.2f}× is more than {plural(ideal, 'CPU')} can give")
    if comparison.effective_cpus == 1:
        return (f"{seen}: with 1 effective CPU only one task computes at a time, whatever "
                "the GIL does.")
    if busy >= PARALLEL:
        reason = ("the GIL is off" if not gil else "this C code releases the GIL while it "
                  "computes" if behaviour == "releases the GIL" else "")
        if not reason:
            return f"{seen}. " + disturbed_sentence(
                "this run", f"threads kept {busy:.1f} CPUs busy on work that holds the GIL")
        return f"{seen}: {reason}, so the threads computed at the same time."
    if behaviour == "releases the GIL":
        return (f"{seen}: this code releases the GIL while it computes, yet the threads did "
                "not keep more than one CPU busy here. Run it again; if it repeats, part of "
                "each task holds the GIL (numpy creates its random array first) or the "
                "tasks are too short.")
    if not gil:
        return (f"{seen}: the GIL is off, yet the threads did not keep more than one CPU "
                "busy here. Run it again.")
    return f"{seen}: this work holds the GIL, so the threads took turns."


# The key points that need no measurement: what the notebook explained.
GIL_POINT = ("With the GIL on (the usual CPython build) one thread per process runs Python "
             "bytecode at a time; a thread releases the GIL while it waits, and C code such as "
             "zlib, NumPy, or hashlib on 2048 bytes or more in one call, releases it while it "
             "computes. Each process has its own GIL; free-threaded builds (3.13t and later) "
             "can run without one (notebook 07).")
GUARD_POINT = ("A script that starts processes needs an `if __name__ == \"__main__\":` guard: "
               "under spawn and forkserver each child imports the script again, top level "
               "and all.")


def key_points(comparison: Comparison, sweeps: Mapping[str, Mapping[int, RunResult]],
               overlap: Overlap, effective_cpus: int,
               traces: Mapping[str, Trace] | None = None) -> str:
    """The Key points as a Markdown list: the lab's executors and why (or that the run was
    disturbed), the millisecond traces (when given), the worker sweeps, the count beside
    the sleep — each generated from its measurement — then the two points the notebook
    explained."""
    lab = describe(_check_comparison(comparison)).lines
    sweep = " ".join(describe_sweep(kind, dict(runs), effective_cpus)
                     for kind, runs in sweeps.items())
    traced = [trace_key_point(traces)] if traces else []
    points = [f"In the lab: {' '.join(lab[1:-1]) or lab[0]}", lab[-1], *traced,
              f"More workers: {sweep}", describe_overlap(overlap).lines[-1],
              GIL_POINT, GUARD_POINT]
    return "\n".join(f"- {point}" for point in points)


__all__ = ["GIL_POINT", "GUARD_POINT", "compare_lanes", "describe_by_workload",
           "describe_cpus_busy", "key_points"]
