"""Notebook 07's key points: those that state a result come from what this run measured.

The GIL's conclusion comes from section 1 (:func:`~helpers.free_threading.gil_off.
describe_gil_modes`), the race from section 4, subinterpreters from section 5; where a
section measured nothing (no free-threaded Python, no 3.14+), its point says what holds
in general — never a number that was not measured.
"""
from __future__ import annotations

from IPython.display import Markdown

from helpers.core.experiments import Comparison
from helpers.free_threading.gil_off import describe_gil_modes
from helpers.free_threading.subinterpreters import Measured, summary_line
from helpers.shared_state.races import Race

EXTENSIONS = ("Importing a C extension that has not declared free-threading support turns "
              "the GIL back on for the whole process, with a `RuntimeWarning`.")
LOCKS = ("Free-threading makes threads parallel, not your code thread-safe: `+=` is a read "
         "then a write, so hold one lock from the read to the write.")


def race_point(races: tuple[Race, Race] | None) -> str:
    """Section 4's race — GIL off, GIL on — as measured, or the rule alone."""
    if races is None:
        return LOCKS
    off, on = races
    if not off.lost and not on.lost:
        return (f"Plain `+=` from {off.threads} threads lost no update here this time, GIL "
                "off or on — yet it stays a race. " + LOCKS)
    return (f"Plain `+=` from {off.threads} threads lost {off.lost:,} of {off.expected:,} "
            f"updates with the GIL off here ({on.lost:,} with it on). " + LOCKS)


def key_points(modes: dict[str, Comparison] | None, races: tuple[Race, Race] | None,
               interpreters: Measured | None) -> Markdown:
    """3–5 bullets: the GIL's conclusion (if section 1 measured), the race, the extension
    rule, and subinterpreters."""
    points = [f"**GIL on and off** (section 1): {describe_gil_modes(modes).lines[-1]}"
              ] if modes else []
    points += [race_point(races), EXTENSIONS, summary_line(interpreters)]
    return Markdown("\n".join(f"- {point}" for point in points))
