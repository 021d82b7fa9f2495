"""helpers.core.selfcheck: results that print and render, and the strict switch the tests use."""
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.core.colours import BLUISH_GREEN, VERMILLION
from helpers.core.selfcheck import (
    ANSWERS_ENV,
    LOG_ENV,
    MARKS,
    STRICT_ENV,
    CheckFailed,
    CheckResult,
    blank,
    first_problem,
    inconclusive,
    not_answered,
    not_yet,
    wrong_on_purpose,
)


def check_letter(answer: object):
    """A self-check as a lesson writes one: the first problem found, with a hint."""
    return first_problem([(answer == "b", "wrong.", "try this.")], "yes")


def test_check_result_display():
    ok, bad = CheckResult(True, "done"), CheckResult(False, "Not yet: x")
    assert ok and not bad
    assert str(ok).startswith("✓ ") and str(bad).startswith("✗ ")
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
    for name in (STRICT_ENV, ANSWERS_ENV, LOG_ENV):
        monkeypatch.delenv(name, raising=False)


def test_marks_are_text_glyphs_not_emoji():
    """✅ ❌ ⚠️ need an emoji font (an empty box without one); these are in DejaVu Sans."""
    assert set(MARKS.values()) == {"✓", "✗", "⚠", "✎"}
    assert all(ord(mark) < 0x2800 for mark in MARKS.values())
    for result in (CheckResult(True, "a"), not_yet("b", "c"), inconclusive("d"),
                   not_answered("e")):
        assert "\ufe0f" not in str(result) and str(result)[0] in MARKS.values()


def test_blank_finds_the_placeholder_anywhere_in_an_answer():
    assert blank(...) and blank({"a": 1, "b": ...}) and blank([1, (2, ...)])
    assert not blank(None) and not blank(0) and not blank({"a": "threads"}) and not blank([])


def test_not_answered_is_neither_pass_nor_fail():
    result = not_answered("set choices, then run this cell again.")
    assert not result and not result.passed and result.state == "unanswered"
    assert str(result).startswith("✎ Not answered yet: set choices")


def test_strict_mode_follows_what_the_exercises_were_fed(monkeypatch):
    monkeypatch.setenv(STRICT_ENV, "1")
    not_answered("x")  # as committed, with no LAB_ANSWERS: an empty exercise is no failure
    monkeypatch.setenv(ANSWERS_ENV, "solutions")
    with pytest.raises(CheckFailed, match="Not answered yet"):
        not_answered("x")
    assert CheckResult(True, "ok") and inconclusive("disturbed")
    monkeypatch.setenv(ANSWERS_ENV, "empty")
    assert not not_answered("x")
    for made in (lambda: CheckResult(True, "ok"), lambda: inconclusive("d"),
                 lambda: not_yet("a", "b")):
        with pytest.raises(CheckFailed):
            made()
    with wrong_on_purpose():
        assert not not_yet("a", "b")


def test_each_result_is_logged_when_asked(monkeypatch, tmp_path):
    log = tmp_path / "checks.log"
    monkeypatch.setenv(LOG_ENV, str(log))
    CheckResult(True, "fine")
    with wrong_on_purpose():
        not_yet("shown on purpose", "not an exercise")
    not_answered("set x\nthen run")
    assert log.read_text().splitlines() == ["passed fine", "unanswered Not answered yet: "
                                                           "set x then run"]


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
    assert str(result).startswith("⚠ ") and "disturbed" in result._repr_html_()


def test_names_in_backticks_show_in_code_font():
    shown = not_answered("set `guesses`, then run this cell again.")._repr_html_()
    assert "<code>guesses</code>" in shown and "`" not in shown
    odd = not_answered("a lone ` stays as it is")._repr_html_()
    assert "`" in odd and "<code>" not in odd
