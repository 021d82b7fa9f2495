"""Sharing a counter between processes: five ways, their correctness and their cost.

Processes have separate memory, so "shared" state lives somewhere both can reach:

``Value, += without get_lock()``
                          ``Value("q", 0)``: a number in shared memory *with* a lock
                          (``lock=True`` is the default). But ``v.value += 1`` is a read,
                          then a write, and the Value takes its lock for each separately:
                          between them another process can write, and its update is lost.
``Value + get_lock()``    the same number, each whole ``+=`` under the Value's own lock
                          (``with v.get_lock():``).
``Array, a slot each``    each process counts in its own slot of a lock-free Array; the
                          parent adds them up. No lock needed: no slot is shared.
``Manager value + lock``  a server process holds the value; every access is a message.
``shared_memory + Lock``  a numpy view of a ``multiprocessing.shared_memory`` block.

The children and the parent wait at one ``Barrier`` and then the children count at the
same time; each times its own loop, so start-up is not counted. They wait at a second
barrier when done, and stay alive until the parent has measured what other programs did
meanwhile (:func:`helpers.core.noise.watch_load` counts living children as ours).
:func:`share_counter` reports the final count against the expected one, the time per
addition, and whether the timing was disturbed.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import statistics
import threading
import time
from dataclasses import dataclass

import numpy as np

from helpers.core.arguments import require_choice, require_int
from helpers.core.executors import resolve_start_method
from helpers.core.noise import busy_sentence, cpus_wanted, watch_load
from helpers.core.settings import default
from helpers.core.system import effective_cpu_count
from helpers.processes.basics import join_or_stop
from helpers.processes_in_depth.data_movement import attach_shared

UNGUARDED = "Value, += without get_lock()"
WAYS = (UNGUARDED, "Value + get_lock()", "Array, a slot each",
        "Manager value + lock", "shared_memory + Lock")
SLOW_WAYS = {"Manager value + lock": 40}  # each access is a round trip: do fewer
MAX_PROCESSES = 8
GO_TIMEOUT = 60.0


def count_in_child(way: str, slot: int, times: int, target, lock, seconds, lines) -> None:
    """Wait at the start line (a Barrier: all children start counting together), then add
    1 to the shared counter ``times`` times, the ``way`` way; time the loop. Then wait at
    the finish line, and until the parent lets go (``lines``: start, finish, leave)."""
    start_line, finish_line, leave = lines
    block = view = None
    if way == "shared_memory + Lock":
        block = attach_shared(target)
        view = np.ndarray((1,), dtype=np.int64, buffer=block.buf)
    start_line.wait(GO_TIMEOUT)  # BrokenBarrierError if a sibling never arrives
    start = time.perf_counter()
    for _ in range(times):
        if way == UNGUARDED:
            target.value += 1  # locked read, then locked write: two steps
        elif way == "Value + get_lock()":
            with target.get_lock():
                target.value += 1
        elif way == "Array, a slot each":
            target[slot] += 1
        elif way == "Manager value + lock":
            with lock:
                target.value += 1
        else:
            with lock:
                view[0] += 1
    seconds[slot] = time.perf_counter() - start
    if block is not None:
        del view
        block.close()
    finish_line.wait(GO_TIMEOUT)
    leave.wait(GO_TIMEOUT)


@dataclass(frozen=True)
class Shared:
    """The outcome of one way: final count, expected count, time per addition."""

    way: str
    processes: int
    times: int
    actual: int
    per_add: float  # seconds, median over the processes' own loop timings
    disturbed: str = ""  # the "disturbed" sentence when other programs took the CPUs

    @property
    def expected(self) -> int:
        return self.processes * self.times

    @property
    def lost(self) -> int:
        return self.expected - self.actual


def share_counter(way: str, processes: int = 2, times: int | None = None,
                  start_method: str | None = None, timeout: float = 60.0) -> Shared:
    """Have ``processes`` processes each add 1 ``times`` times to one counter, ``way``."""
    way = require_choice("way", way, WAYS)
    processes = require_int("processes", processes, 1, MAX_PROCESSES)
    times = int(default(50_000, 20_000)) // SLOW_WAYS.get(way, 1) if times is None else times
    times = require_int("times", times, 1, 10**7)
    context = multiprocessing.get_context(resolve_start_method(start_method))
    seconds = context.Array("d", processes, lock=False)
    lines = (context.Barrier(processes + 1), context.Barrier(processes + 1), context.Event())
    with contextlib.ExitStack() as cleanup:
        target, lock, read = _shared_counter(way, context, processes, cleanup)
        children = [context.Process(target=count_in_child,
                                    args=(way, i, times, target, lock, seconds, lines))
                    for i in range(processes)]
        load = _run_children(children, way, timeout, lines)
        actual = int(read())
    wanted = cpus_wanted(processes, processes, effective_cpu_count())
    return Shared(way, processes, times, actual, statistics.median(seconds) / times,
                  busy_sentence(load, wanted, f"the “{way}” processes"))


def _shared_counter(way: str, context, processes: int, cleanup: contextlib.ExitStack):
    """The counter the children share for ``way``, the lock they take (or ``None``) and
    how to read the total. What must be released afterwards is pushed on ``cleanup``."""
    if way == "Manager value + lock":
        manager = context.Manager()
        cleanup.callback(manager.shutdown)
        value = manager.Value("q", 0)
        return value, manager.Lock(), lambda: value.value
    if way == "shared_memory + Lock":
        block, name, lock, read = _shared_block(context)
        cleanup.callback(_free_block, block)
        return name, lock, read
    return _target(way, context, processes)


def _run_children(children: list, way: str, timeout: float, lines):
    """Start every child, watch other programs' CPU use from the start line to the finish
    line, let the children go and wait for them (bounded). Returns the
    :class:`~helpers.core.noise.MachineLoad` (or ``None``); a failed child is an error."""
    start_line, finish_line, leave = lines
    broken = False
    try:
        for child in children:
            child.start()
        with watch_load() as watch:
            start_line.wait(GO_TIMEOUT)
            finish_line.wait(timeout)
    except threading.BrokenBarrierError:  # a child failed, or took longer than timeout
        broken = True
    finally:
        leave.set()
        codes = join_or_stop([c for c in children if c.pid is not None], timeout)
    if broken or len(codes) < len(children) or any(code != 0 for code in codes):
        raise RuntimeError(f"{way}: the children did not all count and finish within "
                           f"{timeout:g} s (exit codes {codes})")
    return watch.load


def _target(way: str, context, processes: int):
    """The shared object for the Value and Array ways (and how to read the total)."""
    if way == "Array, a slot each":
        array = context.Array("q", processes, lock=False)  # nobody shares a slot
        return array, None, lambda: sum(array[:])
    value = context.Value("q", 0)
    return value, None, lambda: value.value


def _shared_block(context):
    from multiprocessing import shared_memory

    block = shared_memory.SharedMemory(create=True, size=8)
    view = np.ndarray((1,), dtype=np.int64, buffer=block.buf)
    view[0] = 0

    def read() -> int:
        return int(np.ndarray((1,), dtype=np.int64, buffer=block.buf)[0])

    del view
    return block, block.name, context.Lock(), read


def _free_block(block) -> None:
    """Close this process's view of a shared memory block, then free the block itself."""
    block.close()
    block.unlink()


def share_every_way(processes: int = 2, start_method: str | None = None) -> list[Shared]:
    return [share_counter(way, processes, start_method=start_method) for way in WAYS]


def describe_sharing(results: list[Shared]) -> str:
    """A Markdown table (lost updates, time per addition for each way), then what it says:
    counts as facts, a race that did not show as not seen this time, and the timings
    compared only when no way was disturbed."""
    rows = ["| way | count / expected | lost | time per addition |", "|---|---|---|---|"]
    for r in results:
        mark = " (disturbed)" if r.disturbed else ""
        rows.append(f"| {r.way} | {r.actual:,} / {r.expected:,} | {r.lost:,} | "
                    f"{r.per_add * 1e6:,.2f} µs{mark} |")
    return "\n".join(rows) + "\n\n" + " ".join(_sharing_words(results))


def _sharing_words(results: list[Shared]) -> list[str]:
    words = []
    unguarded = [r for r in results if r.way == UNGUARDED]
    if unguarded and unguarded[0].lost > 0:
        words.append(f"With `+=` alone the Value lost {unguarded[0].lost:,} updates although "
                     "it has a lock: `+=` takes it once to read and once to write, and "
                     "in between the other process wrote.")
    elif unguarded:
        words.append("With `+=` alone the Value lost nothing **this time**: the race did "
                     "not show in this run. It is still wrong — the read and the write are "
                     "locked separately — so run it again (or with more additions).")
    wrong = [r.way for r in results if r.lost and r.way != UNGUARDED]
    if wrong:
        words.append(f"Unexpected: {', '.join(wrong)} lost updates — run it again.")
    disturbed = [r for r in results if r.disturbed]
    if disturbed:
        names = ("All the times" if len(disturbed) == len(results) else
                 "Times marked (disturbed) — " + ", ".join(r.way for r in disturbed) + " —")
        words.append(f"{names} are not compared. {disturbed[0].disturbed}")
        return words
    correct = [r for r in results if r.lost == 0 and r.way != UNGUARDED]
    if correct:
        fastest, slowest = (min(correct, key=lambda r: r.per_add),
                            max(correct, key=lambda r: r.per_add))
        words.append(f"The fastest correct way was **{fastest.way}** "
                     f"({fastest.per_add * 1e6:,.2f} µs per addition); the slowest, "
                     f"{slowest.way}, took {slowest.per_add / fastest.per_add:,.0f}× as long.")
    return words
