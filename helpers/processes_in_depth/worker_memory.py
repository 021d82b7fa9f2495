"""Memory per worker: a thread is a stack in this process; a process is a whole interpreter.

The cost of one more worker is its *unique* memory (USS, where the OS gives it; RSS
elsewhere): what the machine would get back if the worker ended. What RSS, USS and PSS
count, and how they are read, is :mod:`helpers.core.memory`.

A forked worker starts sharing every page of its parent, so its unique memory starts
small — and grows as it runs: copy-on-write copies a page as soon as either side
writes to it, and merely *using* a Python object writes its reference count (the
garbage collector writes to the objects it examines, too). ``gc.freeze()`` (Python
3.7+), called just before forking, moves the parent's objects out of later collections
so that the collector stops touching those pages; reference counts still change.
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
from helpers.core.memory import MIB, Memory, memory_of, require_memory, total_memory
from helpers.core.plots import LABEL_SIZE, colour_for, finish_figure, start_method_style
from helpers.core.words import Verdict
from helpers.core.workloads import sleep_ms

MAX_COUNT = 64
# bound on one worker's own memory (USS), measured at 8 workers on 3.11: fork 2.9 MiB
# (it shares the kernel's pages), spawn 15.5 MiB, forkserver 14.1 MiB; about twice that
WORKER_MIB = {"fork": 8, "spawn": 32, "forkserver": 32}
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
    method = resolve_start_method(start_method)
    count = require_memory("count", count, 1, MAX_COUNT,  # checked before any worker starts
                           lambda workers: workers * WORKER_MIB[method] * MIB,
                           unit=f" workers under {method}")
    with open_executor("processes", count, method) as pool:
        futures = [pool.submit(sleep_ms, HOLD_MS) for _ in range(count)]
        for future in futures:
            future.result(timeout=60)
        total = total_memory(list(getattr(pool, "_processes", None) or {}))
    return WorkerMemory(f"processes ({method})", count, total)


def amount(mebibytes: float) -> str:
    """'15.14 MiB', or '12 KiB' below a tenth of a MiB (so a thread never reads 0.00)."""
    return f"{mebibytes * 1024:.0f} KiB" if mebibytes < 0.1 else f"{mebibytes:.2f} MiB"


def _method(result: WorkerMemory) -> str:
    """'fork' for 'processes (fork)'; '' for threads."""
    return result.kind.partition("(")[2].rstrip(")")


def describe_memory(results: list[WorkerMemory]) -> Verdict:
    """Per-worker memory of each kind, how threads compare with processes, and (where
    both were measured) what fork's sharing did against spawn."""
    lines = [f"**{r.kind}**: {amount(r.per_worker / MIB)} per worker ({r.total.measure}, "
             f"{r.count} workers: {amount(r.total.unique / MIB)} in all)." for r in results]
    threads = next((r for r in results if r.kind == "threads"), None)
    processes = [r for r in results if r.kind != "threads"]
    by_method = {_method(r): r for r in processes}
    if "fork" in by_method and "spawn" in by_method:
        lines.append(_fork_against_spawn(by_method["fork"], by_method["spawn"]))
    if threads and processes:
        lightest = min(processes, key=lambda r: r.per_worker)
        if threads.per_worker < lightest.per_worker:
            ratio = lightest.per_worker / max(threads.per_worker, 1024)
            lines.append(f"A thread cost less memory than the lightest process worker "
                         f"({lightest.kind}): about {ratio:,.0f}× less. A thread is a stack "
                         "in this process; a process is a whole interpreter.")
        else:
            lines.append("Here a thread did not measure less than a worker process: this "
                         "measurement cannot be read as it is (other allocations in this "
                         "kernel can hide a thread's small stack). Run the cell again.")
    return Verdict(tuple(lines))


def _fork_against_spawn(fork: WorkerMemory, spawn: WorkerMemory) -> str:
    """Fork's shared pages against spawn's fresh interpreter, from the two measurements."""
    if fork.per_worker < spawn.per_worker:
        return (f"A forked worker had less memory of its own than a spawned one "
                f"({fork.per_worker / MIB:.1f} against {spawn.per_worker / MIB:.1f} MiB): it "
                "still shares the pages it got from this kernel. That sharing shrinks as the "
                "worker runs: most objects it uses get their reference count written, which "
                "copies their page.")
    return (f"A forked worker had no less memory of its own than a spawned one "
            f"({fork.per_worker / MIB:.1f} against {spawn.per_worker / MIB:.1f} MiB): this "
            "measurement does not show fork's shared pages. Run the cell again.")


def plot_memory(results: list[WorkerMemory]) -> Figure:
    """MiB per idle worker, one bar per kind, on a linear scale (lengths compare as the
    numbers do) with each value printed at its bar."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    values = [r.per_worker / MIB for r in results]
    for i, (value, result) in enumerate(zip(values, results)):
        method = _method(result)
        style = (start_method_style(method) if method
                 else {"color": colour_for(result.kind.split()[0], i)})
        ax.barh(i, value, **style)
        ax.annotate(amount(value), (value, i), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=LABEL_SIZE)
    ax.set_yticks(range(len(results)), [f"{r.kind} ×{r.count}" for r in results])
    ax.invert_yaxis()
    ax.set_xlim(0, max(max(values), 1e-3) * 1.3)  # room for the largest bar's label
    ax.set_xlabel(f"memory per idle worker (MiB, {results[0].total.measure}, linear scale)")
    ax.set_title(f"Memory one more idle worker costs ({results[0].total.measure}: "
                 "pages no other process shares)")
    return finish_figure(fig)
