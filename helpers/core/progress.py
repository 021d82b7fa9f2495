"""Progress bars for anything that takes longer than a second.

Every experiment accepts ``on_progress(done, total)``; these functions turn an
ipywidgets ``IntProgress`` into such a callback, and :func:`checked` makes one that can
stop the run it reports on (a lab's Stop button).
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import ipywidgets as widgets
from IPython.display import display

from helpers.core.arguments import require_float
from helpers.core.runner import ProgressCallback

REDRAW_EVERY = 0.1  # s: a progress bar moves at most this often (and at its end)


def progress_updater(bar: widgets.IntProgress,
                     interval: float = REDRAW_EVERY) -> ProgressCallback:
    """A callback that moves ``bar`` and turns it green when the work is done.

    It redraws at most once per 1 % of the work and once per ``interval`` seconds (and
    always at the first task and at the end): a run of thousands of tiny tasks does not
    flood the browser with updates, and a fast run spends its timed part on its tasks
    rather than on the kernel's messages for the bar (a run of 120 tasks of 0.3 ms sent
    one after every task before).
    """
    step = {"last": -1, "at": -math.inf}

    def update(done: int, total: int) -> None:
        if bar.max != total:
            bar.max = total
        now = time.perf_counter()
        small = done - step["last"] < max(1, total // 100) or now - step["at"] < interval
        if done < total and small and done > step["last"]:
            return
        step["last"], step["at"] = done, now
        bar.value = done
        bar.bar_style = "success" if done >= total else ""

    return update


def checked(on_progress: ProgressCallback, check: Callable[[], None]) -> ProgressCallback:
    """``on_progress`` that calls ``check()`` first: ``check`` raises
    (:class:`~helpers.core.runner.RunStopped`) to stop the run between two tasks.

    Every experiment reports each finished task here, whatever runs it — a pool, another
    Python streaming its progress, a loop of traces — so this is the one place where every
    lab's run can be stopped.
    """
    def update(done: int, total: int) -> None:
        check()
        on_progress(done, total)

    return update


def progress_bar(description: str = "progress") -> ProgressCallback:
    """Display a new progress bar and return the callback that moves it."""
    bar = widgets.IntProgress(value=0, min=0, max=1, description=description,
                              style={"description_width": "initial"})
    display(bar)
    return progress_updater(bar)


@contextmanager
def elapsed_bar(description: str, expected_seconds: float
                ) -> Iterator[widgets.FloatProgress]:
    """Show a bar that fills with elapsed time while a call that cannot report progress
    (a subprocess, say) runs; it never reaches the end before the call returns."""
    expected = require_float("expected_seconds", expected_seconds, 0.01, 3600)
    bar = widgets.FloatProgress(value=0, min=0, max=1, description=description,
                                style={"description_width": "initial"})
    label = widgets.Label("0.0 s")
    display(widgets.HBox([bar, label]))
    done = threading.Event()
    start = time.perf_counter()

    def tick() -> None:
        while not done.wait(0.2):
            elapsed = time.perf_counter() - start
            bar.value = min(elapsed / expected, 0.95)
            label.value = f"{elapsed:.1f} s"

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        yield bar
        bar.bar_style = "success"
    except BaseException:
        bar.bar_style = "danger"
        raise
    finally:
        done.set()
        ticker.join(1)
        bar.value = 1
        label.value = f"{time.perf_counter() - start:.1f} s"
