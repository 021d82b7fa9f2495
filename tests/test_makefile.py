"""What `make lab` and `make test` would install, read from `make -n` in a copy of the repo.

`make lab` must install the lab's pins only (requirements.txt, then the project itself); the
test tools (requirements-test.txt) come with `make test` and `make bench`. With `UV=` pointing
at a uv, the same files are installed by `uv pip install`; without, by pip.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FILES = ("Makefile", "requirements.txt", "requirements-test.txt", "pyproject.toml")

if shutil.which("make") is None:
    pytest.skip("make is not installed", allow_module_level=True)


def planned(target: str, tmp_path: Path, uv: str = "", *more: str) -> str:
    """The commands `make -n TARGET` prints in a copy without a .venv."""
    for name in FILES:
        shutil.copy2(ROOT / name, tmp_path / name)
    result = subprocess.run(["make", "-n", "--no-print-directory", target, f"UV={uv}", *more],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    return result.stdout


def installs(plan: str) -> list[str]:
    return [line.strip() for line in plan.splitlines() if " install " in line]


def test_make_lab_installs_the_lab_only(tmp_path):
    plan = installs(planned("lab", tmp_path))
    assert any("-r requirements.txt" in line for line in plan), plan
    assert any("--no-deps -e ." in line for line in plan), plan
    assert not any("requirements-test.txt" in line for line in plan), plan


def test_make_test_adds_the_test_tools(tmp_path):
    plan = planned("test", tmp_path)
    assert "-r requirements.txt" in plan and "-r requirements-test.txt" in plan, plan


def test_make_lab_uses_uv_when_given_and_pip_otherwise(tmp_path):
    with_uv = installs(planned("lab", tmp_path, uv="/opt/uv/bin/uv"))
    assert with_uv and all(line.startswith("/opt/uv/bin/uv pip install") for line in with_uv
                           if "requirements" in line or "-e ." in line), with_uv
    with_pip = installs(planned("lab", tmp_path))
    assert all("-m pip install" in line for line in with_pip), with_pip


def test_make_lab_on_windows_uses_the_venvs_scripts_folder(tmp_path):
    plan = installs(planned("lab", tmp_path, "", "OS=Windows_NT"))
    assert plan and all(line.startswith(".venv/Scripts/python -m pip") for line in plan), plan
    assert "python -m venv .venv" in planned("lab", tmp_path, "", "OS=Windows_NT")
