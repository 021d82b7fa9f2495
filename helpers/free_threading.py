"""Free-threaded Python, measured from a normal kernel.

A free-threaded build (``python3.13t``, ``python3.14t``; PEP 703, supported since 3.14 by
PEP 779) has no GIL: threads run Python code on several CPUs at once. The same binary
can switch the GIL back on with ``PYTHON_GIL=1``, so one interpreter shows both worlds.

This kernel stays what it is. :func:`measure_threads` starts the free-threaded
interpreter on :mod:`helpers.measure_cli`, which runs the lab's own runner there and
prints JSON; the results come back as ordinary :class:`~helpers.experiments.Comparison`
objects that plot and describe like every other measurement in the lab.

Where is one? :func:`find_free_threaded` looks, in order, at ``LAB_FT_PYTHON``, the
project's ``.venv-ft`` (``make free-threaded``), ``python3.14t`` / ``python3.13t`` on
``PATH``, and the build cache of ``make free-threaded``. :data:`HOW_TO_GET_ONE` says how
to get one on your own machine.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .checks import check_choice, check_int
from .controls import RunPanel
from .exercises import CheckResult, first_problem, not_yet
from .config import default
from .experiments import Comparison
from .interpret import FASTER, PARALLEL, Verdict, plural, speedup_phrase
from .races import INCREMENTS, Race, default_times
from .runner import RunResult, TaskRecord
from .system import effective_cpu_count
from .workloads import get_workload

ROOT = Path(__file__).resolve().parent.parent
FT_ENV = "LAB_FT_PYTHON"
CACHE_ENV = "LAB_FT_CACHE"
PROBE = ("import sys, sysconfig, json; print(json.dumps({'version': sys.version.split()[0], "
         "'free_threaded': bool(sysconfig.get_config_var('Py_GIL_DISABLED'))}))")
TIMEOUT = 300.0
WORK_SCALE = 3

GIL_OFF, GIL_ON = "PYTHON_GIL=0", "PYTHON_GIL=1"  # how labels end, in notebook 07 and GilLab
HOW_TO_GET_ONE = """\
No free-threaded Python was found. Ways to get one:

- **This project** (Linux): `make free-threaded` finds one or builds CPython 3.13 with
  `--disable-gil` into a cache folder (a few minutes), makes `.venv-ft` and registers a
  "Python 3.13t (free-threaded)" kernel. Then run this notebook again.
- **python.org installers** (macOS, Windows, 3.13+): tick "free-threaded binaries"; you get
  `python3.13t` / `python3.14t`.
- **uv**: `uv python install 3.14t`, then set `LAB_FT_PYTHON` to the path `uv python find 3.14t`
  prints.
- **conda-forge**: `conda create -n ft -c conda-forge python-freethreading`.

Point the lab at any of them with the environment variable `LAB_FT_PYTHON=/path/to/python3.14t`.
"""


@dataclass(frozen=True)
class Interpreter:
    """A Python found on this machine: where it is, its version, whether it is free-threaded."""

    path: str
    version: str
    free_threaded: bool

    @property
    def minor(self) -> str:
        return ".".join(self.version.split(".")[:2])

    @property
    def label(self) -> str:
        return f"Python {self.version}{'t' if self.free_threaded else ''}"


def probe(path: str | os.PathLike | None) -> Interpreter | None:
    """Ask the Python at ``path`` what it is; ``None`` if it is missing or does not answer."""
    if not path or not Path(path).is_file():
        return None
    try:
        done = subprocess.run([str(path), "-c", PROBE], capture_output=True, text=True,
                              timeout=30, env=_clean_env())
        facts = json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None
    return Interpreter(str(path), facts["version"], facts["free_threaded"])


def cache_dir() -> Path:
    """Where ``make free-threaded`` keeps the interpreter it built (outside the repo)."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "concurrency-lab")


def candidates() -> list[str]:
    """Paths to try, in the order :func:`find_free_threaded` tries them."""
    found = [os.environ.get(FT_ENV, ""), str(ROOT / ".venv-ft" / "bin" / "python")]
    found += [shutil.which(name) or "" for name in ("python3.14t", "python3.13t")]
    found += [str(path) for path in sorted(cache_dir().glob("python3.1*t/bin/python3.1*t"))]
    return [path for path in found if path]


def find_free_threaded() -> Interpreter | None:
    """The first free-threaded interpreter among :func:`candidates`, or ``None``."""
    for path in candidates():
        interpreter = probe(path)
        if interpreter is not None and interpreter.free_threaded:
            return interpreter
    return None


def find_standard(minor: str) -> Interpreter | None:
    """A normal (GIL) build of Python ``minor`` ("3.13"), to compare single-thread speed."""
    paths = [shutil.which(f"python{minor}") or ""]
    paths += [str(p) for p in sorted((Path.home() / ".pyenv" / "versions").glob(
        f"{minor}.*/bin/python{minor}"))]
    for path in paths:
        interpreter = probe(path)
        if interpreter is not None and not interpreter.free_threaded:
            return interpreter
    return None


def _clean_env(gil: bool | None = None) -> dict[str, str]:
    """This process's environment, minus anything that would mislead another Python."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONHOME", "PYTHONPATH", "VIRTUAL_ENV", "PYTHON_GIL")}
    env["PYTHONPATH"] = str(ROOT)  # the helpers package, as source
    if gil is not None:
        env["PYTHON_GIL"] = "1" if gil else "0"
    return env


def run_cli(interpreter: Interpreter, args: list[str], gil: bool | None = None,
            timeout: float = TIMEOUT) -> dict:
    """``python -m helpers.measure_cli ARGS`` in ``interpreter``; its JSON, as a dict.

    ``gil``: ``False`` sets ``PYTHON_GIL=0``, ``True`` sets ``PYTHON_GIL=1``, ``None``
    leaves the interpreter's default. Raises ``RuntimeError`` with its stderr if it fails.
    """
    done = subprocess.run([interpreter.path, "-m", "helpers.measure_cli", *args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env=_clean_env(gil))
    if done.returncode != 0:
        raise RuntimeError(f"{interpreter.label} failed ({done.returncode}):\n"
                           f"{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["stderr"] = done.stderr
    return result


def _run_from(data: dict) -> RunResult:
    records = [TaskRecord(**record) for record in data.pop("records")]
    return RunResult(**data, records=records)


def work_size(workload: str) -> int:
    """The size each task gets here: 3 × the workload's default (within its range), so that
    one task lasts long enough (~0.1 s in quick mode) to be timed above the noise."""
    spec = get_workload(workload)
    return min(spec.max_size, WORK_SCALE * spec.default_size())


def measure_threads(interpreter: Interpreter | None, gil: bool | None,
                    workload: str = "count", size: int | None = None, workers: int = 2,
                    repeats: int | None = None) -> Comparison:
    """Serial vs ``workers`` threads (one task each) of ``workload``, run in ``interpreter``
    — or in this kernel when ``interpreter`` is ``None`` (``gil`` is then ignored)."""
    spec = get_workload(workload)
    size = spec.check_size(work_size(spec.name) if size is None else size)
    workers = check_int("workers", workers, 1, 16)
    repeats = check_int("repeats", int(default(3, 1)) if repeats is None else repeats, 1, 20)
    if interpreter is None:
        from .experiments import compare

        return compare(spec.name, ("serial", "threads"), size=size, tasks=workers,
                       workers=workers, repeats=repeats)
    data = run_cli(interpreter, ["compare", spec.name, str(size), "--tasks", str(workers),
                                 "--workers", str(workers), "--repeats", str(repeats)], gil)
    runs = {name: _run_from(run) for name, run in data["runs"].items()}
    return Comparison(runs, effective_cpus=effective_cpu_count())


def race_in(interpreter: Interpreter, gil: bool | None, increment: str = "plain +=",
            threads: int = 4, times: int | None = None) -> Race:
    """Count lost updates of one increment (:mod:`helpers.races`) in ``interpreter``."""
    check_choice("increment", increment, INCREMENTS)
    times = default_times(increment) if times is None else times
    data = run_cli(interpreter, ["race", increment, "--threads", str(threads),
                                 "--times", str(times)], gil)
    return Race(**data["race"])


def gil_after_import(interpreter: Interpreter, module: str = "_cffi_backend") -> str:
    """Import ``module`` in ``interpreter`` (no ``PYTHON_GIL`` set) and report what happened
    to the GIL — the RuntimeWarning an extension without free-threading support causes."""
    if not isinstance(module, str) or not all(p.isidentifier() for p in module.split(".")):
        raise ValueError(f"module must be a dotted module name, got {module!r}")
    code = (f"import sys, warnings; warnings.simplefilter('always')\n"
            f"try:\n    import {module}\nexcept ImportError:\n    print('missing')\n"
            f"else:\n    print('gil on' if sys._is_gil_enabled() else 'gil off')")
    done = subprocess.run([interpreter.path, "-c", code], capture_output=True, text=True,
                          timeout=60, env=_clean_env(None))
    said = done.stdout.strip()
    warning = next((line.strip() for line in done.stderr.splitlines() if "GIL" in line), "")
    if said == "missing":
        return (f"`{module}` is not installed for {interpreter.label}, so this was not "
                "shown here (`make free-threaded` installs `cffi<2`, whose `_cffi_backend` "
                "does not declare free-threading support).")
    if said == "gil on":
        return (f"Importing `{module}` switched the GIL **on** for the whole process. "
                f"Python said: {warning or '(no warning text captured)'}")
    return f"Importing `{module}` left the GIL off: it declares free-threading support."


def describe_gil_modes(results: dict[str, Comparison]) -> Verdict:
    """For each interpreter/GIL setting: the threads' speedup and CPUs busy, then why."""
    lines = []
    for label, comparison in results.items():
        run = comparison.runs["threads"]
        line = (f"**{label}**: {plural(run.workers, 'thread')} were "
                f"{speedup_phrase(comparison.speedup('threads'))}, "
                f"{run.utilisation:.1f} CPUs busy.")
        if _noise(comparison):
            line += (" With about one CPU busy that gain is not parallelism: the serial run "
                     "was slowed by something else (noise).")
        lines.append(line)
    lines.append(_why_gil_modes(results))
    return Verdict(tuple(lines))


def _noise(comparison: Comparison) -> bool:
    """A "speedup" of computing threads that kept only about one CPU busy."""
    run = comparison.runs["threads"]
    computing = get_workload(run.workload).behaviour != "waits"
    return comparison.speedup("threads") >= FASTER and run.utilisation < PARALLEL and computing


def _faster(comparison: Comparison) -> bool:
    return comparison.speedup("threads") >= FASTER and not _noise(comparison)


def _why_gil_modes(results: dict[str, Comparison]) -> str:
    """The conclusion, from which settings made the threads faster than serial."""
    if next(iter(results.values())).effective_cpus == 1:
        return ("With 1 effective CPU threads cannot compute at the same time, GIL or not: "
                "no speedup can be expected here (any gain above is noise).")
    faster = {label: _faster(c) for label, c in results.items()}
    off = [label for label in results if label.endswith(GIL_OFF)]
    on = [label for label in results if label.endswith(GIL_ON)]
    kernel_fast = faster[next(iter(results))]
    if not off:
        return ("Only this kernel was measured. " +
                ("Its threads beat serial even with the GIL: this work releases it (or waits)."
                 if kernel_fast else "Its threads took turns: the GIL."))
    if faster[off[0]] and not (on and faster[on[0]]):
        return ("Only with the GIL off did the threads compute at the same time; with it on, "
                "the same binary took turns, like this kernel.")
    if faster[off[0]]:
        return ("The threads beat serial with the GIL on too: this work releases the GIL (or "
                "waits), so free-threading adds nothing here.")
    return ("Even with the GIL off the threads did not beat serial: the tasks were too small, "
            "or other programs were using the CPUs. Try more work per task.")


def describe_overhead(free: Comparison, standard: Comparison | None,
                      standard_label: str) -> str:
    """The single-thread cost of the free-threaded build, from two serial runs."""
    if standard is None:
        return ("No normal build of the same Python version was found to compare with, so "
                "the single-thread cost of free-threading was not measured here.")
    per_task = [c.baseline.wall / c.baseline.tasks for c in (free, standard)]
    ratio = per_task[0] / per_task[1]
    text = (f"One thread, the same work: the free-threaded build took {per_task[0]:.3f} s per "
            f"task, {standard_label} {per_task[1]:.3f} s — ")
    if ratio > 1:
        return text + (f"{ratio - 1:.0%} slower with no other thread running. That is the "
                       "price of making every object safe to share without a GIL — plus any "
                       "difference in how the two interpreters were compiled (e.g. with or "
                       "without profile-guided optimisation).")
    return text + (f"the free-threaded build was not slower here ({1 - ratio:.0%} faster): "
                   "the two were compiled differently (patch release, compiler options), and "
                   "that outweighed the cost of free-threading. Compared with the same source "
                   "built with the GIL, free-threading usually costs a single thread 10–20 %.")


def describe_races_by_gil(gil_off: Race, gil_on: Race, label: str) -> str:
    """Plain ``+=`` from several threads in one free-threaded binary, GIL off and on."""
    def said(race: Race) -> str:
        return (f"lost **{race.lost:,}** of {race.expected:,} updates" if race.lost
                else f"lost nothing of {race.expected:,} updates")

    text = (f"{label}, plain `counter.value += 1` from {gil_off.threads} threads: GIL off — "
            f"{said(gil_off)}; GIL on — {said(gil_on)}.")
    if gil_off.lost and not gil_on.lost:
        text += (" Without the GIL the threads really read and write at the same time: "
                 "the race notebook 06 could only show with a pause is now there in plain "
                 "`+=`. Free-threading makes threads parallel, not your code thread-safe.")
    elif not gil_off.lost:
        text += (" No loss this time even without the GIL (with few CPUs the threads may "
                 "rarely overlap at the wrong instant) — it is still a race.")
    return text


def this_python() -> str:
    return f"Python {sys.version.split()[0]} (this kernel)"


# What two threads do against serial, with the GIL and without it (2+ CPUs), and why.
SPEEDS_UP: dict[str, tuple[bool, bool, str]] = {
    "count": (False, True, "a pure-Python loop holds the GIL; without one, both threads "
                           "run Python at once."),
    "hash": (True, True, "hashlib releases the GIL for data above 2047 bytes, so threads "
                         "already run in parallel with the GIL."),
    "hash-1k": (False, True, "1 KiB pieces are below hashlib's 2048-byte threshold: it keeps "
                             "the GIL — unless there is none."),
    "sleep": (True, True, "waiting needs no CPU and releases the GIL: waits overlap anyway."),
}


def check_speeds_up(answers: object) -> CheckResult:
    """The exercise: ``{workload: (with_gil, without_gil)}`` for every workload above."""
    if not isinstance(answers, dict) or set(answers) != set(SPEEDS_UP):
        return not_yet(f"expected a dict with the keys {sorted(SPEEDS_UP)}.",
                       "start from the dict given in the exercise.")
    checks = []
    for name, (with_gil, without_gil, why) in SPEEDS_UP.items():
        given = answers[name]
        shape_ok = (isinstance(given, tuple) and len(given) == 2
                    and all(isinstance(v, bool) for v in given))
        checks.append((shape_ok, f"{name}: expected a pair of True/False, got {given!r}.",
                       "replace each `...` with True or False."))
        checks.append((not shape_ok or given == (with_gil, without_gil),
                       f"{name}: not quite.", why))
    return first_problem(checks, "right on all four: only work that holds the GIL needs a "
                                 "free-threaded build to run in parallel threads.")


class GilLab(RunPanel):
    """The lab widget for notebook 07: pick a workload, its size and the number of threads;
    Run measures serial vs threads in this kernel and — when one was found — in the
    free-threaded interpreter with the GIL off and on. The plot follows each measurement."""

    WORKLOADS = ("count", "primes", "hash-1k", "hash", "zlib", "sleep")

    def __init__(self, interpreter: Interpreter | None, workload: str = "count",
                 threads: int = 2) -> None:
        import ipywidgets as widgets

        from .controls import bounded_slider

        self.interpreter = interpreter
        most = max(2, min(8, 2 * effective_cpu_count()))
        self.workload = widgets.Dropdown(
            options=[(f"{name} ({get_workload(name).behaviour})", name)
                     for name in self.WORKLOADS],
            value=check_choice("workload", workload, self.WORKLOADS), description="workload")
        self.threads = bounded_slider("threads", threads, 2, most)
        self.scale = bounded_slider(f"work per task (× {WORK_SCALE} × default)", 1, 1, 4)
        self.results: dict[str, Comparison] = {}
        super().__init__([widgets.HBox([self.workload]), self.threads, self.scale])

    def run(self) -> dict[str, Comparison] | None:
        return self.guarded(self._measure)

    def _measure(self, on_progress) -> dict[str, Comparison]:
        from .plots import plot_speedup_by_workload

        spec = get_workload(self.workload.value)
        size = min(spec.max_size, work_size(spec.name) * self.scale.value)
        threads = self.threads.value
        steps: list[tuple[str, bool | None]] = [(this_python(), None)]
        if self.interpreter is not None:
            steps += [(f"{self.interpreter.label}, {GIL_OFF}", False),
                      (f"{self.interpreter.label}, {GIL_ON}", True)]
        results: dict[str, Comparison] = {}
        plot = self.live(lambda shown: plot_speedup_by_workload(
            shown, "threads", xlabel="interpreter",
            title=f"{threads} threads versus serial: {spec.name}"))
        for index, (label, gil) in enumerate(steps):
            interpreter = None if gil is None else self.interpreter
            results[label] = measure_threads(interpreter, gil, spec.name, size, threads)
            on_progress(index + 1, len(steps))
            plot(dict(results))
        self.results = results
        self.words.value = describe_gil_modes(results)._repr_html_()
        return results
