"""The pins are declared once, in pyproject.toml; the requirements files are written from it.

* ``tools/pins.py --check`` passes on the repo, and fails (naming the file) when a pin in
  pyproject.toml changes without the files being written again.
* The lab's own list holds no test tool, and the test group holds the tools the tests import.
"""
from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("pins_tool", ROOT / "tools" / "pins.py")
pins = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = pins
spec.loader.exec_module(pins)

TEST_TOOLS = {"pytest", "pytest-timeout", "nbval", "playwright", "jupyter-repo2docker", "uv"}


def names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in requirements}


def test_requirements_files_agree_with_pyproject():
    assert pins.differing() == [], "run `python tools/pins.py` after editing pyproject.toml"
    assert pins.main(["--check"]) == 0


def test_a_pin_changed_only_in_pyproject_is_caught(tmp_path):
    (tmp_path / "binder").mkdir()
    shutil.copy2(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for name in pins.rendered(pins.declared()):
        shutil.copy2(ROOT / name, tmp_path / name)
    assert pins.differing(tmp_path) == []
    text = (tmp_path / "pyproject.toml").read_text()
    (tmp_path / "pyproject.toml").write_text(text.replace('"psutil==7.2.2"', '"psutil==7.2.1"'))
    assert pins.differing(tmp_path) == ["requirements.txt", "binder/requirements.txt"]
    assert pins.write(tmp_path) == ["requirements.txt", "binder/requirements.txt"]
    assert "psutil==7.2.1\n" in (tmp_path / "requirements.txt").read_text()
    assert pins.differing(tmp_path) == []


def test_the_lab_needs_no_test_tool_and_the_test_group_has_them():
    declared = pins.declared()
    assert not names(declared["lab"]) & TEST_TOOLS
    assert names(declared["test"]) == TEST_TOOLS
    for requirement in declared["lab"] + declared["test"] + declared["binder"]:
        specifiers = list(Requirement(requirement).specifier)
        assert [s.operator for s in specifiers] == ["=="], f"{requirement}: not pinned with =="
