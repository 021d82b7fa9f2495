"""Memory per worker: a thread is a stack in this process; a process is a whole interpreter.

The cost of one more worker is its *unique* memory (USS, where the OS gives it; RSS
elsewhere): what the machine would get back if the worker ended. What RSS, USS and PSS
count, and how they are read, is :mod:`helpers.core.memory`.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import matplotlib.pyplot as plt
import psutil
from matplotlib.figure import Figure

from helpers.core.arguments import require_int
from helpers.core.executors import open_executor, resolve_start_method
from helpers.core.memory import MIB, Memory, memory_of, total_memory
from helpers.core.plots import colour_for, finish_figure
from helpers.core.words import Verdict
from helpers.core.workloads import sleep_ms

MAX_COUNT = 64
HOLD_MS = 300  # each worker's first task: long enough that every worker starts


@dataclass(frozen=True)
class WorkerMemory:
    """Extra memory for ``count`` idle workers of one kind, and per worker."""

    kind: str  # "threads" or "processes (method)"
    count: int
    total: Memory

    @property
    def per_worker(self) -> float:
        return self.total.unique / self.count


def thread_memory(count: int = 16) -> WorkerMemory:
    """How much this process grows while ``count`` extra threads wait, idle."""
    count = require_int("count", count, 1, MAX_COUNT)
    me = psutil.Process()
    before = memory_of(me)
    release = threading.Event()
    threads = [threading.Thread(target=release.wait, args=(30,), daemon=True)
               for _ in range(count)]
    try:
        for thread in threads:
            thread.start()
        time.sleep(0.05)
        after = memory_of(me)
    finally:
        release.set()
        for thread in threads:
            thread.join(10)
    grown = Memory(max(after.uss - before.uss, 0), max(after.pss - before.pss, 0),
                   max(after.rss - before.rss, 0), after.measure)
    return WorkerMemory("threads", count, grown)


def process_memory(count: int = 4, start_method: str | None = None) -> WorkerMemory:
    """The memory of a pool of ``count`` worker processes, once each has run a task.

    The task (``sleep_ms``) lives in :mod:`helpers.core.workloads`, a light module: a spawned
    worker imports what its task's module imports, and that is part of its cost.
    The pids come from the pool itself (``pool._processes``), so multiprocessing's
    helper processes (resource tracker, fork server) are not counted.
    """
    count = require_int("count", count, 1, MAX_COUNT)
    method = resolve_start_method(start_method)
    with open_executor("processes", count, method) as pool:
        futures = [pool.submit(sleep_ms, HOLD_MS) for _ in range(count)]
        for future in futures:
            future.result(timeout=60)
        total = total_memory(list(getattr(pool, "_processes", None) or {}))
    return WorkerMemory(f"processes ({method})", count, total)


def describe_memory(results: list[WorkerMemory]) -> Verdict:
    """Per-worker memory of each kind, and how threads compare with processes."""
    lines = [f"**{r.kind}**: {r.per_worker / MIB:.2f} MiB per worker ({r.total.measure}, "
             f"{r.count} workers: {r.total.unique / MIB:.1f} MiB in all)." for r in results]
    threads = next((r for r in results if r.kind == "threads"), None)
    processes = [r for r in results if r.kind != "threads"]
    if threads and processes:
        lightest = min(processes, key=lambda r: r.per_worker)
        if threads.per_worker < lightest.per_worker:
            ratio = lightest.per_worker / max(threads.per_worker, 1024)
            lines.append(f"A thread cost less memory than the lightest process worker "
                         f"({lightest.kind}): about {ratio:,.0f}× less. A thread is a stack "
                         "in this process; a process is a whole interpreter.")
        else:
            lines.append("Here a thread did not cost less than a worker process: the "
                         "measurement is below what this OS can resolve. Try more workers.")
    return Verdict(tuple(lines))


def plot_memory(results: list[WorkerMemory]) -> Figure:
    """MiB per idle worker, one bar per kind (log scale: threads are tiny)."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    values = [max(r.per_worker / MIB, 1e-3) for r in results]
    colours = [colour_for(r.kind.split()[0], i) for i, r in enumerate(results)]
    ax.barh(range(len(results)), values, color=colours)
    for i, (value, r) in enumerate(zip(values, results)):
        ax.annotate(f"{value:.2f} MiB", (value, i), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=8)
    ax.set_yticks(range(len(results)), [f"{r.kind} ×{r.count}" for r in results])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel(f"memory per idle worker (MiB, {results[0].total.measure}, log scale)")
    ax.set_title("What one more worker costs in memory")
    ax.margins(x=0.3)
    return finish_figure(fig)
