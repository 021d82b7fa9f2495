"""Part 6 · processes for I/O: the cost.

``pool_cost`` measures a thread pool and a process pool doing the same waiting, from
creating the pool to shutting it down: the time, and the extra memory.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from helpers.core import noise
from helpers.core.arguments import require_choice, require_int
from helpers.core.executors import open_executor, resolve_start_method
from helpers.core.latency_server import fetch
from helpers.core.memory import total_memory
from helpers.core.system import effective_cpu_count
from helpers.core.words import speedup_phrase
from helpers.io_bound.waiting import resident_memory


@dataclass(frozen=True)
class PoolCost:
    """One pool of ``workers`` fetching pages, from creation to shutdown."""

    kind: str
    workers: int
    seconds: float  # create the pool, fetch every page, shut it down
    memory_bytes: int  # extra memory: new processes' unique memory, or this process's growth
    load: noise.MachineLoad | None = None  # what other programs did meanwhile

    def disturbance(self) -> str:
        """Starting processes computes (each imports Python): **disturbed** when other
        programs left fewer CPUs than the new processes could use; threads only wait."""
        wanted = 0 if self.kind == "threads" else min(self.workers, effective_cpu_count())
        return noise.busy_sentence(self.load, wanted, f"the {self.kind} pool")


def pool_cost(kind: str, workers: int, urls: Sequence[str],
              start_method: str | None = None) -> PoolCost:
    """Create a ``kind`` (threads or processes) pool, fetch ``urls``, measure it all."""
    require_choice("kind", kind, ("threads", "processes"))
    require_int("workers", workers, 1, 64)
    if not urls:
        raise ValueError("urls must hold at least one URL")
    method = resolve_start_method(start_method)
    rss = resident_memory()
    with noise.watch_load() as watch:  # the workers count as ours, alive or ended
        start = time.perf_counter()
        with open_executor(kind, workers, method) as pool:
            futures = [pool.submit(fetch, url) for url in urls]
            for future in futures:
                future.result(timeout=60)
            memory = (total_memory(list(getattr(pool, "_processes", None) or {})).unique
                      if kind == "processes" else max(resident_memory() - rss, 0))
        seconds = time.perf_counter() - start
    return PoolCost(kind, workers, seconds, memory, watch.load)


def describe_pool_costs(threads: PoolCost, processes: PoolCost) -> str:
    """Markdown: time and memory of each pool; a disturbed time is called disturbed."""
    ratio = processes.seconds / threads.seconds
    disturbed = processes.disturbance() or threads.disturbance()
    return (f"- **threads**: {threads.seconds:.2f} s from creating the pool to the last page, "
            f"{threads.memory_bytes / 2**20:.1f} MiB extra memory.\n"
            f"- **processes**: {processes.seconds:.2f} s "
            f"({speedup_phrase(1 / ratio, 'threads')}), "
            f"{processes.memory_bytes / 2**20:.1f} MiB in {processes.workers} worker processes"
            " — each one a whole interpreter, started only to wait."
            + (f"\n- {disturbed}" if disturbed else ""))
