"""Other Pythons on this machine: where to look, what each one is, and running the lab there.

Notebook 07 measures in Pythons other than its kernel: a free-threaded build, the GIL build
that is that build's like-for-like *twin*, and a Python 3.14+ for subinterpreters; notebook
03 looks for a Python 3.15+, whose sampling profiler sees the GIL. Every search goes the
same way. :func:`candidates` lists the paths worth asking for what is
:class:`Wanted`, in order: first the path an environment variable names (an explicit choice
always wins), then the places where such a Python is usually installed. :func:`probe` starts
each one to ask what it is (an :class:`Interpreter`) — the only reliable way: a file called
``python3.14`` may be anything. Then :func:`run_cli` runs the lab's own runner there
(:mod:`helpers.core.measure_cli`) and returns its JSON.

Where is a free-threaded one? :func:`find_free_threaded` looks, in order, at
``LAB_FT_PYTHON``, the project's ``.venv-ft`` (``make free-threaded``), ``python3.15t`` /
``python3.14t`` / ``python3.13t`` on ``PATH``, and the build cache of ``make free-threaded``
(newest first). :data:`HOW_TO_GET_FREE_THREADED` says how to get one on your own machine.

Which GIL build is its twin? Only the same source built with the same options, once with
``--disable-gil`` and once without. Another patch release, or the same release compiled with
other options (profile-guided optimisation, ``--enable-shared``, another compiler), differs by
as much as free-threading costs, in either direction. :func:`find_twin` takes the first GIL
build :func:`why_not_twin` finds nothing against, and keeps every other one it saw with the
reason it is not the twin (:class:`TwinSearch`).

The lab's own cache, ``$LAB_PY_CACHE`` (default ``~/.cache/concurrency-lab``), holds what
``make free-threaded`` builds and what ``make pythons`` unpacks.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from helpers.core.noise import MachineLoad, watch_load
from helpers.core.runner import RunResult, TaskRecord
from helpers.core.settings import SOURCE_ROOT

ROOT = SOURCE_ROOT
FT_ENV = "LAB_FT_PYTHON"  # a free-threaded Python to use
GIL_ENV = "LAB_GIL_PYTHON"  # a GIL twin to use; it must still pass the like-for-like check
CACHE_ENV = "LAB_PY_CACHE"  # the lab's cache: make free-threaded's builds, make pythons' 3.14+
FREE_THREADED_NAMES = ("python3.15t", "python3.14t", "python3.13t")  # looked for on PATH
PROBE = ("import sys, sysconfig, json, platform; print(json.dumps({"
         "'version': sys.version.split()[0], "
         "'free_threaded': bool(sysconfig.get_config_var('Py_GIL_DISABLED')), "
         "'config_args': sysconfig.get_config_var('CONFIG_ARGS'), "
         "'compiler': platform.python_compiler(), 'base_prefix': sys.base_prefix, "
         "'executable': sys.executable}))")
TIMEOUT = 300.0

HOW_TO_GET_FREE_THREADED = """\
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


def require_interpreter(name: str, value: object, none_means: str | None = None
                        ) -> Interpreter | None:
    """``value`` if it is an :class:`Interpreter` (or ``None`` where ``none_means`` says what
    ``None`` stands for); ``TypeError`` naming the parameter otherwise — a path or a name
    like ``"python"`` is not one: :func:`probe` turns a path into one."""
    if isinstance(value, Interpreter) or (value is None and none_means):
        return value
    allowed = "an Interpreter (from other_pythons.probe(path) or find_free_threaded())"
    raise TypeError(f"{name} must be {allowed}" + (f", or None for {none_means}" if none_means
                                                  else "") + f", got {value!r:.60}")


def ask(path: str | os.PathLike | None, code: str, timeout: float = 30.0) -> dict | None:
    """Run ``code`` (which prints one line of JSON last) in the Python at ``path``; what it
    printed, or ``None`` if that Python is missing, fails or does not answer in time."""
    if not path or not Path(path).is_file():
        return None
    try:
        done = subprocess.run([str(path), "-c", code], capture_output=True, text=True,
                              timeout=timeout, env=other_python_env())
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def probe(path: str | os.PathLike | None) -> Interpreter | None:
    """Ask the Python at ``path`` what it is; ``None`` if it is missing or does not answer."""
    facts = ask(path, PROBE)
    if facts is None:
        return None
    return Interpreter(str(path), facts["version"], facts["free_threaded"],
                       facts.get("config_args"), facts.get("compiler", ""),
                       facts.get("base_prefix", ""), facts.get("executable", ""))


# --- where to look ----------------------------------------------------------------------

@dataclass(frozen=True)
class Wanted:
    """What a search is after — exactly one of: a ``free_threaded`` build; a GIL build of
    the same minor version as ``twin_of`` (whether it really is its twin, :func:`find_twin`
    checks); or any build of version ``at_least`` (3, 10) … (3, 19).

    ``override`` names the environment variable whose path is asked first."""

    override: str
    free_threaded: bool = False
    twin_of: Interpreter | None = None
    at_least: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if sum((self.free_threaded, self.twin_of is not None, self.at_least is not None)) != 1:
            raise ValueError("Wanted needs exactly one of free_threaded, twin_of and at_least, "
                             f"got {self!r}")
        if self.at_least is not None:
            pair = isinstance(self.at_least, tuple) and len(self.at_least) == 2
            major, minor = self.at_least if pair else (None, None)
            if major != 3 or not isinstance(minor, int) or not 10 <= minor <= 19:
                raise ValueError(f"at_least must be (3, 10) to (3, 19), got {self.at_least!r}")


FREE_THREADED = Wanted(FT_ENV, free_threaded=True)


def gil_twin(free: Interpreter) -> Wanted:
    """What :func:`find_twin` looks for: a GIL build of ``free``'s minor version."""
    return Wanted(GIL_ENV, twin_of=free)


def candidates(wanted: Wanted, environ: Mapping[str, str] | None = None,
               home: Path | None = None) -> list[str]:
    """Paths to ask for ``wanted``, in the order the searches ask them: the path
    ``$wanted.override`` names, then where such a Python is usually installed — read from
    ``environ`` (default: this process's environment) and ``home`` (default: yours).

    - free-threaded: the project's ``.venv-ft``; ``python3.15t`` / ``3.14t`` / ``3.13t`` on
      ``PATH``; ``make free-threaded``'s builds in the lab's cache, newest first.
    - a GIL twin of a ``python3.X`` build: ``make free-threaded``'s twin in the lab's cache;
      ``python3.X`` on ``PATH``; pyenv; then beside the free-threaded build in its own
      installation tree — its ``bin`` folder (Windows: ``python.exe``) and the installations
      next to it (uv keeps ``cpython-3.14.0-…`` beside ``cpython-3.14.0+freethreaded-…``,
      conda its envs).
    - at least a version: ``python3.1X`` then ``python3.1Xt`` in each folder on ``PATH`` and
      in the lab's cache (``$LAB_PY_CACHE/bin``, from ``make pythons``); pyenv's versions;
      uv's Pythons. Newest version first within each place.

    A path may name a missing file, or a file listed before under another name: asking
    (:func:`probe`) tells. Only empty entries are left out.
    """
    env = os.environ if environ is None else environ
    home = Path.home() if home is None else home
    if wanted.twin_of is not None:
        places = _twin_places(wanted.twin_of, env, home)
    elif wanted.at_least is not None:
        places = _version_places(wanted.at_least, env, home)
    else:
        places = _free_threaded_places(env, home)
    return [path for path in [env.get(wanted.override, ""), *places] if path]


def cache_dir(environ: Mapping[str, str] | None = None, home: Path | None = None) -> Path:
    """The lab's cache outside the repo (``$LAB_PY_CACHE``, default
    ``~/.cache/concurrency-lab``): ``make free-threaded`` builds there, ``make pythons``
    unpacks 3.14 and 3.15 there."""
    env = os.environ if environ is None else environ
    home = Path.home() if home is None else home
    return Path(env.get(CACHE_ENV) or home / ".cache" / "concurrency-lab")


def _free_threaded_places(env: Mapping[str, str], home: Path) -> list[str]:
    found = [str(ROOT / ".venv-ft" / "bin" / "python")]
    found += _on_path(FREE_THREADED_NAMES, env)
    return found + _newest_first(cache_dir(env, home).glob("python3.*t/bin/python3.*t"))


def _twin_places(free: Interpreter, env: Mapping[str, str], home: Path) -> list[str]:
    minor = free.minor
    found = [str(cache_dir(env, home) / f"python{minor}-gil" / "bin" / f"python{minor}")]
    found += _on_path([f"python{minor}"], env)
    found += [str(p) for p in sorted(_pyenv(env, home).glob(f"{minor}.*/bin/python{minor}"))]
    root = Path(free.base_prefix) if free.base_prefix else Path(free.path).parent.parent
    found += [str(root / "bin" / f"python{minor}"), str(root / "python.exe")]
    if root.parent != root:
        found += [str(p) for p in sorted(root.parent.glob(f"*/bin/python{minor}"))]
    return found


def _version_places(at_least: tuple[int, int], env: Mapping[str, str], home: Path
                    ) -> list[str]:
    versions = f"3.1[{at_least[1] - 10}-9]"  # (3, 14) -> 3.1[4-9]: 3.14 to 3.19
    folders = [Path(p) for p in env.get("PATH", "").split(os.pathsep) if p]
    folders.append(cache_dir(env, home) / "bin")
    found = []
    for folder in folders:
        found += _newest_first(folder.glob(f"python{versions}")) + _newest_first(
            folder.glob(f"python{versions}t"))
    found += _newest_first(_pyenv(env, home).glob(f"{versions}*/bin/python{versions}*"))
    uv = home / ".local" / "share" / "uv" / "python"
    return found + _newest_first(uv.glob(f"cpython-{versions}*/bin/python{versions}*"))


def _on_path(names: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """The first ``PATH`` match of each name, in the order of ``names`` ("" where none);
    without ``PATH`` in ``env``, this process's (as :func:`shutil.which` does)."""
    return [shutil.which(name, path=env.get("PATH")) or "" for name in names]


def _pyenv(env: Mapping[str, str], home: Path) -> Path:
    return Path(env.get("PYENV_ROOT") or home / ".pyenv") / "versions"


def _newest_first(paths: Iterable[str | Path]) -> list[str]:
    """Interpreter paths (not ``python3.14-config``), the highest version numbers first
    (3.9 below 3.13)."""
    names = [str(p) for p in paths if re.fullmatch(r"python3\.\d+t?", Path(p).name)]
    return sorted(names, key=lambda p: [int(n) for n in re.findall(r"\d+", p)], reverse=True)


# --- a free-threaded build, and its GIL twin ----------------------------------------------

def find_free_threaded() -> Interpreter | None:
    """The first free-threaded interpreter among the :func:`candidates` for one, or ``None``."""
    for path in candidates(FREE_THREADED):
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


def find_twin(free: Interpreter) -> TwinSearch:
    """The first GIL build among the :func:`candidates` for a twin of ``free`` with the same
    release, compiler and build options (:func:`why_not_twin`), and every other GIL build
    seen. Each file is asked once, whatever the names it is listed under."""
    own = {_file_id(free.path), _file_id(free.executable)} - {None}
    seen, rejected = set(own), []
    for path in candidates(gil_twin(free)):
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


# --- running the lab there ----------------------------------------------------------------

def other_python_env(gil: bool | None = None) -> dict[str, str]:
    """This process's environment, minus anything that would mislead another Python."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONHOME", "PYTHONPATH", "VIRTUAL_ENV", "PYTHON_GIL")}
    env["PYTHONPATH"] = str(ROOT)  # the helpers package, as source
    env.update(PYTHON_COLORS="0", NO_COLOR="1")  # plain text: 3.14+ colours its tracebacks
    if gil is not None:
        env["PYTHON_GIL"] = "1" if gil else "0"
    return env


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    """``text`` without terminal colour codes (3.14+ colours tracebacks and warnings)."""
    return ANSI.sub("", text)


def run_cli(interpreter: Interpreter, args: list[str], gil: bool | None = None,
            timeout: float = TIMEOUT) -> dict:
    """``python -m helpers.core.measure_cli ARGS`` in ``interpreter``; its JSON, as a dict.

    ``gil``: ``False`` sets ``PYTHON_GIL=0``, ``True`` sets ``PYTHON_GIL=1``, ``None``
    leaves the interpreter's default. Raises ``RuntimeError`` with its stderr if it fails.
    ``result["load"]`` is what other programs did meanwhile, seen from here (the child
    counts as ours: :func:`~helpers.core.noise.watch_load`): the fallback when the child
    could not watch itself.
    """
    with watch_load() as watch:
        done = subprocess.run([interpreter.path, "-m", "helpers.core.measure_cli", *args],
                              capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                              env=other_python_env(gil))
    if done.returncode != 0:
        raise RuntimeError(f"{interpreter.label} failed ({done.returncode}):\n"
                           f"{strip_ansi(done.stderr)[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["stderr"] = strip_ansi(done.stderr)
    result["load"] = watch.load
    return result


def run_from_json(data: dict, fallback: MachineLoad | None = None) -> RunResult:
    """A :class:`~helpers.core.runner.RunResult` back from the JSON :func:`run_cli` returned.

    Its ``load`` is the child's own view (a dict in the JSON), else ``fallback`` — the view
    from this process (``run_cli(...)["load"]``), else ``None``."""
    data = dict(data)
    records = [TaskRecord(**record) for record in data.pop("records")]
    load = data.pop("load", None)
    load = MachineLoad(**load) if isinstance(load, dict) else fallback
    return RunResult(**data, records=records, load=load)
