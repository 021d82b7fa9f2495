"""Predict, then measure: the learner's guess, drawn beside the result and compared in words.

Before a key measurement a notebook asks for a number, in a variable::

    my_guess = None  # how many times faster than serial will processes be? e.g. 1.5

The lab widget or plot that follows takes it (``guess=my_guess``): the plot marks it
with :func:`draw_guess`, and :func:`guess_sentence` compares it with what was measured.
Leaving it ``None`` (or ``...``) skips the guess: the measurement, its plot and its other
words are exactly the same. A guess outside its range is a ``ValueError`` naming it.

A measurement called **disturbed** (:mod:`helpers.core.noise`) cannot settle a guess:
the sentence says so, and asks for another run.
"""
from __future__ import annotations

from typing import Any

from helpers.core.arguments import require_float
from helpers.core.colours import BLACK

CLOSE = 0.15  # a measurement within ±15 % of the guess is "close to it"
GUESS_STYLE = {"color": BLACK, "linestyle": ":", "linewidth": 2}


def check_guess(name: str, value: object, low: float, high: float) -> float | None:
    """``None`` for no guess (``None`` or ``...``), else ``value`` as a float in
    ``[low, high]`` (``ValueError`` naming ``name`` otherwise)."""
    if value is None or value is Ellipsis:
        return None
    return require_float(name, value, low, high)


def _number(value: float, digits: int, unit: str) -> str:
    return f"{value:.{digits}f}{unit}"


def guess_sentence(guess: float | None, measured: float, *, quantity: str, unit: str = "×",
                   digits: int = 1, disturbed: bool = False) -> str:
    """One sentence comparing the guess for ``quantity`` with the measured value ("" when
    there was no guess).

    >>> guess_sentence(1.5, 1.9, quantity="the speedup")
    'You guessed 1.5× for the speedup; your machine measured 1.9×: more than you guessed.'
    """
    if guess is None:
        return ""
    said = (f"You guessed {_number(guess, digits, unit)} for {quantity}; your machine "
            f"measured {_number(measured, digits, unit)}")
    if disturbed:
        return (f"{said}, but that run was **disturbed**, so it cannot settle your guess: "
                "run it again on a quieter machine.")
    if guess > 0 and abs(measured - guess) <= CLOSE * guess:
        return f"{said}: close to your guess."
    return f"{said}: {'more' if measured > guess else 'less'} than you guessed."


def draw_guess(ax: Any, guess: float | None, *, along: str = "y",
               label: str = "your guess") -> None:
    """Mark ``guess`` on ``ax``: a dotted black line across the plot (``along="y"``: a
    horizontal line at that y value; ``"x"``: a vertical one), in the legend as ``label``.
    Nothing is drawn for ``None``."""
    if guess is None:
        return
    line = ax.axhline if along == "y" else ax.axvline
    line(guess, label=label, **GUESS_STYLE)
