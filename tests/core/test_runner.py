"""The runner: correct results and records, CPU accounting, clean-up, bounded waits.

Assertions are about correctness and CPU-utilisation ratios, never absolute times.
"""
import multiprocessing

import pytest
from conftest import best_of

from helpers.core.executors import (
    EXECUTORS,
    ExecutorKind,
    SerialExecutor,
    open_executor,
    register_executor,
)
from helpers.core.noise import load_disturbed
from helpers.core.runner import run_tasks
from helpers.core.system import effective_cpu_count
from helpers.core.workloads import count_up

METHODS = multiprocessing.get_all_start_methods()
EVENTS: list[str] = []


def logged_task(size: int) -> int:
    EVENTS.append("task")
    return size


@pytest.mark.parametrize("executor", ["serial", "threads", "processes"])
def test_results_and_records(executor, no_leftover_processes):
    run = run_tasks("count", executor=executor, tasks=5, size=20_000, workers=2, repeats=2)
    assert run.results == [20_000] * 5
    assert sorted(r.task for r in run.records) == list(range(5))
    assert len(run.walls) == len(run.cpus) == 2
    assert all(0 <= r.start <= r.end <= run.walls[run.walls.index(max(run.walls))] + 1
               for r in run.records)
    assert run.worker_count_seen <= (1 if executor == "serial" else 2)
    assert run.workers == (1 if executor == "serial" else 2)


@pytest.mark.parametrize("method", [m for m in ("spawn", "forkserver") if m in METHODS])
def test_every_workload_pickles_under(method, no_leftover_processes):
    for name in ("count", "primes", "sleep", "hash", "hash-1k", "zlib", "numpy"):
        run = run_tasks(name, executor="processes", tasks=2, workers=2, repeats=1,
                        start_method=method)
        assert run.start_method == method and len(run.results) == 2


def test_cpu_utilisation_shows_the_gil_and_parallel_processes(no_leftover_processes):
    cpus = effective_cpu_count()
    options = dict(tasks=4, size=3_000_000, workers=2, repeats=3)
    threads = run_tasks("count", executor="threads", **options)
    assert threads.utilisation < 1.3  # the GIL: one thread computes at a time
    if cpus >= 2:
        runs = []

        def processes_busy() -> float:
            runs.append(run_tasks("count", executor="processes", **options))
            return runs[-1].utilisation

        busy = best_of(processes_busy, enough=max(1.5, threads.utilisation + 0.4))
        if busy <= 1.5 and all(load_disturbed(run.load, 2) for run in runs):
            pytest.skip(f"other programs took the CPUs in every attempt (best {busy:.2f} "
                        "CPUs busy): the machine was too busy to show parallel processes")
        assert busy > 1.5 and busy > threads.utilisation + 0.4
    else:
        assert run_tasks("count", executor="processes", **options).utilisation < 1.3


def test_waiting_uses_no_cpu():
    run = run_tasks("sleep", executor="threads", tasks=4, size=50, workers=4, repeats=1)
    assert run.utilisation < 0.3


def test_serial_reports_progress_as_each_task_ends():
    EVENTS.clear()
    seen = []
    run_tasks(logged_task, executor="serial", tasks=3, size=7, repeats=2, warmup=False,
              on_progress=lambda done, total: (EVENTS.append("progress"), seen.append((done, total))))
    assert EVENTS == ["task", "progress"] * 6
    assert seen == [(i, 6) for i in range(1, 7)]


def test_any_module_level_function_can_be_run():
    run = run_tasks(count_up, executor="threads", tasks=2, size=10_000, repeats=1)
    assert run.workload == "count" and run.results == [10_000, 10_000]
    run = run_tasks(logged_task, executor="threads", tasks=2, size=3, repeats=1)
    assert run.workload == "logged_task" and run.results == [3, 3]


@pytest.mark.parametrize("kwargs,name", [
    ({"tasks": 0}, "tasks"), ({"workers": 0}, "workers"), ({"repeats": 0}, "repeats"),
    ({"executor": "nope"}, "executor"), ({"start_method": "nope", "executor": "processes"},
                                         "start_method"),
    ({"size": 10**9}, "iterations"), ({"timeout": 0}, "timeout")])
def test_bad_arguments_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        run_tasks("count", **kwargs)


def test_foreign_function_needs_a_size():
    with pytest.raises(ValueError, match="size"):
        run_tasks(logged_task, executor="serial")


def test_timeout_stops_worker_processes(no_leftover_processes):
    with pytest.raises(TimeoutError):
        run_tasks("sleep", executor="processes", tasks=4, size=2_000, workers=2, repeats=1,
                  warmup=False, timeout=0.5)


def test_interrupt_stops_worker_processes(no_leftover_processes):
    def interrupt(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_tasks("sleep", executor="processes", tasks=6, size=300, workers=2, repeats=1,
                  on_progress=interrupt)


def test_task_exception_comes_back(no_leftover_processes):
    with pytest.raises(ValueError, match="iterations"):
        run_tasks(count_up, executor="processes", tasks=2, size=-5, workers=2, repeats=1,
                  warmup=False)


def test_serial_executor_returns_done_futures():
    future = SerialExecutor().submit(count_up, 3)
    assert future.done() and future.result() == 3
    failed = SerialExecutor().submit(count_up, -1)
    assert isinstance(failed.exception(), ValueError)


def test_registry_accepts_new_kinds():
    kind = register_executor(ExecutorKind("test-serial", "test", lambda w, m: SerialExecutor(),
                                          True, "for this test"))
    try:
        run = run_tasks("count", executor="test-serial", tasks=2, size=10_000, repeats=1)
        assert run.executor == "test-serial" and run.results == [10_000, 10_000]
    finally:
        del EXECUTORS[kind.name]


def test_open_executor_validates_workers():
    with pytest.raises(ValueError, match="workers"):
        with open_executor("threads", 0):
            pass


async def nap(milliseconds: int) -> int:
    import asyncio

    await asyncio.sleep(milliseconds / 1000)
    return milliseconds


def test_each_task_can_have_its_own_argument(no_leftover_processes):
    for executor in ("serial", "threads", "processes"):
        run = run_tasks(count_up, executor=executor, arguments=[10, 20, 30], workers=2,
                        repeats=1)
        assert run.results == [10, 20, 30] and run.tasks == 3 and run.size is None


def test_asyncio_executor_overlaps_waits_in_slots():
    run = run_tasks(nap, executor="asyncio", arguments=[100] * 8, workers=4, repeats=1)
    assert run.results == [100] * 8
    lanes = run.worker_ids()
    assert len(lanes) == 4, "one lane per slot"
    # 8 waits of 100 ms, 4 at a time: two rounds, so tasks overlapped
    overlapping = sum(1 for a in run.records for b in run.records
                      if a.task < b.task and a.start < b.end and b.start < a.end)
    assert overlapping >= 8
    assert all(r.cpu != r.cpu for r in run.records)  # NaN: not measurable per task
    assert run.utilisation < 0.5


def test_asyncio_executor_needs_coroutine_functions():
    with pytest.raises(ValueError, match="coroutine"):
        run_tasks(count_up, executor="asyncio", tasks=1, size=10_000, repeats=1, warmup=False)


EVENTS: list[str] = []


def note_task(size: int) -> int:
    EVENTS.append(f"task {size}")
    return size


def test_a_full_collection_runs_before_the_timed_part_not_inside_it(monkeypatch):
    """A collection due in a kernel full of objects (0.14 s with a Dask client) landed in
    notebook 08's 40 ms serial run on 1 CPU, every time: it runs after the warm-up now."""
    from types import SimpleNamespace

    from helpers.core import runner

    EVENTS.clear()
    monkeypatch.setattr(runner, "gc", SimpleNamespace(collect=lambda: EVENTS.append("gc")))
    run_tasks(note_task, executor="serial", arguments=[7, 8], repeats=2)
    assert EVENTS.count("gc") == 1
    timed = EVENTS[EVENTS.index("gc") + 1:]
    assert timed == ["task 7", "task 8"] * 2  # every timed task after it, none before
