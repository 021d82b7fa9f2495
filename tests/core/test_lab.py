"""The lab widget, driven headless: set values, click Run, inspect the results."""
import pytest

from helpers.core.controls import RunPanel
from helpers.core.experiments import compare
from helpers.core.lab import MAX_LAB_TASKS, MAX_LAB_WORKERS, Lab, times_axes
from helpers.core.words import describe
from helpers.core.workloads import WORKLOADS


@pytest.fixture
def lab():
    return Lab(size=20_000)


def test_click_runs_every_ticked_executor(lab, no_leftover_processes):
    lab.workers.value, lab.tasks.value, lab.repeats.value = 2, 3, 1
    lab.run_button.click()
    assert lab.error is None
    assert list(lab.results.runs) == ["serial", "threads", "processes"]
    assert all(run.tasks == 3 and run.size == 20_000 for run in lab.results.runs.values())
    assert lab.results.runs["threads"].workers == 2
    assert lab.progress.value == lab.progress.max == 9
    assert lab.progress.bar_style == "success"
    assert "serial" in lab.status.value and "CPUs busy" in lab.status.value
    assert lab.figure is not None and len(lab.figure.axes) == 4
    assert not lab.run_button.disabled


def test_results_are_kept_and_each_run_redraws(lab):
    lab.repeats.value = 1
    lab.executor_boxes["processes"].value = False
    lab.run_button.click()
    first = lab.figure
    lab.workload.value = "sleep"
    lab.size.value = 5
    lab.run_button.click()
    assert len(lab.history) == 2 and lab.results is lab.history[-1]
    assert lab.results.baseline.workload == "sleep" and lab.figure is not first


def test_choosing_a_workload_refits_the_size_slider(lab):
    for name, workload in WORKLOADS.items():
        lab.workload.value = "sleep" if name != "sleep" else "count"
        lab.workload.value = name
        assert (lab.size.min, lab.size.max, lab.size.step) == (
            workload.min_size, workload.max_size, workload.step)
        assert lab.size.value == workload.default_size()
        assert workload.unit in lab.size.description


def test_sliders_are_bounded_and_lazy(lab):
    assert lab.tasks.max == MAX_LAB_TASKS and lab.workers.max <= MAX_LAB_WORKERS
    assert lab.repeats.max <= 5
    for slider in (lab.size, lab.tasks, lab.workers, lab.repeats):
        assert slider.continuous_update is False
        slider.value = slider.max + 1000  # a slider clamps, it never exceeds its range
        assert slider.value == slider.max


def test_no_executor_ticked_is_explained(lab):
    for box in lab.executor_boxes.values():
        box.value = False
    lab.run_button.click()
    assert lab.results is None and "at least one executor" in lab.status.value


def test_the_lab_is_a_run_panel_with_its_words_above_the_plot(lab):
    assert isinstance(lab, RunPanel) and lab.status is lab.words
    assert lab.ui.children[-2:] == (lab.words, lab.output)
    assert "effective CPUs" in lab.words.value and "Stop ends a run" in lab.words.value


def test_a_failing_run_is_reported_not_raised(lab, monkeypatch):
    header = lab.words.value  # before a run: the header line alone

    def broken(*args, **kwargs):
        raise TimeoutError("too <slow>")

    monkeypatch.setattr("helpers.core.lab.compare", broken)
    lab.run_button.click()
    assert isinstance(lab.error, TimeoutError) and lab.results is None and not lab.history
    assert lab.words.value == (header + "<p><b>The run failed:</b> TimeoutError: "
                               "too &lt;slow&gt;</p>")
    assert lab.progress.bar_style == "danger" and not lab.run_button.disabled


def test_a_run_that_fails_midway_still_plots_what_it_measured(lab, monkeypatch):
    header = lab.words.value  # before a run: the header line alone

    def first_then_broken(workload, executors, *, on_result, **options):
        compare(workload, executors[:1], on_result=on_result, **options)
        raise RuntimeError("worker died")

    monkeypatch.setattr("helpers.core.lab.compare", first_then_broken)
    lab.repeats.value, lab.tasks.value = 2, 2  # a partial result after the first repeat
    lab.throttle.interval = 60  # only the first result is drawn at once; the rest is held
    lab.run_button.click()
    assert isinstance(lab.error, RuntimeError) and lab.results is None
    assert lab.figure is not None and lab.throttle.drawn == 2  # first, then the held one
    assert "worker died" in lab.words.value and lab.words.value.startswith(header)


def test_an_interrupt_is_shown_in_the_widget_then_raised(lab, monkeypatch):
    header = lab.words.value  # before a run: the header line alone

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("helpers.core.lab.compare", interrupted)
    with pytest.raises(KeyboardInterrupt):
        lab.run()
    assert lab.words.value.startswith(header + "<p><b>Stopped:</b>")
    assert "Running" not in lab.words.value and "Press Run to start again" in lab.words.value
    assert lab.progress.bar_style == "warning" and not lab.run_button.disabled
    assert lab.results is None and lab.error is None


@pytest.mark.parametrize("interval", [60, 0])
def test_plot_and_words_follow_the_results_through_the_panel(lab, monkeypatch, interval):
    header = lab.words.value  # before a run: the header line alone
    received, plotted = [], []

    def recording(*args, on_result, **kwargs):
        return compare(*args, on_result=lambda c: (received.append(c), on_result(c)), **kwargs)

    monkeypatch.setattr("helpers.core.lab.compare", recording)
    monkeypatch.setattr("helpers.core.lab.plot_comparison", lambda c: plotted.append(c) or c)
    lab.repeats.value, lab.tasks.value = 2, 2  # a partial result after the first repeat
    lab.executor_boxes["processes"].value = False
    lab.throttle.interval = interval
    lab.run_button.click()
    assert lab.error is None
    assert len(received) == 4  # serial, then threads: one repeat, then the whole run
    # throttled: the first result at once, the newest held one at the end; unthrottled: all
    assert plotted == ([received[0], received[-1]] if interval else received)
    assert lab.figure is lab.results is received[-1]
    assert lab.words.value == header + describe(lab.results)._repr_html_()


@pytest.mark.parametrize("kwargs,name", [({"workload": "nope"}, "workload"),
                                         ({"size": 1}, "iterations"),
                                         ({"executors": ("nope",)}, "executors"),
                                         ({"start_method": "nope"}, "start_method")])
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        Lab(**kwargs)


def test_elapsed_bar_fills_and_reports_failure():
    import time

    from helpers.core.progress import elapsed_bar

    with elapsed_bar("wait", expected_seconds=0.2) as bar:
        time.sleep(0.5)
        assert 0.5 <= bar.value <= 0.95  # filled with time, never full before the end
    assert bar.value == 1 and bar.bar_style == "success"
    with pytest.raises(RuntimeError):
        with elapsed_bar("fail", expected_seconds=1) as failed:
            raise RuntimeError("boom")
    assert failed.bar_style == "danger"
    with pytest.raises(ValueError, match="expected_seconds"):
        with elapsed_bar("bad", expected_seconds=0):
            pass


# --- predict, then measure: the learner's guess of the processes' speedup ----------------

def guess_lines(lab):
    """The lines on the lab figure's time axes that mark a guess."""
    return [line for line in times_axes(lab.figure).get_lines()
            if "your guess" in str(line.get_label())]


@pytest.mark.parametrize("guess", [0, 0.05, 17, "2", True, float("nan")])
def test_a_guess_out_of_range_names_the_parameter(guess):
    with pytest.raises(ValueError, match=r"guess must be .*0\.1 to 16"):
        Lab(guess=guess)


@pytest.mark.parametrize("guess", [None, ...])
def test_without_a_guess_plot_and_words_are_unchanged(guess):
    lab = Lab(size=20_000, repeats=1, tasks=2, guess=guess)
    lab.run()
    assert lab.guess is None and not guess_lines(lab)
    assert lab.words.value == lab._header() + describe(lab.results)._repr_html_()
    assert "guess" not in lab.words.value


def test_a_guess_is_drawn_and_compared_with_the_processes(monkeypatch):
    lab = Lab(size=20_000, repeats=1, tasks=2, guess=1.5)
    lab.run()
    [line] = guess_lines(lab)
    assert line.get_ydata()[0] == pytest.approx(lab.results.baseline.wall / 1.5)
    assert "1.5×" in line.get_label()
    legend = [text.get_text() for text in times_axes(lab.figure).get_legend().get_texts()]
    assert legend[0] == line.get_label() and "wall time" in legend
    measured = lab.results.speedup("processes")
    said = (f"You guessed 1.5× for the processes&#x27; speedup over serial; your machine "
            f"measured {measured:.1f}×")
    assert said in lab.words.value
    assert lab.words.value.startswith(lab._header() + describe(lab.results)._repr_html_()[:-5])


def test_a_disturbed_run_cannot_settle_the_guess(monkeypatch):
    monkeypatch.setattr("helpers.core.lab.comparison_disturbance",
                        lambda comparison: "this measurement was **disturbed**")
    lab = Lab(size=20_000, repeats=1, tasks=2, guess=2)
    lab.run()
    assert "cannot settle your guess" in lab.words.value
    assert "<b>disturbed</b>" in lab.words.value


def test_a_guess_without_serial_or_processes_says_what_to_tick():
    lab = Lab(size=20_000, repeats=1, tasks=2, guess=2)
    lab.executor_boxes["processes"].value = False
    lab.run()
    assert not guess_lines(lab) and "tick serial and processes" in lab.words.value
    lab.executor_boxes["processes"].value, lab.executor_boxes["serial"].value = True, False
    lab.executor_boxes["threads"].value = False
    lab.run()  # processes alone: their speedup over serial is not measured
    assert not guess_lines(lab) and "tick serial and processes" in lab.words.value


def test_the_first_plot_comes_after_the_first_repeat_of_serial(lab, monkeypatch):
    """What the first plot waits for: one timed pass of the baseline, nothing more."""
    plotted = []
    monkeypatch.setattr("helpers.core.lab.plot_comparison",
                        lambda c: plotted.append(c) or c)
    lab.repeats.value, lab.tasks.value = 3, 2
    lab.run()
    first = plotted[0]
    assert list(first.runs) == ["serial"] and len(first.runs["serial"].walls) == 1


def test_notebook_08s_lab_builds_with_dask_ticked():
    lab = Lab("count", ("serial", "processes", "dask"))
    assert lab.selected_executors() == ["serial", "processes", "dask"] and lab.guess is None
