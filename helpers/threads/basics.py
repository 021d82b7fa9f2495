"""Small functions for notebook 01 (threads): demos that need a helper, and the
self-checks of its exercises.

As everywhere in the lab, every function a thread runs lives here, in an
importable module, not in the notebook: a process started with *spawn* or
*forkserver* must import its function by module name, so we keep the habit for
threads too.

* :func:`tick` — a bounded loop that prints, for the daemon-thread demos.
* :func:`print_whoami` — prints which process and thread called it.
* :func:`seed_without_join` — the seed article's example without ``join()``,
  repeated, counting where the main thread's line lands.
* :func:`interpreter_exit_demo` — a fresh interpreter whose main thread ends
  while a (daemon or normal) thread is still ticking.
* :func:`start_and_join` — start and join ``n`` do-nothing threads, to time
  with :func:`helpers.core.runner.run_tasks`.
* Exercises: :func:`sign_guestbook` and :func:`check_guest_threads`;
  :func:`exercise_delays_ms` and :func:`check_overlap`.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from numbers import Real

from helpers.core import noise
from helpers.core.arguments import require_float, require_int
from helpers.core.runner import RunResult
from helpers.core.selfcheck import (
    CheckResult,
    blank,
    first_problem,
    not_answered,
    not_yet,
    passed,
)
from helpers.core.settings import SOURCE_ROOT, default
from helpers.core.system import effective_cpu_count
from helpers.core.words import Verdict, plural, speedup_phrase
from helpers.threads.overlap import most_at_once, waits_disturbance
from helpers.threads.seed import print_numbers, say
from helpers.threads.sharing import whoami

MAIN_LINE = "Main thread continues..."
TICK = re.compile(r"tick \d+")
END_LINE = "main thread: end of the script"
PACKAGE_ROOT = SOURCE_ROOT  # the folder that holds helpers/


# --- Thread API demos -------------------------------------------------------------------

def tick(count: int, interval: float = 0.05, label: str = "tick") -> int:
    """Print ``label 1`` … ``label count``, ``interval`` seconds apart; return ``count``.

    The loop is bounded on purpose: a thread cannot be killed from outside, so a
    thread that loops forever runs until the interpreter exits.
    """
    require_int("count", count, 0, 10_000)
    require_float("interval", interval, 0.0, 10.0)
    for number in range(1, count + 1):
        say(f"{label} {number}")  # the whole line in one write: it cannot tear
        time.sleep(interval)
    return count


def print_whoami() -> dict[str, object]:
    """Print and return :func:`helpers.threads.sharing.whoami` — process id and thread name."""
    me = whoami()
    print(me, flush=True)
    return me


class RecordingStream(io.TextIOBase):
    """Passes every write on to ``target`` and remembers it, in call order."""

    def __init__(self, target: io.TextIOBase) -> None:
        super().__init__()
        self.target = target
        self.writes: list[str] = []
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            self.writes.append(text)
        return self.target.write(text)

    def flush(self) -> None:
        self.target.flush()


@dataclass(frozen=True)
class OrderTally:
    """Where the main thread's line landed in each run of the seed example without join."""

    runs: int
    count: int  # numbers each thread printed
    numbers_before_main: Counter  # numbers printed before the main line → how many runs
    torn_lines: int  # runs where a number's line landed inside the main line, or before its end

    def _where(self, before: int) -> str:
        if before == 0:
            return "before any number"
        if before >= self.count:
            return f"after all {self.count} numbers"
        return f"after {before} number{'s' if before != 1 else ''}"

    def sentence(self) -> str:
        """Plain words for these counts (derived from them, not expected in advance)."""
        parts = [f"{self._where(before)} in {times} run{'s' if times != 1 else ''}"
                 for before, times in sorted(self.numbers_before_main.items())]
        text = f"In {self.runs} runs, '{MAIN_LINE}' came " + "; ".join(parts) + "."
        if len(self.numbers_before_main) > 1:
            text += " The order changed from run to run."
        else:
            text += (" It landed in the same place every time here — but nothing guarantees "
                     "that: it depends on the scheduler and on where the output goes.")
        if self.torn_lines:
            text += (f" In {plural(self.torn_lines, 'run')} the main thread's line tore: its "
                     "print() writes the text and the newline separately, and the thread's "
                     "number landed in between.")
        return text

    def _repr_markdown_(self) -> str:
        return self.sentence()

    def __str__(self) -> str:
        return self.sentence()


def seed_without_join(runs: int = 5, count: int = 3) -> OrderTally:
    """Run the seed article's example **without** ``join()`` ``runs`` times.

    Each run is exactly: start a thread running ``print_numbers(count)``, then
    ``print("Main thread continues...")`` in the calling thread. Everything is
    printed as usual (to wherever ``sys.stdout`` goes now); a recording wrapper
    notes the order of the writes, so we can count how many numbers came before
    the main thread's line. The thread is joined (bounded) before the next run.
    """
    require_int("runs", runs, 1, 100)
    require_int("count", count, 1, 20)
    landed: Counter = Counter()
    torn = 0
    for run in range(runs):
        recorder = RecordingStream(sys.stdout)
        with contextlib.redirect_stdout(recorder):
            print(f"--- run {run + 1}", flush=True)
            thread = threading.Thread(target=print_numbers, args=(count,))
            thread.start()
            print(MAIN_LINE)
            thread.join(timeout=5)
        writes = recorder.writes[2:]  # skip the run header and its newline
        where = next((i for i, text in enumerate(writes) if MAIN_LINE in text), len(writes))
        landed[sum(text.strip().isdigit() for text in writes[:where])] += 1
        torn += tore(writes, where)
    return OrderTally(runs, count, landed, torn)


def tore(writes: list[str], where: int) -> bool:
    """Did another write land inside the line whose text is ``writes[where]`` — before its
    newline came, or after a line that had not ended?"""
    if where >= len(writes):
        return False
    began_mid_line = where > 0 and not writes[where - 1].endswith("\n")
    cut = (not writes[where].endswith("\n") and where + 1 < len(writes)
           and not writes[where + 1].startswith("\n"))
    return began_mid_line or cut


@dataclass(frozen=True)
class ExitRun:
    """What a fresh interpreter printed when its main thread ended before its thread."""

    daemon: bool
    ticks: int  # how many ticks the thread was asked to print
    output: str = ""  # everything the interpreter printed
    returncode: int = 0
    stderr: str = ""
    script: str = ""  # the code the fresh interpreter ran

    @property
    def lines(self) -> list[str]:
        return self.output.splitlines()

    @property
    def ticks_printed(self) -> int:
        return len(TICK.findall(self.output))

    @property
    def ticks_after_main_ended(self) -> int:
        """Ticks printed after the main thread's last line."""
        end = self.output.find(END_LINE)
        return 0 if end < 0 else len(TICK.findall(self.output, end + len(END_LINE)))

    def sentence(self) -> str:
        """What happened, in words derived from the printed lines."""
        kind = "Daemon thread" if self.daemon else "Normal (non-daemon) thread"
        printed, after = self.ticks_printed, self.ticks_after_main_ended
        text = (f"{kind}: {printed} of {self.ticks} ticks printed, {after} of them after the "
                "main thread's last line. ")
        if printed == self.ticks:
            text += ("The interpreter waited for the thread to finish before exiting."
                     if not self.daemon else
                     "The thread finished before the interpreter exited — make ticks larger.")
        else:
            text += ("The interpreter did not wait: it exited and stopped the thread mid-loop."
                     if self.daemon else
                     "The thread did not finish: was the interpreter stopped?")
        if self.returncode != 0:
            text += f" (The interpreter exited with code {self.returncode}: {self.stderr[-300:]})"
        return text

    def __str__(self) -> str:
        return "\n".join([f"--- a fresh interpreter, thread with daemon={self.daemon}, printed:",
                          *self.lines, "→ " + self.sentence()])


def interpreter_exit_demo(daemon: bool, ticks: int | None = None, interval: float = 0.05,
                          main_seconds: float = 0.125, timeout: float = 30.0) -> ExitRun:
    """Run a small script in a **fresh** Python interpreter and report what it printed.

    The script starts ``tick(ticks, interval)`` in a thread (``daemon`` or not),
    sleeps ``main_seconds`` in the main thread (best between two ticks, so that
    the two threads' lines do not collide), prints its last line, and ends.
    A Jupyter kernel never exits on its own, so this is how we watch interpreter
    exit. Bounded by ``timeout`` seconds.
    """
    if not isinstance(daemon, bool):
        raise ValueError(f"daemon must be True or False, got {daemon!r}")
    ticks = require_int("ticks", int(default(10, 6)) if ticks is None else ticks, 1, 1000)
    interval = require_float("interval", interval, 0.001, 1.0)
    main_seconds = require_float("main_seconds", main_seconds, 0.0, 10.0)
    timeout = require_float("timeout", timeout, 1.0, 600.0)
    script = textwrap.dedent(f"""
        import threading, time
        from helpers.threads.basics import tick
        worker = threading.Thread(target=tick, args=({ticks}, {interval!r}), daemon={daemon})
        worker.start()
        time.sleep({main_seconds!r})
        print({END_LINE!r}, flush=True)
        # the script ends here: the interpreter now exits
    """)
    path = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": path})
    return ExitRun(daemon, ticks, done.stdout, done.returncode, done.stderr,
                   script.strip())


def do_nothing() -> None:
    """The cheapest possible thread target: returns at once."""


def start_and_join(count: int) -> int:
    """Start ``count`` threads that do nothing, then join each (bounded); return ``count``.

    Time it with :func:`helpers.core.runner.run_tasks` to see what a thread costs to start.
    """
    require_int("count", count, 1, 10_000)
    threads = [threading.Thread(target=do_nothing) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    if any(thread.is_alive() for thread in threads):
        raise RuntimeError("a do-nothing thread was still alive after 10 s")
    return count


def start_cost_sentence(run: RunResult, compared_with: float | None = None) -> str:
    """Words for a :func:`run_tasks` timing of :func:`start_and_join` (``run.size`` threads).

    ``compared_with`` (seconds, e.g. one sleep task) puts the cost in proportion. A run
    that other programs disturbed, or whose repeats disagree, is called disturbed instead.
    """
    if not run.walls or run.size < 1:
        raise ValueError("run must be a finished run_tasks result of start_and_join")
    per_thread = run.wall / run.size
    text = (f"Starting and joining {run.size} threads took {run.wall * 1e3:.1f} ms "
            f"(median of {len(run.walls)} repeats): about {per_thread * 1e6:.0f} µs per thread")
    disturbed = _start_cost_disturbance(run)
    if disturbed:
        return f"{text}. {disturbed}"
    if compared_with is not None and compared_with > 0 and per_thread > 0:
        text += (f". One {compared_with * 1e3:.0f} ms wait lasts as long as starting about "
                 f"{compared_with / per_thread:,.0f} threads")
    return text + "."


def _start_cost_disturbance(run: RunResult) -> str:
    """Other programs' CPU use during the run, or repeats that disagree, as a sentence.

    (Not "starved": starting a thread waits for it to begin, so CPUs busy below 1 is normal.)
    """
    busy = noise.busy_sentence(run.load, 1, "start_and_join")
    if busy or not noise.repeats_disagree(run.walls):
        return busy
    return noise.disturbed_sentence(
        "this measurement", f"its repeats took from {min(run.walls) * 1e3:.1f} ms to "
        f"{max(run.walls) * 1e3:.1f} ms")


# --- Exercise 1: named threads sign a shared guestbook ----------------------------------

GUEST_NAMES = ("guest-1", "guest-2", "guest-3")
GUESTBOOK: list[tuple[str, str]] = []  # (guest, name of the thread that signed)


def sign_guestbook(guest: str) -> int:
    """Append ``(guest, name of the calling thread)`` to :data:`GUESTBOOK`; return its length."""
    if not isinstance(guest, str):
        raise ValueError(f"guest must be a string, got {guest!r}")
    GUESTBOOK.append((guest, threading.current_thread().name))
    return len(GUESTBOOK)


def guestbook() -> list[tuple[str, str]]:
    """A copy of :data:`GUESTBOOK`: who signed, from which thread."""
    return list(GUESTBOOK)


def clear_guestbook() -> None:
    """Empty :data:`GUESTBOOK`."""
    GUESTBOOK.clear()


def check_guest_threads(guests: object, names: Sequence[str] = GUEST_NAMES) -> CheckResult:
    """Exercise 1: ``guests`` must be started, finished threads named ``names``, each
    of which signed the guestbook once with its own name. Never raises on a wrong answer."""
    if blank(guests):
        return not_answered("set `guests` to your list of three started, named threads, "
                            "then run this cell again.")
    if guests is None:
        return not_yet("there is no list called `guests` yet.",
                       "run your cell (or the solution) first.")
    if not isinstance(guests, (list, tuple)):
        return not_yet(f"`guests` is a {type(guests).__name__}, not a list of threads.",
                       "guests = [threading.Thread(...) for name in ...].")
    wrong = [item for item in guests if not isinstance(item, threading.Thread)]
    if wrong:
        return not_yet(f"`guests` holds a {type(wrong[0]).__name__} ({wrong[0]!r}), not a "
                       "threading.Thread.",
                       "keep the Thread objects; start() returns None, so don't store "
                       "what start() returns.")
    given = [thread.name for thread in guests]
    problem = first_problem([
        (len(guests) == len(names), f"`guests` holds {len(guests)} threads, not {len(names)}.",
         f"one thread per name in {list(names)}."),
        (sorted(given) == sorted(names), f"your threads are named {given}, not {list(names)}.",
         "pass name=... to threading.Thread."),
        (all(thread.ident is not None for thread in guests),
         f"{[t.name for t in guests if t.ident is None]} never started.",
         "call start() on every thread."),
        (not any(thread.is_alive() for thread in guests), "a thread is still running.",
         "join each thread with a timeout: thread.join(timeout=5)."),
    ], "")
    if not problem:
        return problem
    return _check_signatures(guestbook(), names)


def _check_signatures(entries: list[tuple[str, str]], names: Sequence[str]) -> CheckResult:
    for name in names:
        signers = [thread for guest, thread in entries if guest == name]
        if not signers:
            return not_yet(f"the guestbook has no entry for {name!r}: its thread did not "
                           "call sign_guestbook with its name.",
                           "target=sign_guestbook, args=(name,) — with the comma: "
                           "args=(name) is a plain string, whose letters become separate "
                           "arguments, and the thread dies with a TypeError.")
        if len(signers) > 1:
            return not_yet(f"{name!r} signed {len(signers)} times.",
                           "call clear_guestbook() at the start of your cell, then run it once.")
        if signers[0] != name:
            if signers[0] == threading.main_thread().name:
                return not_yet(f"{name!r} was signed by {signers[0]}: sign_guestbook ran in "
                               "the main thread, not in the new thread.",
                               "pass the function itself, target=sign_guestbook, and its "
                               "argument in args; target=sign_guestbook(name) calls it now.")
            return not_yet(f"{name!r} was signed from the thread named {signers[0]!r}.",
                           "each thread passes its own name: name=name, args=(name,).")
    extra = sorted({guest for guest, _ in entries} - set(names))
    if extra:
        return not_yet(f"the guestbook also holds {extra}, from another run.",
                       "call clear_guestbook() first.")
    return passed(f"{len(names)} named threads started and joined; the main thread reads all "
                  f"{len(names)} entries they wrote into one shared list.")


# --- Exercise 2: overlap waits with a ThreadPoolExecutor ---------------------------------

def exercise_delays_ms() -> list[int]:
    """Four waits in milliseconds, longest first but not sorted (smaller in quick mode)."""
    unit = int(default(60, 40))
    return [4 * unit, 1 * unit, 3 * unit, 2 * unit]


def _is_number(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and value == value


def check_overlap(delays_ms: Sequence[int], waited: object, elapsed: object) -> CheckResult:
    """Exercise 2: ``waited[i]`` is what ``sleep_ms(delays_ms[i])`` returned, and
    ``elapsed`` (s) shows the waits overlapped. Never raises on a wrong answer.

    Raises ``ValueError`` only for bad ``delays_ms`` (the task's data, not the answer).
    """
    _require_delays(delays_ms)
    if blank(waited) or blank(elapsed):
        return not_answered("set `waited` (what sleep_ms returned, in the order of "
                            "DELAYS_MS) and `elapsed` (seconds), then run this cell again.")
    if waited is None or elapsed is None:
        return not_yet("`waited` or `elapsed` does not exist yet.",
                       "run your cell (or the solution) first.")
    problem = _waited_problem(delays_ms, waited)
    return problem if problem is not None else _check_elapsed(delays_ms, waited, elapsed)


def _require_delays(delays_ms: Sequence[int]) -> None:
    """``ValueError`` unless ``delays_ms`` holds at least 2 different waits of 1–60,000 ms."""
    if (not isinstance(delays_ms, (list, tuple)) or len(delays_ms) < 2
            or len(set(delays_ms)) != len(delays_ms)):
        raise ValueError(f"delays_ms must be a list of at least 2 different integers, "
                         f"got {delays_ms!r}")
    for delay in delays_ms:
        require_int("delays_ms item", delay, 1, 60_000)


def _waited_problem(delays_ms: Sequence[int], waited: object) -> CheckResult | None:
    """What is wrong with ``waited`` — not a list, Futures, wrong length, items that are
    not numbers, out of order — or ``None`` when it is right."""
    if not isinstance(waited, (list, tuple)):
        return not_yet(f"`waited` is a {type(waited).__name__}, not a list.",
                       "pool.map returns an iterator: waited = list(pool.map(...)).")
    if any(isinstance(value, Future) for value in waited):
        return not_yet("`waited` holds Future objects, not what sleep_ms returned.",
                       "call future.result(timeout=...) on each, or use pool.map.")
    if len(waited) != len(delays_ms) or not all(_is_number(value) for value in waited):
        return not_yet(f"`waited` should hold {len(delays_ms)} numbers (seconds), got {waited!r}.",
                       "one sleep_ms(delay) per delay in DELAYS_MS.")
    return _waited_order_problem(delays_ms, waited)


def _waited_order_problem(delays_ms: Sequence[int], waited: Sequence[float]
                          ) -> CheckResult | None:
    """The first ``waited[i]`` far shorter than ``delays_ms[i]`` — the list is out of
    order — as a problem, or ``None`` when every wait lasted at least its delay."""
    # sleep_ms never returns early but may return late (a busy machine), so a value far
    # below its delay means the list is out of order; one a little above it is fine.
    short = [i for i, value in enumerate(waited) if value < 0.9 * delays_ms[i] / 1000]
    if not short:
        return None
    i = short[0]
    if list(waited) == sorted(waited):
        return not_yet("`waited` is in the order the tasks finished, not in the order of "
                       "DELAYS_MS.", "pool.map keeps input order; as_completed does not.")
    return not_yet(f"waited[{i}] is {waited[i] * 1000:.0f} ms, but DELAYS_MS[{i}] is "
                   f"{delays_ms[i]} ms.", "waited[i] must be what sleep_ms(DELAYS_MS[i]) "
                   "returned: pass the delays, in ms and in order, to sleep_ms.")


def _check_elapsed(delays_ms: Sequence[int], waited: Sequence[float], elapsed: object
                   ) -> CheckResult:
    """Did the waits overlap? Judged from what was measured — the waits as ``sleep_ms``
    returned them (on a busy machine they come back late, and so does everything) — not
    from the delays asked for: ``elapsed`` must lie between the longest measured wait and
    a quarter of the way from it to all of them one after another."""
    if not _is_number(elapsed) or elapsed <= 0:  # type: ignore[operator]
        return not_yet(f"`elapsed` should be a positive number of seconds, got {elapsed!r}.",
                       "elapsed = time.perf_counter() - start.")
    seconds = float(elapsed)  # type: ignore[arg-type]
    longest, total = max(waited), sum(waited)
    if seconds < 0.9 * max(delays_ms) / 1000:
        return not_yet(f"elapsed is {seconds:.3f} s, shorter than the longest wait "
                       f"({max(delays_ms) / 1000:.3f} s).", "read the clock before the with "
                       "block and again after it.")
    limit = longest + 0.25 * (total - longest)
    if seconds > limit:
        return not_yet(f"your waits measured {total:.3f} s in all, the longest {longest:.3f} s, "
                       f"and together took {seconds:.3f} s: they did not all overlap (fully "
                       f"overlapped: about {longest:.3f} s; one after another: {total:.3f} s).",
                       "give the pool one worker per task (max_workers=len(DELAYS_MS)) and "
                       "submit every task before waiting for a result.")
    return passed(f"your {len(waited)} waits measured {total:.2f} s in all and together took "
                  f"{seconds:.2f} s, about as long as the longest ({longest:.2f} s): they "
                  f"overlapped, {speedup_phrase(total / seconds, 'one after another')}.")


# --- Key points: the measured ones ------------------------------------------------------

def key_points(runs: dict[str, RunResult], start_cost: RunResult,
               effective_cpus: int | None = None) -> Verdict:
    """The key points that rest on this notebook's measurements: how far the waits of
    section 8 overlapped (``runs``, serial first) and what starting a thread cost in
    section 9 (``start_cost``) — each called **disturbed** instead when it was."""
    cpus = effective_cpu_count() if effective_cpus is None else effective_cpus
    base = next(iter(runs.values()))
    widest = max(runs.values(), key=most_at_once)
    if waits_disturbance(runs, cpus):
        waits = ("Your timeline of waits (section 8) was **disturbed**: run it again to see "
                 "how far waits overlap on this machine.")
    else:
        waits = (f"Waiting threads overlap, whatever the CPUs: {plural(base.tasks, 'sleep')} "
                 f"of {base.size} ms took {base.wall:.2f} s one after another and "
                 f"{widest.wall:.2f} s on {plural(widest.workers, 'thread')}, up to "
                 f"{most_at_once(widest)} at once on {plural(cpus, 'effective CPU')}: "
                 "concurrency without parallelism.")
    per_thread = start_cost.wall / start_cost.size * 1e6
    start = (f"Starting a thread took about {per_thread:.0f} µs here (section 9)"
             + (", but that measurement was **disturbed**: run it again."
                if _start_cost_disturbance(start_cost) else
                f": cheap next to one {base.size} ms wait."))
    return Verdict((waits, start))
