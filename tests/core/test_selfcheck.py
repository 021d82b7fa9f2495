"""helpers.core.selfcheck: results that print and render, and the strict switch the tests use."""
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.core.colours import BLUISH_GREEN, VERMILLION
from helpers.core.selfcheck import (
    STRICT_ENV,
    CheckFailed,
    CheckResult,
    first_problem,
    inconclusive,
    not_yet,
    wrong_on_purpose,
)


def check_letter(answer: object):
    """A self-check as a lesson writes one: the first problem found, with a hint."""
    return first_problem([(answer == "b", "wrong.", "try this.")], "yes")


def test_check_result_display():
    ok, bad = CheckResult(True, "done"), CheckResult(False, "Not yet: x")
    assert ok and not bad
    assert str(ok).startswith("✅") and str(bad).startswith("❌")
    assert f"color:{BLUISH_GREEN}" in ok._repr_html_()
    assert f"color:{VERMILLION}" in bad._repr_html_()
    assert not first_problem([(True, "a", "b"), (False, "wrong.", "try this.")], "yes")


def test_importing_the_checks_does_not_import_matplotlib():
    """Lesson modules that check answers run in the free-threaded venv, which has no
    matplotlib: the checks take their colours from helpers.core.colours, not the plots."""
    code = ("import sys, helpers.core.selfcheck; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True, cwd=Path(__file__).resolve().parents[2])
    assert done.stdout.strip() == "[]"


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    """Unit tests look at failed results, so strict mode is off unless a test turns it on."""
    monkeypatch.delenv(STRICT_ENV, raising=False)


def test_without_the_strict_switch_a_failed_check_returns(monkeypatch):
    for value in (None, "0", ""):
        if value is None:
            monkeypatch.delenv(STRICT_ENV, raising=False)
        else:
            monkeypatch.setenv(STRICT_ENV, value)
        result = not_yet("wrong.", "try this.")
        assert isinstance(result, CheckResult) and not result
        assert not check_letter("a")


def test_the_strict_switch_makes_a_failed_check_raise_with_its_message(monkeypatch):
    monkeypatch.setenv(STRICT_ENV, "1")
    with pytest.raises(CheckFailed, match="Not yet: wrong. Hint: try this.") as raised:
        not_yet("wrong.", "try this.")
    assert isinstance(raised.value, AssertionError) and not raised.value.result.passed
    with pytest.raises(CheckFailed, match="Hint"):  # every check function gets it
        check_letter("a")
    with pytest.raises(CheckFailed):
        first_problem([(True, "a.", "b."), (False, "wrong.", "try this.")], "yes")
    assert check_letter("b") and first_problem([(True, "a.", "b.")], "yes")
    with wrong_on_purpose():  # a cell that shows a wrong answer on purpose
        assert not check_letter("a")
    with pytest.raises(CheckFailed):  # and strict again after it
        check_letter("a")


def test_inconclusive_is_neither_pass_nor_fail_and_never_raises(monkeypatch):
    monkeypatch.setenv("LAB_STRICT_CHECKS", "1")
    result = inconclusive("Threads kept 0.6 CPUs busy: the run was **disturbed**.")
    assert result and not result.passed and result.inconclusive
    assert str(result).startswith("⚠️ ") and "disturbed" in result._repr_html_()
