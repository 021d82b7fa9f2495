"""Part 6 · processes for I/O: the cost.

``pool_cost`` measures a thread pool and a process pool doing the same waiting, from
creating the pool to shutting it down: the time, and the extra memory.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from helpers.core.arguments import require_choice, require_int
from helpers.core.executors import open_executor, resolve_start_method
from helpers.core.latency_server import fetch
from helpers.core.memory import total_memory
from helpers.core.words import speedup_phrase
from helpers.io_bound.waiting import resident_memory


@dataclass(frozen=True)
class PoolCost:
    """One pool of ``workers`` fetching pages, from creation to shutdown."""

    kind: str
    workers: int
    seconds: float  # create the pool, fetch every page, shut it down
    memory_bytes: int  # extra memory: new processes' unique memory, or this process's growth


def pool_cost(kind: str, workers: int, urls: Sequence[str],
              start_method: str | None = None) -> PoolCost:
    """Create a ``kind`` (threads or processes) pool, fetch ``urls``, measure it all."""
    require_choice("kind", kind, ("threads", "processes"))
    require_int("workers", workers, 1, 64)
    if not urls:
        raise ValueError("urls must hold at least one URL")
    method = resolve_start_method(start_method)
    rss = resident_memory()
    start = time.perf_counter()
    with open_executor(kind, workers, method) as pool:
        futures = [pool.submit(fetch, url) for url in urls]
        for future in futures:
            future.result(timeout=60)
        memory = (total_memory(list(getattr(pool, "_processes", None) or {})).unique
                  if kind == "processes" else max(resident_memory() - rss, 0))
    return PoolCost(kind, workers, time.perf_counter() - start, memory)


def describe_pool_costs(threads: PoolCost, processes: PoolCost) -> str:
    ratio = processes.seconds / threads.seconds
    return (f"- **threads**: {threads.seconds:.2f} s from creating the pool to the last page, "
            f"{threads.memory_bytes / 2**20:.1f} MiB extra memory.\n"
            f"- **processes**: {processes.seconds:.2f} s "
            f"({speedup_phrase(1 / ratio, 'threads')}), "
            f"{processes.memory_bytes / 2**20:.1f} MiB in {processes.workers} worker processes"
            " — each one a whole interpreter, started only to wait.")
