"""Helpers for notebook 02 (processes): run one call in a child, watch memory stay
separate, measure what starting a process costs, and self-check the exercises.

Everything a child process runs is defined here, in an importable module. Under
*spawn* and *forkserver* the child is a fresh interpreter: it receives a function
as a name (``helpers.processes.basics.square``) and imports it. A function defined
in a notebook cell lives in the kernel's ``__main__``, and a fresh child's
``__main__`` is not the notebook: the name cannot be found there. Under *fork*
the child is a copy of the kernel and finds it. :func:`try_in_child` shows both,
and never hangs.
"""
from __future__ import annotations

import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from helpers.core.arguments import require_float, require_int
from helpers.core.executors import process_pool, resolve_start_method, stop_now
from helpers.core.interrupts import end_process
from helpers.core.noise import DISTURBED, disturbed_sentence, repeats_disagree
from helpers.core.runner import ProgressCallback
from helpers.core.selfcheck import (
    CheckResult,
    blank,
    first_problem,
    not_answered,
    not_yet,
    passed,
)
from helpers.core.settings import default
from helpers.threads.sharing import record_visit, reset_visits, visits

if TYPE_CHECKING:  # matplotlib is imported only when a plot is drawn: children stay light
    from matplotlib.figure import Figure

    from helpers.core.experiments import Comparison
    from helpers.core.words import Verdict

MAX_TIMEOUT = 600.0


# --- small functions for children to run -------------------------------------------------

def square(number: int) -> int:
    """``number`` squared. Raises ``ValueError`` for anything but an int in ±10**9."""
    require_int("number", number, -10**9, 10**9)
    return number * number


def do_nothing() -> None:
    """The smallest possible task: what is left to time is starting the process."""


def record_and_report(who: str) -> list[str]:
    """Append ``who`` to this process's visit list; return the list as this process sees it."""
    record_visit(who)
    return visits()


def send_letters(letters: str, queue) -> int:
    """Put each letter of ``letters`` on ``queue`` (a multiprocessing Queue); return how many.

    The reliable way to get output back from a child: the parent reads the queue, so
    it does not matter where the child's ``print`` would have gone.
    """
    if not isinstance(letters, str) or len(letters) > 1000:
        raise ValueError(f"letters must be a string of at most 1000 characters, got {letters!r}")
    for letter in letters:
        queue.put(letter)
    return len(letters)


def send_stderr_to(path: str) -> None:
    """Pool initializer: from now on this worker writes its ``sys.stderr`` to ``path``.

    When a worker dies, multiprocessing prints the reason (a traceback) to the
    worker's stderr, which a notebook may never show. Written to a file, the
    parent can read it and show it.
    """
    sys.stderr = open(path, "a", buffering=1, encoding="utf-8")  # open for the worker's life


# --- run one call in a child process ----------------------------------------------------

def main_lookup_error(name: str, version: tuple[int, int] | None = None) -> str:
    """The line a spawn/forkserver child prints when ``name`` is not in its ``__main__``.

    That is what happens to a function defined in a notebook cell: the child unpickles
    "``__main__``, ``name``" and its own ``__main__`` has no such thing. The wording is
    pickle's and changed twice (measured in a Jupyter kernel on 3.10–3.15):

    * 3.10–3.11: ``AttributeError: Can't get attribute 'cube' on <module '__main__' (built-in)>``
    * 3.12–3.13: the same, the module shown as
      ``<module '__main__' (<class '_frozen_importlib.BuiltinImporter'>)>``
    * 3.14+: ``AttributeError: module '__main__' has no attribute 'cube'``

    ``version`` is ``(major, minor)``; default: the running Python.
    """
    major_minor = tuple(version or sys.version_info[:2])
    if major_minor >= (3, 14):
        return f"AttributeError: module '__main__' has no attribute '{name}'"
    module = ("<module '__main__' (built-in)>" if major_minor < (3, 12)
              else "<module '__main__' (<class '_frozen_importlib.BuiltinImporter'>)>")
    return f"AttributeError: Can't get attribute '{name}' on {module}"


@dataclass(frozen=True)
class ChildOutcome:
    """What came back from one call in a child process."""

    start_method: str
    value: object = None
    error: BaseException | None = None  # the exception the *parent* received, if any
    child_stderr: str = ""  # what the child wrote to stderr (e.g. why it died)
    seconds: float = 0.0  # from submitting the call to getting an answer

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def error_text(self) -> str:
        """``"ExceptionName: message"`` of the parent's exception, or ``""``."""
        if self.error is None:
            return ""
        name, message = type(self.error).__name__, str(self.error)
        return f"{name}: {message}" if message else name

    @property
    def child_error(self) -> str:
        """The last line of the child's stderr: the error the child itself hit, or ``""``."""
        lines = [line for line in self.child_stderr.splitlines() if line.strip()]
        return lines[-1].strip() if lines else ""

    def __str__(self) -> str:
        if self.ok:
            return f"{self.start_method}: returned {self.value!r} after {self.seconds:.2f} s"
        text = (f"{self.start_method}: failed after {self.seconds:.2f} s\n"
                f"  the parent got: {self.error_text}")
        if self.child_error:
            text += f"\n  the child said:  {self.child_error}"
        return text

    def _repr_pretty_(self, printer, cycle: bool) -> None:  # how IPython displays it
        printer.text(str(self))


def try_in_child(function: Callable[..., object], *args: object,
                 start_method: str | None = None, timeout: float = 30.0) -> ChildOutcome:
    """Call ``function(*args)`` in one fresh child process; return what happened.

    Uses a one-worker ``ProcessPoolExecutor``, which fails fast when its worker
    dies (``BrokenProcessPool``) where ``multiprocessing.Pool`` would start a new
    worker again and again and hang. Never raises for the call's own failure: the
    exception the parent received is in ``.error``, the child's last stderr line in
    ``.child_error``. Waits at most ``timeout`` seconds; the worker is always gone
    when this returns (terminated if it did not finish cleanly).
    """
    if not callable(function):
        raise ValueError(f"function must be callable, got {function!r}")
    method = resolve_start_method(start_method)
    timeout = require_float("timeout", timeout, 0.1, MAX_TIMEOUT)
    folder = tempfile.mkdtemp(prefix="lab-child-")
    log = os.path.join(folder, "stderr.txt")
    pool = process_pool(1, method, send_stderr_to, (log,))
    value, error, clean = None, None, False
    start = time.perf_counter()
    try:
        value = pool.submit(function, *args).result(timeout=timeout)
        clean = True
    except Exception as exc:  # BrokenProcessPool, TimeoutError, pickling errors, the call's own
        error = exc
    finally:  # also on KeyboardInterrupt (■), which propagates after the clean-up
        seconds = time.perf_counter() - start
        if clean:
            pool.shutdown(wait=True)  # the worker is idle: it exits at once
        else:
            stop_now(pool)  # cancel, terminate, join (bounded)
        child_stderr = _read(log)
        shutil.rmtree(folder, ignore_errors=True)
    return ChildOutcome(method, value, error, child_stderr, seconds)


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            return file.read()
    except OSError:
        return ""


# --- processes started by hand ----------------------------------------------------------

def join_or_stop(processes: Sequence, timeout: float = 10.0) -> list[int | None]:
    """Join every process within ``timeout`` seconds in all; stop any still running.

    Returns the exit codes: 0 finished normally, 1 an uncaught exception, -N killed
    by signal N (``terminate`` sends SIGTERM, so -15 on Linux and macOS).
    """
    timeout = require_float("timeout", timeout, 0.0, MAX_TIMEOUT)
    deadline = time.monotonic() + timeout
    try:
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
    finally:  # also on KeyboardInterrupt (■): no child outlives the cell
        for process in processes:
            end_process(process)
    return [process.exitcode for process in processes]


def fork_warnings(timeout: float = 10.0) -> list[str]:
    """Fork one child that does nothing; return the DeprecationWarnings emitted meanwhile.

    Python 3.12+ warns when a process that runs several threads forks: a thread
    holding a lock at that instant is not copied, so the child may deadlock. A
    Jupyter kernel always runs several threads. The warning is normally hidden
    (it comes from multiprocessing's code, not yours); this records it. Returns
    ``[]`` where fork is not available or nothing was emitted (Python 3.10–3.11).
    """
    if "fork" not in multiprocessing.get_all_start_methods():
        return []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DeprecationWarning)
        child = multiprocessing.get_context("fork").Process(target=do_nothing)
        child.start()
        join_or_stop([child], timeout)
    return [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]


# --- what starting a process costs ------------------------------------------------------

@dataclass(frozen=True)
class StartCost:
    """Seconds to start one process that does nothing and wait for it to end."""

    start_method: str
    seconds: list[float] = field(default_factory=list)  # one per repeat

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def _timed_starts(start_method: str | None, repeats: int | None, default_repeats: int,
                  start_once: Callable[[object], None],
                  after_each: Callable[[], None] | None = None) -> StartCost:
    """Time ``start_once(context)`` ``repeats`` times, after one untimed warm-up call;
    ``after_each()`` follows every call, the warm-up's too (a progress bar moves)."""
    method = resolve_start_method(start_method)
    repeats = require_int("repeats", default_repeats if repeats is None else repeats, 1, 50)
    context = multiprocessing.get_context(method)
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork + threads: shown elsewhere
        for repeat in range(repeats + 1):
            began = time.perf_counter()
            start_once(context)
            if repeat:  # the first one was the warm-up
                times.append(time.perf_counter() - began)
            if after_each is not None:
                after_each()
    return StartCost(method, times)


def start_cost(start_method: str | None = None, repeats: int | None = None,
               timeout: float = 30.0, after_each: Callable[[], None] | None = None
               ) -> StartCost:
    """Time ``Process(target=do_nothing)``: ``start()`` then ``join()``, ``repeats`` times.

    One untimed start comes first: it pays one-off costs (the forkserver's server
    process, first imports). Under spawn each child is a new interpreter that also
    imports the ``helpers`` package, where its target lives — as your own code would.
    Default repeats: 7, or 3 in quick mode. Raises ``RuntimeError`` if a child fails.
    ``after_each()`` is called after every start, the untimed one too.
    """
    timeout = require_float("timeout", timeout, 0.1, MAX_TIMEOUT)

    def start_once(context) -> None:
        child = context.Process(target=do_nothing)
        child.start()
        code = join_or_stop([child], timeout)[0]
        if code != 0:
            raise RuntimeError(f"a {context.get_start_method()} child ended with exit code "
                               f"{code}")

    return _timed_starts(start_method, repeats, int(default(7, 3)), start_once, after_each)


def pool_start_cost(start_method: str | None = None, workers: int = 2,
                    repeats: int | None = None, timeout: float = 60.0,
                    after_each: Callable[[], None] | None = None) -> StartCost:
    """Time a whole pool's life: create a ``ProcessPoolExecutor`` of ``workers`` (the lab's
    :func:`~helpers.core.executors.process_pool`, as ``run_tasks`` uses), give each worker one
    empty task (so every worker process starts), shut it down (all exit).

    One untimed pool comes first, as in :func:`start_cost`. Default repeats: 5, or 3 in
    quick mode.
    """
    workers = require_int("workers", workers, 1, 64)
    timeout = require_float("timeout", timeout, 0.1, MAX_TIMEOUT)

    def start_once(context) -> None:
        pool = process_pool(workers, context.get_start_method())
        try:
            for future in [pool.submit(do_nothing) for _ in range(workers)]:
                future.result(timeout=timeout)
        except BaseException:
            stop_now(pool)
            raise
        pool.shutdown(wait=True)

    return _timed_starts(start_method, repeats, int(default(5, 3)), start_once, after_each)


def start_costs(methods: Iterable[str] | None = None, repeats: int | None = None,
                pool_workers: int | None = None,
                on_progress: ProgressCallback | None = None) -> dict[str, StartCost]:
    """:func:`start_cost` for each method (default: every method this platform has);
    with ``pool_workers``, :func:`pool_start_cost` of pools that size instead.
    ``on_progress(done, total)`` counts the starts (or pools), untimed ones included."""
    names = list(methods) if methods is not None else multiprocessing.get_all_start_methods()
    if not names:
        raise ValueError("methods must name at least one start method")
    each = int(default(7, 3) if pool_workers is None else default(5, 3))
    count = require_int("repeats", each if repeats is None else repeats, 1, 50)
    after_each = _counter(len(names) * (count + 1), on_progress)
    if pool_workers is None:
        return {name: start_cost(name, count, after_each=after_each) for name in names}
    return {name: pool_start_cost(name, pool_workers, count, after_each=after_each)
            for name in names}


def _counter(total: int, on_progress: ProgressCallback | None) -> Callable[[], None] | None:
    """A function that reports ``on_progress(done, total)`` one more each call."""
    if on_progress is None:
        return None
    done = [0]

    def count_one() -> None:
        done[0] += 1
        on_progress(done[0], total)

    return count_one


USUAL_ORDER = ("fork", "forkserver", "spawn")  # least to most work per child started


def describe_start_costs(costs: dict[str, StartCost],
                         what: str = "start a process and see it end") -> str:
    """Sentences from the measurement: the fastest method, how the others compare, and why
    — or, when a method's repeats disagree, that the measurement was disturbed.

    The why is given only when the order measured is the one the mechanisms predict
    (fork copies, forkserver forks a clean server and imports, spawn starts an interpreter
    and imports); another order is reported as seen, with "run it again".
    """
    if not costs:
        raise ValueError("costs must hold at least one measurement")
    ranked = sorted(costs.values(), key=lambda cost: cost.median)
    fastest = ranked[0]
    parts = [f"{fastest.start_method} was the fastest here: {fastest.median * 1000:.1f} ms "
             f"to {what} (median of {len(fastest.seconds)})"]
    for cost in ranked[1:]:
        ratio = cost.median / fastest.median if fastest.median > 0 else float("inf")
        parts.append(f"{cost.start_method} took {cost.median * 1000:.1f} ms "
                     f"({ratio:.1f}× as long)")
    return "; ".join(parts) + ". " + _why_start_costs(costs, [c.start_method for c in ranked])


def start_costs_disturbed(costs: dict[str, StartCost]) -> bool:
    """True when a method's repeats disagree, or the methods came out in another order than
    the work each does predicts (:data:`USUAL_ORDER`): other programs were busy."""
    if any(repeats_disagree(cost.seconds) for cost in costs.values()):
        return True
    order = [cost.start_method for cost in sorted(costs.values(), key=lambda c: c.median)]
    usual = [method for method in USUAL_ORDER if method in costs]
    return [method for method in order if method in usual] != usual


def _why_start_costs(costs: dict[str, StartCost], order: list[str]) -> str:
    noisy = [cost for cost in costs.values() if repeats_disagree(cost.seconds)]
    if noisy:
        cost = noisy[0]
        return disturbed_sentence(
            f"the {cost.start_method} measurement",
            f"{cost.start_method}'s repeats took from {min(cost.seconds) * 1000:.1f} to "
            f"{max(cost.seconds) * 1000:.1f} ms")
    usual = [method for method in USUAL_ORDER if method in costs]
    if len(usual) < 2:
        return ""
    if [method for method in order if method in usual] != usual:
        return ("That is not the usual order (" + " < ".join(usual) + "), which the work each "
                "method does would give: if other programs were busy, this measurement was "
                f"**{DISTURBED}** — run it again.")
    why = {"fork": "a fork child is a copy of this process: nothing to start or import",
           "forkserver": "a forkserver child is a fork of a clean server process, and "
                         "still imports the module its target lives in",
           "spawn": "a spawned child starts a whole new interpreter, then imports that "
                    "module (here the `helpers` package)"}
    return "As the work each one does predicts: " + "; ".join(why[m] for m in usual) + "."


def plot_start_costs(costs: dict[str, StartCost],
                     title: str = "Starting a process that does nothing") -> Figure:
    """Bars of the median start-and-join time per start method, each repeat as a dot.

    Start methods are all processes: their bars share the processes' colour, told apart
    by hatching (:func:`helpers.core.plots.start_method_style`)."""
    import matplotlib.pyplot as plt

    from helpers.core.colours import BLACK
    from helpers.core.plots import finish_figure, start_method_style

    if not costs:
        raise ValueError("costs must hold at least one measurement")
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for i, (name, cost) in enumerate(costs.items()):
        ms = [s * 1000 for s in cost.seconds]
        ax.bar(i, cost.median * 1000, 0.6, **start_method_style(name))
        ax.plot([i] * len(ms), ms, "o", color=BLACK, markersize=3)
        noisy = f"\n({DISTURBED})" if repeats_disagree(cost.seconds) else ""
        ax.annotate(f"median {cost.median * 1000:.1f} ms{noisy}",
                    (i, max([cost.median * 1000, *ms])), ha="center", va="bottom",
                    xytext=(0, 4), textcoords="offset points", fontsize=8)
    ax.set_xticks(range(len(costs)), list(costs))
    ax.set_xlabel("start method (bar: median; dots: each repeat)")
    ax.set_ylabel("start + join time (ms)")
    ax.set_title(title)
    highest = max(max(cost.seconds, default=0.0) for cost in costs.values()) * 1000
    ax.set_ylim(0, max(highest, 1e-3) * 1.35)  # room for the labels above the tallest dot
    return finish_figure(fig)


# --- self-checks for the exercises -------------------------------------------------------

SQUARES_EXPECTED = [n * n for n in range(10)]


def check_squares(squares: object) -> CheckResult:
    """Exercise 1: ``squares`` must be the list ``[0, 1, 4, …, 81]`` from a process pool."""
    if blank(squares):
        return not_answered("set `squares` to the list of results from your pool, then run "
                            "this cell again.")
    if squares is None:
        return not_yet("`squares` has no answer yet.",
                       "assign the list of results to `squares` inside your `with` block.")
    if hasattr(squares, "result") and hasattr(squares, "done"):
        return not_yet("`squares` is a Future, not the results.",
                       "call `future.result(timeout=30)` to get a result out of a Future.")
    if not isinstance(squares, list):
        return not_yet(f"`squares` is a {type(squares).__name__}, not a list.",
                       "`pool.map(...)` gives an iterator: wrap it in `list(...)` inside "
                       "the `with` block, while the pool is still open.")
    if any(hasattr(item, "result") for item in squares):
        return not_yet("the list holds Futures, not numbers.",
                       "call `.result(timeout=30)` on each Future, or use `pool.map`.")
    return first_problem([
        (len(squares) == 10, f"expected 10 results (for 0 to 9), got {len(squares)}.",
         "map over `range(10)`."),
        (squares == SQUARES_EXPECTED,
         f"expected {SQUARES_EXPECTED}, got {squares}.",
         "map `square` itself (from helpers.processes.basics) over `range(10)`; `pool.map` "
         "keeps the order of the inputs."),
    ], "10 squares computed in worker processes and returned to the parent, in order.")


MEMORY_EXPECTED = {
    "parent after the child": ["parent"],
    "child under fork": ["parent", "child"],
    "child under spawn": ["child"],
    "child under forkserver": ["child"],
}
MEMORY_HINTS = {
    "parent after the child": "the child changed its own copy of the list; a child's "
                              "changes never come back to the parent.",
    "child under fork": "a forked child starts as a copy of the parent's memory, so it "
                        "already holds what the parent recorded before the fork.",
    "child under spawn": "a spawned child is a new interpreter: it imports helpers.threads.sharing "
                         "afresh, so its list starts empty.",
    "child under forkserver": "the forkserver's children are copies of a clean server "
                              "process, not of this kernel: the list starts empty there.",
}


def measure_visits(timeout: float = 30.0) -> dict[str, list[str] | None]:
    """Exercise 2, measured: ``reset_visits(); record_visit("parent")``, then one child per
    start method this platform has runs :func:`record_and_report` ("child").

    Returns the lists seen, keyed like :data:`MEMORY_EXPECTED`: each child's list, and the
    parent's after the children. A method this platform lacks, or whose child failed (its
    outcome is bounded by ``timeout``), maps to ``None``. Leaves the parent's list as
    ``["parent"]`` plus whatever the children changed in it (nothing).
    """
    timeout = require_float("timeout", timeout, 0.1, MAX_TIMEOUT)
    reset_visits()
    record_visit("parent")
    measured: dict[str, list[str] | None] = {}
    for method in ("fork", "spawn", "forkserver"):
        outcome = (try_in_child(record_and_report, "child", start_method=method,
                                timeout=timeout)
                   if method in multiprocessing.get_all_start_methods() else None)
        measured[f"child under {method}"] = (outcome.value if outcome is not None
                                             and outcome.ok else None)
    measured["parent after the child"] = visits()
    return {key: measured[key] for key in MEMORY_EXPECTED}


def check_memory_prediction(prediction: object,
                            measured: dict[str, list[str] | None] | None = None
                            ) -> CheckResult:
    """Exercise 2: the learner's prediction of each process's visit list, checked against
    ``measured`` (from :func:`measure_visits`) — what this machine's children really saw.
    Where nothing was measured (no such method here, a child that failed, or no
    ``measured`` at all) the prediction is checked against :data:`MEMORY_EXPECTED`, and
    the message says so.
    """
    if blank(prediction):
        return not_answered("replace every `...` in `prediction` with a list of strings, such "
                            "as ['parent'], then run this cell again.")
    if not isinstance(prediction, dict):
        return not_yet(f"expected a dict, got {type(prediction).__name__}.",
                       "start from the dict given in the exercise and replace each `...`.")
    measured = measured or {}
    for key, expected in MEMORY_EXPECTED.items():
        answer = prediction.get(key, ...)
        if answer is ...:
            return not_yet(f"{key!r} has no answer yet.",
                           "write a list of strings, such as ['parent'].")
        if not isinstance(answer, list):
            return not_yet(f"{key!r} should be a list, got {answer!r}.",
                           "write the list that `visits()` would return, e.g. ['child'].")
        seen = measured.get(key)
        truth = seen if seen is not None else expected
        source = "measured here" if seen is not None else "what this start method does"
        if answer != truth:
            return not_yet(f"for {key!r} you predicted {answer!r}; {source}: {truth!r}.",
                           MEMORY_HINTS[key])
    shown = [f"{key}: {measured[key]!r}" for key in MEMORY_EXPECTED
             if measured.get(key) is not None]
    unmeasured = [key for key in MEMORY_EXPECTED if measured.get(key) is None]
    text = ("your prediction matches " + ("what was measured here — " + "; ".join(shown)
                                          if shown else "what each start method does"))
    if shown and unmeasured:
        text += (f" (not measured here: {', '.join(unmeasured)}; checked against what that "
                 "start method does)")
    return passed(text + ". Each process has its own memory; only fork starts from a copy "
                  "of the parent's.")


# --- Key points: the measured ones ------------------------------------------------------

def key_points(costs: dict[str, StartCost], pool_run: Comparison,
               simulation: Mapping[str, Comparison]) -> Verdict:
    """The key points that rest on this notebook's measurements — what starting a process
    cost (section 5), what a process pool did for ``count`` (section 6) and what threads
    and processes did for the random walk (section 7) — each called **disturbed** instead
    when it was."""
    from helpers.core.words import Verdict, comparison_disturbance, plural, speedup_phrase
    from helpers.processes.simulation import simulation_key_point

    ranked = sorted(costs.values(), key=lambda cost: cost.median)
    start = ("Starting a process (section 5) was measured **disturbed** here: run it again."
             if start_costs_disturbed(costs) else
             f"Starting a process cost {ranked[0].median * 1000:.0f} ms with "
             f"{ranked[0].start_method}" + (f" and {ranked[-1].median * 1000:.0f} ms with "
                                            f"{ranked[-1].start_method}" if len(ranked) > 1
                                            else "") + " here: a pool pays it once per "
             "worker, not once per task.")
    name = list(pool_run.runs)[-1]
    run = pool_run.runs[name]
    pool = (f"The process pool's run of `{pool_run.baseline.workload}` (section 6) was "
            "**disturbed**: run it again." if comparison_disturbance(pool_run) else
            f"A process pool of {plural(run.workers, 'worker')} ran the CPU-bound "
            f"`{run.workload}` {speedup_phrase(pool_run.speedup(name))}, with "
            f"{run.utilisation:.1f} CPUs busy, on "
            f"{plural(pool_run.effective_cpus, 'effective CPU')}.")
    return Verdict((start, pool, simulation_key_point(simulation)))
