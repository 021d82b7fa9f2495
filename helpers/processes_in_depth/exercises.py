"""Self-checks for notebook 05's exercises (processes in depth).

An answer still ``...`` (the exercise as committed) is "not answered yet", never ✓ or ✗
(:func:`helpers.core.selfcheck.not_answered`)."""
from __future__ import annotations

import numbers
from multiprocessing import shared_memory

from helpers.core.selfcheck import (
    CheckResult,
    blank,
    first_problem,
    inconclusive,
    not_answered,
    not_yet,
    passed,
)
from helpers.processes_in_depth.granularity import BEAT, GranularitySweep

SHARED_COUNT = 1_000_000
SHARED_EXPECTED = float(SHARED_COUNT * (SHARED_COUNT - 1) // 2)  # sum of 0 … 999,999


def _still_exists(name: str) -> bool:
    """True (and the block unlinked now, so nothing leaks) if ``name`` was left behind."""
    try:
        block = shared_memory.SharedMemory(name=name)
    except FileNotFoundError:
        return False
    block.close()
    block.unlink()
    return True


def check_shared_total(total: object, block_name: object) -> CheckResult:
    """Exercise 1: ``total`` summed by a worker via shared memory; the block unlinked."""
    if blank(total) or blank(block_name):
        return not_answered("set `total` to the sum your worker returned and `block_name` "
                            "to your block's name, then run this cell again.")
    if total is None:
        return not_yet("`total` has no answer yet.",
                       "assign the worker's result: `total = future.result(timeout=30)`.")
    if hasattr(total, "result"):
        return not_yet("`total` is a Future, not the sum.",
                       "call `.result(timeout=30)` on it.")
    if not isinstance(block_name, str) or not block_name:
        return not_yet("`block_name` should be the name of your shared memory block.",
                       "store `block.name` in `block_name` before you close the block.")
    left_behind = _still_exists(block_name)
    return first_problem([
        (isinstance(total, numbers.Real) and not isinstance(total, bool),
         f"`total` is a {type(total).__name__}, not a number.",
         "return the worker's float from `shared_checksum`."),
        (isinstance(total, numbers.Real) and float(total) == SHARED_EXPECTED,
         f"expected {SHARED_EXPECTED:,.0f} (0 + 1 + … + 999,999), got {total!r}.",
         "copy all of `numbers` into the block (`view[:] = numbers`) before the worker "
         "reads it, and give SharedArray the array's shape and `dtype.str`."),
        (not left_behind, f"the block {block_name!r} still existed (it is unlinked now).",
         "shared memory outlives your process until someone calls `block.unlink()`: do it "
         "in a `finally:` after `block.close()`."),
    ], "the worker summed a million numbers it never received as a copy, and the block is "
       "gone.")


def check_crossover(answer: object, sweep: GranularitySweep) -> CheckResult:
    """Exercise 2: the smallest chunk size from which the pool beat the serial loop
    (ran at least :data:`~helpers.processes_in_depth.granularity.BEAT` × its speed).

    The answer is judged against the sweep it reads; a disturbed sweep judges nothing
    (:func:`~helpers.core.selfcheck.inconclusive`): it says what it measured and asks for
    another run."""
    if blank(answer):
        return not_answered("set `smallest_winning_chunk` to a chunk size read from the "
                            "plot in section 2 (or None), then run this cell again.")
    if not isinstance(sweep, GranularitySweep):
        return not_yet(f"there is no chunk-size sweep to judge it against (got "
                       f"{type(sweep).__name__}).", "run the cell of section 2 that measures "
                       "the sweep first, then this one.")
    expected = sweep.crossover()
    if sweep.disturbed():
        return inconclusive(_disturbed_reading(answer, expected, sweep))
    if expected is None:
        if answer is None:
            return passed(f"right: no chunk size beat the loop in this measurement (the "
                          f"best, chunks of {sweep.best()}, ran "
                          f"{sweep.speedup(sweep.best()):.2f}× its speed; a win needs "
                          f"{BEAT}×).")
        return not_yet(f"in this measurement no chunk size beat the loop (ran at least "
                       f"{BEAT}× its speed) together with every larger one, so there is no "
                       f"winning chunk; you answered {answer!r}.",
                       "look at the dotted line under the serial loop: a chunk size beats the "
                       "loop when its point is below it. Answer None.")
    if isinstance(answer, bool) or not isinstance(answer, int):
        return not_yet(f"expected a whole number of items per task, got {answer!r}.",
                       f"pick one of the measured chunk sizes: {sorted(sweep.runs)}.")
    if answer not in sweep.runs:
        return not_yet(f"{answer} was not one of the measured chunk sizes.",
                       f"pick one of {sorted(sweep.runs)}.")
    if answer < expected:
        losing = max(size for size in sweep.runs if size < expected)
        return not_yet(f"with chunks of {losing} the pool ran {sweep.speedup(losing):.2f}× "
                       f"the loop's speed — under the {BEAT}× that counts as beating it.",
                       "look for the point from which every larger chunk is below the dotted "
                       "line under the serial loop.")
    if answer > expected:
        return not_yet(f"chunks of {expected} already beat the loop "
                       f"({sweep.speedup(expected):.2f}×), and so did every larger one.",
                       "find the smallest such chunk size.")
    return passed(f"from chunks of {expected} items on, the pool beat the loop "
                  f"({sweep.speedup(expected):.2f}× its speed at {expected}; a win needs "
                  f"{BEAT}×).")


def _disturbed_reading(answer: object, expected: int | None, sweep: GranularitySweep) -> str:
    """What a disturbed sweep would have answered, beside the learner's answer."""
    reading = ("no chunk size beat the loop" if expected is None else
               f"the pool beat the loop from chunks of {expected}")
    seen = sweep.disturbances()[0].replace("**", "")
    return (f"Not judged — {seen} Read as it is, {reading} (you answered {answer!r}), but a "
            "disturbed sweep cannot tell a right reading from noise: run section 2 again "
            "when the machine is quieter, then this cell.")
