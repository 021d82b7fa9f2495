"""The four stages of notebook 09's pipeline, as functions any worker can run.

    fetch      GET a page from the local LatencyServer          → its text     (waits)
    parse      find the page number, count words and characters → PageInfo    (a little CPU)
    compute    count the primes below a limit set by the page   → PageResult  (a lot of CPU)
    aggregate  combine every page's result                      → Summary     (one call)

Each stage has a plain function and an ``async def`` twin with the same result,
because the ``asyncio`` executor runs coroutine functions only. Only ``fetch_page_async``
really awaits something; the other twins run their plain function on the event loop,
which is what CPU work does under asyncio: it holds the loop, one task at a time.

This module imports nothing heavy (no numpy, no matplotlib, no widgets), so worker
processes and subinterpreters load it quickly.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from helpers.core.latency_server import get_body, get_body_async
from helpers.core.workloads import count_primes

FETCH_TIMEOUT = 10.0  # seconds one request may take, start to end
_HEADER = re.compile(r"page (0|[1-9][0-9]*)\n")


class PageInfo(NamedTuple):
    """What parsing one page found."""

    page: int
    words: int
    characters: int


class ComputeTask(NamedTuple):
    """One page's compute job: count the primes below ``limit``."""

    info: PageInfo
    limit: int


class PageResult(NamedTuple):
    """One page after the compute stage."""

    page: int
    words: int
    characters: int
    primes: int


class Summary(NamedTuple):
    """The aggregate: totals over every page, and the primes page by page."""

    pages: int
    words: int
    characters: int
    primes: int
    primes_by_page: tuple[int, ...]  # in page order, whatever order the workers finished in


# --- fetch -----------------------------------------------------------------------------------

def fetch_page(url: str, timeout: float = FETCH_TIMEOUT) -> str:
    """GET ``url`` (a LatencyServer page) with ``urllib`` and return the body as text.

    It blocks its thread while it waits; ``timeout`` bounds every wait.
    """
    return get_body(url, timeout).decode("utf-8")


async def fetch_page_async(url: str, timeout: float = FETCH_TIMEOUT) -> str:
    """The asyncio version of :func:`fetch_page`: while it waits, the loop runs others."""
    return (await get_body_async(url, timeout)).decode("utf-8")


# --- parse, compute, aggregate ---------------------------------------------------------------

def parse_page(text: str) -> PageInfo:
    """Read the page number from the first line (``page N``); count words and characters."""
    match = _HEADER.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"text must start with a line 'page N', got {str(text)[:30]!r}")
    return PageInfo(int(match[1]), len(text.split()), len(text))


def compute_page(task: ComputeTask) -> PageResult:
    """The CPU-heavy stage: count the primes below ``task.limit`` in pure Python."""
    info, limit = task
    return PageResult(info.page, info.words, info.characters, count_primes(limit))


def aggregate(results: list[PageResult]) -> Summary:
    """Combine every page's result: totals, and the primes in page order."""
    ordered = sorted(results, key=lambda r: r.page)
    return Summary(len(ordered), sum(r.words for r in ordered),
                   sum(r.characters for r in ordered), sum(r.primes for r in ordered),
                   tuple(r.primes for r in ordered))


async def parse_page_async(text: str) -> PageInfo:
    """:func:`parse_page` on the event loop (nothing to await: it holds the loop)."""
    return parse_page(text)


async def compute_page_async(task: ComputeTask) -> PageResult:
    """:func:`compute_page` on the event loop: CPU work blocks every other coroutine."""
    return compute_page(task)


async def aggregate_async(results: list[PageResult]) -> Summary:
    """:func:`aggregate` on the event loop."""
    return aggregate(results)


# stage → (plain function, coroutine function for the asyncio executor)
STAGE_FUNCTIONS = {
    "fetch": (fetch_page, fetch_page_async),
    "parse": (parse_page, parse_page_async),
    "compute": (compute_page, compute_page_async),
    "aggregate": (aggregate, aggregate_async),
}
