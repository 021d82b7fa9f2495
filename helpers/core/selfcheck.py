"""Self-checks for the exercises: they say what is wrong and give a hint.

A check never raises on a wrong answer (a learner's "Run all" goes on); it returns
a :class:`CheckResult` that displays as ✅ or ❌ with the hint. Tests feed every
check a right and a wrong answer.

A check that rests on a timing can meet a **disturbed** measurement (other programs
took the CPUs, :mod:`helpers.core.noise`): then it neither passes nor fails the learner
on noise — :func:`inconclusive` shows ⚠️, what was seen, and "run it again".

Strict mode, for tests: with ``LAB_STRICT_CHECKS=1`` in the environment, a failed
:class:`CheckResult` raises :class:`CheckFailed` as it is made, so a notebook run
(nbval) fails when a reference solution does not pass its self-check. A cell that shows
a wrong answer on purpose wraps the check in :func:`wrong_on_purpose`.
"""
from __future__ import annotations

import html
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from helpers.core.colours import BLUE, BLUISH_GREEN, VERMILLION

STRICT_ENV = "LAB_STRICT_CHECKS"
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

    def __post_init__(self) -> None:
        if (not self.passed and not self.inconclusive and strict_checks()
                and not _ON_PURPOSE.get()):
            raise CheckFailed(self)

    def __bool__(self) -> bool:
        """True unless the answer was found wrong (an inconclusive check fails no one)."""
        return self.passed or self.inconclusive

    def __str__(self) -> str:
        mark = "⚠️ " if self.inconclusive else "✅ " if self.passed else "❌ "
        return mark + self.message

    def _repr_html_(self) -> str:
        colour = BLUE if self.inconclusive else BLUISH_GREEN if self.passed else VERMILLION
        parts = html.escape(str(self)).split("**")  # the whole line is bold: **…** underlined
        text = "".join(f"<u>{part}</u>" if i % 2 else part for i, part in enumerate(parts))
        return f"<p style='color:{colour}'><b>{text}</b></p>"


def passed(message: str) -> CheckResult:
    return CheckResult(True, message)


def inconclusive(sentence: str) -> CheckResult:
    """Neither ✅ nor ❌: the measurement the check rests on was disturbed. ``sentence``
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
