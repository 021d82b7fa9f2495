"""The widgets' shared frame: throttled live plots, and what a failed run still shows."""
from __future__ import annotations

import ipywidgets as widgets
import pytest

from helpers.core.controls import RunPanel, Throttle


def test_the_first_result_is_drawn_at_once_and_the_newest_held_one_at_the_end():
    drawn = []
    throttle = Throttle(interval=60)
    for value in (1, 2, 3):
        throttle(lambda value=value: drawn.append(value))
    assert drawn == [1]  # 2 and 3 came too soon
    throttle.flush()
    assert drawn == [1, 3] and throttle.drawn == 2  # only the newest: it includes 2's data
    throttle.flush()
    assert drawn == [1, 3]  # nothing left to draw


def test_with_no_interval_every_result_is_drawn():
    drawn = []
    throttle = Throttle(interval=0)
    for value in (1, 2, 3):
        throttle(lambda value=value: drawn.append(value))
    throttle.flush()
    assert drawn == [1, 2, 3]


def test_a_new_run_draws_its_first_result_at_once():
    drawn = []
    throttle = Throttle(interval=60)
    throttle(lambda: drawn.append("run 1"))
    throttle.reset()
    throttle(lambda: drawn.append("run 2"))
    assert drawn == ["run 1", "run 2"]


class Panel(RunPanel):
    def __init__(self, fail_after: int | None = None) -> None:
        super().__init__([])
        self.fail_after = fail_after

    def run(self):
        def work(on_progress):
            plot = self.live(lambda partial: f"figure of {partial}")
            for step in range(1, 5):
                plot(list(range(1, step + 1)))
                if step == self.fail_after:
                    raise RuntimeError("worker died")
            return "done"
        return self.guarded(work)


@pytest.mark.parametrize("interval", [60, 0])
def test_the_last_plot_shows_every_result(interval):
    panel = Panel()
    panel.throttle.interval = interval
    assert panel.run() == "done"
    assert panel.figure == "figure of [1, 2, 3, 4]"
    assert panel.throttle.drawn == (2 if interval else 4)


def test_a_failed_run_still_shows_what_was_measured_before_it_failed():
    panel = Panel(fail_after=3)
    panel.throttle.interval = 60
    assert panel.run() is None
    assert "worker died" in panel.words.value and isinstance(panel.error, RuntimeError)
    assert panel.figure == "figure of [1, 2, 3]"


def test_a_run_draws_what_it_held_back_on_error_but_not_on_interrupt():
    drawn = []
    throttle = Throttle(interval=60)
    with pytest.raises(RuntimeError):
        with throttle.run():
            throttle(lambda: drawn.append(1))
            throttle(lambda: drawn.append(2))
            raise RuntimeError("worker died")
    assert drawn == [1, 2]
    with pytest.raises(KeyboardInterrupt):
        with throttle.run():
            throttle(lambda: drawn.append(3))
            throttle(lambda: drawn.append(4))
            raise KeyboardInterrupt
    assert drawn == [1, 2, 3]  # ■ stops at once: nothing more is drawn


def test_the_words_sit_under_the_plot_unless_asked_to_sit_above_it():
    below = Panel()
    assert below.ui.children[-2:] == (below.output, below.words)
    above = RunPanel([], words_above_plot=True)
    assert above.ui.children[-2:] == (above.words, above.output)


class FramedPanel(Panel):
    """Status messages framed, as the executor lab puts its header above them."""

    def say(self, message: str) -> None:
        self.words.value = f"[{message}]"


def test_status_messages_go_through_say_so_a_subclass_can_frame_them():
    panel = FramedPanel(fail_after=2)
    assert panel.run() is None
    assert panel.words.value == "[<b>The run failed:</b> RuntimeError: worker died]"
    assert panel.progress.bar_style == "danger" and not panel.run_button.disabled


class InterruptedPanel(RunPanel):
    def __init__(self) -> None:
        super().__init__([])

    def run(self):
        def work(on_progress):
            on_progress(1, 4)
            raise KeyboardInterrupt
        return self.guarded(work)


def test_an_interrupt_is_shown_in_the_panel_then_raised():
    panel = InterruptedPanel()
    with pytest.raises(KeyboardInterrupt):
        panel.run()
    assert panel.words.value.startswith("<b>Stopped:</b>") and "Running" not in panel.words.value
    assert panel.progress.bar_style == "warning" and panel.progress.value == 1
    assert not panel.run_button.disabled and panel.error is None


def test_live_words_are_rewritten_with_each_drawn_plot():
    panel = Panel()
    panel.throttle.interval = 60
    plot = panel.live(lambda partial: f"figure of {partial}", lambda partial: f"{partial} so far")

    def work(on_progress):
        for step in (1, 2, 3):
            plot(step)
        assert panel.words.value == "1 so far"  # 2 and 3 were held back
        return "done"

    assert panel.guarded(work) == "done"
    assert (panel.figure, panel.words.value) == ("figure of 3", "3 so far")


def test_start_shows_the_panel_before_its_first_run(monkeypatch):
    """A cell ending in ``panel.start()``: the widget is on screen while the run goes on."""
    import helpers.core.controls as controls

    events = []
    monkeypatch.setattr(controls, "display", lambda shown: events.append(("shown", shown)))

    class Recording(RunPanel):
        def run(self):
            events.append(("run", None))
            return "result"

    panel = Recording([])
    assert panel.start() is None  # nothing for the cell to display a second time
    assert events == [("shown", panel), ("run", None)]


def test_classroom_mode_enlarges_the_panel_text(monkeypatch):
    from helpers.core.controls import PRESENT_CLASS, PRESENT_CSS

    monkeypatch.delenv("LAB_PRESENT", raising=False)
    plain = RunPanel([])
    assert PRESENT_CLASS not in plain.ui._dom_classes
    monkeypatch.setenv("LAB_PRESENT", "1")
    shown = RunPanel([])
    assert PRESENT_CLASS in shown.ui._dom_classes
    assert shown.ui.children[0].value == PRESENT_CSS and "font-size: 18px" in PRESENT_CSS


@pytest.mark.parametrize("interval, most", [(60.0, 2), (0.0, 120)])
def test_a_fast_run_redraws_its_bar_a_few_times_not_after_every_task(interval, most):
    """120 tasks of 0.3 ms: the bar moves at the first task and at the end, not 120 times
    (each redraw is a message the kernel sends while the run is timed). Control: with no
    interval it moves after every task."""
    from helpers.core.progress import progress_updater

    bar = widgets.IntProgress()
    values = []
    bar.observe(lambda change: values.append(change["new"]), "value")
    update = progress_updater(bar, interval=interval)
    for done in range(1, 121):
        update(done, 120)
    assert values[-1] == 120 and bar.bar_style == "success"
    assert len(values) == most


class FakeLoop:
    """The kernel's main IOLoop: keeps the callbacks; the test runs them 'on the main thread'."""

    def __init__(self) -> None:
        self.callbacks = []

    def add_callback(self, callback) -> None:
        self.callbacks.append(callback)


def click_from_a_subshell(panel: RunPanel) -> list:
    """Click Run on a thread that is not the main one, as JupyterLab's widget subshell does;
    the threads the panel's run() was called on."""
    import threading

    ran_on = []
    panel.run = lambda: ran_on.append(threading.current_thread().name)
    clicker = threading.Thread(target=panel.run_button.click, name="subshell")
    clicker.start()
    clicker.join(10)
    return ran_on


def test_a_click_on_a_subshell_runs_on_the_kernels_main_thread(monkeypatch):
    """Issue 20.8: the run of a click waits for the main thread (where the kernel's ■ can
    reach it), so the subshell that got the click is free for the click on Stop. Control:
    outside a kernel (no main loop) the click runs where it came."""
    from helpers.core import controls

    loop = FakeLoop()
    monkeypatch.setattr(controls, "main_thread_loop", lambda: loop)
    panel = Panel()
    ran_on = click_from_a_subshell(panel)
    assert ran_on == [] and panel.run_button.disabled  # not on the subshell; no 2nd run
    assert "Starting" in panel.words.value
    [callback] = loop.callbacks
    callback()  # the main loop's turn
    assert ran_on == ["MainThread"] and not panel.run_button.disabled
    monkeypatch.setattr(controls, "main_thread_loop", lambda: None)
    assert click_from_a_subshell(Panel()) == ["subshell"]


def test_an_interrupt_of_a_clicks_run_stops_there_and_the_kernel_ignores_the_next(monkeypatch):
    """■ during a click's run is a KeyboardInterrupt in the run (shown by the panel), not in
    the kernel's loop; afterwards SIGINT is handled as before the run."""
    import signal

    panel = Panel()
    seen = []

    def interrupted():
        seen.append(signal.getsignal(signal.SIGINT))
        raise KeyboardInterrupt

    panel.run = interrupted
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as the kernel has it between cells
    try:
        panel._run_from_loop()  # raises nothing
        assert seen == [signal.default_int_handler]
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)
    assert not panel.run_button.disabled
