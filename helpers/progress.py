"""Progress bars for anything that takes longer than a second.

Every experiment accepts ``on_progress(done, total)``; these functions turn an
ipywidgets ``IntProgress`` into such a callback.
"""
from __future__ import annotations

import ipywidgets as widgets
from IPython.display import display

from .runner import ProgressCallback


def progress_updater(bar: widgets.IntProgress) -> ProgressCallback:
    """A callback that moves ``bar`` and turns it green when the work is done."""

    def update(done: int, total: int) -> None:
        if bar.max != total:
            bar.max = total
        bar.value = done
        bar.bar_style = "success" if done >= total else ""

    return update


def progress_bar(description: str = "progress") -> ProgressCallback:
    """Display a new progress bar and return the callback that moves it."""
    bar = widgets.IntProgress(value=0, min=0, max=1, description=description,
                              style={"description_width": "initial"})
    display(bar)
    return progress_updater(bar)
