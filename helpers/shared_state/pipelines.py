"""Producer/consumer pipelines: hand work over through a queue instead of sharing state.

One producer puts items on a queue; several consumers take them off and process them.
Nobody else touches an item while a consumer works on it, so no lock is needed. Three
habits make such a pipeline safe:

* **sentinels**: after the last item the producer puts one ``None`` per consumer; a
  consumer that takes ``None`` stops. No consumer waits forever on an empty queue.
* **back-pressure**: a queue with ``maxsize`` makes ``put`` wait while the queue is
  full, so a fast producer cannot pile up unbounded work in memory.
* **bounded waits**: every ``get`` and ``join`` has a timeout, so a lost consumer shows
  up as an error, not as a notebook that hangs.

The same consumer works with threads (``queue.Queue``) and processes
(``multiprocessing`` queues): :func:`run_producer_consumer` returns the work as a
:class:`~helpers.core.runner.RunResult`, so its timeline draws like every other run.
"""
from __future__ import annotations

import os
import queue
import threading
import time
from dataclasses import dataclass

from helpers.core.arguments import require_choice, require_int
from helpers.core.executors import resolve_start_method
from helpers.core.runner import RunResult, TaskRecord
from helpers.core.settings import default
from helpers.processes import join_or_stop

SENTINEL = None
GET_TIMEOUT = 30.0
MAX_ITEMS = 500
MAX_CONSUMERS = 16


def consume(tasks, results, work_ms: int) -> None:
    """Take items until the sentinel; for each, work ``work_ms`` ms and report a record.

    Runs in a thread or a process: ``tasks`` and ``results`` are queues of either kind.
    """
    while True:
        item = tasks.get(timeout=GET_TIMEOUT)
        if item is SENTINEL:
            return
        start, cpu = time.perf_counter(), time.thread_time()
        time.sleep(work_ms / 1000)  # the work: waiting, like a download or a disk write
        results.put(TaskRecord(item, os.getpid(), threading.get_ident(), start,
                               time.perf_counter(), time.thread_time() - cpu))


@dataclass(frozen=True)
class Pipeline:
    """A finished pipeline: its timeline, and how long the producer waited to ``put``."""

    run: RunResult  # one record per item, times from the producer's start
    maxsize: int  # 0: unbounded
    producer_blocked: float  # seconds the producer spent waiting for room in the queue
    deepest: int  # the most items waiting in the queue, seen at a put (-1: unknown)


def _queues(kind: str, method: str | None):
    if kind == "threads":
        return queue.Queue, None
    import multiprocessing

    context = multiprocessing.get_context(method)
    return context.Queue, context


def run_producer_consumer(kind: str = "threads", items: int | None = None,
                          consumers: int = 3, maxsize: int = 0, produce_ms: int = 5,
                          work_ms: int = 30, start_method: str | None = None) -> Pipeline:
    """Produce ``items`` items (one every ``produce_ms``) for ``consumers`` consumers.

    ``kind``: ``"threads"`` (``queue.Queue``) or ``"processes"`` (``multiprocessing``
    queues, consumers started with ``start_method``). ``maxsize=0`` means unbounded.
    """
    kind = require_choice("kind", kind, ("threads", "processes"))
    items = require_int("items", int(default(40, 20)) if items is None else items, 1, MAX_ITEMS)
    consumers = require_int("consumers", consumers, 1, MAX_CONSUMERS)
    maxsize = require_int("maxsize", maxsize, 0, MAX_ITEMS)
    produce_ms = require_int("produce_ms", produce_ms, 0, 1000)
    work_ms = require_int("work_ms", work_ms, 0, 1000)
    method = resolve_start_method(start_method) if kind == "processes" else None
    make_queue, context = _queues(kind, method)
    tasks, results = make_queue(maxsize), make_queue()
    workers = _consumers(context, consumers, tasks, results, work_ms)
    cpu_start, start = time.process_time(), time.perf_counter()
    blocked, deepest, records = _feed(workers, tasks, results, items, produce_ms)
    run = _pipeline_run(kind, method, consumers, work_ms, records, start, cpu_start)
    return Pipeline(run, maxsize, blocked, deepest)


def _consumers(context, count: int, tasks, results, work_ms: int) -> list:
    """``count`` daemon consumers, not yet started: threads, or processes of ``context``."""
    starter = threading.Thread if context is None else context.Process
    return [starter(target=consume, args=(tasks, results, work_ms), daemon=True)
            for _ in range(count)]


def _feed(workers: list, tasks, results, items: int, produce_ms: int
          ) -> tuple[float, int, list[TaskRecord]]:
    """Start the consumers, produce ``items`` items and collect one record for each.
    Whatever happens, the consumers are stopped (and process queues closed) at the end."""
    records: list[TaskRecord] = []
    try:
        for worker in workers:
            worker.start()
        blocked, deepest = _produce(tasks, items, len(workers), produce_ms)
        records = [results.get(timeout=GET_TIMEOUT) for _ in range(items)]
        return blocked, deepest, records
    finally:
        _stop(workers, tasks)
        if not isinstance(tasks, queue.Queue):  # a multiprocessing queue: a feeder thread
            _close(tasks, results, done=len(records) == items)


def _produce(tasks, items: int, consumers: int, produce_ms: int) -> tuple[float, int]:
    """Put ``items`` items on ``tasks``, one every ``produce_ms`` ms, then one sentinel per
    consumer. Return the seconds spent waiting for room, and the deepest queue seen."""
    blocked, deepest = 0.0, 0
    for item in [*range(items), *[SENTINEL] * consumers]:
        if item is not SENTINEL:
            time.sleep(produce_ms / 1000)
        deepest = max(deepest, _depth(tasks))
        before = time.perf_counter()
        tasks.put(item, timeout=GET_TIMEOUT)
        blocked += time.perf_counter() - before
    return blocked, deepest


def _pipeline_run(kind: str, method: str | None, consumers: int, work_ms: int,
                  records: list[TaskRecord], start: float, cpu_start: float) -> RunResult:
    """The finished pipeline as a :class:`RunResult`: wall and CPU time since ``start`` and
    ``cpu_start`` (with the consumer processes' own CPU time), times from ``start``."""
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    if kind == "processes":  # the consumers' CPU time, counted in their own processes
        cpu += sum(record.cpu for record in records)
    shifted = [TaskRecord(r.task, r.pid, r.thread, r.start - start, r.end - start, r.cpu)
               for r in sorted(records, key=lambda r: r.task)]
    return RunResult("pipeline", kind, consumers, len(records), work_ms, method, [wall], [cpu],
                     shifted, [r.task for r in shifted])


def _depth(tasks) -> int:
    try:
        return tasks.qsize()
    except NotImplementedError:  # multiprocessing queues on macOS
        return -1


def _stop(workers, tasks) -> None:
    """End every consumer, bounded. After an error (or ■) the queue is emptied and each
    thread gets its sentinel; processes still running are terminated."""
    threads = [w for w in workers if isinstance(w, threading.Thread) and w.is_alive()]
    if threads:
        try:
            while True:
                tasks.get_nowait()
        except queue.Empty:
            pass
        for _ in threads:
            tasks.put_nowait(SENTINEL)
    for thread in threads:
        thread.join(GET_TIMEOUT)
    join_or_stop([w for w in workers if not isinstance(w, threading.Thread)], timeout=10)


def _close(*queues, done: bool) -> None:
    """End a multiprocessing queue's feeder thread. After an error, whatever is still
    buffered is dropped rather than waited for (nobody is left to read it)."""
    for q in queues:
        if not done:
            q.cancel_join_thread()
        q.close()
        q.join_thread()


def describe_pipeline(pipeline: Pipeline) -> str:
    """The throughput, and what the queue's size limit did to the producer."""
    run = pipeline.run
    ideal = run.tasks * run.size / 1000 / run.workers
    text = (f"**{run.executor}**: {run.tasks} items through {run.workers} consumers in "
            f"{run.wall:.2f} s (with all consumers busy all the time: {ideal:.2f} s). ")
    if pipeline.maxsize:
        text += (f"With `maxsize={pipeline.maxsize}` the producer waited "
                 f"{pipeline.producer_blocked:.2f} s for room, and the queue never held "
                 f"more than {max(pipeline.deepest, 0)} items: back-pressure.")
    else:
        depth = "an unknown number of" if pipeline.deepest < 0 else pipeline.deepest
        text += (f"Unbounded, the producer never waited ({pipeline.producer_blocked:.3f} s) "
                 f"and up to {depth} items piled up in the queue.")
    return text
