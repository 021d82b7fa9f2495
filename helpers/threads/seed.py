"""The seed article's example functions, kept as the article wrote them (with
argument checks added), so threads and processes under any start method can run them.

The article is "Python: A Guide to Multithreading vs. Multiprocessing". Its
examples print from inside the worker; notebooks 01–03 run them, explain what
they show, and correct what they get wrong.
"""
from __future__ import annotations

import time

from helpers.core.arguments import require_float, require_int


def print_numbers(count: int = 3) -> None:
    """Print 1, 2, …, ``count`` — the article's threading example."""
    require_int("count", count, 0, 1000)
    for number in range(1, count + 1):
        print(number, flush=True)


def print_letters(letters: str = "abc") -> None:
    """Print each letter of ``letters`` — the article's second process."""
    if not isinstance(letters, str) or len(letters) > 1000:
        raise ValueError(f"letters must be a string of at most 1000 characters, got {letters!r}")
    for letter in letters:
        print(letter, flush=True)


def cpu_bound_task(number: int) -> int:
    """Add 1, ``number`` times, and print the result — the article's CPU-bound task."""
    require_int("number", number, 0, 10**9)
    result = 0
    for _ in range(number):
        result += 1
    print(f"CPU-bound task result: {result}", flush=True)
    return result


def io_bound_task(seconds: float = 2.0) -> float:
    """Sleep ``seconds`` (the article uses 2) and print how long it took."""
    require_float("seconds", seconds, 0.0, 60.0)
    start_time = time.time()
    time.sleep(seconds)
    elapsed = time.time() - start_time
    print(f"IO-bound task completed in {elapsed:.2f} seconds", flush=True)
    return elapsed
