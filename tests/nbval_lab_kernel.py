"""pytest plugin for the notebook runs: a kernel ends, and speaks, as under JupyterLab.

nbval stops a notebook's kernel with ``shutdown_kernel(now=True)``: SIGKILL to the kernel's
whole process group, so neither the kernel's shutdown code (``helpers.core.kernel_exit``) nor
multiprocessing's exit handlers run, and the resource tracker dies with the kernel. Every
semaphore or segment still registered then stays in ``/dev/shm`` — a leak the learner never
has — while the leak a learner *does* see, the tracker's "There appear to be N leaked …
objects" warning after a normal shutdown, never shows. nbval also sends the kernel's stderr,
where that warning goes, to ``os.devnull``.

JupyterLab's "Shut Down Kernel", "Restart Kernel" and stopping the server send a
``shutdown_request`` and kill only a kernel that has not exited after ``shutdown_wait_time``
(5 s); the kernel's stderr is the server's terminal. With this plugin nbval does the same,
and the kernel's stderr goes to the file named by ``LAB_KERNEL_STDERR`` (appended to; left
as nbval has it when unset), so the leak checks of ``test_notebooks_run.py`` see what a
learner's kernel leaves behind. Loaded with ``-p nbval_lab_kernel`` (``tests`` on
``PYTHONPATH``). A file rather than nbval's own stderr: pytest captures that while a test
runs, and the kernel would inherit the capture.
"""
from __future__ import annotations

import os
from typing import Any

from nbval import kernel as nbval_kernel

_start_new_kernel = nbval_kernel.start_new_kernel


def start_with_stderr(*args: Any, **kwargs: Any) -> Any:
    """nbval's kernel start, the kernel's stderr appended to ``$LAB_KERNEL_STDERR``."""
    path = os.environ.get("LAB_KERNEL_STDERR")
    if not path:
        return _start_new_kernel(*args, **kwargs)
    devnull = kwargs.pop("stderr", None)
    if devnull is not None:
        devnull.close()
    with open(path, "ab") as log:  # the kernel keeps its own copy of the descriptor
        return _start_new_kernel(*args, stderr=log, **kwargs)


def stop_like_jupyterlab(self: nbval_kernel.RunningKernel) -> None:
    """A ``shutdown_request`` first; SIGTERM, then SIGKILL only if the kernel hangs."""
    self.kc.stop_channels()
    self.km.shutdown_kernel(now=False)
    del self.km


def pytest_configure(config: Any) -> None:  # noqa: ARG001 - pytest's hook signature
    nbval_kernel.start_new_kernel = start_with_stderr
    nbval_kernel.RunningKernel.stop = stop_like_jupyterlab
