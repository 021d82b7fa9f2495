"""Comparing two things on a machine whose speed drifts: interleaved pairs, median ratio.

Used by the benchmarks (``bench/measures.py``) and by notebook 07's single-thread cost of
free-threading (:func:`helpers.free_threading.gil_off.single_thread_cost`).
"""
from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def interleaved(pairs: int, first: Callable[[], T], second: Callable[[], T]
                ) -> tuple[list[T], list[T]]:
    """``pairs`` results of each callable, run in alternating order (A B, B A, A B, …).

    This machine's speed drifts by tens of percent over seconds (a plain loop here took
    0.57–1.07 s for the same work within one minute). Measured in two blocks — every A,
    then every B — a drift between the blocks would look like a difference between A and
    B; alternating puts A and B side by side in time, and the median of the per-pair
    ratios ignores the odd slow pair.
    """
    a, b = [], []
    for i in range(pairs):
        for run_first in ((True, False) if i % 2 == 0 else (False, True)):
            (a if run_first else b).append(first() if run_first else second())
    return a, b


def ratios(numerators: list[float], denominators: list[float]) -> list[float]:
    """The pairwise ratios ``numerators[i] / denominators[i]``."""
    return [n / d for n, d in zip(numerators, denominators)]


def median_ratio(numerators: list[float], denominators: list[float]) -> float:
    """The median of the pairwise ratios ``numerators[i] / denominators[i]``."""
    return statistics.median(ratios(numerators, denominators))
