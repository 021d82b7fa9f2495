"""Sharing a counter between processes: five ways, their correctness and their cost.

Processes have separate memory, so "shared" state lives somewhere both can reach:

``Value, no lock``        a number in shared memory; ``+= 1`` reads and writes it in two
                          steps, and two processes really run at once: updates are lost.
``Value + get_lock()``    the same number, each ``+=`` under the Value's own lock.
``Array, a slot each``    each process counts in its own slot of a lock-free Array; the
                          parent adds them up. No lock needed: no slot is shared.
``Manager value + lock``  a server process holds the value; every access is a message.
``shared_memory + Lock``  a numpy view of a ``multiprocessing.shared_memory`` block.

The children wait at one ``Barrier`` and then count at the same time; each times its own
loop, so start-up is not counted. :func:`share_counter`
reports the final count against the expected one and the time per addition.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import statistics
import time
from dataclasses import dataclass

import numpy as np

from helpers.core.arguments import require_choice, require_int
from helpers.core.executors import resolve_start_method
from helpers.core.settings import default
from helpers.processes import join_or_stop
from helpers.processes_in_depth.data_movement import attach_shared

WAYS = ("Value, no lock", "Value + get_lock()", "Array, a slot each",
        "Manager value + lock", "shared_memory + Lock")
SLOW_WAYS = {"Manager value + lock": 20}  # each access is a round trip: do fewer
MAX_PROCESSES = 8
GO_TIMEOUT = 60.0


def count_in_child(way: str, slot: int, times: int, target, lock, seconds, start_line
                   ) -> None:
    """Wait at ``start_line`` (a Barrier: all children start counting together), then add
    1 to the shared counter ``times`` times, the ``way`` way; time the loop."""
    block = view = None
    if way == "shared_memory + Lock":
        block = attach_shared(target)
        view = np.ndarray((1,), dtype=np.int64, buffer=block.buf)
    start_line.wait(GO_TIMEOUT)  # BrokenBarrierError if a sibling never arrives
    start = time.perf_counter()
    for _ in range(times):
        if way == "Value, no lock":
            target.value += 1
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


@dataclass(frozen=True)
class Shared:
    """The outcome of one way: final count, expected count, time per addition."""

    way: str
    processes: int
    times: int
    actual: int
    per_add: float  # seconds, median over the processes' own loop timings

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
    times = int(default(20_000, 5_000)) // SLOW_WAYS.get(way, 1) if times is None else times
    times = require_int("times", times, 1, 10**7)
    context = multiprocessing.get_context(resolve_start_method(start_method))
    seconds = context.Array("d", processes, lock=False)
    start_line = context.Barrier(processes)
    with contextlib.ExitStack() as cleanup:
        target, lock, read = _shared_counter(way, context, processes, cleanup)
        children = [context.Process(target=count_in_child,
                                    args=(way, i, times, target, lock, seconds, start_line))
                    for i in range(processes)]
        _run_children(children, way, timeout)
        actual = int(read())
    return Shared(way, processes, times, actual, statistics.median(seconds) / times)


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


def _run_children(children: list, way: str, timeout: float) -> None:
    """Start every child, then wait for all of them (bounded); a failed child is an error."""
    for child in children:
        child.start()
    codes = join_or_stop(children, timeout)
    if any(code != 0 for code in codes):
        raise RuntimeError(f"{way}: a child ended with exit codes {codes}")


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
    """A Markdown table (lost updates, time per addition for each way), then what it says."""
    rows = ["| way | count / expected | lost | time per addition |", "|---|---|---|---|"]
    for r in results:
        rows.append(f"| {r.way} | {r.actual:,} / {r.expected:,} | {r.lost:,} | "
                    f"{r.per_add * 1e6:,.2f} µs |")
    correct = [r for r in results if r.lost == 0]
    unlocked = [r for r in results if r.way == "Value, no lock"]
    words = []
    if unlocked and unlocked[0].lost > 0:
        words.append(f"Without a lock {unlocked[0].lost:,} updates were lost: the processes "
                     "really ran at the same time, each reading a value the other was about "
                     "to overwrite.")
    elif unlocked:
        words.append("This time the unlocked Value lost nothing: the processes did not "
                     "overlap enough (one CPU, or a busy machine). It is still wrong.")
    if correct:
        fastest, slowest = (min(correct, key=lambda r: r.per_add),
                            max(correct, key=lambda r: r.per_add))
        words.append(f"The fastest correct way was **{fastest.way}** "
                     f"({fastest.per_add * 1e6:,.2f} µs per addition); the slowest, "
                     f"{slowest.way}, took {slowest.per_add / fastest.per_add:,.0f}× as long.")
    return "\n".join(rows) + "\n\n" + " ".join(words)
