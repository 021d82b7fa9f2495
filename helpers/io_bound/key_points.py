"""The notebook's key points: those that state a result are written from its measurements.

``key_points`` takes what sections 1, 4 and 5 measured (the scrape, the waiting threads,
the convoy) and returns Markdown bullets. A measurement the section called **disturbed**
is called disturbed here too, with no conclusion drawn from it, so that no key point
contradicts the words under its section. The other bullets are plain prose.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from helpers.core.runner import RunResult
from helpers.core.words import plural, speedup_phrase
from helpers.io_bound.convoy import ConvoyResult, convoy_seen
from helpers.io_bound.scraping import scrape_disturbances
from helpers.io_bound.waiting import WaitResult

PROSE = [
    "Choose a pool size from a throughput measurement: beyond the number of requests in the "
    "air, more threads only wait; for thousands of waits at once, asyncio tasks cost far "
    "less than threads (§2, §4).",
    "Processes are for computing, not for waiting (§6). A timeout on *your* wait does not "
    "stop a thread: give each blocking call its own timeout (exercise 2).",
]


def _disturbed(what: str, section: str) -> str:
    return (f"The {what} ({section}) was **disturbed**: it settles nothing here; run it "
            "again with other work closed.")


def scrape_point(runs: Mapping[str, RunResult], latency_s: float) -> str:
    """Threads against one page after another: waits overlap, with the CPUs idle."""
    if scrape_disturbances(runs, latency_s):
        return _disturbed("scrape", "§1")
    serial, threads = runs["serial"], runs["threads"]
    return (f"Waiting overlaps: {plural(threads.workers, 'thread')} fetched "
            f"{plural(threads.tasks, 'page')} in {threads.wall:.2f} s, "
            f"{speedup_phrase(serial.wall / threads.wall, 'one page after another')} "
            f"({serial.wall:.2f} s), with {threads.utilisation:.2f} CPUs busy on average: "
            "waits overlap whatever the number of CPUs (§1).")


def waiting_point(waits: Sequence[WaitResult]) -> str:
    """Blocked waiters against a spinning one: the CPU time each used. Blocked waiters want
    no CPU, so only the spinning thread's measurement can be **disturbed**."""
    blocked = next(w for w in waits if w.how != "spin")
    spin = next((w for w in waits if w.how == "spin"), None)
    text = (f"A blocked thread needs no CPU: {plural(blocked.threads, 'thread')} waiting on "
            f"{'an Event' if blocked.how == 'event' else 'a queue'} for {blocked.wall:.2f} s "
            f"used {blocked.cpu * 1000:.1f} ms of CPU between them")
    if spin is None:
        return text + " (§4)."
    if spin.disturbance():
        return text + "; the spinning thread's measurement was **disturbed** (§4)."
    return (text + f", one spinning thread {spin.cpu * 1000:.0f} ms in {spin.wall:.2f} s "
            "(§4).")


def convoy_point(results: Sequence[ConvoyResult]) -> str:
    """What CPU-bound threads did to the I/O thread's round trips, GIL on or off."""
    if any(r.disturbance() for r in results):
        return _disturbed("convoy measurement", "§5")
    seen = convoy_seen(results)
    if not all(r.gil for r in results):
        return ("The GIL is off in this Python: CPU-bound threads "
                + ("slowed the I/O thread only by sharing the CPUs with it" if seen
                   else "did not slow the I/O thread down") + " (§5).")
    if not seen:
        return ("CPU-bound threads did not slow the round trips down in §5, although the GIL "
                "is on: not what the GIL leads us to expect, so run it again.")
    worst = max((r for r in results if r.cpu_threads), key=lambda r: r.median)
    alone = next((r for r in results if r.cpu_threads == 0
                  and r.switch_interval == worst.switch_interval), None)
    if alone is None:  # measured with CPU threads only at this interval
        alone = min((r for r in results if r.cpu_threads == 0), key=lambda r: r.median)
    return (f"With the GIL on, {plural(worst.cpu_threads, 'CPU-bound thread')} made the I/O "
            f"thread's round trip {worst.median / alone.median:.1f}× longer "
            f"({alone.median * 1000:.1f} → {worst.median * 1000:.1f} ms, switch interval "
            f"{worst.switch_interval * 1000:g} ms): keep CPU-heavy work out of the process "
            "that does the I/O (§5).")


def key_points(runs: Mapping[str, RunResult], latency_s: float, waits: Sequence[WaitResult],
               convoy_results: Sequence[ConvoyResult]) -> str:
    """The key points as Markdown bullets: three from the measurements, then the prose."""
    points = [scrape_point(runs, latency_s), waiting_point(waits), convoy_point(convoy_results),
              *PROSE]
    return "\n".join(f"- {point}" for point in points)
