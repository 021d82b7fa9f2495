"""Free-threaded Python, measured from a normal kernel.

A free-threaded build (``python3.13t``, ``python3.14t``; PEP 703, supported since 3.14 by
PEP 779) has no GIL: threads run Python code on several CPUs at once. The same binary
can switch the GIL back on with ``PYTHON_GIL=1``, so one interpreter shows both worlds.

This kernel stays what it is. :func:`measure_threads` starts the free-threaded
interpreter on :mod:`helpers.core.measure_cli`, which runs the lab's own runner there and
prints JSON; the results come back as ordinary :class:`~helpers.core.experiments.Comparison`
objects that plot and describe like every other measurement in the lab.

Where is one? :func:`find_free_threaded` looks, in order, at ``LAB_FT_PYTHON``, the
project's ``.venv-ft`` (``make free-threaded``), ``python3.15t`` / ``python3.14t`` /
``python3.13t`` on ``PATH``, and the build cache of ``make free-threaded`` (newest first).
:data:`HOW_TO_GET_ONE` says how to get one on your own machine.

What does free-threading cost one thread? Only a like-for-like pair can say: the same
source built with the same options, once with ``--disable-gil`` and once without — its
*GIL twin* (:func:`find_twin`). Another patch release, or the same release compiled with
other options (profile-guided optimisation, ``--enable-shared``, another compiler), differs
by as much as free-threading costs, in either direction. :func:`single_thread_cost` times
the pair in alternation; :func:`describe_single_thread_cost` says what that measured, and
when no twin exists, which builds were found and why none is one.
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from helpers.core.arguments import require_choice, require_int
from helpers.core.controls import RunPanel
from helpers.core.experiments import Comparison
from helpers.core.pairs import interleaved, ratios
from helpers.core.runner import RunResult, TaskRecord
from helpers.core.selfcheck import CheckResult, first_problem, not_yet
from helpers.core.settings import SOURCE_ROOT, default
from helpers.core.system import effective_cpu_count
from helpers.core.words import FASTER, PARALLEL, Verdict, plural, speedup_phrase
from helpers.core.workloads import get_workload
from helpers.shared_state.races import INCREMENTS, Race, default_times

ROOT = SOURCE_ROOT
FT_ENV = "LAB_FT_PYTHON"
GIL_ENV = "LAB_GIL_PYTHON"  # a GIL twin to use; it must still pass the like-for-like check
CACHE_ENV = "LAB_FT_CACHE"
PROBE = ("import sys, sysconfig, json, platform; print(json.dumps({"
         "'version': sys.version.split()[0], "
         "'free_threaded': bool(sysconfig.get_config_var('Py_GIL_DISABLED')), "
         "'config_args': sysconfig.get_config_var('CONFIG_ARGS'), "
         "'compiler': platform.python_compiler(), 'base_prefix': sys.base_prefix, "
         "'executable': sys.executable}))")
TIMEOUT = 300.0
WORK_SCALE = 3

GIL_OFF, GIL_ON = "PYTHON_GIL=0", "PYTHON_GIL=1"  # how labels end, in notebook 07 and GilLab
HOW_TO_GET_ONE = """\
No free-threaded Python was found. Ways to get one:

- **This project** (Linux): `make free-threaded` finds one or builds CPython 3.13 twice from
  one source into a cache folder — with `--disable-gil`, and with the GIL to measure what
  free-threading costs (a few minutes each) — makes `.venv-ft` and registers a
  "Python 3.13t (free-threaded)" kernel. Then run this notebook again.
- **python.org installers** (macOS, Windows, 3.13+): tick "free-threaded binaries"; you get
  `python3.13t` / `python3.14t`.
- **uv**: `uv python install 3.14t 3.14`, then set `LAB_FT_PYTHON` to the path
  `uv python find 3.14t` prints (3.14, the GIL build, is found beside it).
- **conda-forge**: `conda create -n ft -c conda-forge python-freethreading`.

Point the lab at any of them with the environment variable `LAB_FT_PYTHON=/path/to/python3.14t`.
"""


@dataclass(frozen=True)
class Interpreter:
    """A Python found on this machine: where it is, its version, whether it is free-threaded."""

    path: str
    version: str
    free_threaded: bool
    config_args: str | None = None  # ./configure's arguments (None where not recorded: Windows)
    compiler: str = ""
    base_prefix: str = ""  # the installation a venv was made from (its own prefix otherwise)
    executable: str = ""

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
                              timeout=30, env=other_python_env())
        facts = json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None
    return Interpreter(str(path), facts["version"], facts["free_threaded"],
                       facts.get("config_args"), facts.get("compiler", ""),
                       facts.get("base_prefix", ""), facts.get("executable", ""))


def cache_dir() -> Path:
    """Where ``make free-threaded`` keeps the interpreter it built (outside the repo)."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "concurrency-lab")


def candidates() -> list[str]:
    """Paths to try, in the order :func:`find_free_threaded` tries them."""
    found = [os.environ.get(FT_ENV, ""), str(ROOT / ".venv-ft" / "bin" / "python")]
    found += [shutil.which(name) or "" for name in ("python3.15t", "python3.14t", "python3.13t")]
    found += [str(path) for path in sorted(cache_dir().glob("python3.*t/bin/python3.*t"),
                                           key=_minor_of, reverse=True)]
    return [path for path in found if path]


def _minor_of(path: Path) -> tuple[int, ...]:
    """``.../python3.14t`` -> (3, 14): newest first sorts 3.9 below 3.13."""
    digits = path.name.removeprefix("python").rstrip("t").split(".")
    return tuple(int(d) for d in digits if d.isdigit())


def find_free_threaded() -> Interpreter | None:
    """The first free-threaded interpreter among :func:`candidates`, or ``None``."""
    for path in candidates():
        interpreter = probe(path)
        if interpreter is not None and interpreter.free_threaded:
            return interpreter
    return None


NAME_ONLY_OPTIONS = ("--disable-gil",   # the difference being measured
                     "--with-framework-name")  # macOS: PythonT.framework beside Python.framework


def build_options(interpreter: Interpreter) -> tuple[str, ...] | None:
    """What ``./configure`` was given, minus what only names the build: its install folder
    (``--prefix`` and every path under it, written ``<prefix>``) and ``--disable-gil``.

    ``CONFIG_ARGS`` records every option *and* every compiler variable (``CFLAGS=…``,
    ``LDFLAGS=…``) configure saw, so two builds with equal options here were configured
    alike. ``None`` where Python does not record them (Windows).
    """
    if interpreter.config_args is None:
        return None
    args = shlex.split(interpreter.config_args)
    prefixes = [arg.split("=", 1)[1] for arg in args if arg.startswith("--prefix=")]
    prefixes = sorted({*prefixes, interpreter.base_prefix} - {"", "/"}, key=len, reverse=True)
    kept = []
    for arg in args:
        if arg.split("=", 1)[0] in NAME_ONLY_OPTIONS:
            continue
        for prefix in prefixes:
            arg = arg.replace(prefix, "<prefix>")
        kept.append(arg)
    return tuple(sorted(kept))


STAMP = ".lab-build"  # what make free-threaded writes in each build: its source's sha256


def source_stamp(interpreter: Interpreter) -> str | None:
    """The sha256 of the source tarball ``make free-threaded`` built it from (else ``None``)."""
    try:
        text = (Path(interpreter.base_prefix) / STAMP).read_text(encoding="utf-8")
    except (OSError, ValueError):
        return None
    return next((line.split("=", 1)[1] for line in text.splitlines()
                 if line.startswith("sha256=")), None)


def why_not_twin(free: Interpreter, other: Interpreter) -> str | None:
    """Why ``other`` is not a like-for-like GIL twin of ``free`` (``None`` if it is one):
    another release, another compiler, other build options — or, for two builds of
    ``make free-threaded``, another source tarball. (A source patched without changing the
    version number cannot be told apart otherwise.)"""
    if other.free_threaded:
        return "it is free-threaded too"
    if other.version != free.version:
        return f"a different release ({other.version}, not {free.version})"
    if other.compiler != free.compiler:
        return f"another compiler ({other.compiler or '?'}, not {free.compiler or '?'})"
    sources = source_stamp(free), source_stamp(other)
    if None not in sources and sources[0] != sources[1]:
        return "built from another source tarball (their .lab-build stamps differ)"
    mine, theirs = build_options(free), build_options(other)
    if mine is None and theirs is None:
        together = other.base_prefix and other.base_prefix == free.base_prefix
        return None if together else ("its build options are not recorded, and it was not "
                                      "installed together with the free-threaded build")
    if mine is None or theirs is None:
        return "the build options of one of the two are not recorded"
    if mine != theirs:
        extra = [a for a in theirs if a not in mine][:3]
        missing = [a for a in mine if a not in theirs][:3]
        parts = ([f"built with `{' '.join(extra)}`"] if extra else []) + (
            [f"without `{' '.join(missing)}`"] if missing else [])
        return "other build options: " + ", ".join(parts)
    return None


@dataclass(frozen=True)
class TwinSearch:
    """Where :func:`find_twin` looked for a GIL twin of ``free``, and what it found."""

    free: Interpreter
    twin: Interpreter | None
    rejected: tuple[tuple[Interpreter, str], ...] = ()  # each GIL build seen, and why not

    def explain(self) -> str:
        """Markdown: no twin, which GIL builds were found, why none is one, how to get one."""
        free = self.free
        text = (f"**Not measured:** what free-threading costs one thread needs a GIL build of "
                f"the same source and options as {free.label} (`{free.path}`). None was found, "
                f"and a different build would measure its own differences instead.\n\n")
        if self.rejected:
            text += "GIL builds found, and why none is its twin:\n" + "".join(
                f"- {other.label} at `{other.executable or other.path}`: {why}\n"
                for other, why in self.rejected)
        else:
            text += f"No GIL build of Python {free.minor} was found at all.\n"
        return text + "\n" + how_to_get_twin(free)


def how_to_get_twin(free: Interpreter) -> str:
    """Ways to get a GIL build of the same source and options as ``free``."""
    return (f"To get one: on Linux `make free-threaded` builds CPython 3.13 twice from one "
            f"Debian source package, with and without the GIL (as root on Debian/Ubuntu). "
            f"Elsewhere, install the GIL build of exactly {free.version} from the same place "
            f"as the free-threaded one — the python.org installer (one package holds both), "
            f"`uv python install {free.version}` beside `{free.version}t`, or conda-forge's "
            f"`python={free.version}` beside `python-freethreading` — and, if it is not "
            f"found, point `{GIL_ENV}` at it. This cell checks that the pair match.")


def twin_candidates(free: Interpreter) -> list[str]:
    """Where a GIL twin of ``free`` may be, in the order :func:`find_twin` tries them:
    ``LAB_GIL_PYTHON``; ``make free-threaded``'s twin in its cache; ``python3.X`` on
    ``PATH``; pyenv; then beside ``free`` in its own installation tree —
    its ``bin`` folder (Windows: ``python.exe``) and the installations next to it (uv keeps
    ``cpython-3.14.0-…`` beside ``cpython-3.14.0+freethreaded-…``, conda its envs)."""
    minor = free.minor
    found = [os.environ.get(GIL_ENV, ""),
             str(cache_dir() / f"python{minor}-gil" / "bin" / f"python{minor}")]
    found.append(shutil.which(f"python{minor}") or "")
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    found += [str(p) for p in sorted(pyenv.glob(f"{minor}.*/bin/python{minor}"))]
    root = Path(free.base_prefix) if free.base_prefix else Path(free.path).parent.parent
    found += [str(root / "bin" / f"python{minor}"), str(root / "python.exe")]
    if root.parent != root:
        found += [str(p) for p in sorted(root.parent.glob(f"*/bin/python{minor}"))]
    return [path for path in found if path]


def find_twin(free: Interpreter) -> TwinSearch:
    """The first GIL build among :func:`twin_candidates` with the same release, compiler and
    build options as ``free`` (:func:`why_not_twin`), and every other GIL build seen."""
    own = {_file_id(free.path), _file_id(free.executable)} - {None}
    seen, rejected = set(own), []
    for path in twin_candidates(free):
        key = _file_id(path)
        if key is None or key in seen:
            continue
        seen.add(key)
        other = probe(path)
        if (other is None or other.free_threaded or other.minor != free.minor
                or _file_id(other.executable) in own):
            continue
        why = why_not_twin(free, other)
        if why is None:
            return TwinSearch(free, other, tuple(rejected))
        if all(_file_id(r.executable or r.path) != _file_id(other.executable or other.path)
               for r, _ in rejected):
            rejected.append((other, why))
    return TwinSearch(free, None, tuple(rejected))


def _file_id(path: str) -> tuple[int, int] | None:
    """(device, inode): the same file under two names (a symlink, a hard link) is one."""
    try:
        stat = os.stat(path) if path else None
    except OSError:
        return None
    return (stat.st_dev, stat.st_ino) if stat else None


def other_python_env(gil: bool | None = None) -> dict[str, str]:
    """This process's environment, minus anything that would mislead another Python."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONHOME", "PYTHONPATH", "VIRTUAL_ENV", "PYTHON_GIL")}
    env["PYTHONPATH"] = str(ROOT)  # the helpers package, as source
    if gil is not None:
        env["PYTHON_GIL"] = "1" if gil else "0"
    return env


def run_cli(interpreter: Interpreter, args: list[str], gil: bool | None = None,
            timeout: float = TIMEOUT) -> dict:
    """``python -m helpers.core.measure_cli ARGS`` in ``interpreter``; its JSON, as a dict.

    ``gil``: ``False`` sets ``PYTHON_GIL=0``, ``True`` sets ``PYTHON_GIL=1``, ``None``
    leaves the interpreter's default. Raises ``RuntimeError`` with its stderr if it fails.
    """
    done = subprocess.run([interpreter.path, "-m", "helpers.core.measure_cli", *args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env=other_python_env(gil))
    if done.returncode != 0:
        raise RuntimeError(f"{interpreter.label} failed ({done.returncode}):\n"
                           f"{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["stderr"] = done.stderr
    return result


def run_from_json(data: dict) -> RunResult:
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
    workers = require_int("workers", workers, 1, 16)
    repeats = require_int("repeats", int(default(3, 1)) if repeats is None else repeats, 1, 20)
    if interpreter is None:
        from helpers.core.experiments import compare

        return compare(spec.name, ("serial", "threads"), size=size, tasks=workers,
                       workers=workers, repeats=repeats)
    data = run_cli(interpreter, ["compare", spec.name, str(size), "--tasks", str(workers),
                                 "--workers", str(workers), "--repeats", str(repeats)], gil)
    runs = {name: run_from_json(run) for name, run in data["runs"].items()}
    return Comparison(runs, effective_cpus=effective_cpu_count())


def race_in(interpreter: Interpreter, gil: bool | None, increment: str = "plain +=",
            threads: int = 4, times: int | None = None) -> Race:
    """Count lost updates of one increment (:mod:`helpers.shared_state.races`) in
    ``interpreter``."""
    require_choice("increment", increment, INCREMENTS)
    times = default_times(increment) if times is None else times
    arguments = json.dumps([increment, threads, times])
    data = run_cli(interpreter, ["call", "helpers.shared_state.races:race", arguments], gil)
    return Race(**data["returned"])


def gil_after_import(interpreter: Interpreter, module: str = "_cffi_backend") -> str:
    """Import ``module`` in ``interpreter`` (no ``PYTHON_GIL`` set) and report what happened
    to the GIL — the RuntimeWarning an extension without free-threading support causes."""
    if not isinstance(module, str) or not all(p.isidentifier() for p in module.split(".")):
        raise ValueError(f"module must be a dotted module name, got {module!r}")
    code = (f"import sys, warnings; warnings.simplefilter('always')\n"
            f"try:\n    import {module}\nexcept ImportError:\n    print('missing')\n"
            f"else:\n    print('gil on' if sys._is_gil_enabled() else 'gil off')")
    done = subprocess.run([interpreter.path, "-c", code], capture_output=True, text=True,
                          timeout=60, env=other_python_env(None))
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
                       size: int | None = None, pairs: int | None = None) -> SingleThreadCost:
    """Time one serial task of ``workload`` in ``free`` (``PYTHON_GIL=0``) and in ``twin``,
    ``pairs`` times each, alternating (:func:`helpers.core.pairs.interleaved`): this machine's
    speed drifts, and side by side both builds meet the same drift. Each run is a fresh
    ``python -m helpers.core.measure_cli`` running one serial task (the runner warms up first)."""
    spec = get_workload(workload)
    size = spec.check_size(work_size(spec.name) if size is None else size)
    pairs = require_int("pairs", int(default(5, 3)) if pairs is None else pairs, 2, 20)
    args = ["compare", spec.name, str(size), "--executors", "serial", "--tasks", "1",
            "--workers", "1", "--repeats", "1"]

    def serial(interpreter: Interpreter, gil: bool | None):
        return lambda: run_from_json(run_cli(interpreter, args, gil)["runs"]["serial"])

    # PYTHON_GIL=0 only where it means something: a GIL build from 3.13 on refuses to start
    # with it ("Disabling the GIL is not supported by this build").
    off = False if free.free_threaded else None
    on_free, on_twin = interleaved(pairs, serial(free, off), serial(twin, None))
    return SingleThreadCost(free.label, twin.label, spec.name, size,
                            tuple(r.wall for r in on_free), tuple(r.wall for r in on_twin),
                            tuple(r.cpu for r in on_free), tuple(r.cpu for r in on_twin))


WAITED = 0.9  # CPU time ÷ wall time below this: a single thread waited for a CPU


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
    if cost.cpus_busy < WAITED:
        return text + (f"The runs kept only {cost.cpus_busy:.2f} of a CPU busy: they waited for "
                       "one, so other programs were busy and this measurement is disturbed. "
                       "Run the cell again on a quieter machine.")
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

        from helpers.core.controls import bounded_slider

        self.interpreter = interpreter
        most = max(2, min(8, 2 * effective_cpu_count()))
        self.workload = widgets.Dropdown(
            options=[(f"{name} ({get_workload(name).behaviour})", name)
                     for name in self.WORKLOADS],
            value=require_choice("workload", workload, self.WORKLOADS), description="workload")
        self.threads = bounded_slider("threads", threads, 2, most)
        self.scale = bounded_slider(f"work per task (× {WORK_SCALE} × default)", 1, 1, 4)
        self.results: dict[str, Comparison] = {}
        super().__init__([widgets.HBox([self.workload]), self.threads, self.scale])

    def run(self) -> dict[str, Comparison] | None:
        return self.guarded(self._measure)

    def _measure(self, on_progress) -> dict[str, Comparison]:
        from helpers.core.plots import plot_speedup_by_workload

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
