"""Free-threaded Python, measured from a normal kernel: GIL off and on, and one thread's cost.

A free-threaded build (``python3.13t``, ``python3.14t``; PEP 703, supported since 3.14 by
PEP 779) has no GIL: threads run Python code on several CPUs at once. The same binary
can switch the GIL back on with ``PYTHON_GIL=1``, so one interpreter shows both worlds.

This kernel stays what it is. :func:`measure_threads` starts the free-threaded
interpreter on :mod:`helpers.core.measure_cli`, which runs the lab's own runner there and
prints JSON — line by line as it measures (:mod:`helpers.free_threading.streaming`), so a
plot can follow each repeat; the results come back as ordinary
:class:`~helpers.core.experiments.Comparison`
objects that plot and describe like every other measurement in the lab. Finding that
interpreter is :mod:`helpers.core.other_pythons`' job (``find_free_threaded``).

What does free-threading cost one thread? Only a like-for-like pair can say: the same
source built with the same options, once with ``--disable-gil`` and once without — its
*GIL twin* (``other_pythons.find_twin``). Another patch release, or the same release
compiled with other options, differs by as much as free-threading costs, in either
direction. :func:`single_thread_cost` times the pair in alternation;
:func:`describe_single_thread_cost` says what that measured, and when no twin exists, which
builds were found and why none is one.
"""
from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

from helpers.core.arguments import require_choice, require_int
from helpers.core.experiments import Comparison
from helpers.core.noise import (
    MachineLoad,
    beyond_ideal,
    busy_sentence,
    disturbed_sentence,
    load_disturbed,
    run_disturbance,
    run_waits,
    starved,
)
from helpers.core.other_pythons import (
    Interpreter,
    TwinSearch,
    other_python_env,
    require_interpreter,
    run_cli,
    run_from_json,
    strip_ansi,
)
from helpers.core.pairs import interleaved, ratios
from helpers.core.runner import ProgressCallback
from helpers.core.selfcheck import CheckResult, blank, first_problem, not_answered, not_yet
from helpers.core.settings import default
from helpers.core.system import effective_cpu_count, gil_enabled
from helpers.core.words import (
    FASTER,
    PARALLEL,
    Verdict,
    plural,
    speedup_phrase,
)
from helpers.core.workloads import get_workload
from helpers.free_threading.streaming import compare_args, stream_cli
from helpers.shared_state.races import INCREMENTS, MAX_THREADS, MAX_TIMES, Race, default_times

WORK_SCALE = 3

GIL_OFF, GIL_ON = "PYTHON_GIL=0", "PYTHON_GIL=1"  # how labels end (notebook 07, gil_lab)


def work_size(workload: str) -> int:
    """The size each task gets here: 3 × the workload's default (within its range), so that
    one task lasts long enough (~0.1 s in quick mode) to be timed above the noise."""
    spec = get_workload(workload)
    return min(spec.max_size, WORK_SCALE * spec.default_size())


def measure_threads(interpreter: Interpreter | None, gil: bool | None,
                    workload: str = "count", size: int | None = None, workers: int = 2,
                    repeats: int | None = None, *,
                    on_result: Callable[[Comparison], None] | None = None,
                    on_progress: ProgressCallback | None = None) -> Comparison:
    """Serial vs ``workers`` threads (one task each) of ``workload``, run in ``interpreter``
    — or in this kernel when ``interpreter`` is ``None`` (``gil`` is then ignored).

    As in :func:`~helpers.core.experiments.compare`, ``on_result(partial)`` follows every
    repeat and ``on_progress(done, total)`` every task — from the other Python too: it
    streams them as it measures (:mod:`helpers.free_threading.streaming`)."""
    require_interpreter("interpreter", interpreter, "this kernel")
    spec = get_workload(workload)
    size = spec.check_size(work_size(spec.name) if size is None else size)
    workers = require_int("workers", workers, 1, 16)
    repeats = require_int("repeats", int(default(3, 1)) if repeats is None else repeats, 1, 20)
    if interpreter is None:
        from helpers.core.experiments import compare

        return compare(spec.name, ("serial", "threads"), size=size, tasks=workers,
                       workers=workers, repeats=repeats, on_result=on_result,
                       on_progress=on_progress)

    def relay(kind: str, value: object) -> None:
        if kind == "progress" and on_progress is not None:
            on_progress(*value)
        elif kind == "partial" and on_result is not None:
            on_result(comparison_from_json(value))

    data = stream_cli(interpreter, compare_args(spec.name, size, workers, repeats), gil, relay)
    return comparison_from_json(data["returned"]["runs"], data["load"])


def comparison_from_json(runs: dict, load: MachineLoad | None = None) -> Comparison:
    """A :class:`Comparison` back from the runs another Python printed as JSON."""
    return Comparison({name: run_from_json(run, load) for name, run in runs.items()},
                      effective_cpus=effective_cpu_count())


def race_in(interpreter: Interpreter, gil: bool | None, increment: str = "plain +=",
            threads: int = 4, times: int | None = None) -> Race:
    """Count lost updates of one increment (:mod:`helpers.shared_state.races`) in
    ``interpreter``."""
    require_interpreter("interpreter", interpreter)
    require_choice("increment", increment, INCREMENTS)
    threads = require_int("threads", threads, 1, MAX_THREADS)
    times = require_int("times", default_times(increment) if times is None else times,
                        1, MAX_TIMES)
    arguments = json.dumps([increment, threads, times])
    data = run_cli(interpreter, ["call", "helpers.shared_state.races:race", arguments], gil)
    return Race(**data["returned"])


DEMO_MODULE = "greenlet"  # requirements-ft.txt: 3.2.2 on 3.13t, whose extension does not declare


def gil_after_import(interpreter: Interpreter, module: str = DEMO_MODULE) -> str:
    """Import ``module`` in ``interpreter`` (no ``PYTHON_GIL`` set) and report what happened
    to the GIL — the RuntimeWarning an extension without free-threading support causes.

    Only what that process showed is reported: the GIL before and after the import, the
    module's version, and Python's warning."""
    if not isinstance(module, str) or not all(p.isidentifier() for p in module.split(".")):
        raise ValueError(f"module must be a dotted module name, got {module!r}")
    top = module.split(".")[0]
    code = ("import sys, warnings; warnings.simplefilter('always')\n"
            "gil = getattr(sys, '_is_gil_enabled', lambda: True)  # a GIL build: always on\n"
            "before = gil()\n"
            f"try:\n    import {module}\nexcept ImportError:\n    print('missing')\n"
            "else:\n    from importlib.metadata import PackageNotFoundError, version\n"
            f"    try:\n        release = version({top!r})\n"
            "    except PackageNotFoundError:\n        release = ''\n"
            "    print('gil', 'on' if before else 'off', 'on' if gil() else 'off',"
            " release)")
    done = subprocess.run([interpreter.path, "-c", code], capture_output=True, text=True,
                          timeout=60, env=other_python_env(None))
    said, warning = done.stdout.split(), warning_message(done.stderr)
    if said[:1] == ["missing"]:
        missing = f"`{module}` is not installed for {interpreter.label}, so no import was tried."
        if module != DEMO_MODULE:
            return missing
        return (missing + " `make free-threaded` installs greenlet 3.2.2 for a 3.13t on "
                "Linux: its extension does not declare free-threading support. greenlet 3.3 "
                "and later declare it; in 3.14t and later, importing any module whose "
                "extension does not declare it shows the same.")
    if said[:1] != ["gil"] or len(said) < 3:
        return (f"Importing `{module}` in {interpreter.label} failed (exit "
                f"{done.returncode}): {strip_ansi(done.stderr).strip()[-300:]}")
    before, after = said[1], said[2]
    name = f"`{module}`" + (f" ({top} {said[3]})" if len(said) > 3 else "")
    if before == "on":
        return (f"The GIL was already on in {interpreter.label} before importing {name}, "
                "so this import could not show anything.")
    if after == "on":
        return (f"Importing {name} switched the GIL **on** for the whole process. "
                + (f"Python warned: “{warning}”" if warning else
                   "(Python's warning was not captured.)"))
    return (f"Importing {name} left the GIL off: every extension module it loaded declares "
            "that it can run without the GIL (or it loaded none).")


WARNING_LINE = re.compile(r"\b\w*Warning: (.+)$")


def warning_message(stderr: str, about: str = "GIL") -> str:
    """The message alone of the first warning in ``stderr`` that mentions ``about`` —
    without the ``<frozen importlib._bootstrap>:488: RuntimeWarning:`` Python puts before
    it, or colour codes — or ``''``."""
    for line in strip_ansi(stderr).splitlines():
        found = WARNING_LINE.search(line)
        if found and about in found.group(1):
            return found.group(1).strip()
    return ""


def modes_title(results: dict[str, Comparison]) -> str:
    """The plot's title, naming only what was measured: '2 threads versus serial (count):
    this kernel (GIL on), Python 3.13.5t GIL off and on'."""
    first = next(iter(results.values())).runs["threads"]
    return lab_title(list(results), first.workload, first.workers)


def lab_title(labels: list[str], workload: str | None, threads: int | None) -> str:
    """:func:`modes_title` from the settings' labels (the first is this kernel) — also
    before they are measured."""
    what = f"{plural(threads, 'thread') if threads else 'Threads'} versus serial"
    others = sorted({label.rsplit(", ", 1)[0] for label in labels[1:]})
    settings = {label.rsplit(", ", 1)[-1] for label in labels[1:]}
    modes = " and ".join(word for mode, word in ((GIL_OFF, "off"), (GIL_ON, "on"))
                         if mode in settings)
    where = f"this kernel (GIL {'on' if gil_enabled() else 'off'})"
    where += "".join(f", {other} GIL {modes}" for other in others) if others else " only"
    return f"{what} ({workload}): {where}" if workload else f"{what}: {where}"


def ideal_threads_gain(comparison: Comparison) -> int:
    """The most the threads can gain: one per worker for waits, else also per CPU."""
    run = comparison.runs["threads"]
    if run_waits(run):
        return max(min(run.workers, run.tasks), 1)
    return max(min(comparison.effective_cpus, run.workers, run.tasks), 1)


def first_disturbance(comparison: Comparison) -> str:
    """The disturbance sentence of a comparison's first disturbed run
    (:func:`helpers.core.noise.run_disturbance`), and how many more were — or ``''``."""
    said = [text for name, run in comparison.runs.items()
            if (text := run_disturbance(run, comparison.effective_cpus, name))]
    if len(said) > 1:
        return said[0] + f" ({plural(len(said) - 1, 'other run')} of it too.)"
    return said[0] if said else ""


def named(labels: list[str]) -> str:
    """'“a”', '“a” and “b”', '“a”, “b” and “c”' — labels that hold commas stay readable."""
    quoted = [f"“{label}”" for label in labels]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def mode_disturbance(label: str, comparison: Comparison) -> str:
    """Why one setting's measurement is noise — a sentence with "disturbed" — or ``''``:
    a disturbed run (:mod:`helpers.core.noise`), a gain above the ideal, or computing
    threads that were faster with about one CPU busy (the serial run was slow)."""
    said = first_disturbance(comparison)
    if said:
        return said
    run, gain = comparison.runs["threads"], comparison.speedup("threads")
    what = f"the {label} measurement"
    if beyond_ideal(gain, ideal_threads_gain(comparison)):
        return disturbed_sentence(what, f"{gain:.2f}× is more than "
                                        f"{plural(ideal_threads_gain(comparison), 'CPU')} can give")
    if gain >= FASTER and run.utilisation < PARALLEL and not run_waits(run):
        return disturbed_sentence(what, f"the threads were {gain:.1f}× faster with only "
                                        f"{run.utilisation:.1f} CPUs busy")
    return ""


def describe_gil_modes(results: dict[str, Comparison]) -> Verdict:
    """For each interpreter/GIL setting: the threads' speedup and CPUs busy (and, when
    that measurement was disturbed, that it was), then what the undisturbed ones show."""
    lines, disturbed = [], set()
    for label, comparison in results.items():
        run, base = comparison.runs["threads"], comparison.baseline
        line = (f"**{label}**: {plural(run.workers, 'thread')} were "
                f"{speedup_phrase(comparison.speedup('threads'))}, "
                f"{run.utilisation:.1f} CPUs busy (serial: {base.utilisation:.1f}).")
        said = mode_disturbance(label, comparison)
        if said:
            disturbed.add(label)
            line += " " + said
        lines.append(line)
    lines.append(_why_gil_modes(results, disturbed))
    return Verdict(tuple(lines))


def _faster(comparison: Comparison) -> bool:
    return comparison.speedup("threads") >= FASTER


def _why_gil_modes(results: dict[str, Comparison], disturbed: set[str]) -> str:
    """The conclusion, from which undisturbed settings made the threads faster than serial."""
    kernel = next(iter(results))
    if results[kernel].effective_cpus == 1:
        text = ("With 1 effective CPU threads cannot compute at the same time, GIL or not: "
                "no parallel speedup can be expected here.")
        return text + (" The measurements marked **disturbed** above say nothing more: run "
                       "them again." if disturbed else "")
    off = [label for label in results if label.endswith(GIL_OFF)]
    on = [label for label in results if label.endswith(GIL_ON)]
    needed = [kernel] if not off else off[:1] + on[:1]
    spoiled = [label for label in needed if label in disturbed]
    if spoiled:
        return (f"The measurement{'s' if len(spoiled) > 1 else ''} of "
                f"{named(spoiled)} {'were' if len(spoiled) > 1 else 'was'} **disturbed**, "
                "so this run cannot say what the GIL changes. Close other work and run it "
                "again.")
    if not off:
        return "Only this kernel was measured. " + _kernel_reading(results[kernel])
    off_fast, on_fast = _faster(results[off[0]]), bool(on) and _faster(results[on[0]])
    if off_fast and not on_fast:
        like = (", like this kernel" if kernel not in disturbed and gil_enabled()
                and not _faster(results[kernel]) else "")
        return ("Only with the GIL off did the threads compute at the same time; with it on, "
                f"the same binary took turns{like}.")
    if off_fast:
        return ("The threads beat serial with the GIL on too: this work releases the GIL (or "
                "waits), so free-threading adds nothing here.")
    gain = results[off[0]].speedup("threads")
    return (f"Even with the GIL off the threads gained only {gain:.2f}× (less than "
            f"{FASTER}×, what this lab calls faster), and nothing measured disturbed the run: "
            "the tasks may be too short for threads to pay off. Try more work per task.")


def _kernel_reading(comparison: Comparison) -> str:
    """What this kernel's own threads showed, from the work they did and its GIL."""
    run = comparison.runs["threads"]
    behaviour = get_workload(run.workload).behaviour
    if not gil_enabled():
        return ("The GIL is off in this kernel: its threads " +
                ("ran Python in parallel." if _faster(comparison) else
                 "could run in parallel but did not beat serial here."))
    if _faster(comparison):
        return ("Its threads beat serial even with the GIL: this work "
                + ("waits." if behaviour == "waits" else "releases the GIL."))
    if behaviour == "cpu-bound":
        return "Its threads took turns: the GIL lets one of them run Python at a time."
    return ("Its threads did not beat serial, though this work "
            + ("waits" if behaviour == "waits" else "releases the GIL")
            + ": the tasks may be too short. Try more work per task.")


TOOK_TURNS = 0.75  # a task on a CPU less than this share of its time waited for one


def describe_timelines(results: dict[str, Comparison]) -> Verdict:
    """Per setting: the share of each thread task's time spent on a CPU, and so whether the
    threads took turns or ran at the same time — or that the run was disturbed."""
    lines = []
    for label, comparison in results.items():
        run = comparison.runs["threads"]
        shares = [r.cpu / r.duration for r in run.records if r.duration > 0 and r.cpu == r.cpu]
        share = sum(shares) / len(shares) if shares else 0.0
        line = (f"**{label}**: each thread's task was on a CPU {share:.0%} of its time, "
                f"{run.utilisation:.1f} CPUs busy together")
        if mode_disturbance(label, comparison):
            line += (" — a **disturbed** run (see above): the gaps are other programs' "
                     "turns as much as the threads'.")
        elif share < TOOK_TURNS and run.utilisation < PARALLEL:
            line += (": they took turns" + (" — with 1 effective CPU they would, GIL or not."
                                            if comparison.effective_cpus == 1 else "."))
        else:
            line += ": they ran at the same time."
        lines.append(line)
    return Verdict(tuple(lines))


@dataclass(frozen=True)
class SingleThreadCost:
    """One thread, the same work, in a free-threaded build and its GIL twin: the serial run's
    wall and CPU time of each, pair by pair (pair ``i`` ran both, side by side in time)."""

    free: str  # labels
    twin: str
    workload: str
    size: int
    free_walls: tuple[float, ...]
    twin_walls: tuple[float, ...]
    free_cpus: tuple[float, ...]
    twin_cpus: tuple[float, ...]
    loads: tuple[MachineLoad | None, ...] = ()  # what other programs did during each run

    @property
    def pairs(self) -> int:
        return len(self.free_walls)

    def ratios(self, kind: str = "cpu") -> list[float]:
        """Free-threaded ÷ twin, pair by pair, of ``kind`` ("cpu" or "wall") time."""
        require_choice("kind", kind, ("cpu", "wall"))
        if kind == "cpu":
            return ratios(list(self.free_cpus), list(self.twin_cpus))
        return ratios(list(self.free_walls), list(self.twin_walls))

    def median(self, kind: str = "cpu") -> float:
        return statistics.median(self.ratios(kind))

    def spread(self, kind: str = "cpu") -> tuple[float, float, str]:
        """The run-to-run spread of the ratios: (low, high, which pairs). With 4 or more
        pairs the middle half (quartiles), so one disturbed pair does not widen it; with
        fewer, all of them."""
        values = self.ratios(kind)
        if len(values) >= 4:
            low, _, high = statistics.quantiles(values, n=4, method="inclusive")
            return low, high, f"the middle half of the {len(values)} pairs"
        return min(values), max(values), f"all {len(values)} pairs"

    @property
    def cpus_busy(self) -> float:
        """CPU time ÷ wall time of the runs (median): below 1, they waited for a CPU."""
        return statistics.median(c / w for c, w in zip(self.free_cpus + self.twin_cpus,
                                                        self.free_walls + self.twin_walls))


def single_thread_cost(free: Interpreter, twin: Interpreter, workload: str = "count",
                       size: int | None = None, pairs: int | None = None,
                       on_progress: ProgressCallback | None = None) -> SingleThreadCost:
    """Time one serial task of ``workload`` in ``free`` (``PYTHON_GIL=0``) and in ``twin``,
    ``pairs`` times each, alternating (:func:`helpers.core.pairs.interleaved`): this machine's
    speed drifts, and side by side both builds meet the same drift. Each run is a fresh
    ``python -m helpers.core.measure_cli`` running one serial task (the runner warms up first);
    ``on_progress(done, 2 × pairs)`` follows each."""
    spec = get_workload(workload)
    size = spec.check_size(work_size(spec.name) if size is None else size)
    pairs = require_int("pairs", int(default(5, 3)) if pairs is None else pairs, 2, 20)
    args = ["compare", spec.name, str(size), "--executors", "serial", "--tasks", "1",
            "--workers", "1", "--repeats", "1"]

    done = [0]

    def serial(interpreter: Interpreter, gil: bool | None):
        def once():
            data = run_cli(interpreter, args, gil)
            done[0] += 1
            if on_progress is not None:
                on_progress(done[0], 2 * pairs)
            return run_from_json(data["runs"]["serial"], data["load"])
        return once

    # PYTHON_GIL=0 only where it means something: a GIL build from 3.13 on refuses to start
    # with it ("Disabling the GIL is not supported by this build").
    off = False if free.free_threaded else None
    on_free, on_twin = interleaved(pairs, serial(free, off), serial(twin, None))
    return SingleThreadCost(free.label, twin.label, spec.name, size,
                            tuple(r.wall for r in on_free), tuple(r.wall for r in on_twin),
                            tuple(r.cpu for r in on_free), tuple(r.cpu for r in on_twin),
                            tuple(r.load for r in on_free + on_twin))


def describe_single_thread_cost(search: TwinSearch, cost: SingleThreadCost | None) -> str:
    """What free-threading cost one thread, from what was measured — or, without a twin,
    why it was not measured (:meth:`TwinSearch.explain`)."""
    if cost is None:
        return search.explain()
    cpu = cost.median("cpu")
    low, high, which = cost.spread("cpu")
    text = (f"One thread, `{cost.workload}({cost.size:,})`, {plural(cost.pairs, 'pair')} run "
            f"side by side: {cost.free} against {cost.twin}, its GIL twin (same source, same "
            f"build options). Free-threaded ÷ twin, median pair: CPU time **{cpu - 1:+.0%}**, "
            f"wall time {cost.median('wall') - 1:+.0%}; CPU time over {which}: "
            f"{low - 1:+.0%} to {high - 1:+.0%}. ")
    busiest = max((load for load in cost.loads if load is not None),
                  key=lambda load: load.others, default=None)
    if load_disturbed(busiest, 1):
        return text + busy_sentence(busiest, 1, "one of these single-thread runs")
    if starved(cost.cpus_busy):
        return text + disturbed_sentence(
            "this measurement", f"the runs kept only {cost.cpus_busy:.2f} of a CPU busy on "
                                "work that computes all the time")
    if low > 1:
        return text + (f"All of that spread is above zero: free-threading costs this thread "
                       f"about {cpu - 1:.0%} here — the two builds differ only by "
                       "`--disable-gil`.")
    if high < 1:
        return text + ("All of that spread is below zero, although the two builds differ only "
                       "by `--disable-gil`: this measurement cannot say why, so treat it as "
                       "disturbed and run the cell again.")
    return text + ("That spread includes zero: the difference is within the run-to-run "
                   "spread — noise, a disturbed measurement (other programs, the machine's "
                   "speed drifting) that does not pin the cost down. Run the cell again on a "
                   "quieter machine, or with more pairs (`pairs=`).")


def describe_races_by_gil(gil_off: Race, gil_on: Race, label: str,
                          effective_cpus: int | None = None) -> str:
    """Plain ``+=`` from several threads in one free-threaded binary, GIL off and on — and
    why, from what was lost and how many CPUs the threads had (default: this machine's)."""
    cpus = effective_cpu_count() if effective_cpus is None else effective_cpus

    def said(race: Race) -> str:
        return (f"lost **{race.lost:,}** of {race.expected:,} updates" if race.lost
                else f"lost nothing of {race.expected:,} updates")

    text = (f"{label}, plain `counter.value += 1` from {gil_off.threads} threads: GIL off — "
            f"{said(gil_off)}; GIL on — {said(gil_on)}.")
    if gil_off.lost and gil_on.lost:
        return text + (" Updates were lost with the GIL on too: `+=` is a read and then a "
                       "write, never one step, GIL or not. Only a lock makes it safe.")
    if gil_off.lost and cpus >= 2:
        text += (" Without the GIL the threads really read and write at the same time: "
                 "the race notebook 06 could only show with a pause is now there in plain "
                 "`+=`.")
    elif gil_off.lost:
        text += (" With 1 effective CPU the threads never ran at the same instant: without "
                 "the GIL, the operating system switched threads between a read and its "
                 "write, which with the GIL on did not happen in this run.")
    else:
        return text + (" No loss this time even without the GIL — the threads did not "
                       "interleave at the wrong instant in this run. It is still a race: "
                       "run it again, or use more threads.")
    return text + " Free-threading makes threads parallel, not your code thread-safe."


def this_python() -> str:
    return f"Python {sys.version.split()[0]} (this kernel)"


# What two threads do against serial, with the GIL and without it (2+ CPUs), and why.
SPEEDS_UP: dict[str, tuple[bool, bool, str]] = {
    "count": (False, True, "a pure-Python loop holds the GIL; without one, both threads "
                           "run Python at once."),
    "hash": (True, True, "hashlib releases the GIL while it hashes an update of 2048 bytes "
                         "or more, so threads already run in parallel with the GIL."),
    "hash-1k": (False, True, "a new hash fed only 1 KiB pieces never gets an update of 2048 "
                             "bytes or more, so hashlib keeps the GIL — unless there is "
                             "none."),
    "sleep": (True, True, "waiting needs no CPU and releases the GIL: waits overlap anyway."),
}


def check_speeds_up(answers: object, modes: dict[str, Comparison] | None = None
                    ) -> CheckResult:
    """The exercise: ``{workload: (with_gil, without_gil)}`` for every workload above — the
    prediction, checked against the facts; then what section 1 measured (``modes``) says
    about the ``count`` row, or why it cannot say."""
    if blank(answers):
        return not_answered("replace each `...` in `speeds_up` with True or False, then "
                            "run this cell again.")
    if not isinstance(answers, dict) or set(answers) != set(SPEEDS_UP):
        return not_yet(f"expected a dict with the keys {sorted(SPEEDS_UP)}.",
                       "start from the dict given in the exercise.")
    checks, measured = [], measured_count_row(modes)
    for name, (with_gil, without_gil, why) in SPEEDS_UP.items():
        given = answers[name]
        shape_ok = (isinstance(given, tuple) and len(given) == 2
                    and all(isinstance(v, bool) for v in given))
        checks.append((shape_ok, f"{name}: expected a pair of True/False, got {given!r}.",
                       "replace each `...` with True or False."))
        checks.append((not shape_ok or given == (with_gil, without_gil),
                       f"{name}: you predicted {given!r}, not quite.",
                       why + " " + measured))
    return first_problem(checks, "right on all four: only work that holds the GIL needs a "
                                 "free-threaded build to run in parallel threads. " + measured)


def measured_count_row(measured: dict[str, Comparison] | None) -> str:
    """What section 1 measured for ``count`` (GIL on, GIL off), or why it says nothing."""
    if not measured:
        return ""
    parts, spoiled = [], []
    for label, comparison in measured.items():
        if comparison.runs["threads"].workload != "count":
            continue
        parts.append(f"{label} {comparison.speedup('threads'):.2f}×")
        if mode_disturbance(label, comparison):
            spoiled.append(label)
    if not parts:
        return ""
    text = "Section 1 measured, for `count`: " + "; ".join(parts) + "."
    if next(iter(measured.values())).effective_cpus == 1:
        return text + (" With 1 effective CPU it could not show threads computing in "
                       "parallel, GIL or not: the answers hold for 2 or more CPUs.")
    if spoiled:
        many = len(spoiled) > 1
        return text + (f" The run{'s' * many} of {named(spoiled)} {'were' if many else 'was'} "
                       "**disturbed**, so section 1 neither confirms nor contradicts this: run "
                       "it again.")
    off = [c for label, c in measured.items() if label.endswith(GIL_OFF)]
    if off and not _faster(off[0]):
        return text + " The GIL-off row did not show the gain this time: run section 1 again."
    return text
