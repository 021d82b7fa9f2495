"""A Dask worker dies with the kernel that started its cluster.

A local cluster's worker processes are children of the kernel, each watching a pipe from
it (distributed's own guard). Under fork, though, every process the kernel forks later
inherits a copy of those pipes' other ends: while such a process lives (a pool worker, a
``multiprocessing.Process`` left running), a killed kernel's Dask workers live on, adopted
by PID 1. :class:`DieWithKernel`, registered on every local cluster
(:mod:`helpers.core.dask_session`), runs :func:`helpers.core.orphans.die_with_parent` in
each worker — also watching :func:`os.getppid` — as the lab's pool workers do.
"""
from __future__ import annotations

from distributed import Worker, WorkerPlugin

from helpers.core.orphans import die_with_parent


class DieWithKernel(WorkerPlugin):
    """On each worker (and each worker a nanny restarts): end it when its parent is gone."""

    name = "lab-die-with-kernel"

    def setup(self, worker: Worker) -> None:
        die_with_parent()
