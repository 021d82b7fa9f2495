"""Deadlock: two threads, two locks, taken in opposite orders — detected, never hung.

Thread 1 takes lock A, then wants B. Thread 2 takes B, then wants A. Each holds what the
other needs, so with plain ``acquire()`` both would wait forever (and so would a notebook
cell that joins them). Here every second acquire has a ``timeout``: a thread that cannot
get its second lock in time gives up, says so, and releases what it holds.

The fix is a **lock order**: every thread takes A before B. Then the second thread
simply waits until the first has finished with both.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from helpers.core.arguments import require_float

JOIN_SLACK = 5.0  # seconds beyond the acquire timeout that joining may take


@dataclass(frozen=True)
class Attempt:
    """What one thread managed: the locks it asked for, in order, and how it ended."""

    thread: str
    order: tuple[str, str]
    got_both: bool
    waited: float  # seconds spent waiting for the second lock

    def __str__(self) -> str:
        first, second = self.order
        if self.got_both:
            return f"{self.thread}: took {first}, then {second} ({self.waited:.2f} s wait) — done"
        return (f"{self.thread}: took {first}, then waited {self.waited:.2f} s for {second} — "
                f"gave up: deadlock detected")


def take_both(name: str, first: threading.Lock, second: threading.Lock,
              names: tuple[str, str], hold: float, timeout: float,
              attempts: list[Attempt]) -> None:
    """Take ``first``, hold it ``hold`` s, then try ``second`` for at most ``timeout`` s."""
    with first:
        time.sleep(hold)  # long enough for the other thread to take its first lock
        began = time.perf_counter()
        got = second.acquire(timeout=timeout)
        waited = time.perf_counter() - began
        if got:
            second.release()
    attempts.append(Attempt(name, names, got, waited))


def two_threads(opposite: bool, timeout: float = 1.0, hold: float = 0.1) -> list[Attempt]:
    """Two threads taking locks A and B — in opposite orders, or both A then B."""
    timeout = require_float("timeout", timeout, 0.01, 30)
    hold = require_float("hold", hold, 0.0, 5)
    a, b = threading.Lock(), threading.Lock()
    attempts: list[Attempt] = []
    plans = [("thread 1", a, b, ("A", "B")),
             ("thread 2", b, a, ("B", "A")) if opposite else ("thread 2", a, b, ("A", "B"))]
    threads = [threading.Thread(target=take_both, args=(*plan, hold, timeout, attempts),
                                daemon=True) for plan in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(2 * (timeout + hold) + JOIN_SLACK)
    if any(thread.is_alive() for thread in threads):
        raise TimeoutError("a thread is still waiting: the timeouts did not fire")
    return attempts


def describe_attempts(attempts: list[Attempt]) -> str:
    """Whether the run deadlocked, and what that means. Threads in opposite orders that
    both got both locks did not overlap this time: the deadlock is still possible."""
    same_order = len({attempt.order for attempt in attempts}) == 1
    if all(attempt.got_both for attempt in attempts):
        if not same_order:
            return ("Both threads got both locks **this time**: one finished before the "
                    "other took its first lock, so the cycle did not form. In opposite "
                    "orders it can form whenever they overlap — run it again.")
        return ("Both threads got both locks: taken in the same order, the second thread "
                "just waited for the first. No deadlock is possible.")
    stuck = [a.thread for a in attempts if not a.got_both]
    return (f"{' and '.join(stuck)} could not get {'its' if len(stuck) == 1 else 'their'} "
            "second lock: each held what the other wanted. Without the timeout, both "
            "would wait forever.")
