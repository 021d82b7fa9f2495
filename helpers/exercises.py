"""Self-checks for the exercises: they say what is wrong and give a hint.

A check never raises on a wrong answer (a learner's "Run all" goes on); it returns
a :class:`CheckResult` that displays as ✅ or ❌ with the hint. Tests feed every
check a right and a wrong answer.
"""
from __future__ import annotations

import html
from dataclasses import dataclass


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one self-check: ``passed`` and the message shown to the learner."""

    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return ("✅ " if self.passed else "❌ ") + self.message

    def _repr_html_(self) -> str:
        colour = "#009E73" if self.passed else "#D55E00"
        return f"<p style='color:{colour}'><b>{html.escape(str(self))}</b></p>"


def passed(message: str) -> CheckResult:
    return CheckResult(True, message)


def not_yet(problem: str, hint: str) -> CheckResult:
    """A failed check: what is wrong, then a hint towards the fix."""
    return CheckResult(False, f"Not yet: {problem} Hint: {hint}")


def first_problem(checks: list[tuple[bool, str, str]], success: str) -> CheckResult:
    """Return the first failing ``(ok, problem, hint)`` as :func:`not_yet`, else success."""
    for ok, problem, hint in checks:
        if not ok:
            return not_yet(problem, hint)
    return passed(success)
