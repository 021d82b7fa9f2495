"""A worker process dies with the process that started it: no orphan outlives a killed kernel.

A pool's worker waits on its task queue. If the kernel that owns the pool is killed (``kill``,
the OOM killer, a crash), nobody closes that queue: each worker holds both ends of it, so it
waits for ever, adopted by PID 1. Under spawn and forkserver it also keeps the resource
tracker and the fork server alive (it holds their pipes), and they keep the pool's named
semaphores (``/dev/shm/sem.mp-*``) that the tracker would otherwise remove.

:func:`die_with_parent`, called in each worker as it starts (a pool *initializer*), starts a
daemon thread that ends the worker as soon as its parent is gone. What it watches:

* **The parent's sentinel** (:func:`multiprocessing.parent_process`): a pipe whose other end
  only the parent holds, so it reads as end-of-file the instant the parent dies, however it
  died. It is the parent that started the worker — the kernel — under every start method,
  forkserver included (there the worker's OS parent is the fork server, but the pipe leads to
  the kernel). On Windows the sentinel is a handle on the parent process. The thread blocks on
  it: no polling, no delay.
* **The OS parent** (:func:`os.getppid`), every ``CHECK_EVERY`` seconds, under fork and spawn
  where it is the kernel: when it changes, the worker was adopted. This covers the one gap of
  the sentinel: under fork, a process the kernel forks later inherits a copy of the pipe's
  other end and keeps it open. Alone it would not do: under forkserver the workers hold the
  fork server's pipe open, so the fork server waits for them and they for it, for ever.
* **The parent process itself** on Linux (a *pidfd*, :func:`os.pidfd_open`): readable the
  instant the parent exits, whoever holds copies of its pipes. It closes the gap that is left
  under forkserver, where the OS parent is the fork server: a process the kernel forks later
  (under fork, in the same kernel) keeps the sentinel's pipe open.

If the parent died before the worker got this far, the sentinel is already at end-of-file and
the worker ends at once: there is no race to lose.

Why not Linux's ``prctl(PR_SET_PDEATHSIG)``? It signals the child when the *thread* that
started it ends, not the process: a ``ProcessPoolExecutor`` starts workers from whichever
thread calls ``submit`` (the lab runs work in background threads), so healthy workers would be
killed when such a thread finished. Under forkserver it would watch the fork server, and it
exists on Linux only.
"""
from __future__ import annotations

import multiprocessing
import os
import threading
from contextlib import suppress
from multiprocessing.connection import wait

CHECK_EVERY = 1.0  # seconds between two looks at os.getppid()
ORPHAN_EXIT_CODE = 70  # a worker's exit code when its parent is gone (1 = an uncaught error)


def die_with_parent() -> bool:
    """End this process (``os._exit``) as soon as the process that started it is gone.

    Call it in a child started by :mod:`multiprocessing` (a pool initializer); it returns at
    once and watches from a daemon thread. Returns False, doing nothing, in a process that
    multiprocessing did not start (it has no parent to watch).
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return False
    os_parent = os.getppid() if os.getppid() == parent.pid else None  # None: forkserver
    watched = [parent.sentinel]
    with suppress(AttributeError, OSError):  # Linux 5.3+; elsewhere the other two watches
        watched.append(os.pidfd_open(parent.pid))
    threading.Thread(target=_watch, args=(watched, os_parent), daemon=True,
                     name="lab-die-with-parent").start()
    return True


def _watch(watched: list[int], os_parent: int | None) -> None:
    """Return never: ``os._exit`` once one of ``watched`` is ready (the parent's sentinel
    at end-of-file, its pidfd readable) or the OS parent changed."""
    while not wait(watched, CHECK_EVERY):
        if os_parent is not None and os.getppid() != os_parent:
            break
    os._exit(ORPHAN_EXIT_CODE)  # no clean-up to run: the owner of every shared object is gone
