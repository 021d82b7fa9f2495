"""helpers.the_gil.readings: notebook 03's sentences follow the measurement — idle,
busy (disturbed), 1 CPU and beyond-ideal runs, GIL on and off."""
from __future__ import annotations

import pytest

from helpers.core.experiments import Comparison
from helpers.core.noise import MachineLoad
from helpers.core.runner import RunResult, TaskRecord
from helpers.the_gil.overlap import Overlap
from helpers.the_gil.readings import (
    GIL_POINT,
    GUARD_POINT,
    compare_lanes,
    describe_by_workload,
    describe_cpus_busy,
    key_points,
)

IDLE = MachineLoad(0.0, 2)
HOG = MachineLoad(1.0, 2)  # another program kept one of 2 CPUs busy


def run(executor: str, wall: float, cpu: float, workload: str = "count", workers: int = 2,
        load: MachineLoad | None = IDLE) -> RunResult:
    tasks = 4
    records = [TaskRecord(i, 1, i % workers, 0.0, wall, cpu / tasks) for i in range(tasks)]
    return RunResult(workload, executor, workers, tasks, 1, None, [wall], [cpu], records,
                     [1] * tasks, load)


def comparison(cpus: int, workload: str = "count", threads=(1.0, 1.0), processes=(0.52, 1.0),
               load: MachineLoad | None = IDLE) -> Comparison:
    if cpus == 1 and load is not None:
        load = MachineLoad(load.others / 2, 1)
    return Comparison({"serial": run("serial", 1.0, 1.0, workload, 1, load),
                       "threads": run("threads", *threads, workload, load=load),
                       "processes": run("processes", *processes, workload, load=load)},
                      effective_cpus=cpus)


def test_cpus_busy_idle_two_cpus_gil_on():
    text = describe_cpus_busy(comparison(2), gil=True).text
    assert "threads** kept 1.0 CPUs busy" in text and "never computed at the same time" in text
    assert "processes** kept 1.9 CPUs busy" in text and "own GIL" in text
    assert "disturbed" not in text


def test_cpus_busy_one_cpu_blames_no_gil():
    text = describe_cpus_busy(comparison(1, processes=(1.0, 1.0)), gil=True).text
    assert "With 1 effective CPU" in text and "never computed" not in text


def test_cpus_busy_busy_machine_is_disturbed_only():
    text = describe_cpus_busy(comparison(2, processes=(1.0, 1.0), load=HOG), gil=True).text
    assert "**disturbed**" in text and "GIL" not in text


def test_cpus_busy_threads_in_parallel_with_the_gil_on_is_disturbed():
    text = describe_cpus_busy(comparison(2, threads=(0.55, 1.0)), gil=True).text
    assert "**disturbed**" in text
    free = describe_cpus_busy(comparison(2, threads=(0.55, 1.0)), gil=False).text
    assert "the GIL is off, so threads computed at once" in free


def test_lanes_follow_the_measurement():
    assert "only the processes computed at the same time" in compare_lanes(comparison(2))
    one = compare_lanes(comparison(1, processes=(1.0, 1.0)))
    assert "1 effective CPU" in one and "only the processes" not in one
    assert "**disturbed**" in compare_lanes(comparison(2, processes=(1.0, 1.0), load=HOG))
    neither = compare_lanes(comparison(2, processes=(1.0, 1.0)))
    assert "neither computed at the same time" in neither


def test_by_workload_idle_two_cpus():
    lines = describe_by_workload({
        "sleep": comparison(2, "sleep", threads=(0.52, 0.0)),
        "zlib": comparison(2, "zlib", threads=(0.55, 1.0)),
        "hash-1k": comparison(2, "hash-1k")}, gil=True).lines
    assert "waits overlap on any number of CPUs" in lines[0]
    assert "releases the GIL while it computes, so the threads computed" in lines[1]
    assert "holds the GIL, so the threads took turns" in lines[2]


def test_by_workload_one_cpu_promises_nothing_from_the_gil():
    line = describe_by_workload({"zlib": comparison(1, "zlib")}, gil=True).lines[0]
    assert "1 effective CPU" in line and "computed at the same time" not in line
    lucky = describe_by_workload({"zlib": comparison(1, "zlib", threads=(0.7, 0.7))},
                                 gil=True).lines[0]  # 1.4× on 1 CPU: the baseline ran slow
    assert "**disturbed**" in lucky and "1 effective CPU only" not in lucky
    holding = describe_by_workload({"hash-1k": comparison(2, "hash-1k", threads=(0.7, 0.7))},
                                   gil=True).lines[0]  # 1.4× on work that holds the GIL
    assert "**disturbed**" in holding


def test_by_workload_gil_releasing_work_that_did_not_gain():
    """On 3.14, zlib measured 0.93×, 0.9 CPUs: no 'more than one CPU' claim then."""
    line = describe_by_workload({"zlib": comparison(2, "zlib", threads=(1.07, 0.96))},
                                gil=True).lines[0]
    assert "did not keep more than one CPU busy here" in line and "Run it again" in line


def test_by_workload_busy_machine_and_beyond_ideal_are_disturbed():
    busy = describe_by_workload({"zlib": comparison(2, "zlib", threads=(1.0, 1.0),
                                                    load=HOG)}, gil=True).lines[0]
    assert "**disturbed**" in busy and "releases the GIL" not in busy
    holding = describe_by_workload({"hash-1k": comparison(2, "hash-1k", threads=(0.5, 1.0))},
                                   gil=True).lines[0]
    assert "**disturbed**" in holding and "took turns" not in holding
    no_overlap = describe_by_workload({"sleep": comparison(2, "sleep", threads=(1.0, 0.0))},
                                      gil=True).lines[0]
    assert "**disturbed**" in no_overlap
    beyond = describe_by_workload({"sleep": comparison(1, "sleep", threads=(0.4, 0.0))},
                                  gil=True).lines[0]  # 2.5× with 2 workers, on 1 CPU
    assert "**disturbed**" in beyond and "2 workers" in beyond
    within = describe_by_workload({"sleep": comparison(1, "sleep", threads=(0.52, 0.0))},
                                  gil=True).lines[0]  # 1.9× on 1 CPU: the ideal is workers
    assert "waits overlap" in within


def test_bad_input_raises_value_error():
    with pytest.raises(ValueError, match="comparison"):
        describe_cpus_busy("lab")
    with pytest.raises(ValueError, match="comparison"):
        describe_by_workload({"zlib": None})


def fake_overlap(load: MachineLoad = IDLE) -> Overlap:
    """The count (0.5 s on a CPU) beside a 1 s sleep: serially, then in 2 threads."""
    def one(executor, count, sleep):
        records = [TaskRecord(0, 1, 1, *count, 0.5), TaskRecord(1, 1, 2, *sleep, 0.0)]
        return RunResult("seed_task", executor, 2, 2, None, None, [max(count[1], sleep[1])],
                         [0.5], records, [1, 1], load)
    return Overlap(one("serial", (0.0, 0.5), (0.5, 1.5)), one("threads", (0.0, 0.5), (0.0, 1.0)),
                   2, True)


def sweep(executor: str, walls: dict[int, float]) -> dict[int, RunResult]:
    return {w: run(executor, wall, min(w, 2) * wall if executor == "processes" else wall,
                   workers=w) for w, wall in walls.items()}


def test_key_points_come_from_the_measurements_then_two_plain_points():
    sweeps = {"threads": sweep("threads", {1: 1.0, 2: 1.0}),
              "processes": sweep("processes", {1: 1.0, 2: 0.52})}
    points = key_points(comparison(2), sweeps, fake_overlap(), 2).splitlines()
    assert 3 <= len(points) <= 6 and all(p.startswith("- ") for p in points)
    assert points[0].startswith("- In the lab: **threads** (2 workers)") and "1.9×" in points[0]
    assert "best 1.9× with 2 workers" in points[2] and "**threads**: best 1.0×" in points[2]
    assert "even with the GIL on" in points[3]
    assert points[-2:] == [f"- {GIL_POINT}", f"- {GUARD_POINT}"]
    assert "disturbed" not in "".join(points)


def test_key_points_of_a_disturbed_run_say_so_and_explain_nothing():
    sweeps = {"processes": sweep("processes", {1: 1.0, 2: 0.52})}
    points = key_points(comparison(2, processes=(1.0, 1.0), load=HOG), sweeps,
                        fake_overlap(MachineLoad(1.9, 2)), 2).splitlines()
    assert "**disturbed**" in points[1] and "GIL" not in points[1]
    assert "**disturbed**" in points[3] and "GIL" not in points[3]
    with pytest.raises(ValueError, match="comparison"):
        key_points(None, sweeps, fake_overlap(), 2)
