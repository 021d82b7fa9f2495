"""helpers.threads.overlap and the measured words of notebook 01: how many waits were under
way at once, the cost of starting threads, and exercise 2's check judged from measured waits.

Fed fake runs — idle, busy (load disturbed), 1 CPU and beyond what the threads allow."""
from __future__ import annotations

from helpers.core.noise import MachineLoad
from helpers.core.runner import RunResult, TaskRecord, run_tasks
from helpers.threads import basics
from helpers.threads.overlap import cpu_share, describe_waits, most_at_once

IDLE = MachineLoad(others=0.0, allowed=2)
MECHANISMS = ("GIL", "needs no CPU", "concurrency")


def sleep_run(executor: str, workers: int, tasks: int = 4, unit: float = 0.05,
              walls: list[float] | None = None) -> RunResult:
    """Fake sleep tasks of ``unit`` s on ``workers`` threads, in rounds; CPU time ~0."""
    records = [TaskRecord(i, 1, i % workers, (i // workers) * unit, (i // workers + 1) * unit,
                          0.0001) for i in range(tasks)]
    wall = max(r.end for r in records)
    return RunResult("sleep", executor, workers, tasks, 50, None, walls or [wall] * 3,
                     [0.001] * 3, records, [unit] * tasks, IDLE)


def sleeps(**threads_options) -> dict[str, RunResult]:
    return {"serial": sleep_run("serial", 1), "threads": sleep_run("threads", 4, **threads_options),
            "2 threads": sleep_run("threads", 2)}


def test_most_at_once_counts_from_the_records():
    runs = sleeps()
    assert [most_at_once(run) for run in runs.values()] == [1, 4, 2]
    assert cpu_share(runs["threads"]) < 0.01


def test_idle_waits_overlap_as_far_as_there_are_threads():
    verdict = describe_waits(sleeps(), effective_cpus=2)
    serial, threads, two, meaning = verdict.lines
    assert "up to 1 of 4 sleeps" in serial and "faster" not in serial
    assert "up to 4 of 4 sleeps" in threads and "4.0× faster than serial" in threads
    assert "up to 2 of 4" in two and "2.0× faster than serial" in two
    assert "up to 4 at the same instant on 2 effective CPUs" in meaning
    assert "disturbed" not in verdict.text


def test_one_cpu_waits_overlap_all_the_same():
    meaning = describe_waits(sleeps(), effective_cpus=1).lines[-1]
    assert "up to 4 at the same instant on 1 effective CPU," in meaning


def test_waits_that_did_not_overlap_are_called_disturbed():
    runs = sleeps()
    runs["threads"] = sleep_run("threads", 4)
    runs["threads"].records[:] = [TaskRecord(i, 1, i, i * 0.05, (i + 1) * 0.05, 0.0001)
                                  for i in range(4)]  # one after another on 4 threads
    meaning = describe_waits(runs, effective_cpus=2).lines[-1]
    assert "**disturbed**" in meaning and "up to 1 of 4 threads" in meaning
    assert not any(word in meaning for word in MECHANISMS)


def test_a_gain_beyond_the_threads_is_called_disturbed():
    runs = sleeps()
    runs["serial"] = sleep_run("serial", 1, unit=0.1)  # a slow baseline: 8× with 4 threads
    meaning = describe_waits(runs, effective_cpus=2).lines[-1]
    assert "**disturbed**" in meaning and "8.0×" in meaning


def test_repeats_that_disagree_are_called_disturbed():
    runs = sleeps(walls=[0.05, 0.1, 0.2])
    meaning = describe_waits(runs, effective_cpus=2).lines[-1]
    assert "**disturbed**" in meaning and not any(word in meaning for word in MECHANISMS)


def start_cost_run(load: MachineLoad | None, walls: list[float]) -> RunResult:
    return RunResult("start_and_join", "serial", 1, 1, 200, None, walls, [w for w in walls],
                     [TaskRecord(0, 1, 1, 0.0, walls[0], walls[0])], [200], load)


def test_start_cost_words_idle_busy_and_one_cpu():
    idle = basics.start_cost_sentence(start_cost_run(IDLE, [0.012] * 7), compared_with=0.05)
    assert "about 60 µs per thread" in idle and "One 50 ms wait" in idle
    assert "disturbed" not in idle
    busy = basics.start_cost_sentence(start_cost_run(MachineLoad(1.9, 2), [0.012] * 7), 0.05)
    assert "**disturbed**" in busy and "One 50 ms wait" not in busy
    one_cpu_busy = basics.start_cost_sentence(start_cost_run(MachineLoad(0.9, 1), [0.012] * 7))
    assert "**disturbed**" in one_cpu_busy
    one_cpu_idle = basics.start_cost_sentence(start_cost_run(MachineLoad(0.0, 1), [0.012] * 7))
    assert "disturbed" not in one_cpu_idle
    spread = basics.start_cost_sentence(start_cost_run(IDLE, [0.006, 0.009, 0.012]), 0.05)
    assert "**disturbed**" in spread and "from 6.0 ms to 12.0 ms" in spread


def test_a_real_start_cost_run_is_described_from_its_own_numbers():
    run = run_tasks(basics.start_and_join, executor="serial", tasks=1, workers=1, size=20,
                    repeats=3)
    assert f"took {run.wall * 1e3:.1f} ms" in basics.start_cost_sentence(run)


DELAYS = [160, 40, 120, 80]


def test_check_overlap_judges_late_waits_by_what_was_measured():
    # a busy machine: every wait came back 60 ms late, and overlapped
    late = [d / 1000 + 0.06 for d in DELAYS]
    result = basics.check_overlap(DELAYS, late, max(late) + 0.01)
    assert result.passed, result.message
    assert "measured 0.64 s in all" in result.message and "took 0.23 s" in result.message


def test_check_overlap_rejects_late_waits_run_one_after_another():
    late = [d / 1000 + 0.06 for d in DELAYS]
    result = basics.check_overlap(DELAYS, late, sum(late) + 0.01)
    assert not result.passed and "did not all overlap" in result.message
    assert "0.650 s" in result.message  # the learner's own elapsed
