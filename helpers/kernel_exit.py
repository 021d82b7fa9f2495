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
"""
from __future__ import annotations

import inspect
import sys
import threading
from collections.abc import Callable
from typing import Any

STOP_TIMEOUT = 1.0  # seconds per helper process; after that ipykernel's own clean-up goes on


def _current_kernel() -> Any | None:
    """The running ipykernel ``Kernel``, or None outside a Jupyter kernel."""
    if "ipykernel" not in sys.modules:  # a worker process or a script: import nothing
        return None
    from IPython import get_ipython

    shell = get_ipython()
    return getattr(shell, "kernel", None)


def _bounded(stop: Callable[[], None], timeout: float) -> bool:
    """Run ``stop`` in a daemon thread; True if it returned within ``timeout`` seconds."""
    thread = threading.Thread(target=stop, name="lab-stop-helper-process", daemon=True)
    thread.start()
    thread.join(timeout)
    return not thread.is_alive()


def stop_multiprocessing_helpers(timeout: float = STOP_TIMEOUT) -> dict[str, bool]:
    """Stop the fork server, then the resource tracker; report which stopped in time.

    The fork server goes first: it holds a copy of the tracker's pipe, so the tracker
    cannot see its pipe close while the fork server is alive.
    """
    from multiprocessing import forkserver, resource_tracker

    stopped = {}
    for name, helper, running in (
        ("forkserver", forkserver._forkserver, "_forkserver_pid"),
        ("resource_tracker", resource_tracker._resource_tracker, "_pid"),
    ):
        stop = getattr(helper, "_stop", None)
        if stop is None or getattr(helper, running, None) is None:
            continue
        stopped[name] = _bounded(stop, timeout)
    return stopped


def install(kernel: Any | None = None) -> bool:
    """Make ``kernel`` (default: the running one) stop the helpers before shutting down.

    Returns False outside a kernel or when already installed. Idempotent.
    """
    kernel = kernel if kernel is not None else _current_kernel()
    if kernel is None or getattr(kernel, "_lab_stops_helpers", False):
        return False
    original = kernel.do_shutdown

    async def do_shutdown(restart: bool) -> Any:
        try:
            stop_multiprocessing_helpers()
        except Exception:  # never stand in the way of a shutdown
            pass
        result = original(restart)
        return await result if inspect.isawaitable(result) else result

    kernel.do_shutdown = do_shutdown
    kernel._lab_stops_helpers = True
    return True
