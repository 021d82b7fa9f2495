"""When a worker process fails: what the parent sees, and why no worker is left behind.

Three failures, each run for real and each bounded by a timeout:

:func:`worker_exception`
    the task raises. ``future.result()`` raises the same exception in the
    parent, and its ``__cause__`` carries the worker's own traceback as text —
    the lines that say where in the worker it went wrong.
:func:`dead_worker`
    the worker process dies (``os._exit``, a crash, the OOM killer). The pool
    cannot know what was lost, so every pending future fails with
    ``BrokenProcessPool`` and the pool refuses new work. From Python 3.15 the
    exception's cause names the dead worker's process ID and exit code. A ``multiprocessing.Pool``
    would instead start a new worker and wait for the lost task forever.
:func:`stopped_run`
    a run stopped half-way (here by its timeout; the kernel's ■ takes the same
    path). The lab's executors cancel what has not started and terminate the
    workers, so none is left running.
"""
from __future__ import annotations

import os
import time
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import psutil

from helpers.core.arguments import require_float, require_int
from helpers.core.executors import open_executor, resolve_start_method
from helpers.core.runner import run_tasks

HELPER_MARKS = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")


def fail_with(message: str) -> None:
    """A task that always fails: raises ``ValueError(message)`` in the worker."""
    raise ValueError(message)


def exit_abruptly(code: int = 3) -> None:
    """A task that kills its own worker process at once, as a crash would."""
    require_int("code", code, 0, 255)
    os._exit(code)


@dataclass(frozen=True)
class Failure:
    """What the parent saw when a worker failed."""

    what: str
    error: str  # "ExceptionName: message" as raised in the parent
    worker_traceback: str  # the worker's traceback text, where one came back
    seconds: float  # from submitting to the parent knowing
    afterwards: str  # what the pool (or the machine) looked like afterwards
    cause: str = ""  # BrokenProcessPool's cause: the dead worker's PID and exit code (3.15+)

    def __str__(self) -> str:
        text = f"{self.what}\n  parent got ({self.seconds:.2f} s): {self.error}"
        if self.cause:
            text += f"\n  its cause: {self.cause}"
        if self.worker_traceback:
            lines = [line for line in self.worker_traceback.strip().splitlines()
                     if line.strip(" ^~")]  # drop the ^^^ position markers (3.11+)
            text += "\n  worker's traceback (last lines):\n    " + "\n    ".join(lines[-3:])
        return text + f"\n  afterwards: {self.afterwards}"

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        printer.text(str(self))


def _error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _cause_text(error: BaseException) -> str:
    """The text of ``error.__cause__`` (a worker's traceback as a string), unquoted."""
    return str(error.__cause__ or "").strip().strip("'\"").strip()


def worker_exception(start_method: str | None = None, timeout: float = 30.0) -> Failure:
    """Run :func:`fail_with` in a worker; show the exception and the worker's traceback."""
    timeout = require_float("timeout", timeout, 0.1, 600)
    start = time.perf_counter()
    with open_executor("processes", 1, resolve_start_method(start_method)) as pool:
        future = pool.submit(fail_with, "the input was not valid")
        try:
            future.result(timeout=timeout)
        except ValueError as error:
            seconds = time.perf_counter() - start
            cause = _cause_text(error)  # the worker's traceback
            still = pool.submit(abs, -7).result(timeout=timeout)
            return Failure("a task raised ValueError", _error_text(error), cause, seconds,
                           f"the pool still works: abs(-7) → {still}")
    raise RuntimeError("fail_with did not fail")


def dead_worker(start_method: str | None = None, timeout: float = 30.0) -> Failure:
    """Kill a worker from inside (:func:`exit_abruptly`); show ``BrokenProcessPool``."""
    timeout = require_float("timeout", timeout, 0.1, 600)
    start = time.perf_counter()
    with open_executor("processes", 2, resolve_start_method(start_method)) as pool:
        lost = pool.submit(exit_abruptly, 3)
        try:
            lost.result(timeout=timeout)
        except BrokenProcessPool as error:
            seconds = time.perf_counter() - start
            try:
                pool.submit(abs, -7)
                afterwards = "the pool accepted new work"
            except BrokenProcessPool as refused:
                afterwards = f"new work is refused: {_error_text(refused)}"
            # Python 3.15+ names the dead worker: "Process 123 terminated abruptly with exit
            # code 3"; before, the exception has no cause
            return Failure("a worker process died", _error_text(error), "", seconds,
                           afterwards, cause=_cause_text(error))
    raise RuntimeError("exit_abruptly did not end its worker")


def live_workers(before: set[int]) -> list[int]:
    """Descendants of this process started since ``before``, apart from multiprocessing's
    own helpers (the resource tracker and the fork server, which serve every pool)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        if child.pid in before:
            continue
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                continue
            command = " ".join(child.cmdline())
            is_helper = child.ppid() == os.getpid() and any(m in command for m in HELPER_MARKS)
        except psutil.Error:
            continue
        if not is_helper:
            found.append(child.pid)
    return found


def stopped_run(start_method: str | None = None, timeout: float = 0.5,
                grace: float = 5.0) -> Failure:
    """Start a run far longer than ``timeout`` on a process pool; show it stops, clean."""
    timeout = require_float("timeout", timeout, 0.05, 60)
    grace = require_float("grace", grace, 0.1, 60)
    before = {child.pid for child in psutil.Process().children(recursive=True)}
    start = time.perf_counter()
    try:
        run_tasks("count", executor="processes", workers=2, tasks=8, size=12_000_000,
                  repeats=1, warmup=False, start_method=start_method, timeout=timeout)
    except TimeoutError as error:
        seconds = time.perf_counter() - start
        deadline = time.monotonic() + grace
        while (left := live_workers(before)) and time.monotonic() < deadline:
            time.sleep(0.05)
        return Failure("a run stopped by its timeout", _error_text(error), "", seconds,
                       f"{len(left)} worker processes still running")
    raise RuntimeError("the run finished before its timeout: raise the work size")
