"""One small registry of executor kinds, so one runner serves them all.

Every kind is a :class:`concurrent.futures.Executor`: ``serial`` (runs each task
at ``submit`` time, the baseline), ``threads``, ``processes``, ``asyncio``
(coroutine functions on an event loop of its own), ``dask`` (a Dask cluster of
worker processes, when ``distributed`` is installed) and, on Python 3.14+,
``interpreters`` (``InterpreterPoolExecutor``). Another kind is one
:func:`register_executor` call away; the runner, the plots and the lab widget
then work with it unchanged.

:func:`open_executor` guarantees clean-up: on success the pool is shut down; on
any error, timeout or ``KeyboardInterrupt`` pending tasks are cancelled and
worker processes are terminated, so no child outlives a cell; and should the kernel itself
be killed, every worker of a :func:`process_pool` dies with it (:mod:`helpers.core.orphans`).
"""
from __future__ import annotations

import asyncio
import contextvars
import importlib.util
import inspect
import multiprocessing
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from helpers.core.arguments import require_choice, require_int
from helpers.core.interrupts import ignore_interrupts, interrupts_deferred
from helpers.core.orphans import die_with_parent
from helpers.core.settings import resolve_start_method
from helpers.core.system import MAX_DASK_WORKERS

MAX_WORKERS = 64


class SerialExecutor(Executor):
    """Runs every task immediately, in the calling thread: the one-worker baseline."""

    def submit(self, fn, /, *args, **kwargs) -> Future:  # type: ignore[override]
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # KeyboardInterrupt propagates, as in plain code
            future.set_exception(exc)
        return future


@dataclass(frozen=True)
class ExecutorKind:
    """How to make one kind of executor, and facts the runner needs about it."""

    name: str
    label: str  # for legends and tables
    create: Callable[[int, str], Executor]  # (workers, start_method) -> executor
    in_this_process: bool  # False when tasks run in other processes
    description: str
    fixed_workers: int | None = None  # e.g. 1 for serial, whatever is asked for
    max_workers: int = MAX_WORKERS  # the most it accepts (Dask: system.MAX_DASK_WORKERS)
    coroutines: bool = False  # True: runs coroutine functions (async def) only, e.g. asyncio


EXECUTORS: dict[str, ExecutorKind] = {}


def register_executor(kind: ExecutorKind) -> ExecutorKind:
    """Add (or replace) an executor kind; returns it so it can be used as a value."""
    EXECUTORS[kind.name] = kind
    return kind


def get_executor_kind(name: str) -> ExecutorKind:
    """The registered kind called ``name``; ``ValueError`` listing the known ones."""
    return EXECUTORS[require_choice("executor", name, EXECUTORS)]


class InterruptSafeProcessPool(ProcessPoolExecutor):
    """A ProcessPoolExecutor whose ``submit`` — which may start a worker process — is never
    cut short by an interrupt, so every worker it starts is one ``stop_now`` can stop."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        with interrupts_deferred():
            return super().submit(fn, *args, **kwargs)


def start_worker(then: Callable[..., object] | None = None, *args: object) -> None:
    """Pool-worker initializer of every lab pool: the worker ignores interrupts (only the
    kernel acts on ■), dies with its parent (:mod:`helpers.core.orphans`), then runs
    ``then(*args)``, a pool's own initializer if it has one."""
    ignore_interrupts()
    die_with_parent()
    if then is not None:
        then(*args)


def process_pool(workers: int, method: str, initializer: Callable[..., object] | None = None,
                 initargs: tuple = ()) -> InterruptSafeProcessPool:
    """A process pool of ``workers`` started by ``method`` whose workers leave nothing behind:
    ``submit`` is never cut short by ■, and each worker runs :func:`start_worker` (then
    ``initializer(*initargs)``) first."""
    return InterruptSafeProcessPool(max_workers=workers,
                                    mp_context=multiprocessing.get_context(method),
                                    initializer=start_worker,
                                    initargs=(initializer, *initargs))


register_executor(ExecutorKind(
    "serial", "serial", lambda workers, method: SerialExecutor(), True,
    "one task after another in this thread", fixed_workers=1))
register_executor(ExecutorKind(
    "threads", "threads", lambda workers, method: ThreadPoolExecutor(workers), True,
    "a ThreadPoolExecutor: threads in this process, sharing its memory and its GIL"))
register_executor(ExecutorKind(
    "processes", "processes", process_pool, False,
    "a ProcessPoolExecutor: separate processes, each with its own interpreter and GIL"))


ASYNC_SLOT: contextvars.ContextVar[int] = contextvars.ContextVar("ASYNC_SLOT")


class AsyncioExecutor(Executor):
    """Runs coroutine functions on one event loop in a background thread.

    At most ``workers`` coroutines run at once (a semaphore), each in a numbered
    slot (:data:`ASYNC_SLOT`) so timelines can draw one lane per slot. The loop
    has its own thread because a notebook's loop is already running the cell.
    """

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._loop = asyncio.new_event_loop()
        self._free_slots = list(range(workers))
        self._limit: asyncio.Semaphore | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="lab-asyncio",
                                        daemon=True)
        self._thread.start()

    async def _in_slot(self, fn, args, kwargs):
        if self._limit is None:
            self._limit = asyncio.Semaphore(self._workers)
        async with self._limit:
            slot = self._free_slots.pop()
            token = ASYNC_SLOT.set(slot)
            try:
                return await fn(*args, **kwargs)
            finally:
                ASYNC_SLOT.reset(token)
                self._free_slots.append(slot)

    def submit(self, fn, /, *args, **kwargs) -> Future:  # type: ignore[override]
        if not inspect.iscoroutinefunction(fn):
            raise ValueError(f"the asyncio executor runs coroutine functions (async def), "
                             f"got {getattr(fn, '__name__', fn)!r}")
        return asyncio.run_coroutine_threadsafe(self._in_slot(fn, args, kwargs), self._loop)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if self._loop.is_closed():
            return
        if cancel_futures:
            self._loop.call_soon_threadsafe(
                lambda: [task.cancel() for task in asyncio.all_tasks(self._loop)])
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10 if wait else 1)
        if not self._thread.is_alive():
            self._loop.close()


register_executor(ExecutorKind(
    "asyncio", "asyncio", lambda workers, method: AsyncioExecutor(workers), True,
    "coroutines on one event loop in one thread, at most `workers` at once",
    coroutines=True))


try:  # Python 3.14+: one interpreter (with its own GIL) per worker, in this process
    from concurrent.futures import InterpreterPoolExecutor
except ImportError:  # 3.10–3.13
    InterpreterPoolExecutor = None  # type: ignore[assignment,misc]

if InterpreterPoolExecutor is not None:
    register_executor(ExecutorKind(
        "interpreters", "interpreters",
        lambda workers, method: InterpreterPoolExecutor(workers), True,
        "an InterpreterPoolExecutor (3.14+): subinterpreters in this process, each with its "
        "own GIL; functions must be importable and arguments picklable"))


def _dask_executor(workers: int, method: str) -> Executor:
    from helpers.core.dask_session import DaskExecutor  # imports dask only when a Dask run starts

    return DaskExecutor(workers, method)


if importlib.util.find_spec("distributed") is not None:
    register_executor(ExecutorKind(
        "dask", "Dask", _dask_executor, False,
        "a Dask LocalCluster (or $LAB_DASK_SCHEDULER): worker processes, one thread each, "
        "driven by a scheduler; the same code runs on a cluster of many machines",
        max_workers=MAX_DASK_WORKERS))


def stop_now(executor: Executor, grace: float = 2.0) -> None:
    """Cancel what has not started and terminate worker processes, within ``grace`` s."""
    processes = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    terminate = getattr(executor, "terminate_workers", None)  # Python 3.14+
    if terminate is not None:
        terminate()
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(grace)
        if process.is_alive():
            process.kill()
            process.join(grace)


@contextmanager
def open_executor(kind: str, workers: int, start_method: str | None = None
                  ) -> Iterator[Executor]:
    """Create an executor of a registered kind and always clean it up."""
    require_int("workers", workers, 1, MAX_WORKERS)
    executor = get_executor_kind(kind).create(workers, resolve_start_method(start_method))
    try:
        yield executor
    except BaseException:
        stop_now(executor)
        raise
    executor.shutdown(wait=True)
