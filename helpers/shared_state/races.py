"""Race conditions between threads: which ones this Python shows, and the lock that fixes them.

A *race* happens when two threads read the same value, both compute from it, and both
write back: one update is lost. Whether that happens depends on **where a thread can be
interrupted**:

* With the GIL, since Python 3.10, the running thread gives the GIL up only at a
  function call or a backward jump (the end of a loop iteration) — never between the
  read and the write of ``counter.value += 1``. So the classic ``+=`` demo loses
  **nothing** on 3.10 and later (notebook 06 measures it on yours). That is how CPython
  happens to work, not a promise.
* Put anything that can switch threads between the read and the write — a call that
  waits (``time.sleep(0)``, I/O, ``print``), taking a lock, a property — and updates are
  lost on every version.
* On a free-threaded build (3.13t and later) threads really run at the same time: even the
  plain ``+=`` loses updates (notebook 07).

The functions here run in threads through the lab's runner; :func:`race` counts the lost
updates: a count, not a time.
"""
from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from helpers.core.arguments import require_choice, require_int
from helpers.core.runner import run_tasks
from helpers.core.selfcheck import CheckResult, first_problem, not_yet
from helpers.core.settings import default
from helpers.core.system import gil_enabled, is_free_threaded_build
from helpers.core.words import Verdict

if TYPE_CHECKING:  # matplotlib only to draw: this module also runs in a bare interpreter
    from matplotlib.figure import Figure

MAX_THREADS = 16
MAX_TIMES = 1_000_000


@dataclass
class Counter:
    """A shared counter with a lock beside it (used only by the locked increments)."""

    value: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def plain_add(job: tuple[Counter, int]) -> None:
    """``counter.value += 1``, ``times`` times: the classic demo."""
    counter, times = job
    for _ in range(times):
        counter.value += 1


def add_with_pause(job: tuple[Counter, int]) -> None:
    """Read, pause, write: ``time.sleep(0)`` between them lets another thread run."""
    counter, times = job
    for _ in range(times):
        current = counter.value
        time.sleep(0)  # any call that waits: another thread may read the same value now
        counter.value = current + 1


def locked_add_with_pause(job: tuple[Counter, int]) -> None:
    """The same read, pause, write — holding the counter's lock throughout: nothing lost."""
    counter, times = job
    for _ in range(times):
        with counter.lock:
            current = counter.value
            time.sleep(0)
            counter.value = current + 1


def locked_add(job: tuple[Counter, int]) -> None:
    """``+=`` under the lock: what a correct counter costs (compare with :func:`plain_add`)."""
    counter, times = job
    for _ in range(times):
        with counter.lock:
            counter.value += 1


INCREMENTS: dict[str, Callable[[tuple[Counter, int]], None]] = {
    "plain +=": plain_add,
    "read, pause, write": add_with_pause,
    "read, pause, write + lock": locked_add_with_pause,
    "+= with a lock": locked_add,
}


@dataclass(frozen=True)
class Race:
    """One run: ``threads`` threads each adding 1 ``times`` times to one counter."""

    increment: str
    threads: int
    times: int
    actual: int
    seconds: float  # wall time of the run (the runner's perf_counter)

    @property
    def expected(self) -> int:
        return self.threads * self.times

    @property
    def lost(self) -> int:
        return self.expected - self.actual


def default_times(increment: str) -> int:
    """Additions per thread: many for the fast ones, fewer where each one sleeps."""
    if "pause" in increment:
        return int(default(2_000, 500))
    return int(default(200_000, 50_000))


def race(increment: str, threads: int = 4, times: int | None = None) -> Race:
    """Run ``threads`` threads of one increment on a fresh counter; count what was lost."""
    require_choice("increment", increment, INCREMENTS)
    threads = require_int("threads", threads, 1, MAX_THREADS)
    times = require_int("times", default_times(increment) if times is None else times,
                        1, MAX_TIMES)
    counter = Counter()
    run = run_tasks(INCREMENTS[increment], executor="threads", workers=threads,
                    arguments=[(counter, times)] * threads, repeats=1, timeout=120)
    return Race(increment, threads, times, counter.value, run.wall)


def races(increment: str, repeats: int = 5, threads: int = 4, times: int | None = None
          ) -> list[Race]:
    """:func:`race` ``repeats`` times (each on a fresh counter)."""
    require_int("repeats", repeats, 1, 50)
    return [race(increment, threads, times) for _ in range(repeats)]


def describe_plain(results: list[Race]) -> str:
    """What the plain ``+=`` did on *this* interpreter, and why."""
    lost = sum(r.lost for r in results)
    total = sum(r.expected for r in results)
    where = ("a free-threaded build with the GIL off" if not gil_enabled()
             else "this Python, with the GIL")
    if lost == 0:
        return (f"**No update was lost** in {total:,} additions on {where}: the running "
                "thread gives up the GIL only at calls and at the end of a loop iteration, "
                "never between the read and the write of `+=`. That is how CPython 3.10+ "
                "happens to work — not a promise: on a free-threaded build the same code "
                "loses updates (notebook 07), and so does any pause between read and write.")
    reason = ("threads really run at the same time without the GIL"
              if not gil_enabled() else
              "this interpreter can switch threads in the middle of `+=`")
    return (f"**{lost:,} of {total:,} updates were lost** on {where}: {reason}.")


def describe_races(by_increment: dict[str, list[Race]]) -> Verdict:
    """One line per increment: lost updates (over all repeats) and the median time."""
    lines = []
    for name, results in by_increment.items():
        lost = [r.lost for r in results]
        seconds = statistics.median(r.seconds for r in results)
        per_add = seconds / results[0].expected * 1e9
        span = f"{min(lost):,}" if min(lost) == max(lost) else f"{min(lost):,}–{max(lost):,}"
        lines.append(f"**{name}**: lost {span} of {results[0].expected:,} updates in each "
                     f"of {len(results)} runs; {seconds * 1000:.0f} ms "
                     f"(median, {per_add:,.0f} ns per addition).")
    return Verdict(tuple(lines))


def lock_cost(plain: list[Race], locked: list[Race]) -> str:
    """What the lock cost per addition, from two sets of runs of the same size."""
    per = [statistics.median(r.seconds for r in runs) / runs[0].expected
           for runs in (plain, locked)]
    extra = per[1] - per[0]
    return (f"The lock made each addition {per[1] / per[0]:.1f}× as long: "
            f"{per[0] * 1e9:,.0f} ns → {per[1] * 1e9:,.0f} ns ({extra * 1e9:+,.0f} ns). "
            "Cheap next to a lost update; costly in a hot loop — so keep the locked "
            "part small.")


def plot_races(by_increment: dict[str, list[Race]]) -> Figure:
    """Expected against actual count for every repeat of every increment."""
    import matplotlib.pyplot as plt

    from helpers.core.colours import BLACK, OKABE_ITO
    from helpers.core.plots import finish_figure

    fig, ax = plt.subplots(figsize=(7, 3.8))
    for i, (name, results) in enumerate(by_increment.items()):
        share = [r.actual / r.expected * 100 for r in results]
        shift = (i - (len(by_increment) - 1) / 2) * 0.08  # side by side where lines coincide
        ax.plot([n + 1 + shift for n in range(len(results))], share, color=OKABE_ITO[i % 8],
                marker="osD^v"[i % 5], linestyle=["-", "--", ":", "-."][i % 4], label=name)
    ax.axhline(100, color=BLACK, linestyle="--", linewidth=1, label="expected (nothing lost)")
    ax.set_xticks(range(1, max(len(r) for r in by_increment.values()) + 1))
    ax.set_xlabel("repeat")
    ax.set_ylabel("counter ÷ expected (%)")
    ax.set_ylim(0, 110)
    ax.set_title(f"Lost updates with {next(iter(by_increment.values()))[0].threads} threads "
                 f"({'free-threaded, GIL off' if not gil_enabled() else 'GIL on'})")
    ax.legend(fontsize=8, loc="lower left")
    return finish_figure(fig)


def check_guesses(guesses: object, repeats: int = 3) -> CheckResult:
    """Exercise 2: did "read, pause, write" lose updates with 2 threads, and with 1?
    Measured now; the guesses must match what this machine did."""
    if not isinstance(guesses, dict) or set(guesses) != {1, 2}:
        return not_yet("`guesses` should be a dict with the keys 2 and 1.",
                       "start from `guesses = {2: ..., 1: ...}`.")
    if any(not isinstance(value, bool) for value in guesses.values()):
        return not_yet("each guess should be True (updates lost) or False (none lost).",
                       "replace each `...` with True or False.")
    measured = {n: any(r.lost for r in races("read, pause, write", repeats, threads=n))
                for n in (2, 1)}
    words = {n: "lost updates" if lost else "lost nothing" for n, lost in measured.items()}
    return first_problem([
        (guesses[n] == measured[n], f"with {n} thread{'s' if n > 1 else ''} it {words[n]} "
         f"(measured {repeats} times just now); you guessed the opposite.",
         "a race needs a second thread that reads between your read and your write."
         if n == 1 else "the pause releases the GIL, so the other thread runs right there.")
        for n in (2, 1)
    ], f"2 threads: {words[2]}; 1 thread: {words[1]} — as you predicted.")


def build_note() -> str:
    """Which kind of interpreter this is, for the notebook's words."""
    if is_free_threaded_build():
        return ("a free-threaded build, GIL " + ("on" if gil_enabled() else "off"))
    return "a standard build with the GIL"
