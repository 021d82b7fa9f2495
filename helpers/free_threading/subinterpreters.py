"""Subinterpreters (Python 3.14+), measured from any kernel.

One process can hold several Python interpreters. Since Python 3.12 each can have **its own
GIL** (PEP 684), and Python 3.14 put them in the standard library (PEP 734):
``concurrent.interpreters`` and ``concurrent.futures.InterpreterPoolExecutor``. The pool is a
``ThreadPoolExecutor`` whose every worker thread runs its tasks in an interpreter of its
own — so pure-Python work can keep several CPUs busy on a normal (GIL) build, inside one
process. The rules are those of processes: the function must be importable (not defined
in ``__main__``), arguments and results are pickled, and no mutable object is shared.

**What an extension module must do.** Each interpreter imports its modules anew. An
extension can be imported in an interpreter with its own GIL only if it uses multi-phase
initialisation (PEP 489), keeps its state per module rather than in C globals, and declares
it with the ``Py_mod_multiple_interpreters`` slot set to
``Py_MOD_PER_INTERPRETER_GIL_SUPPORTED`` (PEP 684, Python 3.12). Otherwise the import
raises ``ImportError`` there. :func:`extensions_report` tries it live.

This kernel may be older than 3.14. :func:`find_python314` finds a CPython 3.14+ (a normal
build preferred) and :func:`measure` runs serial / threads / interpreters / processes there
with the lab's own runner — in this kernel when it is 3.14+ itself, else by starting the
found interpreter on :mod:`helpers.core.measure_cli`. The result is an ordinary
:class:`~helpers.core.experiments.Comparison` that plots and describes like every other one.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from matplotlib.figure import Figure

from helpers.core.arguments import require_choice, require_float, require_int
from helpers.core.experiments import Comparison
from helpers.core.noise import beyond_ideal, disturbed_sentence, run_disturbance, run_disturbed
from helpers.core.other_pythons import (
    Interpreter,
    Wanted,
    candidates,
    probe,
    run_cli,
    run_from_json,
)
from helpers.core.runner import ProgressCallback
from helpers.core.settings import default
from helpers.core.system import effective_cpu_count, is_free_threaded_build
from helpers.core.words import (
    FASTER,
    PARALLEL,
    SLOWER,
    Verdict,
    against_ideal,
    describe,
    plural,
    speedup_phrase,
)
from helpers.core.workloads import WORKLOADS, get_workload
from helpers.free_threading.gil_off import first_disturbance, work_size
from helpers.free_threading.streaming import compare_args, stream_cli

MINIMUM = (3, 14)
PYTHON_ENV = "LAB_INTERP_PYTHON"  # an explicit choice, tried first
NEW_ENOUGH = Wanted(PYTHON_ENV, at_least=MINIMUM)  # what other_pythons.candidates looks for
EXECUTORS = ("serial", "threads", "interpreters", "processes")
MEASURABLE = tuple(name for name in WORKLOADS if name != "numpy")  # numpy: see above
TIMEOUT = 240.0  # seconds the whole measurement may take
CHECK_MODULES = ("numpy",)
CHECK_WORKLOADS = ("count", "hash", "zlib")
WHAT_RUNS = {"count": "pure Python", "primes": "pure Python", "hash": "hashlib",
             "hash-1k": "hashlib", "zlib": "zlib", "sleep": "time.sleep"}

HOW_TO_GET_ONE = f"""\
No Python 3.14 or newer was found, so subinterpreters were **not measured** here. Ways to
get one (the lab finds it on the next run):

- **python.org**: install Python 3.14+ (macOS, Windows), or your distribution's `python3.14`.
- **uv**: `uv python install 3.14` (it adds `python3.14` to the folder `uv python dir --bin` names).
- **This project on Debian/Ubuntu**: `make pythons` fetches CPython 3.14 and 3.15 into
  `~/.cache/concurrency-lab/bin`.

Or point the lab at one: `{PYTHON_ENV}=/path/to/python3.14`.
"""


def kernel_python() -> Interpreter | None:
    """This kernel, when it is Python 3.14+ (no subprocess needed to ask)."""
    if sys.version_info[:2] < MINIMUM:
        return None
    return Interpreter(sys.executable, sys.version.split()[0], is_free_threaded_build())


def new_enough(interpreter: Interpreter | None) -> bool:
    """True for Python 3.14 or newer (``InterpreterPoolExecutor`` exists)."""
    if interpreter is None:
        return False
    major, minor = (int(part) for part in interpreter.version.split(".")[:2])
    return (major, minor) >= MINIMUM


def find_python314(environ: Mapping[str, str] | None = None, home: Path | None = None,
                   include_kernel: bool = True) -> Interpreter | None:
    """A CPython 3.14+ to measure subinterpreters in, or ``None``.

    ``$LAB_INTERP_PYTHON`` wins when it is 3.14+. Otherwise a normal (GIL) build is
    preferred: it is where interpreters make a difference, threads there taking turns. This
    kernel counts when it is 3.14+. A free-threaded build is returned only when no normal
    one was found (its ``free_threaded`` says so), since its threads already run in parallel.
    """
    env = os.environ if environ is None else environ
    chosen = probe(env.get(PYTHON_ENV)) if env.get(PYTHON_ENV) else None
    if new_enough(chosen):
        return chosen
    fallback = None
    for interpreter in _asked(env, home, include_kernel):
        if not new_enough(interpreter):
            continue
        if not interpreter.free_threaded:
            return interpreter
        fallback = fallback or interpreter
    return fallback


def _asked(env: Mapping[str, str], home: Path | None, include_kernel: bool
           ) -> Iterator[Interpreter | None]:
    """This kernel (if 3.14+), then each candidate (:data:`NEW_ENOUGH`) as it answers
    :func:`~helpers.core.other_pythons.probe` — lazily, so the search stops at the
    first normal 3.14+ without starting the others."""
    if include_kernel:
        yield kernel_python()
    for path in _runnable_once(candidates(NEW_ENOUGH, env, home)):
        if path != env.get(PYTHON_ENV):
            yield probe(path)


def _runnable_once(paths: Iterable[str]) -> list[str]:
    """The paths that name an executable file, each file once (the first name it has here:
    ``/bin`` and ``/usr/bin`` are often one folder, the lab's cache links to its Pythons)."""
    unique: dict[str, str] = {}
    for path in paths:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            unique.setdefault(os.path.realpath(path), path)
    return list(unique.values())


@dataclass(frozen=True)
class Measured:
    """Serial / threads / interpreters / processes of one workload, in one interpreter.

    ``start``: seconds from creating a 1-worker pool to its first result, per executor.
    """

    interpreter: Interpreter
    comparison: Comparison
    start: dict[str, float] = field(default_factory=dict)
    in_kernel: bool = False

    @property
    def label(self) -> str:
        return self.interpreter.label + (" (this kernel)" if self.in_kernel else "")


def measure(interpreter: Interpreter, workload: str = "count", size: int | None = None,
            workers: int = 2, repeats: int | None = None, timeout: float = TIMEOUT,
            on_progress: ProgressCallback | None = None) -> Measured:
    """Run ``workers`` tasks (one each) of ``workload`` on serial, threads, interpreters and
    processes in ``interpreter`` (3.14+), and time each pool's start. The whole measurement
    is bounded by ``timeout`` seconds; processes use that interpreter's default start method
    (or ``LAB_START_METHOD``). ``on_progress(done, total)`` follows every task there (the
    other Python streams it, :mod:`helpers.free_threading.streaming`), then the pools' start."""
    if not new_enough(interpreter):
        raise ValueError(f"interpreter must be Python 3.14 or newer, got {interpreter!r}")
    spec = get_workload(require_choice("workload", workload, MEASURABLE))
    size = spec.check_size(work_size(spec.name) if size is None else size)
    workers = require_int("workers", workers, 1, 16)
    repeats = require_int("repeats", int(default(3, 1)) if repeats is None else repeats, 1, 20)
    timeout = require_float("timeout", timeout, 1.0, 3600.0)
    each = timeout / (len(EXECUTORS) + 1)  # every run, and the start costs, get a share
    tasks_then_starts = _tasks_then_starts(on_progress)
    if interpreter.path == sys.executable:
        measured = _measure_here(interpreter, spec.name, size, workers, repeats, each,
                                 tasks_then_starts)
    else:
        def relay(kind: str, value: object) -> None:
            if kind == "progress":
                tasks_then_starts(*value)

        data = stream_cli(interpreter, compare_args(spec.name, size, workers, repeats,
                                                    EXECUTORS, each, start_cost=True),
                          None, relay, timeout=timeout + 30)
        runs = {name: run_from_json(run, data["load"])
                for name, run in data["returned"]["runs"].items()}
        measured = Measured(interpreter, Comparison(runs, effective_cpus=effective_cpu_count()),
                            data["returned"].get("start", {}))
    if on_progress is not None:
        on_progress(1, 1)
    return measured


def _tasks_then_starts(on_progress: ProgressCallback | None) -> ProgressCallback:
    """The tasks fill 90 % of the bar; the pools' start times (not counted) the rest."""
    def update(done: int, total: int) -> None:
        if on_progress is not None:
            on_progress(done * 900 // total, 1000)
    return update


def _measure_here(interpreter: Interpreter, workload: str, size: int, workers: int,
                  repeats: int, timeout: float, on_progress: ProgressCallback | None = None
                  ) -> Measured:
    """The same measurement in this kernel (3.14+), with the same code measure_cli runs."""
    from helpers.core.experiments import compare
    from helpers.core.measure_cli import pool_start_seconds

    comparison = compare(workload, EXECUTORS, size=size, tasks=workers, workers=workers,
                         repeats=repeats, timeout=timeout, on_progress=on_progress)
    starts = pool_start_seconds(EXECUTORS, repeats, timeout)
    return Measured(interpreter, comparison, starts, True)


# --- what extension modules allow -------------------------------------------------------

def check_extensions(interpreter: Interpreter, modules: tuple[str, ...] = CHECK_MODULES,
                     workloads: tuple[str, ...] = CHECK_WORKLOADS, timeout: float = 120.0
                     ) -> dict:
    """Import each module and run each lab workload in fresh subinterpreters of
    ``interpreter`` — always in a separate process, so a crash there cannot take this kernel
    with it. Returns measure_cli's ``{"modules": …, "workloads": …}``."""
    if not new_enough(interpreter):
        raise ValueError(f"interpreter must be Python 3.14 or newer, got {interpreter!r}")
    for name in workloads:
        require_choice("workloads", name, MEASURABLE)
    data = run_cli(interpreter, ["subinterpreter", "--modules", ",".join(modules),
                                 "--workloads", ",".join(workloads)], timeout=timeout)
    return data["subinterpreter"]


def describe_extensions(checks: dict, label: str) -> str:
    """What happened in the subinterpreters, in Markdown: only what was tried here."""
    ran = [f"`{name}` ({WHAT_RUNS.get(name, get_workload(name).behaviour)})"
           for name, result in checks["workloads"].items() if result["error"] is None]
    failed = [f"`{name}` failed: {result['error']}"
              for name, result in checks["workloads"].items() if result["error"]]
    lines = []
    if ran:
        lines.append(f"In fresh subinterpreters of {label}, the lab's workloads "
                     f"{', '.join(ran)} ran.")
    lines += [f"In a subinterpreter of {label}, workload {text}." for text in failed]
    for module, result in checks["modules"].items():
        if result["missing"]:
            lines.append(f"`{module}` is not installed for {label}, so importing it in a "
                         "subinterpreter was not tried here.")
        elif result["error"]:
            lines.append(f"`import {module}` ({module} {result['version'] or ''}) in a "
                         f"subinterpreter of {label} failed: *{result['error']}*.")
        else:
            lines.append(f"`import {module}` worked in a subinterpreter of {label}: this "
                         "version supports per-interpreter state.")
    return "\n".join(f"- {line}" for line in lines)


def extensions_report(interpreter: Interpreter) -> str:
    """:func:`check_extensions` then :func:`describe_extensions`, for a notebook cell."""
    return describe_extensions(check_extensions(interpreter), interpreter.label)


# --- words ------------------------------------------------------------------------------

def classify(comparison: Comparison) -> str:
    """What the interpreters row shows: ``"disturbed"`` (:func:`interpreters_disturbance`
    has the sentence), ``"waits"``, ``"one cpu"``, ``"parallel"``, ``"busy"`` (CPUs busy,
    no gain) or ``"not parallel"``."""
    run = comparison.runs["interpreters"]
    gain = comparison.speedup("interpreters")
    if interpreters_disturbance(comparison):
        return "disturbed"
    if get_workload(run.workload).behaviour == "waits":
        return "waits"
    if comparison.effective_cpus == 1:
        return "one cpu"
    if gain >= FASTER:
        return "parallel"
    return "busy" if run.utilisation >= PARALLEL else "not parallel"


def interpreters_disturbance(comparison: Comparison) -> str:
    """Why this comparison is noise, as sentences containing "disturbed" — or ``''``: a
    disturbed run (:mod:`helpers.core.noise`), an interpreters gain above the ideal, or
    computing interpreters faster with about one CPU busy (the serial run was slow)."""
    said = first_disturbance(comparison)
    if said:
        return said
    run, gain = comparison.runs["interpreters"], comparison.speedup("interpreters")
    computing = get_workload(run.workload).behaviour != "waits"
    ideal = min(comparison.effective_cpus if computing else run.workers, run.workers,
                run.tasks)
    if beyond_ideal(gain, ideal):
        return disturbed_sentence("this measurement", f"interpreters measured {gain:.1f}×, "
                                  f"more than {plural(ideal, 'worker')} on "
                                  f"{plural(comparison.effective_cpus, 'CPU')} can give")
    if computing and gain >= FASTER and run.utilisation < PARALLEL:
        return disturbed_sentence("this measurement", f"interpreters measured {gain:.1f}× "
                                  f"with only {run.utilisation:.1f} CPUs busy")
    return ""


def describe_interpreters(measured: Measured) -> Verdict:
    """Where it was measured, one line per executor, why the interpreters row looks as it
    does (from what was measured), and what each pool cost to start."""
    general = describe(measured.comparison)
    lines = [where_measured(measured), *general.lines[:-1], _why(measured, general.lines[-1])]
    if measured.start:
        lines.append(_start_line(measured))
    return Verdict(tuple(lines))


def where_measured(measured: Measured) -> str:
    interpreter = measured.interpreter
    build = "a normal build, with a GIL per interpreter"
    if interpreter.free_threaded:
        why = (f"{PYTHON_ENV} names it" if os.environ.get(PYTHON_ENV) == interpreter.path
               else "no normal 3.14+ build was found")
        build = f"a free-threaded build, taken because {why}"
    if measured.in_kernel:
        return f"Measured in this kernel, **{interpreter.label}** ({build})."
    return (f"Measured in **{interpreter.label}** at `{interpreter.path}` ({build}); this "
            f"kernel is Python {sys.version.split()[0]}.")


def _why(measured: Measured, general_why: str) -> str:
    comparison = measured.comparison
    kind = classify(comparison)
    if kind == "disturbed":
        return interpreters_disturbance(comparison)
    if kind in ("waits", "one cpu"):
        return general_why  # describe()'s reading of these holds for every executor
    run = comparison.runs["interpreters"]
    gain, busy = comparison.speedup("interpreters"), run.utilisation
    cpus = comparison.effective_cpus
    ideal = min(cpus, run.workers, run.tasks)
    if kind == "busy":
        return (f"Interpreters kept {busy:.1f} CPUs busy yet finished only {gain:.2f}× faster "
                "than serial, and no other program was measured taking the CPUs: this run "
                "cannot say why. Run it again, or with more work per task.")
    if kind == "not parallel":
        return (f"Interpreters did not run in parallel here ({busy:.1f} CPUs busy), though "
                f"{cpus} effective CPUs would have let them and no other program was "
                "measured taking them: the tasks may be too short. Run it again, or with "
                "more work per task.")
    text = (f"Each interpreter has its own GIL, so {plural(run.workers, 'interpreter')} ran "
            f"Python at the same time inside one process: {gain:.1f}× on {cpus} effective "
            f"CPUs ({against_ideal(gain, ideal)}).")
    return " ".join([text, _threads_clause(measured), _processes_clause(comparison)]).strip()


def _threads_clause(measured: Measured) -> str:
    comparison = measured.comparison
    if "threads" not in comparison.runs:
        return ""
    gain = comparison.speedup("threads")
    phrase = speedup_phrase(gain)
    if measured.interpreter.free_threaded:
        return (f"Threads were {phrase} as well: this build has no GIL, so here interpreters "
                "add isolation, not parallelism." if gain >= FASTER else
                f"Threads were {phrase} although this build has no GIL: this run cannot "
                "say why. Run it again.")
    if get_workload(comparison.baseline.workload).behaviour == "releases the GIL":
        return (f"Threads were {phrase}: this C code releases the GIL, so threads need no "
                "interpreters for it.")
    if gain >= FASTER:
        return disturbed_sentence("the threads run", f"threads were {phrase} on pure-Python "
                                  "work that shares one GIL")
    return f"Threads, which share one GIL, were {phrase}."


def _processes_disturbed(comparison: Comparison) -> bool:
    """The processes run was disturbed (:func:`helpers.core.noise.run_disturbed`), or kept
    about one CPU busy where interpreters, in the same comparison, kept several: its row
    cannot be set against the interpreters'."""
    processes = comparison.runs.get("processes")
    if processes is None:
        return False
    return run_disturbed(processes, comparison.effective_cpus) or _processes_squeezed(
        comparison)


def _processes_squeezed(comparison: Comparison) -> bool:
    processes = comparison.runs["processes"]
    return (processes.utilisation < PARALLEL
            and comparison.runs["interpreters"].utilisation >= PARALLEL
            and min(comparison.effective_cpus, processes.workers, processes.tasks) > 1)


def _processes_clause(comparison: Comparison) -> str:
    if "processes" not in comparison.runs:
        return ""
    processes, interpreters = comparison.runs["processes"], comparison.runs["interpreters"]
    if _processes_disturbed(comparison):
        said = run_disturbance(processes, comparison.effective_cpus, "processes") or (
            disturbed_sentence("the processes run", f"processes kept only "
                               f"{processes.utilisation:.1f} CPUs busy where interpreters kept "
                               f"{interpreters.utilisation:.1f}"))
        return said + " Interpreters are not compared with it here."
    versus = processes.wall / interpreters.wall
    phrase = speedup_phrase(versus, "processes")
    text = (f"Processes were {comparison.speedup('processes'):.1f}×, so interpreters were "
            f"{phrase}")
    if phrase.startswith("about as fast"):
        return text + ": the same parallelism, without a second process."
    if SLOWER < versus < FASTER and processes.utilisation >= PARALLEL:
        return text + (f"; with {interpreters.utilisation:.1f} and "
                       f"{processes.utilisation:.1f} CPUs busy, that gap is run-to-run "
                       "variation, not a difference between the two.")
    return text + "."


def _start_line(measured: Measured) -> str:
    start = measured.start
    parts = ", ".join(f"{name} {_ms(seconds)}" for name, seconds in start.items())
    line = f"A new 1-worker pool's first result took: {parts} (median)."
    method = measured.comparison.runs.get("processes")
    how = (" A thread starts inside this process with nothing to import; an interpreter "
           "also starts inside it, but imports the task's module (here all of `helpers`) "
           "anew")
    if method is not None and method.start_method == "fork":
        how += "; a forked process is a copy of this one, imports included."
    elif method is not None:
        how += f"; a process ({method.start_method}) is a new process of its own."
    else:
        how += "."
    if classify(measured.comparison) == "disturbed":
        how += (" These start times were measured during the **disturbed** runs above, so "
                "they may be inflated too: run it again.")
    return line + how


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 0.01 else f"{seconds * 1000:.0f} ms"


def summary_line(measured: Measured | None) -> str:
    """One bullet for a notebook's summary: the interpreters row and what it means."""
    if measured is None:
        return ("**Subinterpreters** were not measured: no Python 3.14+ was found "
                "(section 5 says how to get one).")
    comparison = measured.comparison
    run = comparison.runs["interpreters"]
    speeds = ", ".join(f"{name} {comparison.speedup(name):.2f}×"
                       for name in ("threads", "processes") if name in comparison.runs)
    meaning = {
        "parallel": ("threads are parallel too without a GIL" if
                     measured.interpreter.free_threaded else
                     "one GIL per interpreter: parallel Python inside one process"),
        "disturbed": "this measurement was **disturbed** by other work on this machine: run "
                     "section 5 again",
        "busy": "not the gain its CPUs busy promise, for no measured reason: run section 5 "
                "again",
        "not parallel": "not parallel this time: run section 5 again",
        "one cpu": "with 1 effective CPU nothing computes in parallel",
        "waits": "waiting overlaps in every executor",
    }[classify(comparison)]
    if meaning.startswith("one GIL") and _processes_disturbed(comparison):
        meaning += " (the processes run was **disturbed**: it cannot be compared)"
    return (f"**Subinterpreters** in {measured.label}: {plural(run.workers, 'interpreter')} "
            f"{speedup_phrase(comparison.speedup('interpreters'))} with "
            f"{run.utilisation:.1f} CPUs busy ({speeds}) — {meaning}.")


# --- the plot ---------------------------------------------------------------------------

def plot_measured(measured: Measured) -> Figure:
    """Left: wall and CPU time per executor (speedup, CPUs busy on each bar). Right: what a
    new pool cost before its first result, on a log scale (threads start ~1000× faster)."""
    import matplotlib.pyplot as plt

    from helpers.core.plots import colour_for, draw_times, finish_figure

    panels = 2 if measured.start else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 3.8), squeeze=False,
                             gridspec_kw={"width_ratios": [1.6, 1][:panels]})
    run = measured.comparison.baseline
    draw_times(axes[0, 0], measured.comparison)
    axes[0, 0].set_xlabel("executor")
    axes[0, 0].set_title(f"{measured.label}: {run.tasks} × {run.workload}, wall and CPU time",
                         fontsize=10)
    if measured.start:
        ax = axes[0, 1]
        names = list(measured.start)
        millis = [measured.start[name] * 1000 for name in names]
        ax.bar(names, millis, color=[colour_for(name) for name in names])
        for i, value in enumerate(millis):
            ax.annotate(_ms(value / 1000), (i, value), ha="center", va="bottom", fontsize=8)
        ax.set_yscale("log")
        ax.set_xlabel("executor")
        ax.set_ylabel("time to first result (ms, log)")
        disturbed = classify(measured.comparison) == "disturbed"
        ax.set_title("Starting a 1-worker pool" + (" (measured while disturbed)" if disturbed
                                                   else ""), fontsize=10)
        ax.margins(y=0.2)
    return finish_figure(fig)
