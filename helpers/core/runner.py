"""Run N tasks of a workload on any registered executor, and measure it properly.

What :func:`run_tasks` does, in order:

1. **plans** the run (:func:`plan_run`): checks every argument, fills in the
   defaults and returns a :class:`RunPlan` — nothing runs yet;
2. opens the executor (a pool of ``workers``) — not timed;
3. **warms up**: one small call per worker, so process start-up, imports and
   first-call costs are not counted as work;
4. runs all tasks ``repeats`` times, timing each repeat with
   ``time.perf_counter`` (wall) and CPU time beside it;
5. keeps the repeat with the **median** wall time: its per-task records
   (which worker ran which task, when) and its results;
6. records how busy **other programs** kept the CPUs meanwhile
   (:func:`helpers.core.noise.watch_load`), so the words can call a disturbed
   run disturbed.

CPU time counts every process that worked: ``time.process_time()`` of this
process (all its threads) plus, for process-based kinds, the CPU time each task
used in its worker (``time.thread_time()`` around the task). CPU time ÷ wall time
is the number of CPUs kept busy: ≈1 for CPU-bound threads under the GIL.

Each task is submitted as ``executor.submit(timed_call, function, task, size)``,
exactly what you would write with bare ``concurrent.futures``; the wrapper adds
two clock reads per task.

A run can be asked to stop (a lab's Stop button): inside :func:`stop_checked`, a run
waiting for its tasks asks at least every :data:`STOP_POLL` seconds, and a
:class:`RunStopped` raised there leaves the pool the way any error does — pending tasks
cancelled, worker processes terminated (:func:`~helpers.core.executors.open_executor`).
"""
from __future__ import annotations

import gc
import inspect
import os
import statistics
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, as_completed
from concurrent.futures import TimeoutError as FuturesTimeout  # not the builtin on 3.10
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import NamedTuple

from helpers.core.arguments import require_float, require_int
from helpers.core.executors import (
    ASYNC_SLOT,
    EXECUTORS,
    ExecutorKind,
    get_executor_kind,
    open_executor,
    resolve_start_method,
)
from helpers.core.noise import MachineLoad, watch_load
from helpers.core.settings import default
from helpers.core.system import default_workers
from helpers.core.workloads import WORKLOADS, Workload, get_workload

MAX_TASKS = 4096  # enough for thousands of tiny tasks (notebook 05's granularity)
MAX_REPEATS = 20
DEFAULT_TIMEOUT = 600.0

ProgressCallback = Callable[[int, int], None]
STOP_POLL = 0.25  # s: inside stop_checked, how often a run waiting for its tasks checks


class RunStopped(Exception):
    """The run was asked to stop (a lab's Stop button) and did.

    Raised by the check that :func:`stop_checked` installs (and by a progress callback
    that checks the same request); it leaves :func:`run_tasks` like any error, so the pool
    is shut down on the way out: tasks not started are cancelled, worker processes are
    terminated. A thread cannot be killed: one already running a task finishes it.
    """


_STOP_CHECK: ContextVar[Callable[[], None] | None] = ContextVar("stop_check", default=None)


@contextmanager
def stop_checked(check: Callable[[], None]) -> Iterator[None]:
    """Runs in this block (in this thread) call ``check()`` at least every
    :data:`STOP_POLL` seconds while they wait for tasks; ``check`` raises
    :class:`RunStopped` to end the run.

    Without it a run waits for its next task in one piece, however long that task takes;
    with it, a Stop is noticed within a fraction of a second even while one slow task runs.
    """
    token = _STOP_CHECK.set(check)
    try:
        yield
    finally:
        _STOP_CHECK.reset(token)


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
    load: MachineLoad | None = None  # what other programs did meanwhile (helpers.core.noise)
    waits: bool | None = None  # the work waits rather than computes; None: not known

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


def _median_index(values: Sequence[float]) -> int:
    """Index of the value closest to the median (the lower one for even counts)."""
    ranked = sorted(range(len(values)), key=values.__getitem__)
    return ranked[(len(ranked) - 1) // 2]


def _collect(futures: list[Future], deadline: float, on_done: Callable[[], None]) -> None:
    """Wait for every future, calling ``on_done`` after each; bounded by ``deadline``.

    ``as_completed`` watches all futures at once, so waiting costs the same per task
    whether a run has 4 tasks or 4,000. Inside :func:`stop_checked` the wait is cut into
    slices of :data:`STOP_POLL` seconds, with the stop check between them.
    """
    pending, check = set(futures), _STOP_CHECK.get()
    while pending:
        remaining = max(deadline - time.perf_counter(), 0)
        try:
            for future in as_completed(pending, timeout=remaining if check is None
                                       else min(remaining, STOP_POLL)):
                pending.discard(future)
                future.result()  # re-raise a task's exception here, with its traceback
                on_done()
        except FuturesTimeout:
            if time.perf_counter() >= deadline:
                raise TimeoutError(f"tasks did not finish within the run's timeout "
                                   f"({len(pending)} of {len(futures)} still running)"
                                   ) from None
        if check is not None:
            check()


@dataclass(frozen=True)
class RunPlan:
    """Everything :func:`run_tasks` decides before it starts a pool, all checked.

    Resolving the arguments first, in one place, means a mistake (``workers=0``, an
    unknown executor) raises ``ValueError`` before any worker starts, and the code
    that runs and times the tasks reads settled values only.
    """

    name: str  # what the RunResult calls the workload ("count", or the function's name)
    function: Callable[[object], object]
    executor: ExecutorKind
    workers: int
    size: int | None  # None when each task has its own argument
    arguments: tuple[object, ...]  # one per task: what task i is called with
    repeats: int
    start_method: str | None  # None for executors that run tasks in this process
    timeout: float
    warm_up_size: int | None  # a lab workload's smallest size; None for other functions
    waits: bool | None = None  # the work waits (sleeps, I/O) rather than computes

    @property
    def tasks(self) -> int:
        """How many tasks each repeat runs: one per argument."""
        return len(self.arguments)

    @property
    def is_async(self) -> bool:
        """True for a coroutine function (``async def``): it runs on the asyncio executor."""
        return inspect.iscoroutinefunction(self.function)

    def new_result(self) -> RunResult:
        """A :class:`RunResult` that describes this plan and holds no measurement yet."""
        return RunResult(self.name, self.executor.name, self.workers, self.tasks, self.size,
                         self.start_method, waits=self.waits)


def plan_run(workload: str | Workload | Callable[[int], object], *,
             executor: str = "threads", tasks: int | None = None, size: int | None = None,
             workers: int | None = None, repeats: int | None = None,
             start_method: str | None = None, timeout: float = DEFAULT_TIMEOUT,
             arguments: Sequence[object] | None = None, waits: bool | None = None) -> RunPlan:
    """Check the arguments of :func:`run_tasks` and fill in its defaults; nothing runs yet.

    Each bad value raises ``ValueError`` (``TypeError`` for a wrong kind of thing) naming
    its parameter and what it may be, so a mistake shows before any worker starts. That
    includes a workload the executor cannot run (:func:`check_fits`: a coroutine function
    on threads, a plain one on asyncio) and more workers than the executor takes (Dask: 16).
    Two details: the default number of tasks (2 per worker) is counted from the workers
    asked for, before an executor with a fixed pool (serial: 1 worker) overrides them; and
    the start method is checked for every executor, though only process-based ones use it.
    """
    known = _lab_workload(workload)
    function = known.function if known is not None else workload
    name = known.name if known is not None else getattr(function, "__name__", "task")
    kind = get_executor_kind(executor)
    check_fits(kind, function, name)
    workers = require_int("workers", min(default_workers(), most_workers(kind))
                          if workers is None else workers, 1, most_workers(kind))
    tasks = _task_count(tasks, workers, _checked_arguments(arguments))
    repeats = require_int("repeats", int(default(3, 1)) if repeats is None else repeats,
                          1, MAX_REPEATS)
    timeout = require_float("timeout", timeout, 0.001, 24 * 3600)
    size = _resolve_size(known, size) if arguments is None else None
    method = resolve_start_method(start_method)  # checked even where unused: a typo is a typo
    return RunPlan(
        name=name, function=function, executor=kind, workers=kind.fixed_workers or workers,
        size=size, arguments=tuple(arguments) if arguments is not None else (size,) * tasks,
        repeats=repeats, start_method=None if kind.in_this_process else method,
        timeout=timeout, warm_up_size=known.min_size if known is not None else None,
        waits=known.behaviour == "waits" if known is not None else waits)


def runs_coroutines(kind: ExecutorKind) -> bool:
    """True for a kind that runs coroutine functions (``async def``) only: asyncio.

    Every other kind calls plain functions: called there, a coroutine function would
    only return a coroutine object that nobody awaits.
    """
    return kind.coroutines


def most_workers(kind: ExecutorKind) -> int:
    """The most workers ``kind`` accepts: :data:`~helpers.core.executors.MAX_WORKERS`,
    Dask's :data:`~helpers.core.system.MAX_DASK_WORKERS`."""
    return kind.max_workers


def fits(kind: ExecutorKind, function: object) -> bool:
    """True when ``kind`` can run ``function``: coroutine functions on asyncio only,
    plain functions everywhere else."""
    return runs_coroutines(kind) == inspect.iscoroutinefunction(function)


def check_fits(kind: ExecutorKind, function: object, name: str) -> None:
    """``ValueError`` naming the executor and the workload when ``kind`` cannot run
    ``function`` — raised before any pool starts, not from inside a worker."""
    if fits(kind, function):
        return
    suitable = [other for other in EXECUTORS.values() if fits(other, function)]
    what = ("a coroutine function (async def)" if inspect.iscoroutinefunction(function)
            else "a plain function, not a coroutine function (async def)")
    runs = ("coroutine functions (async def) only" if runs_coroutines(kind)
            else "plain functions only")
    raise ValueError(f"executor {kind.name!r} runs {runs}, but workload {name!r} is {what}; "
                     f"executor must be one of {[other.name for other in suitable]} for it")


def _checked_arguments(arguments: object) -> Sequence[object] | None:
    """``arguments`` if it is ``None`` or a list (tuple, range…) of one argument per task;
    ``TypeError`` otherwise — a string would be read letter by letter."""
    if arguments is None or (isinstance(arguments, Sequence)
                             and not isinstance(arguments, (str, bytes))):
        return arguments
    raise TypeError(f"arguments must be a list with one argument per task (or None), "
                    f"got {type(arguments).__name__} {arguments!r:.60}")


def _lab_workload(workload: object) -> Workload | None:
    """The lab :class:`Workload` that ``workload`` is, names, or whose function it is;
    ``None`` for any other function. An unknown name raises ``ValueError``."""
    if isinstance(workload, Workload):
        return workload
    if isinstance(workload, str) or _is_lab_function(workload):
        return get_workload(workload)  # type: ignore[arg-type]
    if not callable(workload):
        raise TypeError(f"workload must be a lab workload's name from {list(WORKLOADS)}, a "
                        f"Workload, or a function of one argument, got {workload!r:.60}")
    return None


def _is_lab_function(function: object) -> bool:
    """True when ``function`` is a lab workload's function (``count_up`` is "count")."""
    try:
        get_workload(function)  # type: ignore[arg-type]
    except ValueError:
        return False
    return True


def _task_count(tasks: int | None, workers: int, arguments: Sequence[object] | None) -> int:
    """One task per argument when ``arguments`` is given, else ``tasks`` (default: 2 per
    worker, so that every worker gets more than one)."""
    if arguments is not None:
        tasks = require_int("len(arguments)", len(arguments), 1, MAX_TASKS)
    return require_int("tasks", 2 * workers if tasks is None else tasks, 1, MAX_TASKS)


def _resolve_size(workload: Workload | None, size: int | None) -> int:
    """The size each task gets: checked against a lab workload's range (its default
    when ``None``); any other function must be given one."""
    if workload is None:
        if size is None:
            raise ValueError("size must be given for a function that is not a lab workload")
        return size
    return workload.default_size() if size is None else workload.check_size(size)


def run_tasks(workload: str | Workload | Callable[[int], object], *,
              executor: str = "threads", tasks: int | None = None, size: int | None = None,
              workers: int | None = None, repeats: int | None = None, warmup: bool = True,
              start_method: str | None = None, timeout: float = DEFAULT_TIMEOUT,
              arguments: Sequence[object] | None = None, waits: bool | None = None,
              on_progress: ProgressCallback | None = None,
              on_repeat: Callable[[RunResult], None] | None = None) -> RunResult:
    """Run ``tasks`` calls of ``workload(size)`` on ``workers`` workers and measure them.

    ``workload`` is a name from :data:`helpers.core.workloads.WORKLOADS`, a
    :class:`Workload`, or any module-level function taking one argument.
    Defaults: :func:`default_workers` workers, 2 tasks per worker, the
    workload's default size, 3 repeats (1 in quick mode). ``on_progress(done,
    total)`` is called in this thread as each task finishes. Raises
    ``TimeoutError`` (and stops the workers) if the run takes over ``timeout`` s.
    Just before the timed repeats, a full garbage collection runs: one due in a kernel
    holding many objects (a Dask client: 0.14 s, measured) would otherwise land in a
    short timed run and make it look several times slower.

    ``arguments`` gives each task its own argument instead (task *i* calls
    ``workload(arguments[i])``; ``tasks`` and ``size`` are then not used), e.g. one
    URL per task. A coroutine function (``async def``) runs on the ``asyncio`` executor.
    ``on_repeat(partial)`` gets the result of the repeats done so far after every repeat
    but the last (between repeats, outside the timed part), so a plot can follow along.
    ``waits=True`` says that a function which is not a lab workload waits (fetches a
    URL, sleeps) rather than computes, so a busy machine does not disturb it
    (:mod:`helpers.core.noise`); a lab workload knows its own behaviour.
    """
    plan = plan_run(workload, executor=executor, tasks=tasks, size=size, workers=workers,
                    repeats=repeats, start_method=start_method, timeout=timeout,
                    arguments=arguments, waits=waits)
    deadline = time.perf_counter() + plan.timeout  # the pool's start-up counts too
    count_one = _progress_counter(plan.tasks * plan.repeats, on_progress)
    with open_executor(plan.executor.name, plan.workers, plan.start_method) as pool:
        if warmup and not plan.is_async:
            _warm_up(pool, plan, deadline)
        gc.collect()  # a full collection now, not one landing inside the timed part
        with watch_load() as watch:
            repeats = _run_repeats(pool, plan, deadline, count_one, on_repeat)
    result = _filled(plan.new_result(), repeats)
    result.load = watch.load
    return result


class _Repeat(NamedTuple):
    """One timed pass over all the tasks."""

    wall: float  # seconds from the first submit to the last task's end
    cpu: float  # CPU seconds of this process plus, for process pools, of the workers
    records: list[TaskRecord]  # in task order, times measured from the repeat's start
    results: list[object]  # in task order


def _progress_counter(total: int, on_progress: ProgressCallback | None
                      ) -> Callable[[], None]:
    """A function to call each time a task finishes: it counts the tasks done over all
    repeats and reports ``on_progress(done, total)``."""
    done = 0

    def count_one() -> None:
        nonlocal done
        done += 1
        if on_progress is not None:
            on_progress(done, total)

    return count_one


def _warm_up(pool: Executor, plan: RunPlan, deadline: float) -> None:
    """Submit one small call per worker and wait for them all, so that starting
    processes, importing and first calls are paid before the clock starts."""
    futures = [pool.submit(warm_up_call, plan.function, plan.warm_up_size)
               for _ in range(plan.workers)]
    _collect(futures, deadline, lambda: None)


def _run_repeats(pool: Executor, plan: RunPlan, deadline: float,
                 count_one: Callable[[], None],
                 on_repeat: Callable[[RunResult], None] | None) -> list[_Repeat]:
    """Time all the tasks ``plan.repeats`` times; after each repeat but the last, hand
    ``on_repeat`` a result built from the repeats so far (outside the timed part)."""
    repeats: list[_Repeat] = []
    for number in range(plan.repeats):
        repeats.append(_one_repeat(pool, plan, deadline, count_one))
        if on_repeat is not None and number < plan.repeats - 1:
            on_repeat(_filled(plan.new_result(), repeats))
    return repeats


def _filled(result: RunResult, repeats: list[_Repeat]) -> RunResult:
    """``result`` with the walls and CPU times of ``repeats``, and the median one's records."""
    result.walls = [wall for wall, _, _, _ in repeats]
    result.cpus = [cpu for _, cpu, _, _ in repeats]
    _, _, result.records, result.results = repeats[_median_index(result.walls)]
    return result


def _one_repeat(pool: Executor, plan: RunPlan, deadline: float,
                count_one: Callable[[], None]) -> _Repeat:
    """Submit every task, wait for all, and time it: wall time with ``perf_counter``,
    CPU time with ``process_time`` here plus what each task used in a worker process.

    (Threads run in this process, so ``process_time`` already counts their CPU time.)
    """
    cpu_start, start = time.process_time(), time.perf_counter()
    futures, waiting = _submit_all(pool, plan, deadline, count_one)
    _collect(waiting, deadline, count_one)
    wall = time.perf_counter() - start
    pairs = [future.result() for future in futures]
    records = [_shift(record, start) for _, record in pairs]
    cpu = time.process_time() - cpu_start
    if not plan.executor.in_this_process:
        cpu += sum(record.cpu for record in records)
    return _Repeat(wall, cpu, records, [value for value, _ in pairs])


def _submit_all(pool: Executor, plan: RunPlan, deadline: float,
                count_one: Callable[[], None]) -> tuple[list[Future], list[Future]]:
    """Submit one timed call per task; return all the futures and those to wait for.

    The serial executor runs each task inside ``submit()``, so its future comes back
    done: its progress is reported at once, and the deadline checked after it.
    """
    call = timed_call_async if plan.is_async else timed_call
    futures, waiting = [], []
    for task, argument in enumerate(plan.arguments):
        future = pool.submit(call, plan.function, task, argument)
        futures.append(future)
        if future.done():
            future.result()  # re-raise the task's exception now
            count_one()
            if time.perf_counter() > deadline:
                raise TimeoutError("tasks did not finish within the run's timeout")
        else:
            waiting.append(future)
    return futures, waiting


def _shift(record: TaskRecord, origin: float) -> TaskRecord:
    """The record with times measured from ``origin`` (the repeat's start)."""
    return TaskRecord(record.task, record.pid, record.thread, record.start - origin,
                      record.end - origin, record.cpu)
