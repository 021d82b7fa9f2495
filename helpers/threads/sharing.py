"""Who sees whose memory? Tiny functions for threads and processes to run.

Threads live inside one process and share its objects: a list one thread appends
to is the list every other thread sees. A child process gets its own copy of
everything — inherited at fork, or rebuilt by importing modules and unpickling
arguments under spawn/forkserver — so its changes never reach the parent.
"""
from __future__ import annotations

import os
import threading

VISITS: list[str] = []  # module-level state: one copy per process


def record_visit(who: str) -> int:
    """Append ``who`` to this process's :data:`VISITS`; return this process's id."""
    VISITS.append(who)
    return os.getpid()


def visits() -> list[str]:
    """A copy of :data:`VISITS` as this process sees it."""
    return list(VISITS)


def reset_visits() -> None:
    """Empty :data:`VISITS` in this process."""
    VISITS.clear()


def append_to(items: list, item: object) -> int:
    """Append ``item`` to ``items`` and return the new length, as the worker sees it."""
    items.append(item)
    return len(items)


def whoami() -> dict[str, object]:
    """The process id, parent process id and thread name of whoever calls this."""
    return {"pid": os.getpid(), "parent_pid": os.getppid(),
            "thread": threading.current_thread().name}
