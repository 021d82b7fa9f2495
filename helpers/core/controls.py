"""The frame the lab's smaller widgets share: bounded sliders, a Run and a Stop button,
a progress bar, a plot area and a line of words.

A subclass builds its controls, passes them to :class:`RunPanel`, and writes
``run()``; :meth:`RunPanel.guarded` runs the measurement with Run disabled, Stop enabled,
the bar moving, and a failure, a Stop or an interrupt (■) shown in the widget.
Nothing runs while a slider moves (``continuous_update=False``): only on Run.

How long a Run takes is said before it runs: a subclass's ``estimate()`` (seconds, from
:mod:`helpers.core.estimates`) fills the line above Run — "A Run with these settings takes
about N s here" — whenever a control changes, and a Run estimated above
:data:`~helpers.core.estimates.RUN_BUDGET_SECONDS`, or needing more memory than the machine
has (``memory_needed()``), is refused in words before anything runs.

A notebook cell ends with ``panel.start()``: the widget is shown *first*, then its first
run starts, so the learner sees the bar move from the first second rather than a blank
busy cell. In classroom mode (``LAB_PRESENT=1``) the panel's text is larger.
"""
from __future__ import annotations

import html
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import TypeVar

import ipywidgets as widgets
from IPython import get_ipython
from IPython.display import clear_output, display

from helpers.core.arguments import require_int
from helpers.core.estimates import RUN_BUDGET_SECONDS, about
from helpers.core.memory import available_memory, gibibytes
from helpers.core.progress import checked, progress_updater
from helpers.core.runner import ProgressCallback, RunStopped, stop_checked
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


def route_clicks_elsewhere(button: widgets.Button) -> None:
    """Send the next click on ``button`` to a kernel shell that the run in this thread
    does not hold, so that it is handled while the run goes on.

    JupyterLab (4.4+) sends widget messages to a *subshell* of the kernel — a thread of its
    own — so a click can be handled while a cell runs. ipykernel 7.4, though, routes a
    widget's messages to the shell that last wrote to the widget (its comm's
    ``_reply_subshell_id``), and the run has just written to ``button`` (enabling it): the
    click would wait behind the run. So a run in the main thread (a cell's, or a click's:
    :meth:`RunPanel._run_clicked` hands those to it) drops that route, and the click goes
    where the browser sent it, the widget subshell; a run in another thread (one that code
    in a cell started) routes the click to the main shell, free unless a cell is running. A kernel
    without subshells handles one message at a time: there a Stop click waits until the
    run ends (and is then ignored); the kernel's ■ stops such a run.
    """
    comm = getattr(button, "comm", None)
    if comm is None or not hasattr(comm, "_reply_subshell_for"):  # no ipykernel 7.4 routing
        return
    if threading.current_thread() is threading.main_thread():
        vars(comm).pop("_reply_subshell_id", None)
    else:
        comm._reply_subshell_id = None  # None: the main shell


def main_thread_loop() -> object | None:
    """The IOLoop of the kernel's main thread (where cells run), or None outside a kernel."""
    kernel = getattr(get_ipython(), "kernel", None)
    return getattr(kernel, "io_loop", None)


class RunPanel:
    """Controls, then Run, Stop and a progress bar, then the plot, then the words.

    ``words_above_plot=True`` puts the words right under the Run row instead (the executor
    lab, :class:`helpers.core.lab.Lab`, keeps its header and sentences there). Status
    messages — "Running…", a failure, a stop (Stop or ■) — go through :meth:`say`, which a
    subclass may override to frame them. Stop is enabled only while a run is in progress.

    A subclass that can say how long a Run takes overrides :meth:`estimate` (and, if a Run
    can need much memory, :meth:`memory_needed`); ``advice`` says what to change when a Run
    is refused. The line above Run follows every control.
    """

    advice = "lower a slider"  # what to change when a Run is refused (no full stop)

    def __init__(self, controls: Sequence[widgets.Widget], *,
                 words_above_plot: bool = False) -> None:
        self.run_button = widgets.Button(description="Run", button_style="primary", icon="play")
        self.stop_button = widgets.Button(description="Stop", icon="stop", disabled=True,
                                          tooltip="End this run; its worker processes stop")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="progress")
        self.estimate_line = widgets.HTML()
        self.output = widgets.Output()
        self.words = widgets.HTML()
        self.error: BaseException | None = None
        self.figure: object = None  # the plot shown last
        self.throttle = Throttle()
        self.running = False  # a run is in progress (Stop is enabled)
        self._stop_asked = threading.Event()
        self.run_button.on_click(lambda _: self._run_clicked())
        self.stop_button.on_click(lambda _: self.stop())
        shown = [self.words, self.output] if words_above_plot else [self.output, self.words]
        self.ui = widgets.VBox([*controls, self.estimate_line,
                                widgets.HBox([self.run_button, self.stop_button,
                                              self.progress]), *shown])
        for control in _value_widgets(controls):  # the estimate follows every control
            control.observe(lambda _: self.say_estimate(), "value")
        self.say_estimate()
        if present_mode():
            self.ui.add_class(PRESENT_CLASS)
            self.ui.children = (widgets.HTML(PRESENT_CSS), *self.ui.children)

    def run(self) -> object:
        raise NotImplementedError

    def _run_clicked(self) -> None:
        """A click on Run: run now — or, when the click came on a kernel *subshell*'s thread
        (JupyterLab 4.4+ sends widget messages there), on the kernel's main thread, as a
        cell's run would: the subshell is then free to handle a click on Stop (with any
        ipykernel, 7.3 on Python 3.10 included), and the kernel's ■ reaches the run. If a
        cell is running, the run starts when it ends; Run is disabled meanwhile."""
        loop = main_thread_loop()
        if loop is None or threading.current_thread() is threading.main_thread():
            self.run()
            return
        self.run_button.disabled = True  # a second click must not queue a second run
        self.say("Starting… (after the cell that is running, if one is)")
        loop.add_callback(self._run_from_loop)

    def _run_from_loop(self) -> None:
        """:meth:`run` as a callback of the kernel's main loop. The kernel ignores its
        interrupt (■, a SIGINT) between cells and turns it into ``KeyboardInterrupt`` only
        while one runs: so does this run. The interrupt that ends the run is shown by the
        panel and stops here — raised further, it would end the kernel's loop, not a cell."""
        saved = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            self.run()
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGINT, saved)
            self.run_button.disabled = self.running

    def estimate(self) -> float | None:
        """About how many seconds a Run with the controls as they are takes here (None:
        not estimated)."""
        return None

    def memory_needed(self) -> int | None:
        """About how many bytes a Run with the controls as they are adds at its peak (None:
        little, not estimated)."""
        return None

    def say_estimate(self) -> None:
        """The line above Run: how long a Run with the controls as they are takes here."""
        seconds = self.estimate()
        over = (f" — more than the lab's limit of {about(RUN_BUDGET_SECONDS)}: "
                f"{html.escape(self.advice)}" if seconds and seconds > RUN_BUDGET_SECONDS else "")
        self.estimate_line.value = ("" if seconds is None else
                                    f"<small>A Run with these settings takes {about(seconds)} "
                                    f"here{over}.</small>")

    def refusal(self) -> str | None:
        """Why a Run with the controls as they are must not start (it would take longer than
        the lab's limit, or need more memory than there is), in words; None: it may."""
        seconds = self.estimate()
        if seconds is not None and seconds > RUN_BUDGET_SECONDS:
            return (f"<b>Not run: this Run would take {about(seconds)} here, more than the "
                    f"lab's limit of {about(RUN_BUDGET_SECONDS)}.</b> "
                    f"{html.escape(self.advice[:1].upper() + self.advice[1:])}.")
        need = self.memory_needed()
        room = None if need is None else available_memory()
        if need is not None and need > room:
            return (f"<b>Not run: this Run would need about {gibibytes(need)} of memory; "
                    f"this machine has {gibibytes(room)} available.</b> "
                    f"{html.escape(self.advice[:1].upper() + self.advice[1:])}.")
        return None

    def start(self) -> None:
        """Show the panel, then run it once: its progress bar moves from the first second.

        Returns nothing, so a cell ending in ``panel.start()`` shows the panel once. The
        results stay on the panel as after :meth:`run`.
        """
        display(self)
        self.run()

    def stop(self) -> None:
        """Ask the run in progress to end (the Stop button); nothing happens between runs.

        Safe from another thread (a click is handled in one while the run goes on). The run
        notices at its next check — after each finished task, and every
        :data:`~helpers.core.runner.STOP_POLL` s while it waits for one — and raises
        :class:`~helpers.core.runner.RunStopped`, which shuts its pool down on the way out.
        """
        if self.running:
            self.stop_button.disabled = True
            self._stop_asked.set()

    def _check_stop(self) -> None:
        """Raise :class:`~helpers.core.runner.RunStopped` if Stop was pressed during this run."""
        if self._stop_asked.is_set():
            raise RunStopped("stopped by the Stop button")

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
        """``work(on_progress)`` with Run disabled and Stop enabled; failures shown, not raised.

        ``on_progress`` also checks for Stop (:func:`~helpers.core.progress.checked`), and so
        does a run waiting for its tasks (:func:`~helpers.core.runner.stop_checked`): Stop
        ends the work with :class:`~helpers.core.runner.RunStopped`, shown, not raised.
        Partial plots held back by :meth:`live` are drawn when the work ends, fails or is
        stopped (:meth:`Throttle.run`). An interrupt (■) is shown, then raised: the cell stops.
        A Run that :meth:`refusal` refuses does not start: the reason is shown instead.
        """
        reason = self.refusal()
        if reason is not None:
            self.say(reason)
            return None
        self._begin_run()
        try:
            with self.throttle.run(), stop_checked(self._check_stop):
                return work(checked(progress_updater(self.progress), self._check_stop))
        except RunStopped:
            self._show_stopped("you pressed Stop")
            return None
        except KeyboardInterrupt:
            self._show_stopped("the kernel was interrupted")
            raise
        except Exception as error:  # shown to the learner; the notebook goes on
            self._show_failure(error)
            return None
        finally:
            self.running = False
            self.run_button.disabled, self.stop_button.disabled = False, True

    def _begin_run(self) -> None:
        """Run disabled, Stop enabled (its click sent where it is handled during the run),
        the bar at zero, "Running…"."""
        self._stop_asked.clear()
        self.running = True
        self.run_button.disabled, self.stop_button.disabled = True, False
        route_clicks_elsewhere(self.stop_button)
        self.progress.value, self.progress.bar_style = 0, ""
        self.say("Running…")
        self.error = None

    def _show_stopped(self, why: str) -> None:
        """The run was stopped (``why``): say so. Worker processes are gone already; a thread
        cannot be killed, so one that was running a task finishes it on its own."""
        self.progress.bar_style = "warning"
        self.say(f"<b>Stopped:</b> {why}; no worker process is left running (a thread "
                 "finishes the task it was running). Press Run to start again.")

    def _show_failure(self, error: Exception) -> None:
        """Keep ``error`` on the panel and show its type and message."""
        self.error = error
        self.progress.bar_style = "danger"
        self.say(f"<b>The run failed:</b> {html.escape(type(error).__name__)}: "
                 f"{html.escape(str(error))}")

    def _ipython_display_(self) -> None:
        display(self.ui)


def _value_widgets(controls: Sequence[widgets.Widget]) -> Iterator[widgets.Widget]:
    """Every widget with a ``value`` among ``controls`` and inside their boxes."""
    for control in controls:
        if isinstance(control, widgets.Box):
            yield from _value_widgets(control.children)
        elif isinstance(control, widgets.ValueWidget):
            yield control
