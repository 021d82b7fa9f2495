"""Coordinating threads without sharing a counter: Event, Semaphore, threading.local —
and which operations on built-in types are atomic.

``Event``
    one thread says "go" (``set``), any number wait for it (``wait(timeout)``).
``Semaphore(n)``
    at most ``n`` threads inside a block at once: e.g. at most 3 requests in the air
    against a server, however many threads want to send one.
``threading.local``
    an object whose attributes are different in every thread: per-thread state without
    locks (a connection, a random generator, a buffer).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from helpers.core.arguments import require_int
from helpers.core.latency_server import LatencyServer, fetch

WAIT_TIMEOUT = 10.0


def wait_for(event: threading.Event, started: float) -> float:
    """Wait (bounded) for ``event``; return seconds from ``started`` until woken."""
    if not event.wait(WAIT_TIMEOUT):
        raise TimeoutError("the event was never set")
    return time.perf_counter() - started


def event_wakeup(waiters: int = 4, after: float = 0.2) -> list[float]:
    """``waiters`` threads wait on one Event that is set after ``after`` s; their wake times."""
    require_int("waiters", waiters, 1, 64)
    event = threading.Event()
    started = time.perf_counter()
    with ThreadPoolExecutor(waiters) as pool:
        futures = [pool.submit(wait_for, event, started) for _ in range(waiters)]
        time.sleep(after)
        event.set()
        return [f.result(timeout=WAIT_TIMEOUT) for f in futures]


def fetch_limited(limit: threading.Semaphore, url: str) -> int:
    """GET ``url`` while holding one of ``limit``'s places."""
    with limit:
        return fetch(url)


def semaphore_limit(limit: int = 3, threads: int = 10, latency_ms: int = 50) -> dict[str, int]:
    """``threads`` threads fetch pages from a local server through ``Semaphore(limit)``;
    return the server's count of requests and the most it saw at once."""
    require_int("limit", limit, 1, 64)
    require_int("threads", threads, 1, 64)
    gate = threading.Semaphore(limit)
    with LatencyServer(latency_ms=latency_ms, pages=threads) as server:
        with ThreadPoolExecutor(threads) as pool:
            sizes = list(pool.map(lambda url: fetch_limited(gate, url), server.urls(threads),
                                  timeout=60))
        return {"requests": server.requests, "peak_in_flight": server.peak_in_flight,
                "pages": len(sizes)}


_PER_THREAD = threading.local()


def remember_and_recall(name: str) -> tuple[str, str]:
    """Store ``name`` in a thread-local, pause, read it back: every thread sees its own."""
    _PER_THREAD.name = name
    time.sleep(0.05)  # other threads store their names meanwhile
    return name, _PER_THREAD.name


def thread_local_names(threads: int = 4) -> list[tuple[str, str]]:
    require_int("threads", threads, 1, 64)
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(remember_and_recall, [f"worker {i}" for i in range(threads)],
                             timeout=WAIT_TIMEOUT))


# --- atomic or not ---------------------------------------------------------------------

def append_many(job: tuple[list, int]) -> None:
    """``list.append`` ``times`` times: one C call, atomic with and without the GIL."""
    items, times = job
    for i in range(times):
        items.append(i)


def dict_add_many(job: tuple[dict, int]) -> None:
    """``d["n"] += 1``: a read and a write — not atomic, whatever this Python shows.

    With the GIL on 3.10+, no other thread runs between them *here*, because the key is
    a ``str``: its hash and comparison are C code. A key whose ``__hash__`` or ``__eq__``
    is Python code makes calls inside the read and the write, and there the GIL can pass
    to another thread. Free-threaded builds lock the dict for each single read or write,
    never for the pair."""
    counts, times = job
    for _ in range(times):
        counts["n"] += 1


@dataclass(frozen=True)
class AtomicCheck:
    operation: str
    expected: int
    actual: int

    @property
    def lost(self) -> int:
        return self.expected - self.actual


def atomic_checks(threads: int = 4, times: int = 50_000) -> list[AtomicCheck]:
    """Run each operation from ``threads`` threads; count what was lost on this Python."""
    from helpers.core.runner import run_tasks

    require_int("threads", threads, 2, 16)
    require_int("times", times, 1, 10**6)
    items: list = []
    counts = {"n": 0}
    checks: list[tuple[str, Callable, object, Callable[[], int]]] = [
        ("list.append(x)", append_many, items, lambda: len(items)),
        ('d["n"] += 1', dict_add_many, counts, lambda: counts["n"]),
    ]
    results = []
    for name, function, shared, read in checks:
        run_tasks(function, executor="threads", workers=threads,
                  arguments=[(shared, times)] * threads, repeats=1, timeout=120)
        results.append(AtomicCheck(name, threads * times, read()))
    return results


def describe_atomic(checks: list[AtomicCheck], gil: bool | None = None) -> str:
    """What the atomic checks measured, one sentence each: a loss is a fact, no loss is
    only what this run showed (for ``+=`` it is never a guarantee)."""
    from helpers.core.system import gil_enabled

    gil = gil_enabled() if gil is None else gil
    words = []
    for check in checks:
        counted = f"`{check.operation}`: {check.actual:,} of {check.expected:,}"
        if check.lost:
            words.append(f"{counted} — **{check.lost:,} lost**: another thread ran between "
                         "its read and its write.")
        elif "+=" in check.operation:
            why = ("with the GIL, no thread switch fell between the read and the write "
                   "this time" if gil else "the race did not show this time")
            words.append(f"{counted} — nothing lost in this run: {why}. That is not a "
                         "guarantee (see the table).")
        else:
            words.append(f"{counted} — nothing lost: one call into C, which holds "
                         + ("the GIL" if gil else "the list's own lock") + " throughout.")
    return " ".join(words)
