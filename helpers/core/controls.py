"""The frame the lab's smaller widgets share: bounded sliders, a Run button, a
progress bar, a plot area and a line of words.

A subclass builds its controls, passes them to :class:`RunPanel`, and writes
``run()``; :meth:`RunPanel.guarded` runs the measurement with the button
disabled, the bar moving, and a failure or an interrupt (■) shown in the widget.
Nothing runs while a slider moves (``continuous_update=False``): only on Run.

A notebook cell ends with ``panel.start()``: the widget is shown *first*, then its first
run starts, so the learner sees the bar move from the first second rather than a blank
busy cell. In classroom mode (``LAB_PRESENT=1``) the panel's text is larger.
"""
from __future__ import annotations

import html
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import TypeVar

import ipywidgets as widgets
from IPython.display import clear_output, display

from helpers.core.arguments import require_int
from helpers.core.progress import progress_updater
from helpers.core.runner import ProgressCallback
from helpers.core.settings import present_mode

T = TypeVar("T")
REDRAW_INTERVAL = 1.0  # s: partial results arriving faster than this are drawn less often
PRESENT_CLASS = "lab-present"
PRESENT_CSS = (f"<style>.{PRESENT_CLASS} .widget-label, .{PRESENT_CLASS} .widget-readout, "
               f".{PRESENT_CLASS} .widget-button, .{PRESENT_CLASS} .widget-html-content, "
               f".{PRESENT_CLASS} .widget-checkbox, .{PRESENT_CLASS} select "
               "{font-size: 18px !important; line-height: 1.3 !important;} "
               # a description sized for 13 px text would cut the larger one: let it grow
               f".{PRESENT_CLASS} .widget-label {{width: auto !important; "
               "min-width: var(--jp-widgets-inline-label-width); padding-right: 6px;}</style>")


class Throttle:
    """Redraw as results arrive, but at most once every ``interval`` seconds.

    The first call draws at once (the learner sees a plot as early as possible); a call
    that comes too soon is kept, and the newest kept one is drawn by :meth:`flush` when
    the run ends, so the last plot always shows every result. Drawing a figure takes
    0.1–0.3 s of the kernel's CPU: done after every one of many quick partial results,
    it would slow the run down and compete with the workers being measured.
    """

    def __init__(self, interval: float = REDRAW_INTERVAL) -> None:
        self.interval = interval
        self.drawn = 0  # how many times a redraw ran
        self._last = float("-inf")
        self._pending: Callable[[], None] | None = None

    def reset(self) -> None:
        """A new run: its first result is drawn at once."""
        self._last, self._pending = float("-inf"), None

    @contextmanager
    def run(self) -> Iterator["Throttle"]:
        """One run: reset on entry; on leaving — normally or by an error — draw what was
        held back, so the plot shows everything measured (not on an interrupt, ■)."""
        self.reset()
        try:
            yield self
        except Exception:
            with suppress(Exception):  # the run's own error is the one to show
                self.flush()
            raise
        self.flush()

    def __call__(self, redraw: Callable[[], None]) -> None:
        if time.monotonic() - self._last >= self.interval:
            self._draw(redraw)
        else:
            self._pending = redraw

    def flush(self) -> None:
        """Draw the newest result that was held back, if any."""
        if self._pending is not None:
            self._draw(self._pending)

    def _draw(self, redraw: Callable[[], None]) -> None:
        self._pending = None
        redraw()
        self.drawn += 1
        self._last = time.monotonic()


def bounded_slider(description: str, value: object, low: int, high: int, step: int = 1,
                   width: str = "420px", *, name: str | None = None) -> widgets.IntSlider:
    """An integer slider that cannot leave ``[low, high]`` and acts only when released.

    A starting ``value`` outside the range, or not an integer (2.7, NaN), raises
    ``ValueError`` naming the parameter (``name``, else the description) and the range:
    quietly moving it into range would run something the caller did not ask for.
    """
    value = require_int(name or description, value, low, high)
    return widgets.IntSlider(value=value, min=low, max=high, step=step,
                             description=description, continuous_update=False,
                             style={"description_width": "initial"},
                             layout=widgets.Layout(width=width))


class RunPanel:
    """Controls, then Run and a progress bar, then the plot, then the words.

    ``words_above_plot=True`` puts the words right under the Run row instead (the executor
    lab, :class:`helpers.core.lab.Lab`, keeps its header and sentences there). Status
    messages — "Running…", a failure, a stop (■) — go through :meth:`say`, which a
    subclass may override to frame them.
    """

    def __init__(self, controls: Sequence[widgets.Widget], *,
                 words_above_plot: bool = False) -> None:
        self.run_button = widgets.Button(description="Run", button_style="primary", icon="play")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="progress")
        self.output = widgets.Output()
        self.words = widgets.HTML()
        self.error: BaseException | None = None
        self.figure: object = None  # the plot shown last
        self.throttle = Throttle()
        self.run_button.on_click(lambda _: self.run())
        shown = [self.words, self.output] if words_above_plot else [self.output, self.words]
        self.ui = widgets.VBox([*controls, widgets.HBox([self.run_button, self.progress]),
                                *shown])
        if present_mode():
            self.ui.add_class(PRESENT_CLASS)
            self.ui.children = (widgets.HTML(PRESENT_CSS), *self.ui.children)

    def run(self) -> object:
        raise NotImplementedError

    def start(self) -> None:
        """Show the panel, then run it once: its progress bar moves from the first second.

        Returns nothing, so a cell ending in ``panel.start()`` shows the panel once. The
        results stay on the panel as after :meth:`run`.
        """
        display(self)
        self.run()

    def say(self, message: str) -> None:
        """Show a status message (HTML) in the words line."""
        self.words.value = message

    def show(self, figure: object) -> None:
        """Replace the plot (``wait=True``: no flicker while the new one is drawn)."""
        self.figure = figure
        with self.output:
            clear_output(wait=True)
            display(figure)

    def live(self, make_figure: Callable[[T], object],
             make_words: Callable[[T], str] | None = None) -> Callable[[T], None]:
        """An ``on_result`` callback: plot each partial result, throttled (:class:`Throttle`).

        With ``make_words``, each redraw also replaces the words with ``make_words(partial)``.
        """
        def redraw(partial: T) -> None:
            self.show(make_figure(partial))
            if make_words is not None:
                self.words.value = make_words(partial)

        return lambda partial: self.throttle(lambda: redraw(partial))

    def guarded(self, work: Callable[[ProgressCallback], T]) -> T | None:
        """``work(on_progress)`` with the button disabled; failures shown, not raised.

        Partial plots held back by :meth:`live` are drawn when the work ends or fails
        (:meth:`Throttle.run`). An interrupt (■) is shown, then raised: the cell stops.
        """
        self.run_button.disabled = True
        self.progress.value, self.progress.bar_style = 0, ""
        self.say("Running…")
        self.error = None
        try:
            with self.throttle.run():
                return work(progress_updater(self.progress))
        except KeyboardInterrupt:
            self._show_stopped()
            raise
        except Exception as error:  # shown to the learner; the notebook goes on
            self._show_failure(error)
            return None
        finally:
            self.run_button.disabled = False

    def _show_stopped(self) -> None:
        """The kernel's ■ stopped the run: say so (the workers are gone already)."""
        self.progress.bar_style = "warning"
        self.say("<b>Stopped:</b> the kernel was interrupted; no worker is left running. "
                 "Press Run to start again.")

    def _show_failure(self, error: Exception) -> None:
        """Keep ``error`` on the panel and show its type and message."""
        self.error = error
        self.progress.bar_style = "danger"
        self.say(f"<b>The run failed:</b> {html.escape(type(error).__name__)}: "
                 f"{html.escape(str(error))}")

    def _ipython_display_(self) -> None:
        display(self.ui)
