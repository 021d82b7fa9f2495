"""Lab-wide settings read from environment variables — in one place.

``LAB_QUICK=1``
    Quick mode: every default work size shrinks so a notebook runs in seconds.
    Tests and ``binder/start`` turn it on. The code path is the same in both modes:
    only the numbers returned by :func:`default` change.
``LAB_START_METHOD=fork|spawn|forkserver``
    Forces the multiprocessing start method for the whole lab, so the test suite
    can run every notebook under each method.
``LAB_PRESENT=1``
    Classroom mode, for a projector: larger text in plots and widgets, every figure
    inside a 1280×720 screen. Set it before ``make lab``, or in one notebook with
    ``%env LAB_PRESENT=1`` (read at each call, like the others). Sizes do not change.
"""
from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

from helpers.core.arguments import require_choice

HELPERS_DIR = Path(__file__).resolve().parent.parent  # the helpers package
SOURCE_ROOT = HELPERS_DIR.parent  # the folder that holds helpers/: PYTHONPATH for another Python

QUICK_ENV = "LAB_QUICK"
START_METHOD_ENV = "LAB_START_METHOD"
PRESENT_ENV = "LAB_PRESENT"

_FALSE_WORDS = {"", "0", "false", "no", "off"}


def quick_mode() -> bool:
    """True when ``LAB_QUICK`` is set to anything but 0/false/no/off."""
    return os.environ.get(QUICK_ENV, "").strip().lower() not in _FALSE_WORDS


def plain_child_output() -> None:
    """Ask every Python this process starts for plain, uncoloured tracebacks.

    ipykernel sets ``FORCE_COLOR=1`` in the kernel's environment, and Python 3.13+ then
    colours the tracebacks of every child it starts (workers, scripts): their captured
    text would carry ANSI escape codes into a notebook. ``PYTHON_COLORS=0`` wins over
    ``FORCE_COLOR``; one that is already set (your choice) is kept.
    """
    os.environ.setdefault("PYTHON_COLORS", "0")


def present_mode() -> bool:
    """True when ``LAB_PRESENT`` is set to anything but 0/false/no/off (classroom mode)."""
    return os.environ.get(PRESENT_ENV, "").strip().lower() not in _FALSE_WORDS


def default(normal: int | float, quick: int | float) -> int | float:
    """The default size to use now: ``quick`` in quick mode, ``normal`` otherwise."""
    return quick if quick_mode() else normal


def start_method() -> str:
    """The start method the lab uses for processes.

    ``LAB_START_METHOD`` if set, else the platform's default: ``fork`` on Linux
    up to Python 3.13, ``forkserver`` on Linux from 3.14, ``spawn`` on macOS and
    Windows. Reading it does not fix multiprocessing's global default.
    """
    forced = os.environ.get(START_METHOD_ENV, "").strip()
    allowed = multiprocessing.get_all_start_methods()
    if forced:
        if forced not in allowed:
            raise ValueError(f"{START_METHOD_ENV} must be one of {allowed}, got {forced!r}")
        return forced
    return multiprocessing.get_start_method(allow_none=True) or allowed[0]


def resolve_start_method(method: str | None) -> str:
    """``method`` checked against this platform's methods; ``None`` means the lab default."""
    if method is None:
        return start_method()
    return require_choice("start_method", method, multiprocessing.get_all_start_methods())
