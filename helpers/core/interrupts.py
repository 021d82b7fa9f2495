"""The kernel's interrupt (■, Ctrl-C) and worker processes: nothing is left without an owner.

Jupyter's ■ sends SIGINT to the kernel's whole process group. The kernel should act on it
(stop the run, stop the workers); a worker should not, and a worker that is being started
when it arrives must not be lost half-way.
"""
from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold back an interrupt (Ctrl-C, the kernel's ■) until the block has finished.

    Used around a process pool's ``submit``, which may start a worker: interrupted half-way
    through, the pool never learns the new worker's pid, so nothing could stop that worker.
    Signals reach only the main thread; in any other thread this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received and callable(previous):
            previous(signal.SIGINT, None)  # default_int_handler: raises KeyboardInterrupt
        elif received and previous != signal.SIG_IGN:
            raise KeyboardInterrupt


def ignore_interrupts() -> None:
    """Run first in every pool worker (``executors.start_worker``). Jupyter's interrupt (■)
    sends SIGINT to the kernel's whole process group; only the kernel should act on it
    (``open_executor`` then terminates the workers). An idle worker hit by it would die
    printing a traceback into a later cell."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def end_process(process, grace: float = 2.0) -> None:
    """End a ``multiprocessing`` process that is still running: ``terminate()`` (SIGTERM,
    which a process may catch), then ``kill()`` (SIGKILL, which it cannot) if it is not gone
    within ``grace`` seconds. A process that has ended, or never started, is left as it is."""
    for stop in (process.terminate, process.kill):
        if process.pid is None or not process.is_alive():
            return
        stop()
        process.join(grace)
