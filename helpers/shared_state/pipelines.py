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
:class:`~helpers.core.runner.RunResult`, plus one :class:`Put` per ``put`` of the
producer: when it began, when it returned, whether the queue was full (so the producer
waited) and how long the queue was afterwards. :func:`plot_pipelines` draws both, so a
bounded and an unbounded queue look as different as they behave.
"""
from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from helpers.core.arguments import require_choice, require_int
from helpers.core.executors import resolve_start_method
from helpers.core.noise import disturbed_sentence, repeats_disagree
from helpers.core.runner import RunResult, TaskRecord
from helpers.core.settings import default
from helpers.processes.basics import join_or_stop

if TYPE_CHECKING:  # matplotlib only to draw
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

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
class Put:
    """One ``put`` of the producer, times in seconds from the producer's start.

    ``waited`` is True only when the queue was full as the producer came to put (its
    ``put_nowait`` raised ``queue.Full``): then ``end - start`` is the time it was
    blocked. An unbounded queue is never full, so its producer never waits.
    """

    item: int | None  # None: a sentinel
    start: float
    end: float
    waited: bool
    depth: int  # items in the queue just after this put (-1: not knowable here)

    @property
    def blocked(self) -> float:
        """Seconds this put waited for room: 0 when the queue had room."""
        return self.end - self.start if self.waited else 0.0


@dataclass(frozen=True)
class Pipeline:
    """A finished pipeline: its timeline, and every ``put`` of the producer."""

    run: RunResult  # one record per item, times from the producer's start
    maxsize: int  # 0: unbounded
    puts: tuple[Put, ...] = ()

    @property
    def producer_blocked(self) -> float:
        """Seconds the producer spent waiting for room in the queue, all puts together."""
        return sum(put.blocked for put in self.puts)

    @property
    def waits(self) -> int:
        """How many puts found the queue full and waited."""
        return sum(put.waited for put in self.puts)

    @property
    def deepest(self) -> int:
        """The most items waiting in the queue, seen just after a put (-1: unknown)."""
        depths = [put.depth for put in self.puts]
        return -1 if not depths or min(depths) < 0 else max(depths)


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
    ready = (threading if context is None else context).Barrier(consumers + 1)
    workers = _consumers(context, consumers, ready, tasks, results, work_ms)
    puts, records, start, cpu_start = _feed(workers, ready, tasks, results, items, produce_ms)
    run = _pipeline_run(kind, method, consumers, work_ms, records, start, cpu_start)
    return Pipeline(run, maxsize, tuple(_shift(put, start) for put in puts))


def ready_then_consume(ready, tasks, results, work_ms: int) -> None:
    """Say "ready" at the ``ready`` barrier, then :func:`consume`: the producer starts its
    clock only when every consumer is up, so process start-up is not drawn as waiting."""
    ready.wait(GET_TIMEOUT)
    consume(tasks, results, work_ms)


def _consumers(context, count: int, ready, tasks, results, work_ms: int) -> list:
    """``count`` daemon consumers, not yet started: threads, or processes of ``context``."""
    starter = threading.Thread if context is None else context.Process
    return [starter(target=ready_then_consume, args=(ready, tasks, results, work_ms),
                    daemon=True) for _ in range(count)]


def _feed(workers: list, ready, tasks, results, items: int, produce_ms: int
          ) -> tuple[list[Put], list[TaskRecord], float, float]:
    """Start the consumers, wait until all are ready, then (clocks started: wall, CPU)
    produce ``items`` items and collect one record for each. Whatever happens, the
    consumers are stopped (and process queues closed) at the end."""
    records: list[TaskRecord] = []
    try:
        for worker in workers:
            worker.start()
        ready.wait(GET_TIMEOUT)
        cpu_start, start = time.process_time(), time.perf_counter()
        puts = _produce(tasks, items, len(workers), produce_ms)
        records = [results.get(timeout=GET_TIMEOUT) for _ in range(items)]
        return puts, records, start, cpu_start
    finally:
        _stop(workers, tasks)
        if not isinstance(tasks, queue.Queue):  # a multiprocessing queue: a feeder thread
            _close(tasks, results, done=len(records) == items)


def _produce(tasks, items: int, consumers: int, produce_ms: int) -> list[Put]:
    """Put ``items`` items on ``tasks``, one every ``produce_ms`` ms, then one sentinel per
    consumer. Return one :class:`Put` per put (``perf_counter`` times)."""
    puts = []
    for item in [*range(items), *[SENTINEL] * consumers]:
        if item is not SENTINEL:
            time.sleep(produce_ms / 1000)
        puts.append(put_and_record(tasks, item))
    return puts


def put_and_record(tasks, item: int | None, timeout: float = GET_TIMEOUT) -> Put:
    """Put ``item`` on ``tasks`` and record whether the producer had to wait.

    First ``put_nowait``: if the queue has room, nothing waited. Only when it raises
    ``queue.Full`` does the producer wait, in a ``put`` bounded by ``timeout``; the time
    from before the first try to the end of that put is the waiting.
    """
    start = time.perf_counter()
    try:
        tasks.put_nowait(item)
        waited = False
    except queue.Full:  # multiprocessing queues raise queue.Full too
        tasks.put(item, timeout=timeout)
        waited = True
    return Put(item, start, time.perf_counter(), waited, _depth(tasks))


def _shift(put: Put, start: float) -> Put:
    return Put(put.item, put.start - start, put.end - start, put.waited, put.depth)


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
    join_or_stop([w for w in workers if not isinstance(w, threading.Thread)
                  and w.pid is not None], timeout=10)


def _close(*queues, done: bool) -> None:
    """End a multiprocessing queue's feeder thread. After an error, whatever is still
    buffered is dropped rather than waited for (nobody is left to read it)."""
    for q in queues:
        if not done:
            q.cancel_join_thread()
        q.close()
        q.join_thread()


def describe_pipeline(pipeline: Pipeline) -> str:
    """The throughput, and what the queue's size limit did to the producer — from the
    recorded puts; a run whose identical items took very different times is called
    disturbed."""
    run = pipeline.run
    ideal = run.tasks * run.size / 1000 / run.workers
    text = (f"**{run.executor}**: {run.tasks} items through {run.workers} consumers in "
            f"{run.wall:.2f} s (with all consumers busy all the time: {ideal:.2f} s). ")
    text += producer_sentence(pipeline)
    durations = [record.duration for record in run.records]
    if repeats_disagree(durations):
        text += " " + disturbed_sentence(
            "this pipeline's timing", f"items that each sleep {run.size} ms took from "
            f"{min(durations) * 1000:.0f} to {max(durations) * 1000:.0f} ms")
    return text


def producer_sentence(pipeline: Pipeline) -> str:
    """How often and how long the producer waited for room, and the queue's peak length."""
    depth = ("an unknown number of items" if pipeline.deepest < 0
             else f"{pipeline.deepest} item{'' if pipeline.deepest == 1 else 's'}")
    puts = len(pipeline.puts)
    if not pipeline.maxsize:
        return (f"Unbounded, the queue was never full: none of the producer's {puts} puts "
                f"waited, and up to {depth} piled up in the queue.")
    if not pipeline.waits:
        return (f"With `maxsize={pipeline.maxsize}` the queue never filled in this run (at "
                f"most {depth} waiting): the consumers kept up, so none of the {puts} puts "
                "had to wait — back-pressure was not needed.")
    longest = max(put.blocked for put in pipeline.puts)
    return (f"With `maxsize={pipeline.maxsize}` the producer found the queue full at "
            f"{pipeline.waits} of its {puts} puts and waited {pipeline.producer_blocked:.2f} s "
            f"in all (longest {longest * 1000:.0f} ms, hatched in the plot); the queue never "
            f"held more than {depth}: back-pressure.")


def draw_pipeline(ax: Axes, pipeline: Pipeline, colour: str, span: float) -> None:
    """The producer's lane on top (each put a tick, each wait for room a hatched bar),
    one lane per consumer below (each item a bar in the executor's colour)."""
    from helpers.core.colours import BLACK, REFERENCE_GREY

    lanes = pipeline.run.worker_ids()
    for record in pipeline.run.records:
        lane = 1 + lanes[(record.pid, record.thread)]
        ax.broken_barh([(record.start, record.duration)], (lane - 0.4, 0.8),
                       facecolors=colour, edgecolors=BLACK, linewidth=0.4)
    ax.vlines([put.end for put in pipeline.puts], -0.35, 0.35, color=REFERENCE_GREY,
              linewidth=1)
    waits = [(put.start, put.end - put.start) for put in pipeline.puts if put.waited]
    ax.broken_barh(waits, (-0.4, 0.8), facecolors="white", edgecolors=BLACK, hatch="///",
                   linewidth=0.8)
    ax.set_yticks(range(len(lanes) + 1),
                  ["producer", *[f"consumer {i}" for i in range(len(lanes))]])
    ax.set_ylim(-0.6, len(lanes) + 0.6)
    ax.invert_yaxis()
    ax.set_xlim(0, span)


def draw_queue_length(ax: Axes, pipeline: Pipeline, span: float) -> None:
    """Items in the queue just after each put, as a step line (the last put ends it)."""
    from matplotlib.ticker import MaxNLocator

    from helpers.core.colours import BLACK

    known = [put for put in pipeline.puts if put.depth >= 0]
    ax.step([0.0, *[put.end for put in known]], [0, *[put.depth for put in known]],
            where="post", color=BLACK, linewidth=1.2)
    if pipeline.maxsize:
        ax.axhline(pipeline.maxsize, color=BLACK, linestyle=":", linewidth=1)
        ax.annotate(f"maxsize={pipeline.maxsize}", (0.005, pipeline.maxsize),
                    xycoords=("axes fraction", "data"), fontsize=8, va="bottom")
    ax.set_xlim(0, span)
    ax.set_ylim(0, max([1, pipeline.maxsize, *[p.depth for p in known]]) * 1.35)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=3, integer=True))
    ax.set_ylabel("queue\n(items)", fontsize=8)


def _title(name: str, pipeline: Pipeline) -> str:
    waited = (f"producer waited {pipeline.producer_blocked:.2f} s at {pipeline.waits} "
              f"of {len(pipeline.puts)} puts" if pipeline.waits else "producer never waited")
    peak = "?" if pipeline.deepest < 0 else pipeline.deepest
    return f"{name} ({pipeline.run.executor}): {waited}; queue peak {peak} items"


def plot_pipelines(pipelines: Mapping[str, Pipeline] | Pipeline) -> Figure:
    """Each pipeline: producer and consumer lanes, and the queue's length underneath, all on
    one time axis so that bounded and unbounded runs compare directly."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from helpers.core.colours import BLACK, REFERENCE_GREY
    from helpers.core.plots import colour_for, finish_figure

    if isinstance(pipelines, Pipeline):
        pipelines = {f"maxsize={pipelines.maxsize}" if pipelines.maxsize else "unbounded":
                     pipelines}
    span = _span(list(pipelines.values()))
    ratios = [r for p in pipelines.values() for r in (p.run.worker_count_seen + 1.6, 1.5)]
    fig, axes = plt.subplots(len(ratios), 1, figsize=(8, 0.42 * sum(ratios) + 1.3),
                             sharex=True, gridspec_kw={"height_ratios": ratios})
    for n, (name, pipeline) in enumerate(pipelines.items()):
        draw_pipeline(axes[2 * n], pipeline, colour_for(pipeline.run.executor), span)
        axes[2 * n].set_title(_title(name, pipeline), fontsize=9)
        draw_queue_length(axes[2 * n + 1], pipeline, span)
    kinds = dict.fromkeys(p.run.executor for p in pipelines.values())
    handles = [Patch(facecolor=colour_for(kind), edgecolor=BLACK,
                     label=f"consumer working on an item ({kind})") for kind in kinds]
    handles += [Patch(facecolor="white", edgecolor=BLACK, hatch="///",
                      label="producer waiting for room (queue full)"),
                plt.Line2D([], [], color=REFERENCE_GREY, label="producer's put returned")]
    axes[-1].set_xlabel("time since the producer started (s)")
    fig.suptitle("Producer, consumers and queue length over time")
    fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=8, frameon=False)
    finish_figure(fig)
    fig.subplots_adjust(bottom=1.0 / fig.get_figheight())
    return fig


def _span(pipelines: Sequence[Pipeline]) -> float:
    ends = [t for p in pipelines for t in (*(r.end for r in p.run.records),
                                          *(put.end for put in p.puts))]
    return max(ends, default=1.0) * 1.02 or 1.0
