"""helpers.the_gil.exercises: notebook 03's self-checks say what is wrong and give a hint."""
import pytest

from helpers.core.experiments import compare
from helpers.core.selfcheck import STRICT_ENV
from helpers.the_gil.exercises import JOBS, check_tool_choices, check_zlib_comparison


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    """These tests look at failed results, so strict mode is off."""
    monkeypatch.delenv(STRICT_ENV, raising=False)


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
