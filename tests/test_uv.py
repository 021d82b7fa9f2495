"""`uv sync` gives the same lab as `make lab`: the README's uv route, run for real.

A copy of the repo (the files git would give a clone, local changes included) is synced with
the ``uv`` that ``requirements-test.txt`` pins, on this interpreter. Then
``uv run jupyter lab --version`` must answer with our JupyterLab pin, every lab pin that
applies here must be installed at exactly its version, ``helpers`` must import from the copy,
no test tool may be there (``uv sync`` installs no dependency group we do not ask for), and
the lab's JupyterLab settings (no news pop-up) must be in the environment, as with pip.

uv needs PyPI (its cache makes a second run take seconds): where PyPI cannot be reached the
test is skipped, except under CI (``CI`` set), where it fails.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bench.install import uv_binary

try:
    import tomllib
except ImportError:  # Python 3.10: pytest depends on tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
OFFLINE = re.compile(r"(?i)failed to fetch|dns error|connection (refused|reset)|"
                     r"network is unreachable|timed out|could not connect")

pytestmark = pytest.mark.timeout(1200)


def find_uv() -> str:
    """The uv to run (bench.install finds it the same way); skipped (failed under CI)
    without one."""
    found = uv_binary()
    if found:
        return found
    message = "uv is not installed (`pip install -r requirements-test.txt` pins it)"
    if os.environ.get("CI"):
        pytest.fail(message + "; under CI this check must run")
    pytest.skip(message)


def declared_test_tools() -> set[str]:
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]
    return {canonicalize_name(Requirement(r).name) for r in groups["test"]}


def clone_like_copy(target: Path) -> Path:
    """The files a clone would have (tracked, plus new files not ignored) copied to ``target``."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, timeout=60, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def run_uv(uv: str, args: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")}
    env.update(UV_PYTHON_DOWNLOADS="never", UV_NO_PROGRESS="1")
    return subprocess.run([uv, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False, stdin=subprocess.DEVNULL)


def lab_pins_here() -> dict[str, str]:
    """Name → pinned version, for every pin of requirements.txt that applies on this Python."""
    environment = default_environment()
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate(environment):
                (pin,) = requirement.specifier
                pins[canonicalize_name(requirement.name)] = pin.version
    return pins


@pytest.fixture(scope="module")
def synced(tmp_path_factory) -> tuple[str, Path]:
    uv = find_uv()
    project = clone_like_copy(tmp_path_factory.mktemp("uv-clone"))
    result = run_uv(uv, ["sync", "--python", sys.executable], project, timeout=900)
    if result.returncode != 0 and OFFLINE.search(result.stderr):
        message = f"uv could not reach PyPI: {result.stderr[-800:]}"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI reaches PyPI, so this check must run there")
        pytest.skip(message)
    assert result.returncode == 0, f"uv sync failed:\n{result.stderr[-3000:]}"
    return uv, project


def test_uv_run_jupyter_lab_answers_with_our_jupyterlab(synced):
    uv, project = synced
    result = run_uv(uv, ["run", "--no-sync", "jupyter", "lab", "--version"], project, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == lab_pins_here()["jupyterlab"]


def test_uv_sync_installs_the_lab_pins_helpers_and_no_test_tool(synced):
    uv, project = synced
    probe = ("import importlib.metadata as m, json, helpers, sys\n"
             "names = [d.metadata['Name'] for d in m.distributions()]\n"
             "print(json.dumps({'helpers': helpers.__file__, 'prefix': sys.prefix,\n"
             "                  'versions': {n: m.version(n) for n in names}}))")
    result = run_uv(uv, ["run", "--no-sync", "python", "-c", probe], project, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert Path(report["helpers"]).resolve().is_relative_to(project.resolve())
    installed = {canonicalize_name(name): version for name, version in report["versions"].items()}
    wrong = {name: (installed.get(name), pinned) for name, pinned in lab_pins_here().items()
             if installed.get(name) != pinned}
    assert not wrong, f"uv sync differs from requirements.txt (installed, pinned): {wrong}"
    assert not declared_test_tools() & set(installed), "test tools in the lab"
    settings = Path(report["prefix"], "share/jupyter/lab/settings/overrides.d")
    assert (settings / "concurrency-lab.json").is_file(), "the lab's quiet JupyterLab settings"
