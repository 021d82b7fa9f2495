"""Binder checked: what mybinder.org would build from ``binder/``, without Docker or network.

* ``repo2docker --no-build --debug`` renders the Dockerfile that Binder would build. We assert
  the build pack it picked (Python/pip, Python version from ``binder/runtime.txt``), that
  ``postBuild`` runs after the requirements, and that ``binder/start`` is the entrypoint.
  Broken copies of ``binder/`` show these checks can fail.
* ``binder/requirements.txt`` holds every pin of ``requirements.txt`` written out (no local
  reference, so repo2docker installs it before copying the repo and caches that step) and no
  test tool.
* ``binder/start`` turns on quick mode and ``exec``s the server; ``binder/postBuild`` makes
  ``helpers`` importable; the README badge opens notebook 00 in JupyterLab.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

try:
    import tomllib
except ImportError:  # Python 3.10: pytest depends on tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
SUPPORTED_PYTHONS = SpecifierSet(">=3.10,<3.16")  # the README's "Python 3.10–3.15"
FIRST_NOTEBOOK = "notebooks/00_start_here.ipynb"
R2D_TIMEOUT = 60  # seconds; one --no-build run takes ~0.5 s

pytestmark = pytest.mark.timeout(120)


# --- helpers --------------------------------------------------------------------------------

def runtime_python() -> str:
    """The ``X.Y`` that ``binder/runtime.txt`` asks for (``python-3.12`` → ``3.12``)."""
    text = (BINDER / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(\d+\.\d+)", text)
    assert match, f"binder/runtime.txt should read like 'python-3.12', not {text!r}"
    return match.group(1)


def strip_comment(raw: str) -> str:
    """pip's rule: ``#`` starts a comment at the line start or after whitespace."""
    return re.sub(r"(^|\s)#.*$", "", raw).strip()


def read_requirements(path: Path, _seen: tuple[Path, ...] = ()
                      ) -> tuple[list[Requirement], list[Path]]:
    """Every requirement reached from ``path``, following ``-r`` includes like pip does.

    Returns the requirements and the files read (``path`` first). Other options (``-e .``,
    ``--pre``) are not pins and are skipped; constraint files (``-c``) are refused here,
    because they would change pins without appearing as requirements.
    """
    path = path.resolve()
    assert path not in _seen, f"-r include cycle: {[*map(str, _seen), str(path)]}"
    requirements: list[Requirement] = []
    files = [path]
    for raw in path.read_text().splitlines():
        line = strip_comment(raw)
        if not line:
            continue
        include = re.fullmatch(r"(?:-r|--requirement)(?:\s+|=)(\S+)", line)
        if include:
            more, more_files = read_requirements(path.parent / include.group(1), (*_seen, path))
            requirements += more
            files += more_files
        elif re.match(r"(-c|--constraint)\b", line):
            raise AssertionError(f"{path.name}: constraint files are not expected: {line!r}")
        elif line.startswith("-"):
            continue  # -e ., --pre, index options: not pins
        else:
            requirements.append(Requirement(line))
    return requirements, files


def marker_environment(python: str) -> dict[str, str]:
    """Marker values on a Binder machine (Linux, x86-64, CPython) running ``python``."""
    env = dict(default_environment())
    env.update(python_version=python, python_full_version=f"{python}.0",
               implementation_name="cpython", platform_python_implementation="CPython",
               sys_platform="linux", platform_system="Linux", os_name="posix",
               platform_machine="x86_64")
    return env


def applicable_pins(requirements: list[Requirement], python: str) -> dict[str, list[Requirement]]:
    """Requirements whose marker holds for ``python``, grouped by normalised name."""
    env = marker_environment(python)
    pins: dict[str, list[Requirement]] = {}
    for req in requirements:
        if req.marker is None or req.marker.evaluate(env):
            pins.setdefault(canonicalize_name(req.name), []).append(req)
    return pins


def run_repo2docker(repo: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``repo2docker --no-build --debug REPO``: Dockerfile on stdout, log on stderr."""
    if importlib.util.find_spec("repo2docker") is None:
        message = ("repo2docker is not installed in this environment "
                   "(`pip install -r requirements.txt`: jupyter-repo2docker is pinned there)")
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; under CI=true this check must run")
        pytest.skip(message)
    # cwd: repo2docker reads a repo2docker_config.py from its working directory; keep it clean.
    return subprocess.run(
        [sys.executable, "-m", "repo2docker", "--no-build", "--debug", str(repo)],
        cwd=cwd, capture_output=True, text=True, timeout=R2D_TIMEOUT, check=False,
        stdin=subprocess.DEVNULL,
    )


# Lines of the rendered Dockerfile that prove the wiring (repo2docker 2026.4.0; see
# repo2docker/buildpacks/python/__init__.py and buildpacks/base.py).
PIP_INSTALL = '${KERNEL_PYTHON_PREFIX}/bin/pip install --no-cache-dir -r "binder/requirements.txt"'
COPY_REPO = "COPY --chown=0:0 src/ ${REPO_DIR}/"
RUN_POSTBUILD = "RUN ./binder/postBuild"
START_ENTRYPOINT = 'ENV R2D_ENTRYPOINT="${REPO_DIR}/binder/start"'
ENTRYPOINT = 'ENTRYPOINT ["/usr/local/bin/repo2docker-entrypoint"]'


def binder_build_problems(result: subprocess.CompletedProcess[str], python: str) -> list[str]:
    """What is wrong with a repo2docker --no-build run for our binder/ (empty: all good)."""
    if result.returncode != 0:
        return [f"repo2docker exited {result.returncode}: {result.stderr[-1500:]}"]
    dockerfile, log = result.stdout, result.stderr
    lines = [line.strip() for line in dockerfile.splitlines()]
    problems = []

    def position(wanted: str) -> int | None:
        return lines.index(wanted) if wanted in lines else None

    # Python build pack: a conda base env for runtime.txt's Python,
    # then pip install -r binder/requirements.txt
    if f"Building conda environment for python={python}\n" not in log:
        problems.append(f"not building for runtime.txt's python={python}: {log!r}")
    pip = position("RUN " + PIP_INSTALL)
    if pip is None:
        problems.append("no `pip install -r binder/requirements.txt`: "
                        "not the Python/pip build pack")
    for other, build_pack in [("environment.yml", "conda (environment.yml)"),
                              ("pipenv", "Pipfile"), ("install.R", "R"), ("default.nix", "Nix")]:
        if other in dockerfile:
            problems.append(f"the {build_pack} build pack was picked ({other!r} in the Dockerfile)")
    # no local reference: pip runs before the whole repo is copied, so that layer is cached
    # and a commit that changes only notebooks or helpers does not reinstall everything
    copy = position(COPY_REPO)
    if copy is None or pip is None or not pip < copy:
        problems.append("binder/requirements.txt is installed after the whole repo is copied "
                        "(a local reference?): every commit would rebuild the environment")
    # postBuild runs from the repo root, after the requirements
    workdir = position("WORKDIR ${REPO_DIR}")
    post = position(RUN_POSTBUILD)
    if post is None or workdir is None or not workdir < post:
        problems.append("binder/postBuild is not run from the repo root")
    elif pip is not None and not pip < post:
        problems.append("binder/postBuild runs before the requirements are installed")
    # binder/start wraps the server command
    if START_ENTRYPOINT not in lines:
        problems.append("binder/start is not wired as R2D_ENTRYPOINT")
    if ENTRYPOINT not in lines:
        problems.append("repo2docker's entrypoint (which runs R2D_ENTRYPOINT) is missing")
    return problems


def binder_copy(tmp_path: Path, name: str) -> Path:
    """The files repo2docker reads for this repo, copied to ``tmp_path/name``."""
    copy = tmp_path / name
    copy.mkdir()
    shutil.copytree(BINDER, copy / "binder", symlinks=True)
    for top in ("requirements.txt", "pyproject.toml"):
        shutil.copy2(ROOT / top, copy / top)
    return copy


def dockerfile_without_repo_label(dockerfile: str) -> list[str]:
    return [line for line in dockerfile.splitlines()
            if not line.startswith("LABEL repo2docker.repo=")]


@pytest.fixture(scope="module")
def repo_build(tmp_path_factory) -> subprocess.CompletedProcess[str]:
    return run_repo2docker(ROOT, cwd=tmp_path_factory.mktemp("r2d-cwd"))


# --- repo2docker ----------------------------------------------------------------------------

def test_repo2docker_builds_binder_with_python_build_pack(repo_build):
    assert binder_build_problems(repo_build, runtime_python()) == []


def test_binder_copy_renders_the_same_dockerfile(repo_build, tmp_path):
    """The temp copies below stand for the repo: unbroken, they render the same Dockerfile."""
    copy = run_repo2docker(binder_copy(tmp_path, "copy"), cwd=tmp_path)
    assert binder_build_problems(copy, runtime_python()) == []
    assert (dockerfile_without_repo_label(copy.stdout)
            == dockerfile_without_repo_label(repo_build.stdout))


def _invalid_environment_yml(binder: Path) -> None:
    (binder / "environment.yml").write_text("dependencies: [python=3.12\n  - : :\n")


def _conda_environment_yml(binder: Path) -> None:
    # valid, and repo2docker exits 0 — but binder/requirements.txt would be silently ignored
    (binder / "environment.yml").write_text("dependencies:\n  - python=3.12\n  - pip\n")


def _unsupported_runtime(binder: Path) -> None:
    (binder / "runtime.txt").write_text("python-3.16\n")


def _no_start(binder: Path) -> None:
    (binder / "start").unlink()


def _no_postbuild(binder: Path) -> None:
    (binder / "postBuild").unlink()


def _local_reference(binder: Path) -> None:
    (binder / "requirements.txt").write_text("-r ../requirements.txt\nnotebook==7.6.5\n")


@pytest.mark.parametrize(("breakage", "expected_problem"), [
    (_invalid_environment_yml, "repo2docker exited 1"),
    (_unsupported_runtime, "repo2docker exited 1"),
    (_conda_environment_yml, "not the Python/pip build pack"),
    (_no_start, "binder/start is not wired"),
    (_no_postbuild, "binder/postBuild is not run"),
    (_local_reference, "installed after the whole repo is copied"),
], ids=lambda value: getattr(value, "__name__", "")[1:] or None)
def test_repo2docker_check_fails_on_a_broken_binder(tmp_path, breakage, expected_problem):
    """Negative controls: each breakage of a copy of binder/ makes the check above fail."""
    copy = binder_copy(tmp_path, "broken")
    breakage(copy / "binder")
    problems = binder_build_problems(run_repo2docker(copy, cwd=tmp_path), runtime_python())
    assert any(expected_problem in problem for problem in problems), problems


# --- requirements ---------------------------------------------------------------------------

def declared_test_tools() -> set[str]:
    """The names of pyproject.toml's ``test`` dependency group: what a learner never runs."""
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]
    return {canonicalize_name(Requirement(r).name) for r in groups["test"]}


def binder_requirement_problems(path: Path) -> list[str]:
    """What keeps ``path`` from being a lean, cacheable Binder requirements file."""
    problems = []
    for raw in path.read_text().splitlines():
        line = strip_comment(raw)
        if line.startswith("-"):
            problems.append(f"local reference or pip option (repo2docker then installs after "
                            f"copying the repo): {line!r}")
        elif line and ("/" in line.split(";")[0] or Requirement(line).url):
            problems.append(f"a path or URL instead of a pin: {line!r}")
    requirements, _ = read_requirements(path) if not problems else ([], [])
    tools = sorted(declared_test_tools() & {canonicalize_name(r.name) for r in requirements})
    if tools:
        problems.append(f"test tools a learner never runs: {tools}")
    return problems


def test_binder_requirements_are_the_lab_pins_without_local_reference_or_test_tool():
    assert binder_requirement_problems(BINDER / "requirements.txt") == []
    binder = {str(req) for req in read_requirements(BINDER / "requirements.txt")[0]}
    lab = {str(req) for req in read_requirements(ROOT / "requirements.txt")[0]}
    assert lab <= binder, f"lab pins missing on Binder: {sorted(lab - binder)}"


@pytest.mark.parametrize(("text", "expected"), [
    ("-r ../requirements.txt\n", "local reference"),
    ("-e .\n", "local reference"),
    ("./wheels/numpy-2.5.5-cp312-cp312-linux_x86_64.whl\n", "a path or URL"),
    ("numpy==2.5.5\npytest==9.2.0\n", "test tools"),
])
def test_binder_requirement_check_fails_on_a_bad_file(tmp_path, text, expected):
    path = tmp_path / "requirements.txt"
    path.write_text(text)
    assert any(expected in problem for problem in binder_requirement_problems(path))


@pytest.mark.parametrize("python", [f"3.{minor}" for minor in range(10, 15)])
def test_binder_adds_no_conflicting_pin(python):
    binder_pins = applicable_pins(read_requirements(BINDER / "requirements.txt")[0], python)
    root_pins = applicable_pins(read_requirements(ROOT / "requirements.txt")[0], python)
    conflicts = {name: [str(r) for r in reqs] for name, reqs in binder_pins.items()
                 if len({str(r.specifier) for r in reqs}) > 1
                 or (name in root_pins and {str(r.specifier) for r in reqs}
                     != {str(r.specifier) for r in root_pins[name]})}
    assert not conflicts, \
        f"binder pins that differ from requirements.txt on Python {python}: {conflicts}"


def test_binder_notebook_pin_matches_jupyterlab():
    """Binder's base image has its own Notebook 7.x; pip upgrades JupyterLab beside it.

    Each Notebook 7.N requires JupyterLab 4.N (notebook 7.6.5: ``jupyterlab>=4.6.6,<4.7``),
    so binder/requirements.txt pins the Notebook made for our JupyterLab pin.
    """
    pins = applicable_pins(read_requirements(BINDER / "requirements.txt")[0], runtime_python())
    assert "notebook" in pins, "binder/requirements.txt should pin notebook (see its comment)"
    (lab,), (notebook,) = pins["jupyterlab"], pins["notebook"]
    lab_version, notebook_version = (Version(next(iter(r.specifier)).version)
                                     for r in (lab, notebook))
    assert ((notebook_version.major, notebook_version.minor)
            == (lab_version.major + 3, lab_version.minor)), \
        f"{notebook} does not go with {lab}: Notebook 7.N requires JupyterLab 4.N"


def test_binder_runtime_python_is_supported():
    python = Version(runtime_python())
    assert python in SUPPORTED_PYTHONS, f"binder/runtime.txt asks for {python}, outside 3.10–3.15"
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert python in SpecifierSet(requires), \
        f"pyproject.toml's requires-python {requires} excludes {python}"


def test_every_pin_has_one_version_for_the_binder_python():
    """Each package of requirements.txt gets exactly one ``==`` pin on Binder's Python.

    Offline evidence that the pinned release supports that Python: where this environment
    has the very same version installed, its Requires-Python must admit Binder's Python.
    """
    python = runtime_python()
    requirements, _ = read_requirements(ROOT / "requirements.txt")
    names = {canonicalize_name(req.name) for req in requirements}
    pins = applicable_pins(requirements, python)
    problems = [f"{name}: {len(pins.get(name, []))} pins apply on Python {python}"
                for name in sorted(names) if len(pins.get(name, [])) != 1]
    for name, (req,) in ((n, p) for n, p in pins.items() if len(p) == 1):
        exact = [spec.version for spec in req.specifier if spec.operator == "=="]
        if len(exact) != 1:
            problems.append(f"{req}: not pinned with ==")
            continue
        try:
            installed = importlib.metadata.distribution(req.name)
        except importlib.metadata.PackageNotFoundError:
            continue
        requires_python = installed.metadata.get("Requires-Python")
        if Version(installed.version) == Version(exact[0]) and requires_python:
            if Version(f"{python}.0") not in SpecifierSet(requires_python):
                problems.append(f"{req}: Requires-Python {requires_python} excludes {python}")
    assert not problems, problems


# --- binder/start ---------------------------------------------------------------------------

def code_lines(path: Path) -> list[str]:
    """Non-blank lines that are not comments (the shebang is a comment)."""
    return [line.strip() for line in path.read_text().splitlines()
            if line.strip() and not line.strip().startswith("#")]


def is_executable(path: Path) -> bool:
    return bool(path.stat().st_mode & stat.S_IXUSR)


def test_start_is_executable_and_ends_with_exec():
    start = BINDER / "start"
    assert is_executable(start), "binder/start must be executable"
    assert start.read_text().startswith("#!"), "binder/start needs a shebang"
    assert code_lines(start)[-1] == 'exec "$@"', "the last line of binder/start must be exec \"$@\""


def test_start_turns_on_quick_mode_fast():
    env = {k: v for k, v in os.environ.items() if k != "LAB_QUICK"}
    began = time.monotonic()
    result = subprocess.run([str(BINDER / "start"), "env"], env=env, capture_output=True,
                            text=True, timeout=10, check=False, stdin=subprocess.DEVNULL)
    elapsed = time.monotonic() - began
    assert result.returncode == 0, result.stderr
    assert "LAB_QUICK=1" in result.stdout.splitlines()
    assert elapsed < 1.0, f"binder/start took {elapsed:.2f} s"


def test_start_execs_the_command_it_is_given():
    """exec: the server replaces the shell (same PID, its exit code, its arguments intact)."""
    process = subprocess.Popen(
        [str(BINDER / "start"), "sh", "-c", 'echo "$$"; printf "<%s>" "$@"; exit 7',
         "sh", "a b", "c"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        out, err = process.communicate(timeout=10)
    finally:
        process.kill()
    pid, args = out.splitlines()
    assert int(pid) == process.pid, "the command ran in a child of binder/start: no exec"
    assert args == "<a b><c>"
    assert process.returncode == 7, err


# --- binder/postBuild -----------------------------------------------------------------------

def test_postbuild_is_executable_and_stops_on_errors():
    post = BINDER / "postBuild"
    assert is_executable(post), "binder/postBuild must be executable"
    assert post.read_text().startswith("#!"), "binder/postBuild needs a shebang"
    first = code_lines(post)[0]
    assert re.match(r"set\s+-[a-z]*e[a-z]*(\s|$)", first), \
        f"binder/postBuild should start with `set -e` (or `set -euo pipefail`), not {first!r}"


def test_postbuild_installs_helpers_editable(tmp_path):
    """Run postBuild from the repo root (as the Dockerfile does) with a stand-in python/pip."""
    log = tmp_path / "calls"
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    for name in ("python", "python3", "pip", "pip3"):
        fake = fake_bin / name
        fake.write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\nexit "${{FAKE_STATUS:-0}}"\n')
        fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake_bin}{os.pathsep}{os.environ['PATH']}"}
    run = subprocess.run([str(BINDER / "postBuild")], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=10, check=False, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr
    calls = log.read_text().splitlines() if log.exists() else []
    editable = [call.split() for call in calls
                if re.search(r"\bpip install\b.*(-e|--editable)[ =]\.(\s|$)", call)]
    assert editable, f"postBuild should `pip install -e .` (helpers); it ran {calls}"
    # . is the repo root there, and the packages it installs are `helpers` and its subpackages
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["helpers"]
    for package in ("helpers", "helpers/core", "helpers/capstone", "helpers/scripts"):
        assert (ROOT / package).is_dir(), package  # shipped as part of helpers/

    failing = subprocess.run([str(BINDER / "postBuild")], cwd=ROOT, env={**env, "FAKE_STATUS": "3"},
                             capture_output=True, text=True, timeout=10, check=False,
                             stdin=subprocess.DEVNULL)
    assert failing.returncode != 0, "a failed install must fail the Binder build"


# --- README badge ---------------------------------------------------------------------------

def test_readme_badge_opens_notebook_00_in_jupyterlab():
    readme = (ROOT / "README.md").read_text()
    badges = re.findall(r"\[!\[[^\]]*\]\(https://mybinder\.org/badge[^)]*\)\]\(([^)\s]+)\)", readme)
    assert len(badges) == 1, f"expected one mybinder.org badge link in README.md, found {badges}"
    url = urlsplit(badges[0])
    assert (url.scheme, url.netloc) == ("https", "mybinder.org")
    parts = url.path.strip("/").split("/")
    assert parts[:2] == ["v2", "gh"] and len(parts) >= 5 and all(parts[2:5]), \
        f"expected https://mybinder.org/v2/gh/OWNER/REPO/REF, got {url.path}"
    query = parse_qs(url.query)
    if "labpath" in query:
        opened = unquote(query["labpath"][0]).lstrip("/")
    else:
        assert "urlpath" in query, \
            f"the badge should open a notebook (urlpath= or labpath=): {badges[0]}"
        urlpath = unquote(query["urlpath"][0]).lstrip("/")
        assert urlpath.startswith("lab/tree/"), f"urlpath {urlpath!r} does not open JupyterLab"
        opened = urlpath.removeprefix("lab/tree/")
    assert opened == FIRST_NOTEBOOK
    assert (ROOT / opened).is_file()
