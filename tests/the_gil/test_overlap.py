"""helpers.the_gil.overlap: a counting thread beside a sleeping thread, measured.

The words are checked on fakes (idle, busy, 1 CPU, no overlap, GIL off); one real run
checks the records: the two threads overlap, and the sleep needs no CPU."""
from __future__ import annotations

import pytest

from helpers.core.noise import MachineLoad
from helpers.core.runner import RunResult, TaskRecord
from helpers.core.selfcheck import STRICT_ENV
from helpers.the_gil.overlap import (
    Overlap,
    describe_overlap,
    measure_overlap,
    plot_overlap,
    seed_task,
)

IDLE = MachineLoad(0.0, 2)


def fake(count: tuple[float, float, float], sleep: tuple[float, float],
         executor: str = "threads", load: MachineLoad | None = IDLE) -> RunResult:
    """A run whose count went (start, end, cpu) and whose sleep went (start, end)."""
    records = [TaskRecord(0, 1, 1, count[0], count[1], count[2]),
               TaskRecord(1, 1, 2 if executor == "threads" else 1, sleep[0], sleep[1], 0.0)]
    wall = max(count[1], sleep[1])
    return RunResult("seed_task", executor, 2, 2, None, None, [wall], [count[2]], records,
                     [1, 1], load)


def overlap(cpus: int = 2, gil: bool = True, threads=((0.0, 0.5, 0.5), (0.0, 1.0)),
            load: MachineLoad | None = IDLE) -> Overlap:
    serial = fake((0.0, 0.5, 0.5), (0.5, 1.5), "serial", load)
    return Overlap(serial, fake(*threads, load=load), cpus, gil)


def test_idle_two_cpus_measures_the_overlap_and_names_the_gil():
    result = overlap()
    assert result.overlap == pytest.approx(0.5) and result.count_share == pytest.approx(1.0)
    text = describe_overlap(result).text
    assert "1.50 s in all" in text and "at once for 0.50 s" in text
    assert "even with the GIL on" in text and "disturbed" not in text


def test_one_cpu_says_waiting_needs_no_cpu():
    text = describe_overlap(overlap(cpus=1)).text
    assert "on 1 effective CPU too" in text


def test_gil_off():
    text = describe_overlap(overlap(gil=False)).text
    assert "the GIL is off" in text and "even with the GIL on" not in text


def test_busy_machine_is_disturbed_and_explains_nothing():
    starved = describe_overlap(overlap(threads=((0.0, 1.0, 0.5), (0.0, 1.0)))).text
    assert "**disturbed**" in starved and "GIL" not in starved
    hog = describe_overlap(overlap(load=MachineLoad(1.9, 2))).text
    assert "**disturbed**" in hog and "GIL" not in hog


def test_no_overlap_is_called_disturbed_not_explained():
    text = describe_overlap(overlap(threads=((0.0, 0.5, 0.5), (0.5, 1.5)))).text
    assert "overlapped for only 0.00 s" in text and "**disturbed**" in text


def test_seed_task_checks_its_job():
    assert seed_task(("count", 1000)) == 1000
    assert seed_task(("sleep", 0.0)) == 0.0
    for bad, name in ((("wait", 1), "kind"), (("count", -1), "count"),
                      (("sleep", 99.0), "sleep"), ("count", "job")):
        with pytest.raises(ValueError, match=name):
            seed_task(bad)
    with pytest.raises(ValueError, match="result"):
        describe_overlap(None)


def test_a_real_run_overlaps(monkeypatch):
    monkeypatch.delenv(STRICT_ENV, raising=False)
    seen = []
    result = measure_overlap(count=1_000_000, sleep=0.2, repeats=1,
                             on_progress=lambda done, total: seen.append((done, total)))
    assert seen[-1][0] == seen[-1][1] and len({total for _, total in seen}) == 1
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)  # never goes back
    assert len(seen) == 4  # one step per task: 2 tasks serially, then 2 in threads
    sleep = result.record(result.threads, "sleep")
    assert sleep.cpu < 0.5 * sleep.duration  # sleeping needs (almost) no CPU
    assert result.overlap > 0  # both were under way at once
    serial = result.serial.records
    assert serial[0].end <= serial[1].start + 1e-6  # serial: one after the other
    assert plot_overlap(result).axes
