"""Words derived from measurements, so that what a notebook says matches what
the learner's machine measured — including on a 1-CPU Binder."""
from __future__ import annotations

from dataclasses import dataclass

from .experiments import Comparison
from .runner import RunResult
from .system import gil_enabled
from .workloads import WORKLOADS

FASTER = 1.3  # a speedup at least this large is called "faster"
SLOWER = 0.85  # at most this large is called "slower"


def speedup_phrase(speedup: float, than: str = "serial") -> str:
    """'1.9× faster than serial', 'about as fast as serial (1.05×)', or '…× slower…'."""
    if speedup >= FASTER:
        return f"{speedup:.1f}× faster than {than}"
    if speedup <= SLOWER:
        return f"{1 / speedup:.1f}× slower than {than}"
    return f"about as fast as {than} ({speedup:.2f}×)"


def _behaviour(run: RunResult) -> str:
    workload = WORKLOADS.get(run.workload)
    return workload.behaviour if workload else "unknown"


@dataclass(frozen=True)
class Verdict:
    """Sentences about a comparison; shows as Markdown in a notebook."""

    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def _repr_markdown_(self) -> str:
        return "\n".join(f"- {line}" for line in self.lines)

    def __str__(self) -> str:
        return self.text


def describe(comparison: Comparison) -> Verdict:
    """One line per executor (speedup, CPUs busy) and one line on why."""
    base = comparison.baseline
    lines = [f"**{base.executor}** took {base.wall:.2f} s (median) with "
             f"{base.utilisation:.1f} CPUs busy."]
    for name, run in list(comparison.runs.items())[1:]:
        lines.append(f"**{name}** ({run.workers} workers): "
                     f"{speedup_phrase(comparison.speedup(name), base.executor)}, "
                     f"{run.utilisation:.1f} CPUs busy.")
    lines.append(_why(comparison))
    return Verdict(tuple(lines))


def _why(comparison: Comparison) -> str:
    cpus = comparison.effective_cpus
    behaviour = _behaviour(comparison.baseline)
    threads = comparison.runs.get("threads")
    processes = comparison.runs.get("processes")
    if behaviour == "waits":
        return ("Waiting needs no CPU and releases the GIL, so workers overlap their waits "
                "whatever the number of CPUs: the speedup comes from waiting together.")
    if cpus == 1:
        return ("This machine gives you 1 effective CPU, so only one task can compute at a "
                "time: no parallel speedup can be expected here, and what you see is each "
                "executor's overhead.")
    parts = []
    if threads is not None:
        threads_gain = comparison.speedup("threads") >= FASTER
        if behaviour == "cpu-bound" and gil_enabled():
            parts.append("Threads " + ("sped up anyway, which is unusual under the GIL — run "
                                       "it again" if threads_gain else
                                       "did not speed up this pure-Python work: the GIL lets "
                                       "one thread at a time run Python bytecode") + ".")
        elif behaviour == "releases the GIL":
            parts.append("Threads " + ("sped up because this C code releases the GIL while "
                                       "it computes" if threads_gain else
                                       "did not gain here although this code releases the "
                                       "GIL: the tasks may be too small or memory-bound") + ".")
        elif not gil_enabled():
            parts.append("The GIL is off in this interpreter, so threads " +
                         ("ran Python code in parallel." if threads_gain else
                          "could run in parallel, but did not gain here."))
    if processes is not None:
        gain = comparison.speedup("processes")
        if gain >= FASTER:
            parts.append(f"Processes each have their own interpreter and GIL: {gain:.1f}× on "
                         f"{cpus} effective CPUs ({gain / min(cpus, processes.workers, processes.tasks):.0%} "
                         "of the ideal for this many workers).")
        else:
            parts.append("Processes did not speed this up: with tasks this small, starting "
                         "work in another process and sending results back costs as much "
                         "as it saves. Try a larger work size.")
    return " ".join(parts) or f"{cpus} effective CPUs were available."
