"""The lab widget, driven headless: set values, click Run, inspect the results."""
import pytest

from helpers.core.lab import MAX_LAB_TASKS, MAX_LAB_WORKERS, Lab
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


def test_a_failing_run_is_reported_not_raised(lab, monkeypatch):
    def broken(*args, **kwargs):
        raise TimeoutError("too slow")

    monkeypatch.setattr("helpers.core.lab.compare", broken)
    lab.run_button.click()
    assert isinstance(lab.error, TimeoutError)
    assert "too slow" in lab.status.value and lab.progress.bar_style == "danger"
    assert not lab.run_button.disabled


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
