"""The exercises' self-checks.

``check_fetch_all``      exercise 1: a semaphore-bounded asyncio client
``check_fetch_within``   exercise 2: a thread pool that meets a deadline

An exercise left as committed (its answer still ``...``) is "not answered yet", never
right or wrong (:func:`helpers.core.selfcheck.not_answered`).
"""
from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from helpers.core.arguments import require_float, require_int
from helpers.core.latency_server import LatencyServer
from helpers.core.selfcheck import CheckResult, blank, first_problem, not_answered, not_yet
from helpers.core.words import plural
from helpers.io_bound.waiting import run_in_new_loop


def check_fetch_all(fetch_all: object, limit: int = 3, pages: int = 12) -> CheckResult:
    """Check ``async def fetch_all(urls, limit)``: every page, in order, at most
    ``limit`` requests in the air at once, and more than one at a time."""
    if blank(fetch_all):
        return not_answered("replace `fetch_all = ...` by your `async def fetch_all(urls, "
                            "limit):`, run that cell, then run this cell again.")
    if not inspect.iscoroutinefunction(fetch_all):
        return not_yet(f"fetch_all should be an `async def` function, got "
                       f"{type(fetch_all).__name__}.",
                       "start with `async def fetch_all(urls, limit):`.")
    try:
        with LatencyServer(latency_ms=50, payload_bytes=100 + pages, pages=pages) as server:
            urls = server.urls(pages)
            expected = [server.payload_bytes] * pages
            start = time.perf_counter()
            got = run_in_new_loop(asyncio.wait_for(fetch_all(urls, limit), 15))  # type: ignore
            seconds = time.perf_counter() - start
            peak = server.peak_in_flight
    except Exception as error:  # a wrong answer must not stop "Run all"
        return not_yet(f"calling fetch_all raised {type(error).__name__}: {error}",
                       "await fetch_async(url) for each URL, inside `async with semaphore`.")
    got_list = list(got) if isinstance(got, (list, tuple)) else None
    return first_problem([
        (got_list is not None, f"fetch_all returned {type(got).__name__}, not a list.",
         "return `await asyncio.gather(...)`, which is a list in the order of the URLs."),
        (got_list == expected, "the sizes returned do not match the pages, in order.",
         "fetch every URL once and keep gather's order."),
        (peak <= limit, f"the server saw {peak} requests at once; the limit was {limit}.",
         "make every request wait for `asyncio.Semaphore(limit)` with `async with`."),
        (peak > 1, "the requests ran one at a time.",
         "create all the coroutines and gather them, instead of awaiting them in a loop."),
    ], f"{pages} pages in {seconds:.2f} s, at most {peak} in the air (limit {limit}).")


def _mixed_urls(fast: LatencyServer, slow: LatencyServer, pages: int
                ) -> tuple[list[str], list[int | None]]:
    """``pages`` URLs, every third one slow (so order mistakes show), and the answer:
    the fast pages' sizes, ``None`` for the slow ones."""
    servers = [slow if i % 3 == 1 else fast for i in range(pages)]
    return ([server.page_url(i) for i, server in enumerate(servers)],
            [fast.payload_bytes if server is fast else None for server in servers])


# The hints of exercise 2, one per mistake.
_RAISED_TIMEOUT_HINT = (
    "a page that misses the deadline raises TimeoutError in its future: turn it into None "
    "(`future.exception()` tells you) instead of calling result() on it.")
_RAISED_HINT = "submit `fetch(url, timeout=seconds)` for every URL to a ThreadPoolExecutor."
_TOO_SLOW_HINT = (
    "waiting with a timeout does not stop a thread, and a pool's `with` block waits for "
    "every fetch it started: give each fetch its own limit, `fetch(url, timeout=seconds)`, "
    "and start all of them at once (enough threads).")
_ORDER_HINT = (
    "keep the order of the URLs (a list of futures, not as_completed), a size for each page "
    "that arrived and None for each that did not.")
_THREADS_LEFT_HINT = (
    "leave the pool's `with` block before returning, so its threads are joined — bounded by "
    "fetch's own timeout, not by shutdown(wait=False).")


@dataclass(frozen=True)
class _DeadlineRun:
    """One call of a learner's ``fetch_within``: what it was given, what it returned."""

    urls: list[str]
    expected: list[int | None]  # the fast pages' sizes, None for the slow ones
    got: object  # what fetch_within returned
    took: float  # seconds
    threads_left: int  # threads it started that still ran when it returned


def check_fetch_within(fetch_within: object, seconds: float = 0.3, slow_s: float = 3.0,
                       pages: int = 8) -> CheckResult:
    """Check ``fetch_within(urls, seconds)``: the sizes in order, ``None`` for every page
    slower than ``seconds``, back within about ``seconds`` (under ``2 × seconds + 0.1``)
    — and no thread left running.

    Two local servers: a fast one (50 ms) and a slow one (``slow_s``). A right answer
    returns after about ``seconds``; a wrong one at most after the slow latency (or
    ``fetch``'s own 10 s), since closing the servers ends every wait.
    """
    require_float("seconds", seconds, 0.1, 5)
    require_float("slow_s", slow_s, 2 * seconds, 30)
    require_int("pages", pages, 3, 32)
    if blank(fetch_within):
        return not_answered("replace `fetch_within = ...` by your `def fetch_within(urls, "
                            "seconds):`, run that cell, then run this cell again.")
    if not callable(fetch_within):
        return not_yet(f"fetch_within should be a function, got {type(fetch_within).__name__}.",
                       "start with `def fetch_within(urls, seconds):`.")
    try:
        run = _call_fetch_within(fetch_within, seconds, slow_s, pages)
    except Exception as error:  # a wrong answer must not stop "Run all"
        hint = _RAISED_TIMEOUT_HINT if isinstance(error, TimeoutError) else _RAISED_HINT
        return not_yet(f"calling fetch_within raised {type(error).__name__}: {error}", hint)
    return _judge_fetch_within(run, seconds, slow_s)


def _call_fetch_within(fetch_within: Callable, seconds: float, slow_s: float,
                       pages: int) -> _DeadlineRun:
    """Call ``fetch_within(urls, seconds)`` on ``pages`` URLs of two local servers, a fast
    one and one ``slow_s`` slow; time it and count the threads it left running."""
    before = set(threading.enumerate())
    with LatencyServer(latency_ms=50, payload_bytes=100, pages=pages) as fast, \
            LatencyServer(latency_ms=slow_s * 1000, payload_bytes=200, pages=pages) as slow:
        urls, expected = _mixed_urls(fast, slow, pages)
        start = time.perf_counter()
        got = fetch_within(urls, seconds)
        took = time.perf_counter() - start
        left = [t for t in threading.enumerate() if t not in before and t.is_alive()
                and not t.name.startswith("LatencyServer")]
    return _DeadlineRun(urls, expected, got, took, len(left))


def _judge_fetch_within(run: _DeadlineRun, seconds: float, slow_s: float) -> CheckResult:
    """The first thing wrong with the run — what it returned, how long it took, threads
    left behind — or the success message."""
    got_list = list(run.got) if isinstance(run.got, (list, tuple)) else None
    late = [i for i, size in enumerate(run.expected) if size is None]
    return first_problem([
        (got_list is not None and len(got_list) == len(run.urls),
         f"fetch_within returned {run.got!r}, not a list of {len(run.urls)} sizes.",
         "return one entry per URL: the size, or None."),
        (run.took < min(2 * seconds + 0.1, (seconds + slow_s) / 2),
         f"it took {run.took:.2f} s; the deadline was {seconds} s, and the slow pages take "
         f"{slow_s:g} s.", _TOO_SLOW_HINT),
        (got_list == run.expected,
         f"expected {run.expected} (None for the slow pages {late}), got {got_list}.",
         _ORDER_HINT),
        (not run.threads_left, f"{plural(run.threads_left, 'thread')} you started still ran "
         "after fetch_within returned.", _THREADS_LEFT_HINT),
    ], f"{len(run.urls) - len(late)} pages in order and {len(late)} × None, back after "
       f"{run.took:.2f} s (deadline {seconds} s, slow pages {slow_s:g} s), no thread left "
       "behind.")
