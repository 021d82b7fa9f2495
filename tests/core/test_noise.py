"""helpers.core.noise: when is a measurement disturbed — and the words that follow from it.

Each words function is fed an idle, a busy (other programs took CPUs), a 1-CPU and a
beyond-ideal result; a disturbed result must be called disturbed and given no mechanism.
"""
import ctypes
import subprocess
import sys
import time

import pytest
from conftest import PR_SET_CHILD_SUBREAPER, SUBREAPER

from helpers.core import noise
from helpers.core.experiments import Comparison
from helpers.core.noise import MachineLoad
from helpers.core.runner import RunResult, TaskRecord
from helpers.core.words import describe, describe_sweep, describe_turn_taking

MECHANISMS = ("GIL", "interpreter", "overhead", "handing work", "took turns",
              "in parallel", "releases")
IDLE = MachineLoad(others=0.05, allowed=2)
BUSY = MachineLoad(others=1.0, allowed=2)


def run(executor="processes", wall=0.5, cpu=1.0, workers=2, tasks=4, workload="count",
        load=IDLE, walls=None):
    records = [TaskRecord(i, 1, i % workers, 0.0, wall, cpu / tasks) for i in range(tasks)]
    walls = walls or [wall]
    return RunResult(workload, executor, workers, tasks, 1, None, walls, [cpu] * len(walls),
                     records, [1] * tasks, load)


def comparison(cpus=2, processes_load=IDLE, serial=None, threads=None, processes_wall=0.52):
    return Comparison({"serial": serial or run("serial", 1.0, 1.0, workers=1),
                       "threads": threads or run("threads", 1.0, 1.0),
                       "processes": run("processes", processes_wall, 1.0,
                                        load=processes_load)}, effective_cpus=cpus)


def assert_no_mechanism(text):
    assert not [word for word in MECHANISMS if word in text], text


def test_machine_load_spare_and_the_margin():
    assert BUSY.spare == 1.0 and MachineLoad(3.0, 2).spare == 0.0
    assert not noise.load_disturbed(IDLE, 2)
    assert noise.load_disturbed(BUSY, 2)  # wanted 2, had 1
    assert not noise.load_disturbed(BUSY, 1)  # one CPU left is all a serial run needs
    assert not noise.load_disturbed(BUSY, 0)  # waiting needs no CPU
    assert not noise.load_disturbed(None, 2)  # unknown is not disturbed
    # a hog squeezed to 0.4 of a CPU by four busy workers still left them short
    assert noise.load_disturbed(MachineLoad(0.4, 2), 2)
    assert not noise.load_disturbed(MachineLoad(0.2, 2), 2)  # a browser tab goes unnoticed
    assert not noise.load_disturbed(MachineLoad(1.05, 2), 1)  # one CPU left: all it needs
    # a coarse measurement (a short run: CPU time counts in 10 ms ticks) never disturbs
    assert not noise.load_disturbed(MachineLoad(0.4, 2, uncertainty=0.3), 2)
    assert noise.load_disturbed(MachineLoad(1.0, 2, uncertainty=0.45), 2)


def test_cpus_wanted():
    assert noise.cpus_wanted(4, 8, 2) == 2
    assert noise.cpus_wanted(4, 1, 2) == 1
    assert noise.cpus_wanted(4, 8, 2, waits=True) == 0


def test_repeats_disagree_and_starved_and_beyond_ideal():
    assert noise.repeats_disagree([1.0, 1.25, 1.5])
    assert not noise.repeats_disagree([1.0, 1.0, 1.4])  # one outlier leaves the median be
    assert not noise.repeats_disagree([1.0, 1.05, 1.1])
    assert not noise.repeats_disagree([4.4e-3, 4.6e-3, 4.8e-3, 4.9e-3, 5.2e-3, 7e-3, 10.5e-3])
    assert not noise.repeats_disagree([1.0, 2.0])  # two repeats cannot tell
    assert not noise.repeats_disagree([0.001, 0.001, 0.0025])  # a tick of jitter
    assert noise.starved(0.6) and not noise.starved(0.95) and not noise.starved(0.1, waits=True)
    assert noise.beyond_ideal(2.3, 2) and not noise.beyond_ideal(2.05, 2)


@pytest.mark.parametrize("case, disturbed", [
    (run(load=IDLE), False),
    (run(load=BUSY), True),
    (run(load=BUSY, workload="sleep"), False),  # waiting does not need the CPUs
    (run("serial", 1.0, 0.6, workers=1), True),  # starved: computing work, 0.6 CPUs
    (run("serial", 1.0, 1.0, workers=1, walls=[1.0, 1.25, 1.5]), True),  # repeats disagree
    (run(load=None), False),
])
def test_run_disturbed(case, disturbed):
    assert noise.run_disturbed(case, 2) is disturbed
    assert ("**disturbed**" in noise.run_disturbance(case, 2)) is disturbed


def test_one_cpu_machine_wants_one_cpu():
    one = MachineLoad(others=0.1, allowed=1)
    assert not noise.run_disturbed(run(load=one), 1)
    assert noise.run_disturbed(run(load=MachineLoad(0.8, 1)), 1)


def test_describe_idle_gives_the_mechanism():
    text = describe(comparison()).text
    assert "GIL" in text and "disturbed" not in text


def test_describe_busy_says_disturbed_and_nothing_else():
    text = describe(comparison(processes_load=BUSY)).text
    assert "**disturbed**" in text and "Close other work" in text
    assert_no_mechanism(text.splitlines()[-1])


def test_a_gain_beyond_what_the_cpus_busy_explain_is_disturbed():
    slow_base = comparison(serial=run("serial", 1.0, 1.0, workers=1),
                           threads=run("threads", 0.8, 0.8))  # 1.25× with 1.0 CPUs busy
    text = describe(slow_base).text
    assert "Threads measured 1.25× with 1.0 CPUs busy against 1.0" in text
    assert "**disturbed**" in text
    fair = describe(comparison(threads=run("threads", 0.9, 0.9))).text  # 1.11×: noise-sized
    assert "disturbed" not in fair and "did not compute in parallel" in fair


def test_against_ideal():
    from helpers.core.words import against_ideal
    assert against_ideal(1.8, 2).startswith("90% of the ideal 2×")
    assert "within timing noise" in against_ideal(2.05, 2)
    assert "**disturbed**" in against_ideal(2.5, 2)


def test_describe_one_cpu_and_beyond_ideal():
    one = describe(comparison(cpus=1, processes_wall=0.98)).text
    assert "1 effective CPU" in one and "disturbed" not in one
    above = describe(comparison(processes_wall=0.4)).text
    assert "more than 2 workers on 2 effective CPUs can give" in above
    assert "**disturbed**" in above
    assert_no_mechanism(above.splitlines()[-1])
    both = describe(comparison(processes_wall=0.4, threads=run("threads", 1.0, 1.0, load=BUSY)))
    assert "The processes run was **disturbed** too." in both.text


def test_describe_sweep_busy_idle_and_beyond_ideal():
    idle = {1: run(wall=1.0, workers=1), 2: run(wall=0.5)}
    assert "best 2.0× with 2 workers" in describe_sweep("processes", idle, 2)
    busy = {1: run(wall=1.0, workers=1), 2: run(wall=0.8, load=BUSY)}
    text = describe_sweep("processes", busy, 2)
    assert "The run with 2 workers was **disturbed**" in text
    assert_no_mechanism(text)
    above = {1: run(wall=1.0, workers=1), 2: run(wall=0.4)}
    assert "faster than their workers and CPUs allow" in describe_sweep("processes", above, 2)


def test_turn_taking_busy_is_not_the_gil():
    idle = run("threads", 1.0, 1.0, load=IDLE)
    assert "That turn-taking is the GIL" in describe_turn_taking(idle, 2)
    busy = run("threads", 1.0, 1.0, load=BUSY)
    text = describe_turn_taking(busy, 2)
    assert "**disturbed**" in text and "is the GIL" not in text
    one_cpu = describe_turn_taking(run("threads", 1.0, 1.0, load=MachineLoad(0.0, 1)), 1)
    assert "even without the GIL" in one_cpu


HOG = ("import os, time\nos.sched_setaffinity(0, {%d})\nend = time.time() + 20\n"
       "while time.time() < end:\n    pass")


def _orphan_hog(cpu: int) -> int:
    """Start a CPU hog that is NOT our descendant (a middle process starts it and exits,
    while this process does not adopt orphans), pinned to ``cpu``; return its pid. It
    counts as another program."""
    starter = ("import subprocess, sys\n"
               f"print(subprocess.Popen([sys.executable, '-c', {HOG % cpu!r}],"
               " stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).pid)")
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)  # conftest made us adopt orphans
    try:
        out = subprocess.run([sys.executable, "-c", starter], capture_output=True,
                             text=True, timeout=10, check=True)
    finally:
        if SUBREAPER:
            libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    return int(out.stdout.strip())


def _wait_until_busy(pid: int, timeout: float = 10.0) -> None:
    """Wait (bounded) until the hog has started computing: Python takes a moment to start."""
    hog, deadline = noise.psutil.Process(pid), time.monotonic() + timeout
    while sum(hog.cpu_times()[:2]) < 0.2 and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.skipif(not hasattr(__import__("os"), "sched_getaffinity") or noise.psutil is None,
                    reason="needs Linux affinity and psutil")
def test_watch_load_sees_another_program_and_not_our_own_work():
    import os
    cpu = sorted(os.sched_getaffinity(0))[0]
    hog = _orphan_hog(cpu)
    try:
        _wait_until_busy(hog)
        with noise.watch_load() as watch:
            time.sleep(0.5)
        assert watch.load is not None and watch.load.others >= 0.5, watch.load
    finally:
        os.kill(hog, 9)
    assert any(_own_work_not_counted() for _ in range(3))
    assert any(_ended_child_not_counted() for _ in range(3))


def _ended_child_not_counted() -> bool:
    """A child that computed and ended inside the block (waited for) is this work too."""
    with noise.watch_load() as background:
        time.sleep(0.5)
    with noise.watch_load() as ours:
        subprocess.run([sys.executable, "-c", HOG.replace("os.sched_setaffinity(0, {%d})\n",
                                                            "").replace("20", "0.5")],
                       timeout=30, check=True)
    assert background.load is not None and ours.load is not None
    return ours.load.others < background.load.others + 0.5


def _own_work_not_counted() -> bool:
    """A block where this process computes reports about what a block where it sleeps
    reports (other programs come and go, so the two are compared side by side)."""
    with noise.watch_load() as background:
        time.sleep(0.5)
    with noise.watch_load() as ours:
        end = time.perf_counter() + 0.5
        while time.perf_counter() < end:
            pass
    assert background.load is not None and ours.load is not None
    return ours.load.others < background.load.others + 0.5


def test_a_block_too_short_to_measure_gives_no_load():
    with noise.watch_load() as watch:
        pass
    assert watch.load is None


def test_a_function_declared_waiting_is_not_disturbed_by_a_busy_machine():
    fetching = run("threads", 1.0, 0.05, workload="fetch", load=BUSY)
    assert noise.run_waits(fetching) is None and noise.run_disturbed(fetching, 2)
    fetching.waits = True
    assert not noise.run_disturbed(fetching, 2)
    alone = run("serial", 1.0, 0.05, workers=1, workload="fetch")
    assert not noise.run_disturbed(alone, 2)  # not known to compute: not "starved"


def test_run_tasks_records_what_the_work_does():
    from helpers.core.runner import run_tasks
    from helpers.core.workloads import count_up
    assert run_tasks("sleep", executor="serial", tasks=1, size=1, repeats=1).waits is True
    assert run_tasks("count", executor="serial", tasks=1, repeats=1).waits is False
    assert run_tasks(count_up, executor="serial", tasks=1, size=10_000, repeats=1).waits is False
    assert run_tasks(abs, executor="serial", tasks=1, size=1, repeats=1).waits is None
    assert run_tasks(abs, executor="serial", tasks=1, size=1, repeats=1, waits=True).waits
