import pytest

from helpers.exercises import (STRICT_ENV, CheckFailed, CheckResult, first_problem, not_yet,
                               wrong_on_purpose)
from helpers.experiments import compare
from helpers.gil_exercises import JOBS, check_tool_choices, check_zlib_comparison


def test_check_result_display():
    ok, bad = CheckResult(True, "done"), CheckResult(False, "Not yet: x")
    assert ok and not bad
    assert str(ok).startswith("✅") and str(bad).startswith("❌")
    assert "#009E73" in ok._repr_html_()
    assert not first_problem([(True, "a", "b"), (False, "wrong.", "try this.")], "yes")


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
        assert not check_tool_choices(["threads"])


def test_the_strict_switch_makes_a_failed_check_raise_with_its_message(monkeypatch):
    monkeypatch.setenv(STRICT_ENV, "1")
    with pytest.raises(CheckFailed, match="Not yet: wrong. Hint: try this.") as raised:
        not_yet("wrong.", "try this.")
    assert isinstance(raised.value, AssertionError) and not raised.value.result.passed
    with pytest.raises(CheckFailed, match="Hint"):  # every check function gets it
        check_tool_choices(["threads"])
    with pytest.raises(CheckFailed):
        first_problem([(True, "a.", "b."), (False, "wrong.", "try this.")], "yes")
    right = {job: tool for job, (tool, _) in JOBS.items()}
    assert check_tool_choices(right) and first_problem([(True, "a.", "b.")], "yes")
    with wrong_on_purpose():  # a cell that shows a wrong answer on purpose
        assert not check_tool_choices(["threads"])
    with pytest.raises(CheckFailed):  # and strict again after it
        check_tool_choices(["threads"])


def test_tool_choices_right_and_wrong():
    right = {job: tool for job, (tool, _) in JOBS.items()}
    assert check_tool_choices(right)
    for job in JOBS:
        wrong = dict(right, **{job: "processes" if right[job] == "threads" else "threads"})
        result = check_tool_choices(wrong)
        assert not result and "Hint" in result.message
    assert not check_tool_choices(dict(right, **{next(iter(JOBS)): ...}))
    assert not check_tool_choices(["threads"])


def test_zlib_comparison_right_and_wrong():
    right = compare("zlib", ("serial", "threads"), workers=2, tasks=2, size=1, repeats=1)
    assert check_zlib_comparison(right)
    wrong_workload = compare("count", ("serial", "threads"), workers=2, tasks=2, size=10_000,
                             repeats=1)
    assert "workload" in check_zlib_comparison(wrong_workload).message
    one_worker = compare("zlib", ("serial", "threads"), workers=1, tasks=2, size=1, repeats=1)
    assert "single worker" in check_zlib_comparison(one_worker).message
    no_serial = compare("zlib", ("threads",), workers=2, tasks=2, size=1, repeats=1)
    assert not check_zlib_comparison(no_serial)
    assert not check_zlib_comparison(None)
