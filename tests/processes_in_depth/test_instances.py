"""Many instances of a program: each copy reports, copies run at once, none outlives a timeout."""
import subprocess

import pytest

from helpers.core.noise import MachineLoad
from helpers.processes_in_depth import instances as inst


def test_copies_report_their_work(no_leftover_processes):
    run = inst.run_instances(3, 10_000, together=True)
    assert [r["count"] for r in run.reports] == [10_000] * 3
    assert len({r["pid"] for r in run.reports}) == 3
    assert run.cpu > 0 and run.together


def test_compare_runs_both_ways(no_leftover_processes):
    runs = inst.compare_instances(2, 10_000)
    assert not runs["one after another"].together and runs["all at once"].together
    assert "2 copies one after another" in inst.describe_instances(runs, 2).text


def fake_runs(serial_s, together_s, load=None, count=4, cpu=0.2):
    reports = [{"count": 1, "pid": i, "cpu": cpu} for i in range(count)]
    return {"one after another": inst.InstancesRun(count, 1, False, serial_s, reports, load),
            "all at once": inst.InstancesRun(count, 1, True, together_s, reports, load)}


def test_words_idle_busy_one_cpu_and_beyond_ideal():
    idle = inst.describe_instances(fake_runs(0.8, 0.42, MachineLoad(0.1, 2)), 2).text
    assert "1.9× faster" in idle and "own GIL" in idle and "disturbed" not in idle
    busy = inst.describe_instances(fake_runs(0.8, 0.7, MachineLoad(1.0, 2)), 2).text
    assert "**disturbed**" in busy and "GIL" not in busy
    one_cpu = inst.describe_instances(fake_runs(0.8, 0.78, MachineLoad(0.1, 1)), 1).text
    assert "1 effective CPU" in one_cpu and "disturbed" not in one_cpu
    beyond = inst.describe_instances(fake_runs(0.8, 0.34, MachineLoad(0.1, 1)), 1).text
    assert "at most 1×" in beyond and "**disturbed**" in beyond and "GIL" not in beyond


def test_waits_of_the_one_after_another_run_raise_the_ideal():
    """Started one after another, the copies kept 0.8 CPUs busy (an interpreter's start-up
    waits too): at once, 2 CPUs can then gain up to 2 ÷ 0.8 = 2.5×, not only 2×."""
    runs = fake_runs(0.8, 0.35, MachineLoad(0.1, 2), cpu=0.16)
    assert inst.serial_busy(runs) == pytest.approx(0.8)
    assert inst.ideal_gain(runs, 2) == pytest.approx(2.5)
    text = inst.describe_instances(runs, 2).text
    assert "disturbed" not in text and "kept only 0.80 CPUs busy" in text
    beyond = inst.describe_instances(fake_runs(0.8, 0.28, MachineLoad(0.1, 2), cpu=0.16), 2)
    assert "at most 2.5×" in beyond.text and "**disturbed**" in beyond.text


def test_the_copies_own_cpu_is_not_counted_as_other_programs(no_leftover_processes):
    run = inst.run_instances(2, 300_000, together=True)
    if run.load is not None:  # psutil present and the run long enough to measure
        ours = run.cpu / run.seconds
        assert run.load.others < run.load.allowed - ours + 0.5


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
