"""The seed article's example functions, so threads and processes under any start
method can run them (a function defined in a notebook cannot be imported by a child).

The article is "Python: A Guide to Multithreading vs. Multiprocessing". Each function
prints what the article's prints, in the article's words. What the lab added, and
nothing else: argument checks, a return value, ``io_bound_task``'s ``seconds`` (the
article always sleeps 2), and :func:`say` instead of ``print``: it writes each line whole
— text and newline in one write — and flushes it, so lines from several processes appear
as they are printed and never tear (``print`` writes the text and the newline separately,
and another process's line can land in between). The article's combined example, as a whole
script and verbatim, is ``helpers/scripts/seed_combined.py`` (notebook 03).
"""
from __future__ import annotations

import sys
import time

from helpers.core.arguments import require_float, require_int


def say(text: object) -> None:
    """Like ``print(text, flush=True)``, but the line goes out in one write: whole."""
    sys.stdout.write(f"{text}\n")
    sys.stdout.flush()


def print_numbers(count: int = 3) -> None:
    """Print 1, 2, …, ``count`` — the article's threading example."""
    require_int("count", count, 0, 1000)
    for number in range(1, count + 1):
        say(number)


def print_letters(letters: str = "abc") -> None:
    """Print each letter of ``letters`` — the article's second process."""
    if not isinstance(letters, str) or len(letters) > 1000:
        raise ValueError(f"letters must be a string of at most 1000 characters, got {letters!r}")
    for letter in letters:
        say(letter)


def cpu_bound_task(number: int) -> int:
    """Add 1, ``number`` times, and print the result — the article's ``cpu_bound_task``."""
    require_int("number", number, 0, 10**9)
    result = 0
    for _ in range(number):
        result += 1
    say(f"CPU-bound result: {result}")
    return result


def io_bound_task(seconds: float = 2.0) -> float:
    """Sleep ``seconds`` (the article: 2) and print how long it took, timed with
    ``time.time()`` around the sleep as the article does — so it times the sleep alone."""
    require_float("seconds", seconds, 0.0, 60.0)
    start_time = time.time()
    time.sleep(seconds)
    elapsed = time.time() - start_time
    say(f"I/O-bound task completed in {elapsed} seconds")
    return elapsed
