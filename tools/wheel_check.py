#!/usr/bin/env python3
"""Does every pin in requirements.txt install from a wheel, on every supported Python and platform?

    python tools/wheel_check.py                     # the table: Python 3.10-3.15 x 5 platforms
    python tools/wheel_check.py --verbose           # ... and the wheel pip chose for each pin
    python tools/wheel_check.py -r requirements-ft.txt --pythons 3.13 3.14 --free-threaded
    python tools/wheel_check.py --transitive        # ... and the dependencies (minutes)

A learner without a C compiler can install the lab only if pip finds a *wheel* (a prebuilt
file) for every package; when there is none, pip downloads the source and tries to compile it,
and the learner sees a compiler error. So for each supported Python minor version (the range
in tools/test_versions.py) and each platform learners use, this tool

1. evaluates the environment markers of requirements.txt for *that* Python and platform
   (pip would evaluate them for the interpreter running it, not for the target), and
2. asks pip, wheels only, whether every pin that applies there has a wheel::

       pip install --dry-run --report FILE --ignore-installed --no-deps --only-binary=:all:
           --python-version 3.15 --implementation cp --abi cp315 --platform TAG ... PINS

   one pip call per (Python, platform) for all of that combination's pins; only when it
   fails are the pins narrowed down, so that every pin lacking a wheel gets named. The 30
   calls run in a thread pool, each bounded by a timeout.

pip chooses the wheel itself (platform tags, ``Requires-Python``, yanked files), but it reads
a *local copy* of the index: each pinned project's page is fetched once from PyPI, cut down to
the pinned releases' files and written to a temporary folder, with a tiny stand-in for each
wheel (a zip with just its METADATA). Asking PyPI 30 times instead would fetch every page 30
times, and where the index offers no separate metadata files (PEP 658), pip downloads each
whole wheel just to read its metadata: over 100 MB per call.

What a platform accepts (``PLATFORMS``): pip expands a custom ``--platform`` only for macOS
(``macosx_11_0_arm64`` accepts every ``macosx_*`` wheel up to 11.0) and the legacy
manylinux2014/2010 aliases, so Linux lists every ``manylinux_2_X`` up to glibc 2.35 (Ubuntu
22.04; Debian 12 has 2.36). macOS: 11.0 on Apple silicon, the first macOS it runs; 10.15 on
Intel, the oldest that the wheels of pyzmq (every Python) and of numpy, matplotlib and pillow
for 3.14 and 3.15 support. ``linux_x86_64`` wheels are left out: PyPI refuses them, so a
learner's pip never gets one.

Where pip looks: PyPI (or ``PIP_INDEX_URL`` / ``--index-url``), and nowhere else: pip's
configuration files, ``PIP_FIND_LINKS`` and extra indexes of this machine are ignored, because
a wheel that exists only on a developer's disk does not help a learner.

Only the pins themselves are checked that way (``--no-deps``). ``--transitive`` adds, on each
supported CPython that tools/test_versions.py finds here (so: this machine's platform), a full
resolution with dependencies, wheels only and with sources allowed: where they differ, a
dependency lacks a wheel for the release pip would otherwise pick and pip backtracked to an
older one (or, with sources allowed, would compile). Each resolution downloads every wheel
whose metadata the index does not serve separately, so this takes minutes; not in the tests.

Exit status: 0 every pin has its wheels, 1 some pin needs a compiler (or a marker split has a
hole), 2 the index could not be reached. Standard library and pip only (markers and file
names are parsed with ``packaging`` when it is installed, else with the copy pip vendors).
"""
from __future__ import annotations

import argparse
import html
import importlib.util
import json
import os
import platform as host
import re
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

try:  # the real package when installed (JupyterLab depends on it) ...
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
    from packaging.utils import (
        InvalidSdistFilename,
        InvalidWheelFilename,
        canonicalize_name,
        parse_sdist_filename,
        parse_wheel_filename,
    )
except ImportError:  # ... else the copy inside pip, which this tool needs anyway
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.specifiers import SpecifierSet
    from pip._vendor.packaging.utils import (
        InvalidSdistFilename,
        InvalidWheelFilename,
        canonicalize_name,
        parse_sdist_filename,
        parse_wheel_filename,
    )

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements.txt"
PYPI = "https://pypi.org/simple"
WORKERS = 6
CALL_TIMEOUT = 60  # seconds for one pip call (a local index: usually 1-3 s)
FETCH_TIMEOUT = 30  # seconds for one index page
NEWEST_GLIBC = 35  # Ubuntu 22.04; wheels for a newer glibc would not install there


def _manylinux(arch: str) -> tuple[str, ...]:
    """Every manylinux tag a glibc-2.35 Linux on ``arch`` accepts, newest first."""
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(NEWEST_GLIBC, 16, -1)]
    return (*tags, f"manylinux2014_{arch}")  # pip expands this alias to 2010 and 1


@dataclass(frozen=True)
class Platform:
    """A platform learners use: pip's ``--platform`` tags and the marker variables there."""

    name: str
    tags: tuple[str, ...]
    markers: dict = field(hash=False, compare=False)


PLATFORMS = (
    Platform("linux-x86_64", _manylinux("x86_64"),
             {"sys_platform": "linux", "platform_system": "Linux",
              "platform_machine": "x86_64", "os_name": "posix"}),
    Platform("linux-aarch64", _manylinux("aarch64"),
             {"sys_platform": "linux", "platform_system": "Linux",
              "platform_machine": "aarch64", "os_name": "posix"}),
    Platform("macos-arm64", ("macosx_11_0_arm64",),
             {"sys_platform": "darwin", "platform_system": "Darwin",
              "platform_machine": "arm64", "os_name": "posix"}),
    Platform("macos-x86_64", ("macosx_10_15_x86_64",),
             {"sys_platform": "darwin", "platform_system": "Darwin",
              "platform_machine": "x86_64", "os_name": "posix"}),
    Platform("windows-amd64", ("win_amd64",),
             {"sys_platform": "win32", "platform_system": "Windows",
              "platform_machine": "AMD64", "os_name": "nt"}),
)


class IndexUnreachable(RuntimeError):
    """The package index gave no answer (no network, a proxy, a certificate problem)."""


def _versions_tool():
    """tools/test_versions.py as a module (its range, its search for interpreters)."""
    if "_lab_test_versions" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "_lab_test_versions", Path(__file__).with_name("test_versions.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules["_lab_test_versions"]


def supported_versions() -> list[tuple[int, int]]:
    """Every minor version in tools/test_versions.py's ``SUPPORTED`` range, oldest first."""
    (major, low), (_, high) = _versions_tool().SUPPORTED
    return [(major, minor) for minor in range(low, high + 1)]


# --- pins and markers -----------------------------------------------------------------------

def read_pins(path: Path = REQUIREMENTS) -> list[Requirement]:
    """The requirements of a pip requirements file (comments and blank lines dropped), and
    of the files it includes with ``-r FILE`` (requirements-test.txt includes the lab's)."""
    pins = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        text = re.sub(r"(^|\s)#.*", "", line).strip()
        if not text:
            continue
        included = re.fullmatch(r"(?:-r|--requirement)(?:\s+|=)(\S+)", text)
        if included:
            pins += read_pins(Path(path).parent / included.group(1))
            continue
        if text.startswith("-"):
            raise ValueError(f"{Path(path).name}:{number}: pip options ({text.split()[0]}) "
                             "are not supported here; list only requirements")
        pins.append(Requirement(text))
    return pins


def marker_environment(python: tuple[int, int], platform: Platform) -> dict[str, str]:
    """The marker variables of CPython ``python`` on ``platform`` (PEP 508)."""
    version = f"{python[0]}.{python[1]}"
    return {"python_version": version, "python_full_version": f"{version}.0",
            "implementation_name": "cpython", "implementation_version": f"{version}.0",
            "platform_python_implementation": "CPython", "platform_release": "",
            "platform_version": "", **platform.markers}


def applicable(pins: list[Requirement], python: tuple[int, int],
               platform: Platform) -> list[Requirement]:
    """The pins whose marker holds for ``python`` on ``platform``."""
    environment = marker_environment(python, platform)
    return [pin for pin in pins if pin.marker is None or pin.marker.evaluate(environment)]


def pin_text(pin: Requirement) -> str:
    """``name==version`` (extras kept), without the marker: what pip is asked for."""
    extras = f"[{','.join(sorted(pin.extras))}]" if pin.extras else ""
    return f"{pin.name}{extras}{pin.specifier}"


def coverage_problems(pins: list[Requirement], pythons: list[tuple[int, int]],
                      platforms=PLATFORMS) -> list[str]:
    """Marker splits that leave a hole or overlap.

    A package pinned on some Python of a platform must be pinned exactly once on every other
    supported Python of that platform: two pins that both apply make pip fail ('Double
    requirement'), none leaves the package unpinned.
    """
    problems = []
    names = sorted({canonicalize_name(pin.name) for pin in pins})
    for platform in platforms:
        per_python = {python: [canonicalize_name(pin.name)
                               for pin in applicable(pins, python, platform)]
                      for python in pythons}
        for name in names:
            counts = {python: found.count(name) for python, found in per_python.items()}
            if not any(counts.values()):
                continue  # not for this platform at all (e.g. a Windows-only package)
            for (major, minor), count in counts.items():
                if count != 1:
                    what = "no pin" if count == 0 else f"{count} pins"
                    problems.append(f"{name}: {what} on Python {major}.{minor} ({platform.name})")
    return problems


# --- a local copy of the index, cut down to the pinned releases ----------------------------

@dataclass(frozen=True)
class IndexFile:
    """One file an index page lists, with what pip reads from the page about it."""

    filename: str
    requires_python: str | None = None
    yanked: bool | str = False


def fetch_files(name: str, index_url: str = PYPI,
                timeout: float = FETCH_TIMEOUT) -> list[IndexFile] | None:
    """Every file of project ``name`` on a PEP 691/503 index; ``None`` when it has no page.

    Raises :class:`IndexUnreachable` when the index gives no answer at all.
    """
    url = f"{index_url.rstrip('/')}/{canonicalize_name(name)}/"
    request = urllib.request.Request(url, headers={
        "Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.1"})
    cafile = os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE")
    context = ssl.create_default_context(cafile=cafile)
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            kind = response.headers.get("Content-Type", "")
            body = response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise IndexUnreachable(f"{url}: HTTP {error.code} {error.reason}") from error
    except (urllib.error.URLError, OSError) as error:
        raise IndexUnreachable(f"{url}: {getattr(error, 'reason', error)}") from error
    if "json" in kind:
        return [IndexFile(item["filename"], item.get("requires-python"),
                          item.get("yanked", False)) for item in json.loads(body)["files"]]
    return _files_from_html(body)


def _files_from_html(body: str) -> list[IndexFile]:
    """The files of a PEP 503 HTML page (an index that does not speak JSON)."""
    files = []
    for attributes, text in re.findall(r"<a\s([^>]*)>([^<]*)</a>", body):
        found = dict(re.findall(r'([\w-]+)="([^"]*)"', attributes))
        requires = found.get("data-requires-python")
        files.append(IndexFile(html.unescape(text.strip()),
                               html.unescape(requires) if requires else None,
                               html.unescape(found["data-yanked"]) or True
                               if "data-yanked" in found else False))
    return files


def release_of(filename: str) -> tuple[str, object, bool] | None:
    """(project, version, is_wheel) from a file name; ``None`` for a kind pip cannot use."""
    try:
        if filename.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(filename)
            return name, version, True
        name, version = parse_sdist_filename(filename)
        return name, version, False
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None


def pinned_files(pins: list[Requirement], files: list[IndexFile]) -> list[IndexFile]:
    """The files of releases that some pin of the project allows."""
    kept = []
    for item in files:
        release = release_of(item.filename)
        if release and any(pin.specifier.contains(release[1], prereleases=True)
                           for pin in pins):
            kept.append(item)
    return kept


def _stub_wheel(path: Path, requires_python: str | None) -> None:
    """A wheel with nothing but its metadata: all pip reads in a dry run without deps."""
    name, version = path.name.split("-")[:2]
    info = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    if requires_python:
        metadata += f"Requires-Python: {requires_python}\n"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(f"{info}/METADATA", metadata)
        wheel.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: wheel_check\n"
                                        "Root-Is-Purelib: false\n")
        wheel.writestr(f"{info}/RECORD", "")


def write_local_index(directory: Path, projects: dict[str, list[IndexFile]]) -> str:
    """A PEP 503 index of ``projects`` in ``directory``; returns its ``file:`` URL."""
    simple, store = directory / "simple", directory / "files"
    store.mkdir(parents=True, exist_ok=True)
    for name, files in projects.items():
        links = []
        for item in files:
            if item.filename.endswith(".whl"):
                _stub_wheel(store / item.filename, item.requires_python)
            else:
                (store / item.filename).touch()  # never read: pip is told wheels only
            attributes = f'href="../../files/{html.escape(item.filename)}"'
            if item.requires_python:
                attributes += f' data-requires-python="{html.escape(item.requires_python)}"'
            if item.yanked:
                reason = item.yanked if isinstance(item.yanked, str) else ""
                attributes += f' data-yanked="{html.escape(reason)}"'
            links.append(f"<a {attributes}>{html.escape(item.filename)}</a><br>")
        page = simple / canonicalize_name(name)
        page.mkdir(parents=True, exist_ok=True)
        (page / "index.html").write_text("<!DOCTYPE html><html><body>\n" + "\n".join(links)
                                         + "\n</body></html>\n", encoding="utf-8")
    return simple.as_uri()


Fetch = Callable[[str], "list[IndexFile] | None"]


def fetch_pinned(pins: list[Requirement], fetch: Fetch,
                 workers: int = WORKERS) -> dict[str, list[IndexFile] | None]:
    """Project -> the files of its pinned releases (``None``: no such project)."""
    by_name: dict[str, list[Requirement]] = {}
    for pin in pins:
        by_name.setdefault(canonicalize_name(pin.name), []).append(pin)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pages = dict(zip(by_name, pool.map(fetch, by_name)))
    return {name: None if pages[name] is None else pinned_files(by_name[name], pages[name])
            for name in by_name}


# --- asking pip -----------------------------------------------------------------------------

@dataclass
class Outcome:
    """What pip said for one (Python, platform): the wheels it chose, the pins it could not."""

    python: tuple[int, int]
    platform: Platform
    wheels: dict[str, str] = field(default_factory=dict)  # pin -> wheel file name
    missing: dict[str, str] = field(default_factory=dict)  # pin -> why
    seconds: float = 0.0

    @property
    def label(self) -> str:
        return f"Python {self.python[0]}.{self.python[1]} on {self.platform.name}"


def pip_target_args(python: tuple[int, int], platform: Platform,
                    free_threaded: bool = False) -> list[str]:
    """pip's options that make it choose wheels for ``python`` on ``platform``."""
    abi = f"cp{python[0]}{python[1]}{'t' if free_threaded else ''}"
    args = ["--python-version", f"{python[0]}.{python[1]}", "--implementation", "cp",
            "--abi", abi]
    for tag in platform.tags:
        args += ["--platform", tag]
    return args


def pip_environment() -> dict[str, str]:
    """This process's environment without pip settings that add places to look.

    pip's configuration files are skipped (``PIP_CONFIG_FILE`` = the null device) and every
    ``PIP_*`` variable is dropped but the few that say *how* to reach an index.
    """
    keep = {"PIP_CERT", "PIP_CLIENT_CERT", "PIP_PROXY", "PIP_TRUSTED_HOST"}
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("PIP_") or key in keep}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def run_pip(requirements: list[str], target: list[str], index_url: str,
            timeout: float = CALL_TIMEOUT) -> tuple[int, dict, str]:
    """One ``pip install --dry-run --no-deps``: (exit status, pip's JSON report, its output)."""
    with tempfile.TemporaryDirectory(prefix="wheel-check-") as scratch:
        report = Path(scratch) / "report.json"
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps",
                   "--ignore-installed", "--report", str(report), "--no-cache-dir",
                   "--index-url", index_url, *target, *requirements]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                  env=pip_environment(), stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return -1, {}, f"ERROR: pip gave no answer within {timeout:.0f} s"
        data = json.loads(report.read_text()) if report.exists() else {}
        return done.returncode, data, done.stdout + done.stderr


NOT_FOUND = re.compile(r"No matching distribution found for (\S+)")


def check_combination(pins: list[Requirement], python: tuple[int, int], platform: Platform,
                      index_url: str, projects: dict[str, list[IndexFile] | None],
                      free_threaded: bool = False, timeout: float = CALL_TIMEOUT) -> Outcome:
    """Ask pip, wheels only, for every pin that applies to ``python`` on ``platform``.

    pip stops at the first pin without a wheel, so that pin is set aside and pip is asked
    again for the rest, until the rest resolves: every pin without a wheel gets named.
    """
    outcome = Outcome(python, platform)
    start = time.perf_counter()
    target = ["--only-binary=:all:", *pip_target_args(python, platform, free_threaded)]
    left = [pin_text(pin) for pin in applicable(pins, python, platform)]
    while left:
        status, report, output = run_pip(left, target, index_url, timeout)
        if status == 0:
            wheels = {canonicalize_name(item["metadata"]["name"]):
                      item["download_info"]["url"].rsplit("/", 1)[-1]
                      for item in report.get("install", [])}
            outcome.wheels = {pin: wheels.get(canonicalize_name(Requirement(pin).name), "?")
                              for pin in left}
            break
        culprit = _culprit(output, left)
        if culprit is None:  # an answer this tool does not understand: ask pin by pin
            for pin in left:
                status, _, output = run_pip([pin], target, index_url, timeout)
                if status != 0:
                    outcome.missing[pin] = _why(pin, python, projects, output)
            break
        outcome.missing[culprit] = _why(culprit, python, projects, output)
        left.remove(culprit)
    outcome.seconds = time.perf_counter() - start
    return outcome


def _culprit(output: str, left: list[str]) -> str | None:
    """The pin that pip's 'No matching distribution found for X' names."""
    match = NOT_FOUND.search(output)
    if match is None:
        return None
    named = canonicalize_name(Requirement(match.group(1)).name)
    return next((pin for pin in left
                 if canonicalize_name(Requirement(pin).name) == named), None)


def _why(pin: str, python: tuple[int, int], projects: dict[str, list[IndexFile] | None],
         output: str) -> str:
    """Why pip found no wheel, in words: what it would build instead, or pip's own error."""
    requirement = Requirement(pin)
    files = projects.get(canonicalize_name(requirement.name))
    if files is None:
        return "no such project on the index"
    if not NOT_FOUND.search(output):
        errors = [line for line in output.splitlines() if line.startswith("ERROR")]
        return (errors or output.strip().splitlines()[-1:] or ["pip failed"])[0][:300]
    version = f"{python[0]}.{python[1]}"
    sources = [item for item in pinned_files([requirement], files)
               if not item.filename.endswith(".whl")]
    fitting = [item for item in sources if item.requires_python is None
               or SpecifierSet(item.requires_python).contains(f"{version}.0")]
    if fitting:
        return f"only the source {fitting[0].filename} fits: pip would compile it"
    if sources:
        return f"Requires-Python {sources[0].requires_python} excludes Python {version}"
    return "no file of this release fits: pip would fail"


def check_all(pins: list[Requirement], pythons: list[tuple[int, int]], platforms=PLATFORMS,
              fetch: Fetch | None = None, free_threaded: bool = False,
              workers: int = WORKERS, timeout: float = CALL_TIMEOUT) -> list[Outcome]:
    """:func:`check_combination` for every (Python, platform), ``workers`` at a time.

    ``fetch(name)`` gives a project's files (default: :func:`fetch_files` from PyPI or
    ``PIP_INDEX_URL``); raises :class:`IndexUnreachable` when the index cannot be reached.
    """
    fetch = fetch or (lambda name: fetch_files(name, os.environ.get("PIP_INDEX_URL", PYPI)))
    projects = fetch_pinned(pins, fetch, workers)
    combos = [(python, platform) for python in pythons for platform in platforms]
    with tempfile.TemporaryDirectory(prefix="wheel-index-") as directory:
        index_url = write_local_index(Path(directory),
                                      {name: files or [] for name, files in projects.items()})
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(check_combination, pins, python, platform, index_url,
                                   projects, free_threaded, timeout)
                       for python, platform in combos]
            return [future.result() for future in futures]


# --- dependencies too: one full resolution on a real interpreter -------------------------

def resolve(python: str, requirements: Path, wheels_only: bool,
            timeout: float = 600) -> dict[str, str]:
    """Package -> file pip would install for ``requirements`` on the interpreter ``python``.

    A full resolution, dependencies included, for this machine's platform; pip runs
    against that interpreter (``pip --python``), so markers are its own. Raises
    ``RuntimeError`` with pip's error when it finds no solution.
    """
    with tempfile.TemporaryDirectory(prefix="wheel-check-") as scratch:
        report = Path(scratch) / "report.json"
        command = [sys.executable, "-m", "pip", "--python", python, "install", "--dry-run",
                   "--ignore-installed", "--quiet", "--report", str(report),
                   "--index-url", os.environ.get("PIP_INDEX_URL", PYPI),
                   *(["--only-binary=:all:"] if wheels_only else []), "-r", str(requirements)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              env=pip_environment(), stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
            raise RuntimeError((errors or done.stderr.splitlines()[-1:] or ["pip failed"])[0])
        return {canonicalize_name(item["metadata"]["name"]):
                item["download_info"]["url"].rsplit("/", 1)[-1]
                for item in json.loads(report.read_text())["install"]}


def backtracking(python: str, requirements: Path = REQUIREMENTS) -> list[str]:
    """Where wheels only make pip pick something else than it would with sources allowed.

    Empty when both resolutions agree and neither needs a source distribution; else one
    line per package: an older release chosen for want of a wheel, or a source build.
    """
    try:
        wheels = resolve(python, requirements, wheels_only=True)
    except RuntimeError as error:
        return [f"no solution from wheels alone: {error}"]
    free = resolve(python, requirements, wheels_only=False)
    lines = [f"{name}: {wheels.get(name, '(none)')} with wheels only, {free.get(name, '(none)')}"
             " with sources allowed" for name in sorted(set(wheels) | set(free))
             if _version(wheels.get(name)) != _version(free.get(name))]
    return lines + [f"{name}: would build {file}" for name, file in sorted(free.items())
                    if not file.endswith(".whl")]


def _version(filename: str | None):
    release = release_of(filename) if filename else None
    return release and release[1]


def transitive_report(requirements: Path) -> int:
    """:func:`backtracking` on each supported standard-build CPython tools/test_versions.py
    finds (one per minor version); prints what it found, returns how many had a difference."""
    versions = _versions_tool()
    paths, explicit = versions.candidate_paths()
    found = versions.select([versions.probe(path) for path in paths], explicit)
    chosen = [item for item in found if not item.free_threaded]
    print(f"\nDependencies too ({platform_tag()}, wheels only vs sources allowed):")
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = pool.map(lambda item: backtracking(item.executable, requirements), chosen)
        differing = 0
        for item, lines in zip(chosen, results):
            differing += bool(lines)
            print(f"  Python {item.version_text}: " + ("; ".join(lines) or
                  "the same release of every package, all from wheels"))
    missing = sorted(set(supported_versions()) - {tuple(item.version[:2]) for item in chosen})
    if missing:
        print("  not found here: " + ", ".join(f"{major}.{minor}" for major, minor in missing))
    return differing


def platform_tag() -> str:
    """This machine, as the resolutions above see it (e.g. 'Linux x86_64')."""
    return f"{host.system()} {host.machine()}"


# --- reporting ------------------------------------------------------------------------------

def needs_compiler(outcomes: list[Outcome]) -> list[str]:
    """One line per pin and place without a wheel, e.g.
    'numpy==2.4.6: no wheel for Python 3.15 on linux-x86_64 (only the source ...)'."""
    return [f"{pin}: no wheel for {o.label} ({reason})"
            for o in outcomes for pin, reason in o.missing.items()]


def table(outcomes: list[Outcome], platforms=PLATFORMS) -> str:
    """Pythons down, platforms across; a cell says 'ok' or names the pins without a wheel."""
    cells = {(o.python, o.platform.name): o for o in outcomes}
    pythons = sorted({o.python for o in outcomes})
    rows = [["python", *(p.name for p in platforms)]]
    for python in pythons:
        row = [f"{python[0]}.{python[1]}"]
        for platform in platforms:
            missing = cells[(python, platform.name)].missing
            row.append(("NO WHEEL: " + ", ".join(missing)) if missing else "ok")
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
                     for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-r", "--requirements", type=Path, default=REQUIREMENTS)
    parser.add_argument("--pythons", nargs="+", metavar="3.X",
                        help="minor versions to check (default: the supported range)")
    parser.add_argument("--free-threaded", action="store_true",
                        help="free-threaded builds (ABI cp3Xt)")
    parser.add_argument("--index-url", default=os.environ.get("PIP_INDEX_URL", PYPI))
    parser.add_argument("-v", "--verbose", action="store_true", help="show the chosen wheels")
    parser.add_argument("--transitive", action="store_true",
                        help="also resolve the dependencies on each supported Python found "
                             "here, wheels only and with sources allowed, and compare (minutes)")
    args = parser.parse_args(argv)

    pythons = ([tuple(int(part) for part in text.split(".")) for text in args.pythons]
               if args.pythons else supported_versions())
    pins = read_pins(args.requirements)
    problems = coverage_problems(pins, pythons)
    for problem in problems:
        print(f"marker split: {problem}")
    start = time.perf_counter()
    try:
        outcomes = check_all(pins, pythons, fetch=lambda name: fetch_files(name, args.index_url),
                             free_threaded=args.free_threaded)
    except IndexUnreachable as error:
        print(f"The index could not be reached: {error}")
        return 2
    print(f"{args.requirements.name}, wheels only{' (free-threaded)' * args.free_threaded}: "
          f"{len(outcomes)} combinations in {time.perf_counter() - start:.1f} s "
          f"(files from {args.index_url})\n")
    print(table(outcomes))
    if args.verbose:
        for o in outcomes:
            print(f"\n{o.label} ({o.seconds:.1f} s):")
            for pin, wheel in sorted(o.wheels.items()):
                print(f"  {pin:32} {wheel}")
    missing = needs_compiler(outcomes)
    if missing:
        print("\nWould need a compiler:\n  " + "\n  ".join(missing))
    differing = transitive_report(args.requirements) if args.transitive else 0
    return 1 if missing or problems or differing else 0


if __name__ == "__main__":
    sys.exit(main())
