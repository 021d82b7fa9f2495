"""A Jupyter kernel that used *spawn* or *forkserver* still shuts down promptly.

Those start methods (and ``shared_memory`` under any method) start two helper processes
beside the kernel: the **resource tracker**, which removes shared memory and semaphores that
a crashed program left behind, and, for forkserver, the **fork server**. Both stop by
themselves when the kernel closes its end of a pipe, that is when the kernel exits.

ipykernel does not know that. On shutdown or restart it first sends SIGTERM to every child
process and waits, with growing pauses, for them to go. The resource tracker ignores SIGTERM
on purpose (it must outlive its program to clean up after it), so every shutdown or restart
after a spawn or shared-memory demo waited until the kernel was stopped from outside: 2.6 s
here, each time, before the tracker could run its clean-up.

:func:`install` wraps the kernel's ``do_shutdown`` so that, first, the fork server and the
resource tracker are asked to stop the way multiprocessing's own tests stop them: by
closing their pipe. Each gets a bounded wait; whatever is still running after it is left
to ipykernel, as before. ``helpers`` installs this on import when it runs inside a kernel.

Before that, the kernel releases what its cells still hold. A ``multiprocessing.Queue``
made under spawn/forkserver owns three named semaphores (two locks and a counter); they
are registered with the tracker and unregistered by a finalizer when the queue is freed or,
at the latest, by multiprocessing's own exit handler. A notebook keeps its queue in a
variable until the end, so stopping the tracker first made it report the queue's
semaphores as leaked ("There appear to be 3 leaked semaphore objects to clean up at
shutdown") and remove them itself. :func:`release_multiprocessing_objects` runs that exit
handler's first step — the finalizers multiprocessing would run anyway as this process
exits — so the tracker is left with only what was truly forgotten, such as a
``SharedMemory`` block never unlinked, and warns about that alone.
"""
from __future__ import annotations

import inspect
import sys
import threading
from collections.abc import Callable
from typing import Any

STOP_TIMEOUT = 1.0  # seconds per helper process; after that ipykernel's own clean-up goes on


def current_kernel() -> Any | None:
    """The running ipykernel ``Kernel``, or None outside a Jupyter kernel."""
    if "ipykernel" not in sys.modules:  # a worker process or a script: import nothing
        return None
    from IPython import get_ipython

    shell = get_ipython()
    return getattr(shell, "kernel", None)


def bounded_call(stop: Callable[[], None], timeout: float) -> bool:
    """Run ``stop`` in a daemon thread; True if it returned within ``timeout`` seconds."""
    thread = threading.Thread(target=stop, name="lab-stop-helper-process", daemon=True)
    thread.start()
    thread.join(timeout)
    return not thread.is_alive()


def release_multiprocessing_objects(timeout: float = STOP_TIMEOUT) -> bool:
    """Run multiprocessing's exit-time finalizers now; True if they finished in time.

    These are what ``multiprocessing.util``'s exit handler runs first (exit priority 0 and
    above): pools terminated, queues closed, managers shut down, the named semaphores of
    locks and queues unlinked and unregistered from the resource tracker. Each runs once;
    the exit handler later skips those already run.
    """
    from multiprocessing import util

    return bounded_call(lambda: util._run_finalizers(0), timeout)


def stop_multiprocessing_helpers(timeout: float = STOP_TIMEOUT) -> dict[str, bool]:
    """Release what the kernel still holds, stop the fork server, then the resource tracker.

    Reports which step finished in time. The release comes first so that the tracker sees
    the semaphores of a queue still held by a notebook variable unregistered, not leaked.
    If it is still running after ``timeout`` (a pool slow to terminate), both helpers are
    left to ipykernel: a finalizer that unregisters from a stopped tracker would start a
    new one. The fork server goes before the tracker: it holds a copy of the tracker's
    pipe, so the tracker cannot see its pipe close while the fork server is alive.
    """
    from multiprocessing import forkserver, resource_tracker

    stopped = {"finalizers": release_multiprocessing_objects(timeout)}
    if not stopped["finalizers"]:
        return stopped
    for name, helper, running in (
        ("forkserver", forkserver._forkserver, "_forkserver_pid"),
        ("resource_tracker", resource_tracker._resource_tracker, "_pid"),
    ):
        stop = getattr(helper, "_stop", None)
        if stop is None or getattr(helper, running, None) is None:
            continue
        stopped[name] = bounded_call(stop, timeout)
    return stopped


def before_shutdown(step: Callable[[], object], flag: str, kernel: Any | None = None) -> bool:
    """Make ``kernel`` (default: the running one) run ``step()`` as soon as it is asked to
    shut down or restart, before ipykernel's own shutdown; an error in ``step`` never stands
    in its way. ``flag`` (an attribute set on the kernel) makes it once per kernel.

    Returns False outside a kernel or when ``flag`` is already set.
    """
    kernel = kernel if kernel is not None else current_kernel()
    if kernel is None or getattr(kernel, flag, False):
        return False
    original = kernel.do_shutdown

    async def do_shutdown(restart: bool) -> Any:
        try:
            step()
        except Exception:  # never stand in the way of a shutdown
            pass
        result = original(restart)
        return await result if inspect.isawaitable(result) else result

    kernel.do_shutdown = do_shutdown
    setattr(kernel, flag, True)
    return True


def install(kernel: Any | None = None) -> bool:
    """Make ``kernel`` (default: the running one) stop the helpers before shutting down.

    Returns False outside a kernel or when already installed. Idempotent.
    """
    return before_shutdown(stop_multiprocessing_helpers, "_lab_stops_helpers", kernel)
