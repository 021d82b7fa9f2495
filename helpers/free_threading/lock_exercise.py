"""Notebook 07's second exercise: a counter that stays right without the GIL.

Free-threading makes threads parallel, not code thread-safe: ``counter.value += 1`` from
several threads loses updates once the GIL is off (notebook 07, section 4). The learner
writes ``safe_add(counter, times)`` with ``counter.lock``; :func:`check_safe_add` runs it

* **here**, from 4 threads, on a :class:`PausingCounter` whose every read pauses
  (``time.sleep(0)``), so threads interleave between read and write even with the GIL —
  the check means something on any Python;
* and, when a free-threaded interpreter is given, **there** with ``PYTHON_GIL=0``: the
  function's source is sent to ``python -m helpers.free_threading.lock_exercise``, which
  runs it from threads on a plain :class:`helpers.shared_state.races.Counter` and prints
  the count as JSON.

The threads run :func:`count_with_threads` (here) and :func:`main` (there); only the
learner's ``safe_add`` comes from the notebook.
"""
from __future__ import annotations

import inspect
import json
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from helpers.core.arguments import require_int
from helpers.core.selfcheck import (
    CheckResult,
    blank,
    first_problem,
    join_within,
    not_answered,
    not_yet,
    passed,
    stuck_threads,
)
from helpers.core.settings import default
from helpers.core.system import gil_enabled

if TYPE_CHECKING:
    from helpers.core.other_pythons import Interpreter

JOIN_TIMEOUT = 10.0  # seconds a check waits for its threads (a lock never released)
FT_TIMEOUT = 120.0  # seconds the free-threaded run may take


class PausingCounter:
    """A counter whose every read of ``value`` pauses, like a value read over a network:
    a thread switch can happen between the read and the write, even with the GIL."""

    def __init__(self) -> None:
        self._value = 0
        self.lock = threading.Lock()

    @property
    def value(self) -> int:
        current = self._value
        time.sleep(0)  # lets another thread run right here
        return current

    @value.setter
    def value(self, new: int) -> None:
        self._value = new


def count_with_threads(add: Callable, counter: object, threads: int, times: int,
                       timeout: float = JOIN_TIMEOUT, in_kernel: bool = True
                       ) -> tuple[int, str | None]:
    """Run ``add(counter, times)`` in ``threads`` threads at once; return
    ``(counter.value, problem)`` where ``problem`` names an exception or the threads still
    running after ``timeout`` seconds, one deadline for all (daemon threads, so a stuck one
    cannot hang Python's exit). In the kernel (``in_kernel``) a stuck thread stays until the
    kernel restarts, and the problem says so; a helper process ends, and its threads with it."""
    errors: list[BaseException] = []
    start = threading.Barrier(threads, timeout=timeout)

    def work() -> None:
        try:
            start.wait()  # all threads begin together
            add(counter, times)
        except BaseException as error:  # reported to the check, never lost
            errors.append(error)

    workers = [threading.Thread(target=work, name=f"safe_add-{i}", daemon=True)
               for i in range(threads)]
    for worker in workers:
        worker.start()
    stuck = join_within(workers, timeout)
    if stuck and in_kernel:
        return 0, stuck_threads(len(stuck), threads, timeout)
    if stuck:
        return 0, (f"{len(stuck)} of {threads} threads were still running after {timeout:g} s "
                   "(waiting for a lock nobody released?)")
    if errors:
        return 0, f"it raised {type(errors[0]).__name__}: {errors[0]}"
    final = counter._value if isinstance(counter, PausingCounter) else counter.value
    return int(final), None


def source_of(function: Callable) -> str | None:
    """The function's source, dedented; ``None`` if Python cannot find it (a lambda in a
    longer line is cut too, so only ``def`` functions count)."""
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):
        return None
    return source if source.lstrip().startswith(("def ", "async def ", "@")) else None


def run_in(interpreter: Interpreter, source: str, name: str, threads: int, times: int,
           gil: bool | None = False) -> dict:
    """Run ``name`` from ``source`` in ``interpreter`` (this module's :func:`main` there)
    from ``threads`` threads, ``times`` additions each; its JSON answer as a dict."""
    from helpers.core.other_pythons import ROOT, other_python_env

    request = json.dumps({"source": source, "name": name, "threads": threads, "times": times})
    done = subprocess.run([interpreter.path, "-m", "helpers.free_threading.lock_exercise"],
                          input=request, capture_output=True, text=True, timeout=FT_TIMEOUT,
                          cwd=ROOT, env=other_python_env(gil))
    if done.returncode != 0:
        raise RuntimeError(f"{interpreter.label} failed: {done.stderr[-1000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    """The other interpreter's side: read the request from stdin, print the count."""
    from helpers.shared_state.races import Counter

    request = json.loads(sys.stdin.read())
    namespace: dict = {"__name__": "safe_add_answer", "threading": threading, "time": time}
    answer = {"counted": 0, "problem": None,
              "gil_enabled": gil_enabled()}
    try:
        exec(request["source"], namespace)  # the learner's own function, from the notebook
        add = namespace[request["name"]]
    except Exception as error:
        answer["problem"] = f"defining it raised {type(error).__name__}: {error}"
    else:
        answer["counted"], answer["problem"] = count_with_threads(
            add, Counter(), request["threads"], request["times"], in_kernel=False)
    print(json.dumps(answer))


def check_safe_add(safe_add: object, interpreter: Interpreter | None = None,
                   threads: int = 4, times: int | None = None,
                   timeout: float = JOIN_TIMEOUT) -> CheckResult:
    """Exercise 2: ``safe_add(counter, times)`` adds exactly ``times`` when ``threads``
    threads call it at once — here on a :class:`PausingCounter`, and with the GIL off in
    ``interpreter`` (a free-threaded build) when one is given."""
    threads = require_int("threads", threads, 2, 16)
    times = require_int("times", int(default(1_000, 300)) if times is None else times,
                        1, 100_000)
    if blank(safe_add):
        return not_answered("replace `safe_add = ...` with your `def safe_add(counter, "
                            "times):`, then run this cell again.")
    if not callable(safe_add):
        return not_yet(f"safe_add should be a function, got {type(safe_add).__name__}.",
                       "start with `def safe_add(counter, times):`.")
    here = _check_here(safe_add, threads, times, timeout)
    if not here:
        return here
    said = (f"{threads} threads × {times:,} additions on a counter whose every read pauses: "
            f"all {threads * times:,} counted here")
    if interpreter is None:
        return passed(f"{said}. (No free-threaded Python to try it without the GIL; the "
                      "pausing reads let the threads interleave as they would there.)")
    return _check_there(safe_add, interpreter, threads, said)


def _check_here(safe_add: Callable, threads: int, times: int, timeout: float) -> CheckResult:
    """Run ``safe_add`` from ``threads`` threads on a :class:`PausingCounter`: the first
    problem (an error, a stuck thread, a wrong count), or a pass with no message."""
    expected = threads * times
    counted, problem = count_with_threads(safe_add, PausingCounter(), threads, times, timeout)
    lost = expected - counted
    return first_problem([
        (problem is None, f"running safe_add from {threads} threads: {problem}.",
         "take the lock with `with counter.lock:`, so it is released even on an error."),
        (problem is not None or lost <= 0,
         f"{threads} threads × {times} additions gave {counted:,}, not {expected:,}: "
         f"{lost:,} updates lost.",
         "hold `counter.lock` from the read to the write — `with counter.lock: counter.value "
         "+= 1` — and take that same lock in every thread, not a new Lock per call."),
        (problem is not None or lost >= 0,
         f"{threads} threads × {times} additions gave {counted:,}, more than {expected:,}.",
         "add 1, `times` times — nothing more."),
    ], "")


def _check_there(safe_add: Callable, interpreter: Interpreter, threads: int,
                 said: str) -> CheckResult:
    source = source_of(safe_add)
    if source is None:
        return passed(f"{said}. Its source could not be read, so it was not sent to "
                      f"{interpreter.label}: define it with `def` in a cell to try it there.")
    times = int(default(100_000, 30_000))
    try:
        there = run_in(interpreter, source, safe_add.__name__, threads, times)
    except (OSError, RuntimeError, subprocess.SubprocessError, ValueError) as error:
        return not_yet(f"running it in {interpreter.label} failed: {error}",
                       "the function must stand alone there: only `counter`, `times`, "
                       "`threading` and `time`.")
    expected = threads * times
    return first_problem([
        (there["problem"] is None,
         f"in {interpreter.label} with the GIL off, {there['problem']}.",
         "the function runs there on its own: use `counter.lock`, not a lock or a name "
         "from another cell."),
        (there["problem"] is not None or there["counted"] == expected,
         f"in {interpreter.label} with the GIL off, {threads} threads × {times:,} additions "
         f"gave {there['counted']:,}, not {expected:,}.",
         "every read and write of counter.value must happen while holding counter.lock."),
    ], f"{said}; in {interpreter.label} with the GIL "
       f"{'on (!)' if there['gil_enabled'] else 'off'}, all {expected:,} of {threads} × "
       f"{times:,} counted. The lock, not the GIL, keeps a shared counter right.")


if __name__ == "__main__":
    main()
