"""Self-checks for the exercises: they say what is wrong and give a hint.

A check never raises on a wrong answer (a learner's "Run all" goes on); it returns
a :class:`CheckResult` that displays as ✓ or ✗ with the hint. Tests feed every
check a right and a wrong answer. The marks are plain text symbols (✓ ✗ ⚠ ✎) that
common fonts carry: emoji such as ✅ show as an empty box where no emoji font is installed.

An exercise cell starts with its answer names set to ``...`` (Python's Ellipsis), and
its solution stays in ``notebooks/solutions/`` until the learner loads it (``%load``).
A check that meets ``...`` says "not answered yet" and what to do — :func:`not_answered`,
found by :func:`blank` — so "Run all" never grades an empty exercise, nor a solution.

A check that rests on a timing can meet a **disturbed** measurement (other programs
took the CPUs, :mod:`helpers.core.noise`): then it neither passes nor fails the learner
on noise — :func:`inconclusive` shows ⚠️, what was seen, and "run it again".

Strict mode, for tests: with ``LAB_STRICT_CHECKS=1`` in the environment, a failed
:class:`CheckResult` raises :class:`CheckFailed` as it is made, so a notebook run
(nbval) fails when a reference solution does not pass its self-check. A cell that shows
a wrong answer on purpose wraps the check in :func:`wrong_on_purpose`. ``LAB_ANSWERS``
says what the tests fed the exercises: ``solutions`` (loaded: a "not answered" raises too)
or ``empty`` (as committed: anything but "not answered" raises). With ``LAB_CHECK_LOG``
naming a file, each result appends one line to it (``passed``, ``failed``,
``inconclusive`` or ``unanswered``, then the message): the tests count them.

A check that runs a learner's function in threads waits for them **once**: one deadline
for all (:func:`join_within`), so four stuck threads cost ``timeout`` seconds, not four
times it. A thread stuck on a lock nobody releases cannot be stopped from outside — Python
has no way to kill a thread — so :func:`stuck_threads` says so, and what to do.
"""
from __future__ import annotations

import html
import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from helpers.core.colours import BLUE, BLUISH_GREEN, VERMILLION

STRICT_ENV = "LAB_STRICT_CHECKS"
ANSWERS_ENV = "LAB_ANSWERS"  # solutions | empty: what the tests fed the exercises
LOG_ENV = "LAB_CHECK_LOG"
MARKS = {"passed": "✓", "failed": "✗", "inconclusive": "⚠", "unanswered": "✎"}
_ON_PURPOSE: ContextVar[bool] = ContextVar("wrong_on_purpose", default=False)


class CheckFailed(AssertionError):
    """A self-check failed while ``LAB_STRICT_CHECKS=1``: the message says what and why."""

    def __init__(self, result: CheckResult) -> None:
        super().__init__(str(result))
        self.result = result


def strict_checks() -> bool:
    """True when ``LAB_STRICT_CHECKS`` is set to 1 (or true/yes/on)."""
    return os.environ.get(STRICT_ENV, "").strip().lower() in ("1", "true", "yes", "on")


@contextmanager
def wrong_on_purpose() -> Iterator[None]:
    """Inside this block a failed check only shows ❌, even in strict mode: for cells that
    demonstrate a wrong answer (notebook 06 shows the racy bank failing its check)."""
    token = _ON_PURPOSE.set(True)
    try:
        yield
    finally:
        _ON_PURPOSE.reset(token)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one self-check: ``passed`` and the message shown to the learner."""

    passed: bool
    message: str
    inconclusive: bool = False  # the measurement was disturbed: neither right nor wrong
    answered: bool = True  # False: the exercise was left empty (``...``)

    def __post_init__(self) -> None:
        if _ON_PURPOSE.get():
            return  # shown to make a point, not an exercise's answer: neither logged nor raised
        _log(self)
        if strict_checks() and not _as_expected(self):
            raise CheckFailed(self)

    @property
    def state(self) -> str:
        """``passed``, ``failed``, ``inconclusive`` or ``unanswered``."""
        if not self.answered:
            return "unanswered"
        return "inconclusive" if self.inconclusive else "passed" if self.passed else "failed"

    def __bool__(self) -> bool:
        """True unless the answer was found wrong or missing (an inconclusive check fails
        no one)."""
        return self.passed or self.inconclusive

    def __str__(self) -> str:
        return f"{MARKS[self.state]} {self.message}"

    def _repr_html_(self) -> str:
        colour = {"passed": BLUISH_GREEN, "failed": VERMILLION}.get(self.state, BLUE)
        parts = html.escape(str(self)).split("**")  # the whole line is bold: **…** underlined
        text = "".join(f"<u>{part}</u>" if i % 2 else part for i, part in enumerate(parts))
        if text.count("`") % 2 == 0:  # `name` in code font, as in the notebook's Markdown
            pieces = text.split("`")
            text = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(pieces))
        return f"<p style='color:{colour}'><b>{text}</b></p>"


def _as_expected(result: CheckResult) -> bool:
    """In strict mode: may this result stand, given what the exercises were fed?"""
    fed = os.environ.get(ANSWERS_ENV, "").strip().lower()
    if fed == "empty":
        return result.state == "unanswered"
    if result.state == "unanswered":
        return fed != "solutions"
    return result.state != "failed"


def _log(result: CheckResult) -> None:
    """One line per result in ``$LAB_CHECK_LOG``, for the tests that count them."""
    path = os.environ.get(LOG_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as log:
            print(result.state, result.message.replace("\n", " "), file=log)


def blank(answer: object) -> bool:
    """True when ``answer`` is still the exercise's placeholder ``...``, or holds one
    (a dict, list or tuple with a ``...`` left in it)."""
    if answer is Ellipsis:
        return True
    if isinstance(answer, dict):
        return any(blank(value) for value in answer.values())
    if isinstance(answer, (list, tuple)):
        return any(blank(item) for item in answer)
    return False


def not_answered(what_to_do: str) -> CheckResult:
    """The exercise is still empty: neither right nor wrong. ``what_to_do`` says which
    names to fill in (the solution can be loaded with the cell's ``%load`` line)."""
    return CheckResult(False, f"Not answered yet: {what_to_do}", answered=False)


def passed(message: str) -> CheckResult:
    return CheckResult(True, message)


def inconclusive(sentence: str) -> CheckResult:
    """Neither ✓ nor ✗: the measurement the check rests on was disturbed. ``sentence``
    says what was seen and that it was disturbed (e.g. from
    :func:`helpers.core.noise.run_disturbance`). Not ``passed``, yet truthy: it fails no
    one, and never raises in strict mode."""
    return CheckResult(False, sentence, inconclusive=True)


def not_yet(problem: str, hint: str) -> CheckResult:
    """A failed check: what is wrong, then a hint towards the fix."""
    return CheckResult(False, f"Not yet: {problem} Hint: {hint}")


def first_problem(checks: list[tuple[bool, str, str]], success: str) -> CheckResult:
    """Return the first failing ``(ok, problem, hint)`` as :func:`not_yet`, else success."""
    for ok, problem, hint in checks:
        if not ok:
            return not_yet(problem, hint)
    return passed(success)


def join_within(threads: Sequence[threading.Thread], timeout: float) -> list[threading.Thread]:
    """Wait for every thread in ``threads``, all together at most ``timeout`` seconds (one
    deadline: each join gets only the time left); return those still running then."""
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [thread for thread in threads if thread.is_alive()]


def stuck_threads(stuck: int, started: int, timeout: float) -> str:
    """What a check says when ``stuck`` of its ``started`` threads were still running after
    ``timeout`` seconds (no final full stop: the caller ends the sentence)."""
    return (f"{stuck} of {started} threads were still running after {timeout:g} s — waiting "
            "for a lock nobody released? Threads stuck on a lock cannot be stopped: they "
            "stay blocked until you restart the kernel (Kernel → Restart)")
