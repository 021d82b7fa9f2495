"""Notebook 06's Key points: what *this* Python did with shared state, in a few bullets.

The bullets that state a result are built from the notebook's own runs (lost updates are
counts, not timings; the lock's cost says "disturbed" when its timing was); the advice
that does not depend on a measurement is plain prose.
"""
from __future__ import annotations

from helpers.core.system import gil_enabled
from helpers.shared_state.deadlock import Attempt
from helpers.shared_state.races import Race, lock_cost, timing_disturbance

PAUSED, PAUSED_LOCKED = "read, pause, write", "read, pause, write + lock"


def _lost(results: list[Race]) -> str:
    """Lost updates per run: "0", "312" or "120–480" (of how many)."""
    lost = [r.lost for r in results]
    span = f"{min(lost):,}" if min(lost) == max(lost) else f"{min(lost):,}–{max(lost):,}"
    return f"{span} of {results[0].expected:,}"


def plain_point(plain: list[Race], gil: bool | None = None) -> str:
    """The classic ``+=`` race as measured, with what a zero means under the GIL."""
    gil = gil_enabled() if gil is None else gil
    said = (f"The classic `counter.value += 1` from {plain[0].threads} threads lost "
            f"{_lost(plain)} updates per run on this Python (GIL {'on' if gil else 'off'})")
    if gil and not any(r.lost for r in plain):
        return said + ": no loss, by how CPython 3.10+ happens to switch threads — not a promise."
    return said + "."


def lock_point(plain: list[Race], locked: list[Race]) -> str:
    """What the lock cost per addition — or, in short, that its timing was disturbed
    (section 2 says in full)."""
    if timing_disturbance(plain, "plain") or timing_disturbance(locked, "locked"):
        return ("What the lock costs per addition was not measured this time: its timing "
                "was **disturbed** (section 2).")
    return lock_cost(plain, locked)


def key_points(plain: list[Race], by_increment: dict[str, list[Race]], locked: list[Race],
               deadlocked: list[Attempt]) -> str:
    """The Key points as Markdown bullets, from the notebook's runs."""
    stuck = not all(attempt.got_both for attempt in deadlocked)
    return "\n".join([
        f"- {plain_point(plain)}",
        f"- With a pause between the read and the write, {_lost(by_increment[PAUSED])} "
        f"updates were lost per run; holding a lock across read and write, "
        f"{_lost(by_increment[PAUSED_LOCKED])}. {lock_point(plain, locked)}",
        "- Two threads taking two locks in opposite orders "
        + ("deadlocked here, and `acquire(timeout=…)` turned the hang into a result"
           if stuck else "did not overlap this time, yet can deadlock whenever they do")
        + "; one lock order for every thread prevents it.",
        "- Better than a lock: share nothing. Hand work over through a queue (one sentinel "
        "per consumer, `maxsize` for back-pressure); between processes, count separately "
        "and combine at the end.",
    ])
