"""Disturbed runs of a sweep, said once per sign: other programs, a starved run, spread."""
import pytest

from helpers.core.noise import MachineLoad
from helpers.core.runner import RunResult, TaskRecord
from helpers.processes_in_depth.disturbance import disturbance_lines, join_labels, join_words

IDLE = MachineLoad(others=0.05, allowed=2)
BUSY = MachineLoad(others=1.0, allowed=2)


def run(workers=2, walls=(1.0,), cpu_share=1.0, load=None):
    cpu = [wall * cpu_share * workers for wall in walls]
    records = [TaskRecord(i, 1, i, 0.0, walls[0], walls[0]) for i in range(workers)]
    return RunResult("count", "processes", workers, workers, 10, None, list(walls), cpu,
                     records, [10] * workers, load)


def test_joining_words_and_labels():
    assert join_words(["a"]) == "a" and join_words(["a", "b", "c"]) == "a, b and c"
    assert join_labels(["chunks of 1", "chunks of 4"]) == "chunks of 1 and 4"
    assert join_labels(["1 worker", "2 workers"]) == "1 worker and 2 workers"
    assert join_labels(["pickled"]) == "pickled"


def test_an_idle_sweep_has_nothing_to_say():
    assert disturbance_lines([("a", run(load=IDLE)), ("b", run(1, load=IDLE))], 2, "it") == []


def test_busy_runs_make_one_sentence():
    lines = disturbance_lines([("chunks of 1", run(load=BUSY)), ("chunks of 4", run(load=BUSY)),
                               ("chunks of 16", run(load=IDLE))], 2, "this sweep")
    assert len(lines) == 1
    assert "chunks of 1 and 4 ran" in lines[0] and "about 1.0 of this machine's 2 CPUs" in lines[0]
    assert "this sweep is **disturbed**" in lines[0]


@pytest.mark.parametrize("computes, expected", [(True, 1), (False, 0)])
def test_a_starved_one_worker_run_counts_only_for_work_that_computes_throughout(computes,
                                                                               expected):
    lines = disturbance_lines([("the serial loop", run(1, cpu_share=0.5))], 2, "this sweep",
                              computes_throughout=computes)
    assert len(lines) == expected
    if lines:
        assert "kept only 0.5 CPUs busy" in lines[0] and "**disturbed**" in lines[0]


def test_one_cpu_and_repeats_that_disagree():
    one_cpu = MachineLoad(others=0.6, allowed=1)
    lines = disturbance_lines([("2 workers", run(load=one_cpu))], 1, "this sweep")
    assert "of this machine's 1 CPU busy" in lines[0]
    spread = disturbance_lines([("2 workers", run(walls=(1.0, 1.3, 1.6), load=IDLE))], 2,
                               "this sweep")
    assert "of 2 workers disagreed (from 1 s to 1.6 s)" in spread[0]
    assert "**disturbed**" in spread[0]
    two = disturbance_lines([("1 worker", run(1, walls=(1.0, 1.3, 1.5), load=IDLE)),
                             ("2 workers", run(walls=(1.0, 1.3, 1.6), load=IDLE))], 2, "it")
    assert "of 1 worker and 2 workers disagreed (2 workers: from 1 s to 1.6 s)" in two[0]
