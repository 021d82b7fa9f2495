"""helpers.core.settings: quick mode and the start method, read from the environment."""
import multiprocessing
import os

import pytest

from helpers.core import settings


@pytest.mark.parametrize("text,expected", [("1", True), ("yes", True), ("0", False),
                                           ("", False), ("off", False), ("False", False)])
def test_quick_mode_reads_one_variable(monkeypatch, text, expected):
    monkeypatch.setenv(settings.QUICK_ENV, text)
    assert settings.quick_mode() is expected
    assert settings.default(100, 1) == (1 if expected else 100)


def test_start_method_forced_and_default(monkeypatch):
    monkeypatch.delenv(settings.START_METHOD_ENV, raising=False)
    assert settings.start_method() in multiprocessing.get_all_start_methods()
    monkeypatch.setenv(settings.START_METHOD_ENV, "spawn")
    assert settings.start_method() == "spawn"
    monkeypatch.setenv(settings.START_METHOD_ENV, "teleport")
    with pytest.raises(ValueError, match="LAB_START_METHOD"):
        settings.start_method()


def test_reading_the_start_method_does_not_fix_it(monkeypatch):
    monkeypatch.delenv(settings.START_METHOD_ENV, raising=False)
    before = multiprocessing.get_start_method(allow_none=True)
    settings.start_method()
    assert multiprocessing.get_start_method(allow_none=True) == before


def test_children_are_asked_for_plain_tracebacks(monkeypatch):
    """A kernel has FORCE_COLOR=1 (ipykernel): without PYTHON_COLORS=0 a 3.13+ child's
    traceback carries ANSI codes into the notebook."""
    import subprocess
    import sys

    from helpers.core.settings import plain_child_output

    monkeypatch.delenv("PYTHON_COLORS", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    plain_child_output()
    assert os.environ["PYTHON_COLORS"] == "0"
    child = subprocess.run([sys.executable, "-c", "1/0"], capture_output=True, text=True,
                           timeout=60)
    assert "ZeroDivisionError" in child.stderr and "\x1b[" not in child.stderr
    monkeypatch.setenv("PYTHON_COLORS", "1")
    plain_child_output()
    assert os.environ["PYTHON_COLORS"] == "1"  # a choice already made is kept
