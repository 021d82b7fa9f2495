"""Moving data to a worker process costs time: three ways to hand over a big array.

Processes share no memory, so an array a worker needs must reach it somehow:

**pickled**
    passed as an argument: the parent pickles it, sends the bytes through a
    pipe, and the worker unpickles a copy — for every task.
**shared memory**
    copied once into a :class:`multiprocessing.shared_memory.SharedMemory`
    block; each task sends only its *name*, and the worker maps the same
    physical memory and wraps it in a numpy array (no copy).
**inherited (fork)**
    set in a module-level variable *before* the pool's workers are forked: each
    child starts as a copy of the parent and already has it (pages are shared
    until someone writes to them). Only the ``fork`` start method can do this.

:func:`measure_data_movement` runs one task that sums the array each of these
ways, through the lab's runner (warm pool, repeats, median), beside the same
sum done in this process: what is left over is the cost of moving the data.

Moving data costs memory too: the pickled way holds the array, its pickle, the bytes
the worker received and the worker's copy at once. Measured, the resident memory of this
process and its worker peaks at about five times the array's size, so 512 MiB needs
about 2.6 GiB. :func:`check_mebibytes` refuses a size this machine has no
memory for (:func:`helpers.core.memory.available_memory`, which sees a Binder's or a
container's limit) before anything is allocated.
"""
from __future__ import annotations

import multiprocessing
import pickle
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import shared_memory
from typing import TYPE_CHECKING

import numpy as np

from helpers.core.arguments import require_int
from helpers.core.executors import resolve_start_method
from helpers.core.experiments import stepped_progress
from helpers.core.memory import MIB, require_memory
from helpers.core.noise import DISTURBED
from helpers.core.runner import MAX_REPEATS, ProgressCallback, RunResult, run_tasks
from helpers.core.settings import default
from helpers.core.system import effective_cpu_count
from helpers.core.words import SLIGHTLY, Verdict, speedup_phrase
from helpers.processes_in_depth.disturbance import disturbance_lines

if TYPE_CHECKING:  # matplotlib is imported only to draw: worker processes stay light
    from matplotlib.figure import Figure

MAX_MEBIBYTES = 512  # the hard cap, whatever the machine
ARRAY_COPIES = 5  # copies of the array alive at the peak, summed RSS of this process + worker
WORKER_MIB = 64  # the worker process itself (interpreter, numpy)
LOCAL = "in this process"

_INHERITED: np.ndarray | None = None  # set by the parent just before it forks a pool


@dataclass(frozen=True)
class SharedArray:
    """What a task needs to find an array in shared memory: a name, a shape, a dtype."""

    name: str
    shape: tuple[int, ...]
    dtype: str


def array_checksum(array: np.ndarray) -> float:
    """The sum of ``array`` — run in a worker, the array arrived pickled."""
    return float(np.sum(array))


def shared_checksum(ref: SharedArray) -> float:
    """The sum of the array in shared memory block ``ref.name``; no copy is made."""
    block = attach_shared(ref.name)
    try:
        view = np.ndarray(ref.shape, dtype=ref.dtype, buffer=block.buf)
        total = float(np.sum(view))
        del view  # a live view would keep the block's buffer exported: close() would fail
    finally:
        block.close()
    return total


def inherited_checksum(_: object = None) -> float:
    """The sum of the array this worker inherited when it was forked."""
    if _INHERITED is None:
        raise RuntimeError("no inherited array: this worker was not forked after the parent "
                           "set one (only the fork start method copies the parent's memory)")
    return float(np.sum(_INHERITED))


def attach_shared(name: str) -> shared_memory.SharedMemory:
    """Open an existing block. From Python 3.13 ``track=False`` tells multiprocessing's
    resource tracker that this process does not own the block (the creator unlinks it)."""
    if sys.version_info >= (3, 13):
        return shared_memory.SharedMemory(name=name, track=False)
    return shared_memory.SharedMemory(name=name)


@contextmanager
def shared_array(array: np.ndarray) -> Iterator[SharedArray]:
    """Copy ``array`` into a new shared memory block; always unlink it afterwards."""
    block = shared_memory.SharedMemory(create=True, size=max(array.nbytes, 1))
    try:
        view = np.ndarray(array.shape, dtype=array.dtype, buffer=block.buf)
        view[...] = array
        del view
        yield SharedArray(block.name, array.shape, array.dtype.str)
    finally:
        block.close()
        block.unlink()


@contextmanager
def inherited(array: np.ndarray) -> Iterator[None]:
    """Make ``array`` what :func:`inherited_checksum` sees in children forked meanwhile."""
    global _INHERITED
    _INHERITED = array
    try:
        yield
    finally:
        _INHERITED = None


def make_array(mebibytes: int) -> np.ndarray:
    """``mebibytes`` MiB of float64 numbers (seeded: the same every time)."""
    require_int("mebibytes", mebibytes, 1, MAX_MEBIBYTES)
    return np.random.default_rng(mebibytes).random(mebibytes * MIB // 8)


def memory_needed(mebibytes: int) -> int:
    """Bytes a :func:`measure_data_movement` of ``mebibytes`` MiB adds at its peak
    (measured: 512 MiB → 2.6 GiB summed RSS of this process and its worker)."""
    return (ARRAY_COPIES * mebibytes + WORKER_MIB) * MIB


def check_mebibytes(mebibytes: object, available: int | None = None) -> int:
    """``mebibytes`` if it is from 1 to :data:`MAX_MEBIBYTES` and fits in the memory this
    machine has (``available`` bytes; default: measured now), else ``ValueError`` saying
    the range allowed here and why."""
    return require_memory("mebibytes", mebibytes, 1, MAX_MEBIBYTES, memory_needed,
                          unit=" MiB", available=available)


@dataclass
class DataMovement:
    """One task summing the same array, handed over in different ways."""

    mebibytes: int
    start_method: str
    pickled_bytes: int
    runs: dict[str, RunResult] = field(default_factory=dict)  # way -> one-task run

    def seconds(self, way: str) -> float:
        return self.runs[way].wall

    def moving_cost(self, way: str) -> float:
        """Seconds beyond the sum itself (done in this process): the price of moving."""
        return max(self.seconds(way) - self.seconds(LOCAL), 0.0)

    def method_of(self, way: str) -> str | None:
        """The start method of the worker that ran ``way`` (``None`` in this process)."""
        if way == LOCAL:
            return None
        return "fork" if way == "inherited (fork)" else self.start_method

    def disturbances(self, effective_cpus: int | None = None) -> list[str]:
        """Sentences (containing "disturbed") for the ways whose run other work disturbed
        (:mod:`helpers.core.noise`). The sum in this process is not judged: it is only
        subtracted, and too short to judge. A one-task run also waits for the pipe, so
        keeping less than a CPU busy is no sign of other work here."""
        cpus = effective_cpu_count() if effective_cpus is None else effective_cpus
        return disturbance_lines([(f"the {way} run", run) for way, run in self.runs.items()
                                  if way != LOCAL], cpus, "this comparison",
                                 computes_throughout=False)  # a one-task run waits too


def fork_available() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def measure_data_movement(mebibytes: int | None = None, *, repeats: int | None = None,
                          start_method: str | None = None,
                          on_progress: ProgressCallback | None = None) -> DataMovement:
    """Sum a ``mebibytes`` MiB array in one worker task: pickled, via shared memory, and
    (where fork exists) inherited; and in this process, for the cost of the sum itself.

    Default 64 MiB (16 in quick mode); default repeats 5 (3 in quick mode). Every
    argument is checked before the array is made, the size against the memory this
    machine has (:func:`check_mebibytes`).
    """
    mebibytes = require_int("mebibytes", int(default(64, 16)) if mebibytes is None
                            else mebibytes, 1, MAX_MEBIBYTES)
    repeats = require_int("repeats", int(default(5, 3)) if repeats is None else repeats,
                          1, MAX_REPEATS)
    method = resolve_start_method(start_method)
    check_mebibytes(mebibytes)
    array = make_array(mebibytes)
    result = DataMovement(mebibytes, method, len(pickle.dumps(array, protocol=5)))
    steps: list[tuple[str, Callable[[ProgressCallback | None], RunResult]]] = [
        (LOCAL, lambda progress: run_tasks(
            array_checksum, executor="serial", arguments=[array], repeats=repeats,
            on_progress=progress)),
        ("pickled", lambda progress: _one_task(array_checksum, array, method, repeats,
                                               progress)),
        ("shared memory", lambda progress: _via_shared_memory(array, method, repeats,
                                                              progress)),
    ]
    if fork_available():
        steps.append(("inherited (fork)", lambda progress: _via_fork(array, repeats,
                                                                      progress)))
    for index, (way, measure) in enumerate(steps):
        result.runs[way] = measure(stepped_progress(on_progress, index, len(steps)))
    expected = result.runs[LOCAL].results[0]
    for way, run in result.runs.items():
        if not np.isclose(run.results[0], expected):  # every way must sum the same numbers
            raise RuntimeError(f"{way}: the worker summed {run.results[0]}, expected {expected}")
    return result


def _one_task(function: Callable, argument: object, method: str, repeats: int,
              on_progress: ProgressCallback | None) -> RunResult:
    return run_tasks(function, executor="processes", workers=1, arguments=[argument],
                     repeats=repeats, start_method=method, on_progress=on_progress)


def _via_shared_memory(array: np.ndarray, method: str, repeats: int,
                       on_progress: ProgressCallback | None) -> RunResult:
    with shared_array(array) as ref:
        return _one_task(shared_checksum, ref, method, repeats, on_progress)


def _via_fork(array: np.ndarray, repeats: int, on_progress: ProgressCallback | None
              ) -> RunResult:
    with inherited(array):  # set before the runner's pool forks its worker
        return _one_task(inherited_checksum, None, "fork", repeats, on_progress)


def describe_data_movement(result: DataMovement, effective_cpus: int | None = None) -> Verdict:
    """Which way was cheapest, and how much each cost beyond the sum itself; a disturbed
    measurement is called disturbed and not explained."""
    local = result.seconds(LOCAL)
    lines = [f"Summing the {result.mebibytes} MiB array here took {local * 1000:.1f} ms. "
             f"Pickled, it is {result.pickled_bytes / MIB:.1f} MiB of bytes for every task."]
    for way in result.runs:
        if way == LOCAL:
            continue
        lines.append(f"**{way}**: {result.seconds(way) * 1000:.1f} ms per task — "
                     f"{result.moving_cost(way) * 1000:.1f} ms more than the sum alone.")
    disturbances = result.disturbances(effective_cpus)
    if disturbances:
        lines.extend(disturbances)
        lines.append(f"This comparison was **{DISTURBED}**: run the cell again before "
                     "reading anything into which way was faster.")
        return Verdict(tuple(lines))
    gain = result.seconds("pickled") / result.seconds("shared memory")
    phrase = speedup_phrase(gain, "pickling")
    if gain >= SLIGHTLY:
        lines.append(f"Shared memory was {phrase}: only a name crossed to the worker, not "
                     "the data.")
    else:
        lines.append(f"Shared memory was {phrase} here: at this size, copying the array is "
                     "cheap next to the rest of a task. Try a larger array.")
    return Verdict(tuple(lines))


def plot_data_movement(result: DataMovement) -> Figure:
    """Milliseconds per task for each way of handing the array over: the sum in this
    process in the serial colour; worker bars in the processes' colour, hatched by the
    start method that started their worker."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from helpers.core.plots import LABEL_SIZE, colour_for, finish_figure, start_method_style

    fig, ax = plt.subplots(figsize=(7, 3.5))
    ways = list(result.runs)
    values = [result.seconds(way) * 1000 for way in ways]
    for i, (way, value) in enumerate(zip(ways, values)):
        method = result.method_of(way)
        ax.barh(i, value, **(start_method_style(method) if method
                             else {"color": colour_for("serial")}))
        ax.annotate(f"{value:.1f} ms", (value, i), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=LABEL_SIZE)
    methods = sorted({m for way in ways if (m := result.method_of(way))})
    ax.legend([Patch(facecolor=colour_for("processes"), edgecolor="white",
                     hatch=start_method_style(m)["hatch"]) for m in methods],
              [f"worker started by {m}" for m in methods], fontsize=LABEL_SIZE,
              loc="lower right")
    ax.set_yticks(range(len(ways)), ways)
    ax.invert_yaxis()
    ax.set_xlim(0, max(values) * 1.25)  # room for the longest bar's label
    ax.set_xlabel("time for one task that sums the array (ms, median, linear scale)")
    title = f"Handing a {result.mebibytes} MiB array to a worker ({result.start_method})"
    if result.disturbances():
        title += f"\n(measurement {DISTURBED} by other work: run it again)"
    ax.set_title(title)
    return finish_figure(fig)
