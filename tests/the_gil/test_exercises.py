"""helpers.the_gil.exercises: notebook 03's self-checks say what is wrong and give a hint."""
import pytest

from helpers.core.experiments import Comparison, compare
from helpers.core.noise import MachineLoad
from helpers.core.runner import RunResult, TaskRecord
from helpers.core.selfcheck import STRICT_ENV
from helpers.the_gil.exercises import (
    JOBS,
    check_tool_choices,
    check_zlib_comparison,
)


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
    assert not check_tool_choices(["threads"])
    assert not check_tool_choices(dict(right, **{next(iter(JOBS)): "both"}))


def test_tool_choices_left_empty_are_not_answered_yet():
    empty = {job: ... for job in JOBS}
    half = dict(empty, **{next(iter(JOBS)): "threads"})
    for answer in (empty, half, ...):
        result = check_tool_choices(answer)
        assert result.state == "unanswered" and not result.passed
        assert str(result).startswith("✎ Not answered yet") and "choices" in result.message


def test_zlib_comparison_right_and_wrong():
    right = compare("zlib", ("serial", "threads"), workers=2, tasks=2, size=1, repeats=1)
    assert check_zlib_comparison(right, 2)  # passes, or is inconclusive: never fails
    wrong_workload = compare("count", ("serial", "threads"), workers=2, tasks=2, size=10_000,
                             repeats=1)
    assert "workload" in check_zlib_comparison(wrong_workload, 2).message
    one_worker = compare("zlib", ("serial", "threads"), workers=1, tasks=2, size=1, repeats=1)
    assert "single worker" in check_zlib_comparison(one_worker, 2).message
    no_serial = compare("zlib", ("threads",), workers=2, tasks=2, size=1, repeats=1)
    assert not check_zlib_comparison(no_serial, 2)
    assert not check_zlib_comparison(None, 2)
    for prediction in (None, "2", True, -1):
        result = check_zlib_comparison(right, prediction)
        assert not result and "predicted_cpus" in result.message
        assert result.state == "failed"


def test_zlib_left_empty_is_not_answered_yet():
    right = fake_zlib(2, 1.9, 0.53)
    for comparison, prediction, names in ((..., ..., "predicted_cpus and zlib_comparison"),
                                          (right, ..., "predicted_cpus"),
                                          (..., 2, "zlib_comparison")):
        result = check_zlib_comparison(comparison, prediction)
        assert result.state == "unanswered" and not result.passed
        assert f"set {names} (" in result.message and str(result).startswith("✎")


IDLE = MachineLoad(0.0, 2)


def fake_zlib(cpus: int, threads_busy: float, threads_wall: float,
              load: MachineLoad | None = IDLE) -> Comparison:
    """serial 1 s at 1 CPU; 2 threads at ``threads_busy`` CPUs for ``threads_wall`` s."""
    if cpus == 1 and load is not None:
        load = MachineLoad(min(load.others, 1.0), 1)
    def run(executor, workers, wall, busy):
        records = [TaskRecord(i, 1, i % workers, 0.0, wall, busy * wall / 4) for i in range(4)]
        return RunResult("zlib", executor, workers, 4, 1, None, [wall], [busy * wall],
                         records, [1] * 4, load)
    return Comparison({"serial": run("serial", 1, 1.0, 1.0),
                       "threads": run("threads", 2, threads_wall, threads_busy)},
                      effective_cpus=cpus)


def test_zlib_idle_two_cpus_speaks_from_measurement_and_prediction():
    result = check_zlib_comparison(fake_zlib(2, 1.9, 0.53), 2)
    assert result and str(result).startswith("✓")
    assert "1.9 CPUs busy" in result.message
    assert "you predicted 2 — as you expected" in result.message
    assert "compressed at the same time" in result.message
    wrong = check_zlib_comparison(fake_zlib(2, 1.9, 0.53), 1)
    assert wrong and "not what you expected" in wrong.message


def test_zlib_one_cpu_promises_no_parallelism():
    result = check_zlib_comparison(fake_zlib(1, 1.0, 1.0), 1)
    assert result and "With 1 effective CPU" in result.message
    assert "more than one CPU" not in result.message.replace("can only show on 2 or more", "")
    assert "compressed at the same time" not in result.message


def test_zlib_busy_machine_neither_passes_nor_fails(monkeypatch):
    monkeypatch.setenv(STRICT_ENV, "1")  # an inconclusive check must not raise either
    result = check_zlib_comparison(fake_zlib(2, 1.0, 1.0, MachineLoad(1.0, 2)), 2)
    assert result.inconclusive and str(result).startswith("⚠ ")
    assert "**disturbed**" in result.message and "releases the GIL" not in result.message


def test_zlib_beyond_ideal_or_no_gain_is_inconclusive():
    no_gain = check_zlib_comparison(fake_zlib(2, 1.0, 1.0), 2)  # 3.14 report: 0.93×, 0.9 CPUs
    assert no_gain.inconclusive and "run it again" in no_gain.message
    starved = check_zlib_comparison(fake_zlib(1, 0.5, 1.0), 1)
    assert starved.inconclusive and "**disturbed**" in starved.message
    beyond = check_zlib_comparison(fake_zlib(1, 1.0, 0.6), 1)  # 1.67× on 1 CPU
    assert beyond.inconclusive and "**disturbed**" in beyond.message
    assert "GIL" not in beyond.message.split("predicted 1")[1]
