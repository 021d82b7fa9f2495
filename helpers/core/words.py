"""Words derived from measurements, so that what a notebook says matches what
the learner's machine measured — including on a 1-CPU Binder."""
from __future__ import annotations

import html
from dataclasses import dataclass

from helpers.core.experiments import Comparison
from helpers.core.noise import (
    DISTURBED,
    STARVED,
    beyond_cpus,
    beyond_cpus_sentence,
    beyond_ideal,
    disturbed_sentence,
    ideal_gain,
    run_disturbance,
    run_disturbed,
    run_waits,
)
from helpers.core.runner import RunResult
from helpers.core.system import effective_cpu_count, gil_enabled
from helpers.core.workloads import WORKLOADS

FASTER = 1.3  # a speedup at least this large is called "faster"
SLOWER = 0.85  # at most this large is called "slower"
SLIGHTLY = 1.12  # from here up to FASTER: "only slightly faster"
PARALLEL = 1.3  # CPUs busy at least this many: the work did run in parallel


def speedup_phrase(speedup: float, than: str = "serial") -> str:
    """'1.9× faster than serial', 'about as fast as serial (1.05×)', or '…× slower…'."""
    if speedup >= FASTER:
        return f"{speedup:.1f}× faster than {than}"
    if speedup <= SLOWER:
        return f"{1 / speedup:.1f}× slower than {than}"
    if speedup >= SLIGHTLY:
        return f"only slightly faster than {than} ({speedup:.2f}×)"
    return f"about as fast as {than} ({speedup:.2f}×)"


def plural(count: int, noun: str) -> str:
    """'1 worker', '2 workers'."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


WHERE_RUN = {"serial": "run serially", "threads": "on threads", "processes": "in processes",
             "interpreters": "in interpreters", "asyncio": "on asyncio", "dask": "on Dask"}


def where_run(executor: str) -> str:
    """'on threads', 'in processes': how a sentence says where tasks ran."""
    return WHERE_RUN.get(executor, f"on {executor}")


def _bold_to_html(line: str) -> str:
    """Escape ``line`` and turn its **bold** markers into <b> tags."""
    parts = html.escape(line).split("**")
    return "".join(f"<b>{part}</b>" if i % 2 else part for i, part in enumerate(parts))


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

    def _repr_html_(self) -> str:
        items = "".join(f"<li>{_bold_to_html(line)}</li>" for line in self.lines)
        return f"<ul>{items}</ul>"

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
        lines.append(f"**{name}** ({plural(run.workers, 'worker')}): "
                     f"{speedup_phrase(comparison.speedup(name), base.executor)}, "
                     f"{run.utilisation:.1f} CPUs busy.")
    lines.append(comparison_disturbance(comparison) or _why(comparison))
    return Verdict(tuple(lines))


def comparison_disturbance(comparison: Comparison) -> str:
    """One sentence for a disturbed comparison, ``''`` for an undisturbed one.

    A run is disturbed when :func:`~helpers.core.noise.run_disturbance` says so, or when
    its speedup is above what its workers and CPUs allow (the baseline ran slow). The
    first disturbed run is described; any others are named. A disturbed comparison is
    explained by nothing else (:mod:`helpers.core.noise`).
    """
    found = [(name, sentence) for name, run in comparison.runs.items()
             if (sentence := _run_noise(comparison, name, run))]
    if not found:
        return ""
    first, others = found[0][1], [name for name, _ in found[1:]]
    if not others:
        return first
    verb = "runs were" if len(others) > 1 else "run was"
    return first + f" The {_and(others)} {verb} **{DISTURBED}** too."


def _run_noise(comparison: Comparison, name: str, run: RunResult) -> str:
    """Why one run of ``comparison`` is disturbed, or ``''``."""
    cpus = comparison.effective_cpus
    said = run_disturbance(run, cpus, name)
    if said or run is comparison.baseline:
        return said
    gain, ideal, base = comparison.speedup(name), ideal_gain(run, cpus), comparison.baseline
    computes = run_waits(run) is False and run_waits(base) is False
    if computes and beyond_cpus(gain, run.utilisation, base.utilisation):
        return beyond_cpus_sentence("this measurement", name, gain, run.utilisation,
                                    base.executor, base.utilisation)
    if not beyond_ideal(gain, ideal):
        return ""
    return disturbed_sentence("this measurement", (
        f"{name} measured {gain:.2f}×, more than {plural(run.workers, 'worker')} on "
        f"{plural(cpus, 'effective CPU')} can give ({ideal}×): the {comparison.baseline.executor} "
        "run it is measured against was slower than usual"))


def _and(names: list[str]) -> str:
    """'threads', 'threads and processes', 'a, b and c'."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def base_starved(comparison: Comparison) -> bool:
    """True when a CPU-bound baseline did not even get one whole CPU (a busy machine)."""
    return (_behaviour(comparison.baseline) != "waits"
            and comparison.baseline.utilisation < STARVED)


def against_ideal(gain: float, ideal: int) -> str:
    """'93% of the ideal 2×'; 'about the ideal' within timing noise; above that, the
    measurement was disturbed (:func:`~helpers.core.noise.beyond_ideal`)."""
    if gain <= ideal:
        return f"{gain / ideal:.0%} of the ideal {ideal}× for this many workers"
    if not beyond_ideal(gain, ideal):
        return f"about the ideal {ideal}× for this many workers, within timing noise"
    return (f"above the ideal {ideal}×, which only means the serial baseline ran slower "
            f"than usual: this measurement was **{DISTURBED}**. Run it again")


def _one_cpu(comparison: Comparison) -> str:
    """Why nothing computes in parallel on one CPU, and what a 'faster' means there."""
    text = ("This machine gives you 1 effective CPU, so only one task can compute at a "
            "time: no parallel speedup can be expected here, and what you see is each "
            "executor's overhead.")
    if base_starved(comparison):
        return text + (f" Even the serial run kept only {comparison.baseline.utilisation:.1f} "
                       "CPUs busy: other programs share that CPU, so these numbers are noisy.")
    if any(comparison.speedup(name) >= FASTER for name in list(comparison.runs)[1:]):
        return text + (" A run that looks faster than the baseline is noise, not parallelism: "
                       "the baseline happened to run slower (timings on a shared machine "
                       "vary). Run it again.")
    return text


def _why(comparison: Comparison) -> str:
    """The last line of :func:`describe`: why the executors compare as they do.

    The first reason that applies wins: waiting overlaps on any machine; one CPU
    cannot compute in parallel; a starved baseline makes every ratio noise.
    Otherwise one sentence on threads and one on processes, when they ran.
    """
    behaviour = _behaviour(comparison.baseline)
    if behaviour == "waits":
        return ("Waiting needs no CPU and releases the GIL, so workers overlap their waits "
                "whatever the number of CPUs: the speedup comes from waiting together.")
    if comparison.effective_cpus == 1:
        return _one_cpu(comparison)
    if base_starved(comparison):
        return (f"Even the serial run kept only {comparison.baseline.utilisation:.1f} CPUs "
                "busy: other programs are using this machine's CPUs, so these numbers are "
                "noisy. Close other work and run again.")
    parts = [_why_threads(comparison, behaviour), _why_processes(comparison)]
    return (" ".join(part for part in parts if part)
            or f"{comparison.effective_cpus} effective CPUs were available.")


def _why_threads(comparison: Comparison, behaviour: str) -> str:
    """Why threads sped up or not, from what the work does with the GIL; ``''`` when
    there was no threads run, or nothing to say (GIL-holding work that is not CPU-bound)."""
    if comparison.runs.get("threads") is None:
        return ""
    gained = comparison.speedup("threads") >= FASTER
    if behaviour == "cpu-bound" and gil_enabled():
        return _threads_under_the_gil(gained)
    if behaviour == "releases the GIL":
        return _threads_on_gil_releasing_code(gained)
    if not gil_enabled():
        return _threads_without_a_gil(gained)
    return ""


def _threads_under_the_gil(gained: bool) -> str:
    """Pure-Python work under the GIL: threads take turns, so a gain is a surprise."""
    return "Threads " + ("sped up anyway, which is unusual under the GIL — run it again"
                         if gained else
                         "did not compute in parallel on this pure-Python work: the GIL "
                         "lets one thread at a time run Python bytecode") + "."


def _threads_on_gil_releasing_code(gained: bool) -> str:
    """C code that releases the GIL: threads can compute together, if the tasks allow."""
    return "Threads " + ("sped up because this C code releases the GIL while it computes"
                         if gained else
                         "did not gain here although this code releases the GIL: the "
                         "tasks may be too small or memory-bound") + "."


def _threads_without_a_gil(gained: bool) -> str:
    """A free-threaded interpreter with the GIL off: threads may run Python in parallel."""
    return "The GIL is off in this interpreter, so threads " + (
        "ran Python code in parallel." if gained else
        "could run in parallel, but did not gain here.")


def _why_processes(comparison: Comparison) -> str:
    """Why processes sped up or not: a gain is measured against the ideal; CPUs busy
    without a gain point at other programs or overhead; neither, at tasks too small."""
    processes = comparison.runs.get("processes")
    if processes is None:
        return ""
    gain = comparison.speedup("processes")
    cpus = comparison.effective_cpus
    if gain >= FASTER:
        ideal = min(cpus, processes.workers, processes.tasks)
        return (f"Processes each have their own interpreter and GIL: {gain:.1f}× on "
                f"{cpus} effective CPUs ({against_ideal(gain, ideal)}).")
    if processes.utilisation >= PARALLEL:
        return (f"Processes kept {processes.utilisation:.1f} CPUs busy yet finished "
                f"only {gain:.2f}× faster: the CPUs also went to something else — "
                + ("per-task overhead (starting tasks, pickling, sending results), since "
                   "other programs were not measured taking CPUs. Try larger tasks."
                   if processes.load is not None else
                   "other programs on this machine, or per-task overhead. Close other "
                   "work and press Run again, or try larger tasks."))
    return ("Processes did not run in parallel here: with tasks this small, "
            "handing work to another process and sending results back costs "
            "as much as it saves. Try a larger work size.")


def describe_sweep(executor: str, runs: dict[int, RunResult], effective_cpus: int) -> str:
    """A sentence on a worker sweep: the best speedup, where it was, and what came after."""
    base = runs[min(runs)].wall
    speedups = {workers: base / run.wall for workers, run in runs.items()}
    best = max(speedups, key=speedups.__getitem__)
    line = f"**{executor}**: best {speedups[best]:.1f}× with {plural(best, 'worker')}"
    disturbed = _disturbed_in_sweep(runs, speedups, effective_cpus)
    if disturbed:
        counts = list(disturbed)
        subject = (f"The run with {plural(counts[0], 'worker')} was" if len(counts) == 1 else
                   f"The runs with {_counts(counts)} workers were")
        return line + (f". {subject} **{DISTURBED}**: "
                       f"{_and(sorted(set(disturbed.values())))} — so this "
                       f"sweep says nothing about how {executor} scale. Close other work and "
                       "run it again.")
    beyond = [w for w in speedups if w > effective_cpus]
    if speedups[best] < FASTER:
        line += " — no worker count made this faster than one worker"
    elif best > effective_cpus and _behaviour(runs[best]) != "waits":
        at_cpus = speedups.get(effective_cpus)
        line += (f" — more workers than the {plural(effective_cpus, 'effective CPU')} that "
                 "can compute at once add no speed" + (
                     f" ({at_cpus:.1f}× with {effective_cpus}): the difference is timing "
                     "noise" if at_cpus is not None else ""))
    elif beyond:
        most = max(beyond)
        line += (f"; with {most} workers on {effective_cpus} effective CPUs: "
                 f"{speedups[most]:.1f}× — more workers than CPUs cannot add speed")
    return line + "."


def _disturbed_in_sweep(runs: dict[int, RunResult], speedups: dict[int, float],
                        effective_cpus: int) -> dict[int, str]:
    """Worker count → why that run of a sweep is noise (:mod:`helpers.core.noise`)."""
    base = runs[min(runs)]
    found = {}
    for workers, run in runs.items():
        computes = run_waits(run) is False
        if run_disturbed(run, effective_cpus):
            found[workers] = ("other programs took CPUs they could use, or their repeats "
                              "disagreed")
        elif beyond_ideal(speedups[workers], ideal_gain(run, effective_cpus)) or (
                computes and beyond_cpus(speedups[workers], run.utilisation,
                                         base.utilisation)):
            found[workers] = ("they came out faster than their workers and CPUs allow, "
                              "so the 1-worker run they are measured against was slow")
    return found


def _counts(counts: list[int]) -> str:
    """'1', '1 and 2', '1, 2 and 4'."""
    return _and([str(c) for c in sorted(counts)])


def describe_turn_taking(run: RunResult, effective_cpus: int | None = None) -> str:
    """What the CPU share of each task says about whether workers took turns.

    ``effective_cpus`` defaults to this machine's (:func:`effective_cpu_count`)."""
    shares = [r.cpu / r.duration for r in run.records if r.duration > 0 and r.cpu == r.cpu]
    share = sum(shares) / len(shares) if shares else 0.0
    parallel = min(run.workers, run.tasks)
    text = (f"The tasks {where_run(run.executor)} spent on average {share:.0%} of their "
            f"duration on a CPU ({parallel} running side by side).")
    if parallel == 1:
        return text + " With one worker there is no one to take turns with."
    if run_disturbed(run, effective_cpus):
        return text + " " + run_disturbance(run, effective_cpus)
    if share < 0.75 and run.utilisation < PARALLEL:
        text += (f" Together they kept only {run.utilisation:.1f} CPUs busy: they took "
                 f"turns, about {1 / parallel:.0%} each.")
        cpus = effective_cpu_count() if effective_cpus is None else effective_cpus
        if cpus == 1:
            return text + (" With 1 effective CPU they would take turns even without the "
                           "GIL: only a machine with 2 or more CPUs can show the GIL at work.")
        return text + " That turn-taking is the GIL."
    return text + (f" They kept {run.utilisation:.1f} CPUs busy: they ran at the same time, "
                   "not in turns.")
