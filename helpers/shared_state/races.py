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
* On a free-threaded build (3.13t and later) with the GIL off, threads on different CPUs
  really run at the same time, and even the plain ``+=`` can lose updates (notebook 07).

The functions here run in threads through the lab's runner; :func:`race` counts the lost
updates — a count, not a time — and notes whether other programs took the CPUs meanwhile
(:mod:`helpers.core.noise`), for the words about what each addition cost. A race that
did not show in a run is reported as *not seen this time*, never as impossible.
"""
from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from helpers.core.arguments import require_choice, require_int
from helpers.core.noise import busy_sentence, disturbed_sentence, repeats_disagree
from helpers.core.runner import ProgressCallback, run_tasks
from helpers.core.selfcheck import (
    CheckResult,
    blank,
    first_problem,
    not_answered,
    not_yet,
    passed,
)
from helpers.core.settings import default
from helpers.core.system import effective_cpu_count, gil_enabled, is_free_threaded_build
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
    disturbed: str = ""  # the "disturbed" sentence when other programs took the CPUs

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
    return Race(increment, threads, times, counter.value, run.wall,
                busy_sentence(run.load, cpus_wanted(threads), f"{threads} threads of "
                              f"“{increment}”"))


def cpus_wanted(threads: int, gil: bool | None = None,
                effective_cpus: int | None = None) -> int:
    """CPUs ``threads`` threads of Python code can keep busy: one with the GIL on, else
    one per thread up to the effective CPUs."""
    gil = gil_enabled() if gil is None else gil
    cpus = effective_cpu_count() if effective_cpus is None else effective_cpus
    return 1 if gil else max(min(threads, cpus), 1)


def timing_disturbance(results: list[Race], what: str) -> str:
    """'… **disturbed** …' when other programs took the CPUs during one of ``results``, or
    their times disagree; ``''`` when the times can be trusted."""
    busy = next((r.disturbed for r in results if r.disturbed), "")
    if busy:
        return busy
    seconds = [r.seconds for r in results]
    if repeats_disagree(seconds):
        return disturbed_sentence(f"the timing of {what}", f"the {len(seconds)} runs of "
                                  f"{what} took from {min(seconds) * 1000:.0f} to "
                                  f"{max(seconds) * 1000:.0f} ms")
    return ""


def races(increment: str, repeats: int = 5, threads: int = 4, times: int | None = None,
          on_progress: ProgressCallback | None = None) -> list[Race]:
    """:func:`race` ``repeats`` times (each on a fresh counter); ``on_progress(done,
    total)`` after each."""
    require_int("repeats", repeats, 1, 50)
    done: list[Race] = []
    for _ in range(repeats):
        done.append(race(increment, threads, times))
        if on_progress is not None:
            on_progress(len(done), repeats)
    return done


def races_by_increment(increments: Sequence[str], repeats: int = 5,
                       on_progress: ProgressCallback | None = None) -> dict[str, list[Race]]:
    """:func:`races` for each increment in turn, with one progress count over them all."""
    for name in increments:
        require_choice("increment", name, INCREMENTS)
    found: dict[str, list[Race]] = {}
    for index, name in enumerate(increments):
        step = None if on_progress is None else (
            lambda done, total, index=index: on_progress(index * total + done,
                                                         len(increments) * total))
        found[name] = races(name, repeats, on_progress=step)
    return found


def describe_plain(results: list[Race], gil: bool | None = None) -> str:
    """What the plain ``+=`` did on *this* interpreter: a count of lost updates, and why
    only where the count says something (a race that did not show is not impossible)."""
    gil = gil_enabled() if gil is None else gil
    lost = sum(r.lost for r in results)
    total = sum(r.expected for r in results)
    where = "this Python, with the GIL" if gil else "this free-threaded build, GIL off"
    runs = f"{len(results)} run{'s' if len(results) != 1 else ''}"
    if lost and gil:
        return (f"**{lost:,} of {total:,} updates were lost** on {where}: in these {runs} "
                "another thread ran between the read and the write of `+=`.")
    if lost:
        return (f"**{lost:,} of {total:,} updates were lost** on {where}: threads ran "
                "their reads and writes of `+=` interleaved, with nothing to stop them.")
    if gil:
        return (f"**No update was lost** in {total:,} additions ({runs}) on {where}. On "
                "3.10 and later a thread gives up the GIL only at a call or at the end of "
                "a loop iteration, never between the read and the write of `+=` — how "
                "CPython happens to work, not a promise: any call between read and write "
                "(section 2), or a free-threaded build (notebook 07), can lose updates.")
    return (f"**No update was lost** in {total:,} additions ({runs}) on {where} — the race "
            "did not show this time, but nothing prevents it: with the GIL off two "
            "threads can read the same value. Run it again, or with more threads.")


def describe_races(by_increment: dict[str, list[Race]]) -> Verdict:
    """One line per increment: lost updates (over all repeats) and the median time; then a
    line for each timing that was disturbed, and for a race that did not show."""
    lines: list[str] = []
    notes: list[str] = []
    disturbed: list[tuple[str, str]] = []
    for name, results in by_increment.items():
        lost = [r.lost for r in results]
        seconds = statistics.median(r.seconds for r in results)
        per_add = seconds / results[0].expected * 1e9
        span = f"{min(lost):,}" if min(lost) == max(lost) else f"{min(lost):,}–{max(lost):,}"
        lines.append(f"**{name}**: lost {span} of {results[0].expected:,} updates in each "
                     f"of {len(results)} runs; {seconds * 1000:.0f} ms "
                     f"(median, {per_add:,.0f} ns per addition).")
        if "lock" not in name and max(lost) == 0 and results[0].threads > 1 \
                and (name != "plain +=" or not gil_enabled()):
            notes.append(f"**{name}** lost nothing in these {len(results)} runs: the race "
                         "did not show this time — it can, so run it again.")
        disturbance = timing_disturbance(results, f"“{name}”")
        if disturbance:
            disturbed.append((name, disturbance))
    if disturbed:  # the first in full, the others named
        notes.append(disturbed[0][1])
        if len(disturbed) > 1:
            others = " and ".join(f"“{name}”" for name, _ in disturbed[1:])
            notes.append(f"The timing of {others} was **disturbed** too: compare the lost "
                         "counts, not the times, and run it again for the times.")
    return Verdict(tuple(lines + notes))


def lock_cost(plain: list[Race], locked: list[Race]) -> str:
    """What the lock cost per addition, from two sets of runs of the same size — or, when
    other work disturbed either set, the numbers and that they were disturbed."""
    per = [statistics.median(r.seconds for r in runs) / runs[0].expected
           for runs in (plain, locked)]
    numbers = f"{per[0] * 1e9:,.0f} ns → {per[1] * 1e9:,.0f} ns per addition"
    disturbance = (timing_disturbance(plain, "“plain +=”")
                   or timing_disturbance(locked, "“+= with a lock”"))
    if disturbance:
        return f"Without and with the lock: {numbers}. {disturbance}"
    if per[1] <= per[0]:
        return (f"Without and with the lock: {numbers} — no extra cost could be measured "
                "in this run.")
    return (f"The lock made each addition {per[1] / per[0]:.1f}× as long: {numbers} "
            f"({(per[1] - per[0]) * 1e9:+,.0f} ns). Cheap next to a lost update; costly in "
            "a hot loop — so keep the locked part small.")


def plot_races(by_increment: dict[str, list[Race]]) -> Figure:
    """Expected against actual count for every repeat of every increment."""
    import matplotlib.pyplot as plt

    from helpers.core.colours import BLACK, REFERENCE_GREY
    from helpers.core.plots import colour_for, finish_figure

    fig, ax = plt.subplots(figsize=(7, 3.8))
    ax.axhline(100, color=REFERENCE_GREY, linestyle="-", linewidth=3, alpha=0.5,
               label="expected (nothing lost)")
    for i, (name, results) in enumerate(by_increment.items()):
        share = [r.actual / r.expected * 100 for r in results]
        shift = (i - (len(by_increment) - 1) / 2) * 0.08  # side by side where lines coincide
        ax.plot([n + 1 + shift for n in range(len(results))], share,
                color=colour_for("threads"), markeredgecolor=BLACK, marker="osD^v"[i % 5],
                markerfacecolor=colour_for("threads") if i % 2 == 0 else "white",
                linestyle=["-", "--", ":", "-."][i % 4], label=name)
    ax.set_xticks(range(1, max(len(r) for r in by_increment.values()) + 1))
    ax.set_xlabel("run (each on a fresh counter)")
    ax.set_ylabel("final count ÷ expected count (%)")
    ax.set_ylim(0, 110)
    ax.set_title(f"Updates kept: {next(iter(by_increment.values()))[0].threads} threads "
                 "adding to one counter "
                 f"({'free-threaded, GIL off' if not gil_enabled() else 'GIL on'})")
    ax.legend(fontsize=8, loc="center", framealpha=0.9)
    return finish_figure(fig)


def check_guesses(guesses: object, repeats: int = 3) -> CheckResult:
    """Exercise 2: did "read, pause, write" lose updates with 2 threads, and with 1?
    Measured now: a guess is judged against what this machine did. One thread has nobody
    to race with; two threads that lost nothing in these runs did not show the race,
    which does not prove it impossible — the check says so instead of judging on it."""
    if blank(guesses):
        return not_answered("replace each `...` in `guesses` with True (updates lost) or "
                            "False (none lost), then run this cell again.")
    if not isinstance(guesses, dict) or set(guesses) != {1, 2}:
        return not_yet("`guesses` should be a dict with the keys 2 and 1.",
                       "start from `guesses = {2: ..., 1: ...}`.")
    if any(not isinstance(value, bool) for value in guesses.values()):
        return not_yet("each guess should be True (updates lost) or False (none lost).",
                       "replace each `...` with True or False.")
    measured = {n: any(r.lost for r in races("read, pause, write", repeats, threads=n))
                for n in (2, 1)}
    return judge_guesses(guesses, measured, repeats)


def judge_guesses(guesses: dict[int, bool], measured: dict[int, bool], repeats: int
                  ) -> CheckResult:
    """The verdict of :func:`check_guesses` from the guesses and what was measured."""
    words = {n: "lost updates" if lost else "lost nothing" for n, lost in measured.items()}
    if measured[1]:  # one thread cannot race: a loss here is a broken measurement
        return not_yet(f"with 1 thread it {words[1]} — that cannot be a race; the "
                       "measurement went wrong.", "run the cell again.")
    if not measured[2]:
        seen = (f"2 threads lost nothing in {repeats} runs just now: the race did not show "
                "this time, so this run cannot judge your guess for 2 threads")
        if not guesses[1]:
            return passed(f"{seen} (it can lose updates — run the cell again); 1 thread: "
                          "lost nothing, as you predicted.")
        return not_yet(f"{seen}; with 1 thread it lost nothing, and you guessed the "
                       "opposite.", "a race needs a second thread that reads between your "
                       "read and your write.")
    return first_problem([
        (guesses[n] == measured[n], f"with {n} thread{'s' if n > 1 else ''} it {words[n]} "
         f"(measured {repeats} times just now); you guessed the opposite.",
         "a race needs a second thread that reads between your read and your write."
         if n == 1 else "the pause is a call: there another thread can run, read the same "
         "value, and write its own.")
        for n in (2, 1)
    ], f"2 threads: {words[2]}; 1 thread: {words[1]} — as you predicted.")


def build_note() -> str:
    """Which kind of interpreter this is, for the notebook's words."""
    if is_free_threaded_build():
        return ("a free-threaded build, GIL " + ("on" if gil_enabled() else "off"))
    return "a standard build with the GIL"
