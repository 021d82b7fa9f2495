#!/usr/bin/env python3
"""Run the unit tests and the notebook suite on every Python 3.10-3.15 found, each in its own venv.

    python3 tools/test_versions.py                  # every version found, every start method
    python3 tools/test_versions.py --list           # only show what would run
    python3 tools/test_versions.py --oldest-newest --start-methods default   # what CI runs

Interpreters come from ``LAB_PYTHONS`` (space-separated paths or command names; every one
given is run) or else from every ``$PYENV_ROOT/versions/*/bin/python`` (default
``~/.pyenv``), every ``python3.1X`` / ``python3.1Xt`` in the lab's cache (``make pythons``
puts 3.14 and 3.15 there: ``$LAB_PY_CACHE/bin``, default ``~/.cache/concurrency-lab/bin``)
and on PATH. Each is asked what it is; only CPython 3.10-3.15 with a working ``venv`` is
kept, one per minor version (the highest
patch release; a free-threaded build, e.g. ``3.13t``, is a version of its own).

Each gets ``.venvs/py3.X`` (git-ignored), set up with ``pip install -r requirements-test.txt``
and ``pip install --no-deps -e .`` -- again only when the requirements files, pyproject.toml or
the interpreter changed (a stamp file holds their hash). Then, in quick mode, ``pytest``
runs everything in ``tests/`` except the real-browser tests: the unit tests, the notebook
file checks and every notebook under each start method (``--start-methods`` narrows that).
Logs: ``test-artifacts/versions/py3.X.log``. A table sums up; the exit status is 1 when any
interpreter failed, 2 when none was found. Every step is bounded by ``--timeout`` minutes
per interpreter; at the limit pytest is interrupted first (Ctrl-C), so the log says which
test was running and which were slowest (``--durations``), then everything is killed.
Standard library only; runs on Python 3.8+.
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENVS = ROOT / ".venvs"
LOGS = ROOT / "test-artifacts" / "versions"
SUPPORTED = ((3, 10), (3, 15))  # inclusive: the versions the project supports
START_METHODS = ("fork", "spawn", "forkserver")
PROBE_TIMEOUT = 30  # seconds
INTERRUPT_GRACE = 60.0  # seconds for pytest to report after Ctrl-C at the time limit
LOCK_WAIT = 45 * 60  # seconds to wait for another run of this tool

# Written so that Python 2 can run it too: an old interpreter then says what it is.
PROBE = """\
import json, os, platform, sys, sysconfig
info = {"implementation": platform.python_implementation(),
        "version": list(sys.version_info[:3]),
        "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "executable": os.path.realpath(sys.executable)}
try:
    import multiprocessing
    info["default_method"] = multiprocessing.get_start_method()
except Exception:
    info["default_method"] = None
try:
    import ensurepip, venv
    info["has_venv"] = True
except Exception:
    info["has_venv"] = False
print(json.dumps(info))
"""


@dataclass
class Interpreter:
    """One interpreter as it described itself (or why it could not)."""

    path: str  # as found: a pyenv path, a PATH entry, a LAB_PYTHONS entry
    executable: str = ""  # the real file, which the venv is built from
    implementation: str = ""
    version: tuple = ()
    free_threaded: bool = False
    default_method: str | None = None
    has_venv: bool = False
    problem: str = ""  # why it is not used; empty when it is

    @property
    def key(self) -> str:
        """``3.12`` or ``3.13t``: one venv and one table row each."""
        return f"{self.version[0]}.{self.version[1]}{'t' if self.free_threaded else ''}"

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version)) + ("t" if self.free_threaded else "")

    @property
    def order(self) -> tuple:
        """Sort key: minor version, then a free-threaded build after its GIL twin, then patch."""
        return (tuple(self.version[:2]), self.free_threaded, tuple(self.version[2:]))


@dataclass
class Outcome:
    interpreter: Interpreter
    result: str = "not run"
    passed: bool = False
    setup_seconds: float = 0.0
    test_seconds: float = 0.0
    detail: str = ""
    log: Path | None = None


# ---------------------------------------------------------------- discovery and selection

def cache_bin(environ=None) -> str:
    """Where ``make pythons`` (tools/newest_pythons.sh) links the interpreters it provides."""
    environ = os.environ if environ is None else environ
    cache = environ.get("LAB_PY_CACHE") or os.path.expanduser("~/.cache/concurrency-lab")
    return os.path.join(cache, "bin")


def candidate_paths(environ=None, pyenv_root: str | None = None) -> tuple[list[str], bool]:
    """Paths to ask, in order of preference, and whether they were given explicitly.

    ``LAB_PYTHONS`` (space-separated paths or command names) wins; otherwise every pyenv
    version, then every ``python3.1X``/``python3.1Xt`` in the lab's cache (``make pythons``)
    and on PATH. Duplicates are removed
    later, by the real path each interpreter reports.
    """
    environ = os.environ if environ is None else environ
    explicit = environ.get("LAB_PYTHONS", "").split()
    if explicit:
        found = [shutil.which(name, path=environ.get("PATH")) or name for name in explicit]
        return found, True
    root = pyenv_root or environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    paths = sorted(glob.glob(os.path.join(root, "versions", "*", "bin", "python")))
    for folder in [cache_bin(environ)] + environ.get("PATH", "").split(os.pathsep):
        names = glob.glob(os.path.join(folder, "python3.1[0-9]"))
        names += glob.glob(os.path.join(folder, "python3.1[0-9]t"))
        paths += sorted(n for n in names if os.access(n, os.X_OK))
    return paths, False


def probe(path: str) -> Interpreter:
    """Ask one interpreter what it is; a failure becomes ``problem``, never an exception."""
    found = Interpreter(path=path)
    try:
        answer = subprocess.run([path, "-E", "-s", "-c", PROBE], capture_output=True, check=False,
                                text=True, timeout=PROBE_TIMEOUT, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as error:
        found.problem = f"does not run: {error}"
        return found
    if answer.returncode != 0:
        said = [line.strip() for line in answer.stderr.splitlines() if line.strip()]
        found.problem = f"does not run: {said[0] if said else answer.returncode}"[:120]
        return found
    try:
        info = json.loads(answer.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        found.problem = "gave no answer to the probe"
        return found
    found.executable = info["executable"]
    found.implementation = info["implementation"]
    found.version = tuple(info["version"])
    found.free_threaded = info["free_threaded"]
    found.default_method = info["default_method"]
    found.has_venv = info["has_venv"]
    return found


def check_supported(found: Interpreter) -> str:
    """Why this interpreter cannot be used ('' when it can)."""
    if found.problem:
        return found.problem
    low, high = SUPPORTED
    if found.implementation != "CPython":
        return f"{found.implementation}, not CPython"
    if not low <= tuple(found.version[:2]) <= high:
        return f"{found.version_text} is outside {low[0]}.{low[1]}-{high[0]}.{high[1]}"
    if not found.has_venv:
        major, minor = found.version[:2]
        return f"has no venv/ensurepip (Debian: apt-get install python{major}.{minor}-venv)"
    return ""


def select(found: list[Interpreter], explicit: bool) -> list[Interpreter]:
    """The interpreters to run, oldest first; marks every other one with ``problem``.

    The same real file found twice (a pyenv shim, a symlink) runs once. Interpreters that
    were listed explicitly all run; discovered ones run once per version key
    (``3.12``, ``3.13t``), the highest patch release winning, the first found on a tie.
    """
    chosen: dict[str, Interpreter] = {}
    seen: dict[str, Interpreter] = {}
    for item in found:
        item.problem = check_supported(item)
        if item.problem:
            continue
        if item.executable in seen:
            item.problem = f"same interpreter as {seen[item.executable].path}"
            continue
        seen[item.executable] = item
        slot = item.executable if explicit else item.key
        best = chosen.get(slot)
        if best is None or item.version > best.version:
            if best is not None:
                best.problem = f"{item.version_text} is newer ({item.path})"
            chosen[slot] = item
        else:
            item.problem = f"{best.version_text} is newer ({best.path})"
    return sorted(chosen.values(), key=lambda item: item.order)


def oldest_newest(selected: list[Interpreter]) -> list[Interpreter]:
    """The lowest and the highest version (one entry when only one was found)."""
    ordered = sorted(selected, key=lambda item: item.order)
    return ordered[:1] + ordered[-1:] if len(ordered) > 1 else ordered


def start_methods_for(choice: str, interpreter: Interpreter) -> list[str] | None:
    """``all`` -> None (no filtering); ``default`` -> the interpreter's own; else a list."""
    if choice == "all":
        return None
    if choice == "default":
        return [interpreter.default_method or "spawn"]
    methods = [m.strip() for m in choice.split(",") if m.strip()]
    unknown = [m for m in methods if m not in START_METHODS]
    if unknown or not methods:
        raise ValueError(f"--start-methods: {choice!r}; use all, default, or a comma-separated "
                         f"list of {', '.join(START_METHODS)}")
    return methods


class OnlyStartMethods:
    """pytest plugin: run notebooks only under the start methods in ``methods``.

    Deselects the tests parametrized with both ``notebook`` and ``method`` (whole
    notebooks, the slow part) whose method is not listed. Used inside each venv (see
    ``BOOTSTRAP``) so that CI can run every notebook under one start method per version;
    every other test, unit tests parametrized by start method included, runs as usual.
    """

    def __init__(self, methods: str):
        self.methods = set(methods.split(","))

    def pytest_collection_modifyitems(self, config, items):
        keep, drop = [], []
        for item in items:
            params = getattr(getattr(item, "callspec", None), "params", {})
            method = params.get("method")
            if "notebook" in params and method is not None and method not in self.methods:
                drop.append(item)
            else:
                keep.append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep


# Runs pytest inside a venv with the plugin above, loaded from this very file.
BOOTSTRAP = """\
import importlib.util, sys
spec = importlib.util.spec_from_file_location("lab_test_versions", sys.argv[1])
tool = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tool)
import pytest
sys.exit(pytest.main(sys.argv[3:], plugins=[tool.OnlyStartMethods(sys.argv[2])]))
"""


# ---------------------------------------------------------------- bounded subprocesses

class TimedOut(Exception):
    pass


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc; elsewhere an empty list)."""
    children: dict[int, list[int]] = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.split("/")[2]))
        except (OSError, IndexError, ValueError):
            continue
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill_tree(process: subprocess.Popen) -> None:
    victims = _descendants(process.pid)
    if os.name == "posix":
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except OSError:
            pass
    for pid in victims:  # kernels and workers in sessions of their own
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    try:
        process.kill()
        process.wait(timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        pass


def _hear_interrupts() -> None:
    """In the child, before it runs: Ctrl-C back to its default. A job started in the
    background (``cmd &``, as CI may start this) inherits SIGINT *ignored*, and Python keeps
    it ignored: :func:`_interrupt` would then reach nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt(process: subprocess.Popen, grace: float = INTERRUPT_GRACE) -> None:
    """Ctrl-C to ``process`` alone (POSIX), and up to ``grace`` s for it to end: pytest
    then prints the test it was running, the durations so far and its summary."""
    if os.name != "posix":
        return
    try:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=grace)
    except (OSError, subprocess.TimeoutExpired):
        pass


def run_bounded(command, deadline: float, log, prefix: str = "", echo: bool = False, env=None):
    """Run ``command`` in ROOT, appending its output to ``log``; return (exit code, output).

    Raises TimedOut (after killing the whole process tree) once ``deadline`` passes.
    ``echo`` streams each line to stdout with ``prefix``.
    """
    log.write(f"\n$ {' '.join(map(str, command))}\n")
    log.flush()
    lines: list[str] = []
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               errors="replace", start_new_session=(os.name == "posix"),
                               preexec_fn=_hear_interrupts if os.name == "posix" else None)

    def pump():
        for line in process.stdout:
            lines.append(line)
            log.write(line)
            if echo:
                sys.stdout.write(prefix + line)
                sys.stdout.flush()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        process.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        _interrupt(process)  # pytest then prints where it was and its slowest tests
        _kill_tree(process)
        reader.join(timeout=10)
        raise TimedOut(" ".join(map(str, command[:4])))
    except BaseException:  # Ctrl-C: the child is in its own session, so stop it here
        _kill_tree(process)
        raise
    reader.join(timeout=30)
    log.flush()
    return process.returncode, "".join(lines)


# ---------------------------------------------------------------- one interpreter

def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def wanted_stamp(interpreter: Interpreter) -> dict:
    digest = hashlib.sha256()
    for name in ("requirements.txt", "requirements-test.txt", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return {"inputs": digest.hexdigest(), "interpreter": interpreter.executable,
            "version": interpreter.version_text, "source": str(ROOT)}


def what_to_do(venv: Path, wanted: dict, recreate: bool = False) -> str:
    """``create`` (new or from another interpreter), ``update`` (inputs changed) or ``ok``."""
    python = venv_python(venv)
    try:
        have = json.loads((venv / ".installed").read_text())
    except (OSError, ValueError):
        have = {}
    if recreate or not python.exists():
        return "create"
    if any(have.get(k) != wanted[k] for k in ("interpreter", "version", "source")):
        return "create"
    return "ok" if have == wanted else "update"


def set_up(interpreter: Interpreter, venv: Path, deadline: float, log, recreate: bool) -> str:
    """Create or update the venv when needed; return what was done. Raises on failure."""
    wanted = wanted_stamp(interpreter)
    action = what_to_do(venv, wanted, recreate)
    if action == "ok":
        return "venv up to date"
    stamp = venv / ".installed"
    if stamp.exists():
        stamp.unlink()
    python = str(venv_python(venv))
    pip = [python, "-m", "pip", "install", "--quiet", "--prefer-binary"]
    steps = []
    if action == "create":
        steps.append([interpreter.executable, "-m", "venv", "--clear", str(venv)])
    steps += [pip + ["--upgrade", "pip"],
              pip + ["-r", "requirements-test.txt"],  # the lab's pins and the test tools
              pip + ["--no-deps", "-e", "."]]
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    for step in steps:
        code, output = run_bounded(step, deadline, log, env=env)
        if code != 0:
            lines = output.strip().splitlines()
            lines = [line for line in lines if not line.startswith("WARNING:")] or lines
            what = step[step.index("install"):] if "install" in step else step[1:]
            what = " ".join(what).replace("--quiet --prefer-binary ", "")
            tail = "\n".join(lines[-25:])
            raise RuntimeError(f"`{what}` failed (exit {code}):\n{tail}")
    stamp.write_text(json.dumps(wanted, indent=1))
    return "venv created" if action == "create" else "venv updated (requirements changed)"


def pytest_command(python: str, methods: list[str] | None) -> list[str]:
    args = ["-q", "-p", "no:cacheprovider", "--durations=15", "--ignore=tests/browser",
            "tests"]
    if methods is None:
        return [python, "-m", "pytest"] + args
    return [python, "-c", BOOTSTRAP, str(Path(__file__).resolve()), ",".join(methods)] + args


def summary_line(output: str) -> str:
    """pytest's closing line, e.g. ``297 passed, 9 deselected in 97.1s``."""
    for line in reversed(output.strip().splitlines()):
        if " in " in line and any(w in line for w in ("passed", "failed", "error", "skipped",
                                                      "deselected", "no tests ran")):
            return line.strip("= ").strip()
    return ""


def run_one(interpreter: Interpreter, args) -> Outcome:
    outcome = Outcome(interpreter)
    tag = f"[{interpreter.key}] "
    venv = VENVS / ("py" + interpreter.key)
    LOGS.mkdir(parents=True, exist_ok=True)
    outcome.log = LOGS / f"py{interpreter.key}.log"
    deadline = time.monotonic() + args.timeout * 60
    methods = start_methods_for(args.start_methods, interpreter)
    with open(outcome.log, "w") as log:
        print(f"{tag}{interpreter.version_text} ({interpreter.executable}) -> "
              f"{venv.relative_to(ROOT)}", flush=True)
        started = time.monotonic()
        try:
            done = set_up(interpreter, venv, deadline, log, args.recreate)
            outcome.setup_seconds = time.monotonic() - started
            print(f"{tag}{done} ({outcome.setup_seconds:.0f} s)", flush=True)
        except TimedOut:
            outcome.setup_seconds = time.monotonic() - started
            outcome.result = "TIMEOUT"
            outcome.detail = f"venv setup passed the {args.timeout:g} min limit"
            return outcome
        except (RuntimeError, OSError) as error:
            outcome.setup_seconds = time.monotonic() - started
            outcome.result = "SETUP FAILED"
            outcome.detail = str(error).splitlines()[0]
            print(f"{tag}setup failed: {error}", flush=True)
            return outcome
        env = {**os.environ, "LAB_QUICK": "1", "VIRTUAL_ENV": str(venv),
               "PATH": str(venv_python(venv).parent) + os.pathsep + os.environ.get("PATH", "")}
        env.pop("PYTHONHOME", None)
        command = pytest_command(str(venv_python(venv)), methods)
        under = "every start method" if methods is None else ", ".join(methods)
        print(f"{tag}tests: pytest {' '.join(command[-4:])}, notebooks under {under}", flush=True)
        started = time.monotonic()
        try:
            code, output = run_bounded(command, deadline, log, prefix=tag, echo=not args.quiet,
                                       env=env)
        except TimedOut:
            outcome.test_seconds = time.monotonic() - started
            outcome.result = "TIMEOUT"
            outcome.detail = f"tests passed the {args.timeout:g} min limit"
            return outcome
        outcome.test_seconds = time.monotonic() - started
        outcome.detail = summary_line(output)
        outcome.passed = code == 0
        outcome.result = "passed" if code == 0 else f"FAILED (exit {code})"
        if code != 0 and args.quiet:
            print("".join(tag + line for line in output.splitlines(True)[-60:]), flush=True)
    return outcome


# ---------------------------------------------------------------- command line

def print_table(rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def lock_venvs():
    """Hold ``.venvs/.lock`` so that two runs do not build the same venv at once."""
    VENVS.mkdir(exist_ok=True)
    handle = open(VENVS / ".lock", "w")  # noqa: SIM115 (held until the run ends)
    waiting = False
    try:
        import fcntl
    except ImportError:  # Windows: no locking
        return handle
    give_up = time.monotonic() + LOCK_WAIT
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except OSError:
            if time.monotonic() > give_up:
                handle.close()
                raise SystemExit(f"another test_versions run still holds {VENVS / '.lock'}")
            if not waiting:
                print("waiting for another test_versions run to finish ...", flush=True)
                waiting = True
            time.sleep(2)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--list", action="store_true", help="show what would run, run nothing")
    parser.add_argument("--oldest-newest", action="store_true",
                        help="only the lowest and the highest version found (what CI runs)")
    parser.add_argument("--start-methods", default="all", metavar="WHICH",
                        help="notebooks under: all (default), default (each interpreter's "
                             "own), or a list such as fork,spawn")
    parser.add_argument("--timeout", type=float, default=25, metavar="MIN",
                        help="limit per interpreter, venv setup included (default 25; "
                             "the suite takes 13-15 min on a quiet 2-CPU machine)")
    parser.add_argument("--recreate", action="store_true", help="rebuild every venv")
    parser.add_argument("--quiet", action="store_true",
                        help="do not stream pytest's output; show its tail on failure")
    args = parser.parse_args(argv)

    paths, explicit = candidate_paths()
    found = [probe(path) for path in paths]
    selected = select(found, explicit)
    chosen = oldest_newest(selected) if args.oldest_newest else selected
    for item in selected:
        if item not in chosen:
            item.problem = "not oldest or newest (--oldest-newest)"
    try:
        for item in chosen:
            start_methods_for(args.start_methods, item)
    except ValueError as error:
        parser.error(str(error))

    print(f"Interpreters ({'LAB_PYTHONS' if explicit else 'pyenv, the lab cache and PATH'}):")
    rows = [["", "version", "found at", "note"]]
    for item in found:
        rows.append(["run" if item in chosen else "-", item.version_text or "?", item.path,
                     item.problem or f"default start method: {item.default_method}"])
    print_table(rows)
    if not chosen:
        (low_major, low_minor), (high_major, high_minor) = SUPPORTED
        print(f"No CPython {low_major}.{low_minor}-{high_major}.{high_minor} found. Install one "
              "(make pythons, pyenv install 3.12) or set LAB_PYTHONS='/path/to/python3.12 ...'.")
        return 2
    if args.list:
        return 0

    lock = lock_venvs()
    outcomes = []
    try:
        for item in chosen:
            print(flush=True)
            outcomes.append(run_one(item, args))
    finally:
        lock.close()

    print(f"\nSummary (logs in {LOGS.relative_to(ROOT)}):")
    rows = [["python", "version", "result", "setup s", "tests s", "pytest"]]
    for o in outcomes:
        rows.append([o.interpreter.key, o.interpreter.version_text, o.result,
                     f"{o.setup_seconds:.0f}", f"{o.test_seconds:.0f}", o.detail])
    print_table(rows)
    passed = sum(o.passed for o in outcomes)
    # A plain closing line that CI log readers count.
    print(f"versions: {passed} passed, {len(outcomes) - passed} failed")
    return 0 if passed == len(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
