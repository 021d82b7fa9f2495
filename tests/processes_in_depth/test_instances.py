"""Many instances of a program: each copy reports, copies run at once, none outlives a timeout."""
import subprocess

import pytest

from helpers.processes_in_depth import instances as inst


def test_copies_report_their_work(no_leftover_processes):
    run = inst.run_instances(3, 10_000, together=True)
    assert [r["count"] for r in run.reports] == [10_000] * 3
    assert len({r["pid"] for r in run.reports}) == 3
    assert run.cpu > 0 and run.together


def test_compare_runs_both_ways(no_leftover_processes):
    runs = inst.compare_instances(2, 10_000)
    assert not runs["one after another"].together and runs["all at once"].together
    text = inst.describe_instances(runs, 2).text
    assert "2 copies one after another" in text
    one_cpu = inst.describe_instances(runs, 1).text
    assert "1 effective CPU" in one_cpu and "noise" in one_cpu


def test_a_timeout_leaves_no_copy(no_leftover_processes):
    with pytest.raises(subprocess.TimeoutExpired):
        inst.run_instances(2, inst.MAX_NUMBER, timeout=0.3)


@pytest.mark.parametrize("call, name", [
    (lambda: inst.run_instances(0), "count"),
    (lambda: inst.run_instances(inst.MAX_INSTANCES + 1), "count"),
    (lambda: inst.run_instances(1, 0), "number"),
    (lambda: inst.run_instances(1, 10, timeout=0), "timeout"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()
