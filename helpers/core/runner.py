"""Run N tasks of a workload on any registered executor, and measure it properly.

What :func:`run_tasks` does, in order:

1. opens the executor (a pool of ``workers``) — not timed;
2. **warms up**: one small call per worker, so process start-up, imports and
   first-call costs are not counted as work;
3. runs all tasks ``repeats`` times, timing each repeat with
   ``time.perf_counter`` (wall) and CPU time beside it;
4. keeps the repeat with the **median** wall time: its per-task records
   (which worker ran which task, when) and its results.

CPU time counts every process that worked: ``time.process_time()`` of this
process (all its threads) plus, for process-based kinds, the CPU time each task
used in its worker (``time.thread_time()`` around the task). CPU time ÷ wall time
is the number of CPUs kept busy: ≈1 for CPU-bound threads under the GIL.

Each task is submitted as ``executor.submit(timed_call, function, task, size)``,
exactly what you would write with bare ``concurrent.futures``; the wrapper adds
two clock reads per task.
"""
from __future__ import annotations

import inspect
import os
import statistics
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future, as_completed
from concurrent.futures import TimeoutError as FuturesTimeout  # not the builtin on 3.10
from dataclasses import dataclass, field, replace

from helpers.core.arguments import require_float, require_int
from helpers.core.executors import (
    ASYNC_SLOT,
    MAX_WORKERS,
    get_executor_kind,
    open_executor,
    resolve_start_method,
)
from helpers.core.settings import default
from helpers.core.system import effective_cpu_count
from helpers.core.workloads import Workload, get_workload

MAX_TASKS = 4096  # enough for thousands of tiny tasks (notebook 05's granularity)
MAX_REPEATS = 20
DEFAULT_TIMEOUT = 600.0

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class TaskRecord:
    """One task as seen from inside its worker. Times are ``perf_counter`` seconds."""

    task: int
    pid: int
    thread: int
    start: float
    end: float
    cpu: float  # CPU seconds the worker thread spent on this task

    @property
    def duration(self) -> float:
        return self.end - self.start


def timed_call(function: Callable[[object], object], task: int, argument: object
               ) -> tuple[object, TaskRecord]:
    """Call ``function(argument)`` and record where and when it ran.

    ``perf_counter`` reads a system-wide monotonic clock on Linux, macOS and
    Windows, so records from different processes share one time axis.
    """
    start, cpu_start = time.perf_counter(), time.thread_time()
    result = function(argument)
    record = TaskRecord(task, os.getpid(), threading.get_ident(), start,
                        time.perf_counter(), time.thread_time() - cpu_start)
    return result, record


async def timed_call_async(function: Callable[[object], Awaitable[object]], task: int,
                           argument: object) -> tuple[object, TaskRecord]:
    """The coroutine version of :func:`timed_call`, for the asyncio executor.

    Its "thread" is the executor's slot number, so a timeline shows one lane per
    slot. CPU time per task is not measurable here (every task shares the loop's
    thread), so it is recorded as NaN; the run's total CPU time is still measured.
    """
    start = time.perf_counter()
    result = await function(argument)
    record = TaskRecord(task, os.getpid(), ASYNC_SLOT.get(0), start, time.perf_counter(),
                        float("nan"))
    return result, record


def warm_up_call(function: Callable[[int], object], size: int | None) -> int:
    """Run ``function(size)`` once (when a size is given) then pause briefly, so
    that each worker of a pool gets one call: imports and first-call costs paid."""
    if size is not None:
        function(size)
    time.sleep(0.02)
    return os.getpid()


@dataclass
class RunResult:
    """Measurements of one workload on one executor with a given number of workers."""

    workload: str
    executor: str
    workers: int
    tasks: int
    size: int | None  # None when each task had its own argument
    start_method: str | None
    walls: list[float] = field(default_factory=list)  # seconds, one per repeat
    cpus: list[float] = field(default_factory=list)  # CPU seconds, one per repeat
    records: list[TaskRecord] = field(default_factory=list)  # median repeat, times from 0
    results: list[object] = field(default_factory=list)  # median repeat, in task order

    @property
    def wall(self) -> float:
        """Median wall time over the repeats, in seconds."""
        return statistics.median(self.walls)

    @property
    def cpu(self) -> float:
        """CPU seconds of the median repeat (all threads and worker processes)."""
        return self.cpus[_median_index(self.walls)]

    @property
    def utilisation(self) -> float:
        """CPU time ÷ wall time: how many CPUs were busy on average."""
        return self.cpu / self.wall if self.wall > 0 else 0.0

    @property
    def worker_count_seen(self) -> int:
        """How many distinct workers (process, thread) actually ran tasks."""
        return len({(r.pid, r.thread) for r in self.records})

    def worker_ids(self) -> dict[tuple[int, int], int]:
        """Number workers 0, 1, … in the order they first started a task."""
        order: dict[tuple[int, int], int] = {}
        for record in sorted(self.records, key=lambda r: r.start):
            order.setdefault((record.pid, record.thread), len(order))
        return order


def default_workers() -> int:
    """One worker per effective CPU, but at least 2: with a single worker nothing could
    overlap, and a 1-CPU machine should still show what two workers do there."""
    return max(2, effective_cpu_count())


def _median_index(values: Sequence[float]) -> int:
    """Index of the value closest to the median (the lower one for even counts)."""
    ranked = sorted(range(len(values)), key=values.__getitem__)
    return ranked[(len(ranked) - 1) // 2]


def _collect(futures: list[Future], deadline: float, on_done: Callable[[], None]) -> None:
    """Wait for every future, calling ``on_done`` after each; bounded by ``deadline``.

    ``as_completed`` watches all futures at once, so waiting costs the same per task
    whether a run has 4 tasks or 4,000.
    """
    finished = 0
    try:
        for future in as_completed(futures, timeout=max(deadline - time.perf_counter(), 0)):
            future.result()  # re-raise a task's exception here, with its traceback
            finished += 1
            on_done()
    except FuturesTimeout:
        raise TimeoutError(f"tasks did not finish within the run's timeout "
                           f"({len(futures) - finished} of {len(futures)} still running)"
                           ) from None


def _resolve_size(workload: Workload | None, size: int | None) -> int:
    if workload is None:
        if size is None:
            raise ValueError("size must be given for a function that is not a lab workload")
        return size
    return workload.default_size() if size is None else workload.check_size(size)


def run_tasks(workload: str | Workload | Callable[[int], object], *,
              executor: str = "threads", tasks: int | None = None, size: int | None = None,
              workers: int | None = None, repeats: int | None = None, warmup: bool = True,
              start_method: str | None = None, timeout: float = DEFAULT_TIMEOUT,
              arguments: Sequence[object] | None = None,
              on_progress: ProgressCallback | None = None,
              on_repeat: Callable[[RunResult], None] | None = None) -> RunResult:
    """Run ``tasks`` calls of ``workload(size)`` on ``workers`` workers and measure them.

    ``workload`` is a name from :data:`helpers.core.workloads.WORKLOADS`, a
    :class:`Workload`, or any module-level function taking one argument.
    Defaults: :func:`default_workers` workers, 2 tasks per worker, the
    workload's default size, 3 repeats (1 in quick mode). ``on_progress(done,
    total)`` is called in this thread as each task finishes. Raises
    ``TimeoutError`` (and stops the workers) if the run takes over ``timeout`` s.

    ``arguments`` gives each task its own argument instead (task *i* calls
    ``workload(arguments[i])``; ``tasks`` and ``size`` are then not used), e.g. one
    URL per task. A coroutine function (``async def``) runs on the ``asyncio`` executor.
    ``on_repeat(partial)`` gets the result of the repeats done so far after every repeat
    but the last (between repeats, outside the timed part), so a plot can follow along.
    """
    known = workload if isinstance(workload, Workload) else (
        get_workload(workload) if isinstance(workload, str) or _is_lab_function(workload)
        else None)
    function = known.function if known else workload
    workers = require_int("workers", default_workers() if workers is None else workers,
                          1, MAX_WORKERS)
    if arguments is not None:
        tasks = require_int("len(arguments)", len(arguments), 1, MAX_TASKS)
    tasks = require_int("tasks", 2 * workers if tasks is None else tasks, 1, MAX_TASKS)
    repeats = require_int("repeats", int(default(3, 1)) if repeats is None else repeats,
                          1, MAX_REPEATS)
    timeout = require_float("timeout", timeout, 0.001, 24 * 3600)
    is_async = inspect.iscoroutinefunction(function)
    size = _resolve_size(known, size) if arguments is None else None
    task_arguments = list(arguments) if arguments is not None else [size] * tasks
    kind = get_executor_kind(executor)
    workers = kind.fixed_workers or workers
    method = resolve_start_method(start_method) if not kind.in_this_process else None

    result = RunResult(known.name if known else getattr(function, "__name__", "task"),
                       kind.name, workers, tasks, size, method)
    deadline = time.perf_counter() + timeout
    done, total = 0, tasks * repeats

    def count_one() -> None:
        nonlocal done
        done += 1
        if on_progress is not None:
            on_progress(done, total)

    with open_executor(kind.name, workers, method) as pool:
        if warmup and not is_async:
            warm_size = known.min_size if known else None
            _collect([pool.submit(warm_up_call, function, warm_size) for _ in range(workers)],
                     deadline, lambda: None)
        runs = []
        for repeat in range(repeats):
            runs.append(_one_repeat(pool, function, task_arguments, kind.in_this_process,
                                    deadline, count_one))
            if on_repeat is not None and repeat < repeats - 1:
                on_repeat(_filled(replace(result), runs))
    return _filled(result, runs)


def _filled(result: RunResult, runs: list[tuple]) -> RunResult:
    """``result`` with the walls and CPU times of ``runs``, and the median run's records."""
    result.walls = [wall for wall, _, _, _ in runs]
    result.cpus = [cpu for _, cpu, _, _ in runs]
    _, _, result.records, result.results = runs[_median_index(result.walls)]
    return result


def _is_lab_function(function: object) -> bool:
    try:
        get_workload(function)  # type: ignore[arg-type]
    except ValueError:
        return False
    return True


def _one_repeat(pool, function, task_arguments, in_this_process, deadline, count_one):
    """Submit every task, wait for all; return (wall, cpu, records, results)."""
    call = timed_call_async if inspect.iscoroutinefunction(function) else timed_call
    cpu_start, start = time.process_time(), time.perf_counter()
    futures, waiting = [], []
    for task, argument in enumerate(task_arguments):
        future = pool.submit(call, function, task, argument)
        futures.append(future)
        if future.done():  # the serial executor finishes inside submit(): report it now
            future.result()
            count_one()
            if time.perf_counter() > deadline:
                raise TimeoutError("tasks did not finish within the run's timeout")
        else:
            waiting.append(future)
    _collect(waiting, deadline, count_one)
    wall = time.perf_counter() - start
    pairs = [future.result() for future in futures]
    records = [_shift(record, start) for _, record in pairs]
    cpu = time.process_time() - cpu_start
    if not in_this_process:
        cpu += sum(record.cpu for record in records)
    return wall, cpu, records, [value for value, _ in pairs]


def _shift(record: TaskRecord, origin: float) -> TaskRecord:
    """The record with times measured from ``origin`` (the repeat's start)."""
    return TaskRecord(record.task, record.pid, record.thread, record.start - origin,
                      record.end - origin, record.cpu)
