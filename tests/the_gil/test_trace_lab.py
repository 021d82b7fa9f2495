"""Notebook 03's trace lab, driven headless: set the controls, click Run, read the traces,
the plot and the words; failures and interrupts shown; the switch interval put back."""
import os
import sys

import pytest

from helpers.core import thread_trace
from helpers.core.noise import MachineLoad
from helpers.core.thread_trace import SWITCH_INTERVALS_MS, Lane, Trace
from helpers.core.trace_words import describe_trace, trace_disturbance
from helpers.the_gil import trace_lab as tl
from helpers.the_gil.trace_lab import TRACES, ThreadTraceLab


@pytest.fixture
def lab():
    return ThreadTraceLab()


@pytest.fixture
def odd_switch_interval():
    """The kernel's switch interval set to a value no control offers, put back after."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.003)
    yield 0.003
    sys.setswitchinterval(before)


def synthetic(lanes, seconds=0.1, kind="threads", load=None, interval=0.005):
    """A trace from stretches given in ms since its start (0 s)."""
    made = [Lane(1, n, [(a / 1000, b / 1000) for a, b in stretches], 0.0, 1)
            for n, stretches in enumerate(lanes)]
    return Trace(kind, "count", made, 0.0, seconds, interval, True, "3.11.9", 2, load)


TURNS = synthetic([[(0, 5), (10, 15), (20, 25), (30, 35)],
                   [(5, 10), (15, 20), (25, 30), (35, 40)]], seconds=0.04)
SIDE_BY_SIDE = synthetic([[(0, 100)], [(0, 100)]], kind="processes")


def fail_on_second_call(monkeypatch, error):
    """Make trace_run's wait for its traced workers raise ``error`` (the warm-up passes)."""
    real, calls = thread_trace.wait_for_results, []

    def failing(futures, deadline):
        calls.append(1)
        if len(calls) == 2:
            real(futures, deadline)  # the workers end; then the wait "fails"
            raise error
        return real(futures, deadline)

    monkeypatch.setattr(thread_trace, "wait_for_results", failing)


def test_run_traces_three_times_and_redraws_after_each(lab, monkeypatch, no_leftover_processes):
    drawn, worded = [], []
    monkeypatch.setattr(tl, "plot_traces", lambda traces, window: drawn.append(
        (dict(traces), window)) or object())
    monkeypatch.setattr(tl, "describe_trace", lambda trace: worded.append(trace) or "said")
    lab.run_button.click()
    assert lab.error is None and len(lab.traces) == TRACES and lab.latest is lab.traces[-1]
    assert [next(iter(t.values())) for t, _ in drawn] == lab.traces == worded  # one per trace
    assert [next(iter(t)) for t, _ in drawn] == [f"trace {n} of 3 · 2 threads, count"
                                                 for n in (1, 2, 3)]
    assert drawn[-1][1] == tl.default_window_ms(lab.latest)
    assert lab.progress.value == lab.progress.max == TRACES
    assert lab.progress.bar_style == "success" and not lab.run_button.disabled


def test_figure_and_words_come_from_the_latest_trace(lab):
    lab.run_button.click()
    latest = lab.latest
    assert lab.figure is not None and len(lab.figure.axes) == 1
    ax = lab.figure.axes[0]
    assert ax.get_title().startswith("trace 3 of 3 · 2 threads, count")
    assert ax.get_xlabel() == "time since the workers started (ms)"
    said = lab.words.value
    first = describe_trace(latest).split(":")[0]  # "The 2 threads took turns" or the like
    assert first in said and "Median turn, trace by trace (3 of 3)" in said
    assert "is running" not in said  # the run is over


def test_two_counting_threads_took_turns_or_were_disturbed(lab):
    if not thread_trace.gil_enabled():
        pytest.skip("without the GIL, counting threads run side by side")
    lab.run_button.click()
    said = lab.words.value
    if trace_disturbance(lab.latest):
        assert "<b>disturbed</b>" in said
    else:
        assert "took turns" in said
    assert "took turns" in said or "disturbed" in said  # never neither


@pytest.mark.parametrize("interval", SWITCH_INTERVALS_MS)
def test_the_switch_interval_control_sets_the_traced_interval(lab, interval,
                                                              odd_switch_interval):
    lab.switch_interval.value = interval
    lab.run_button.click()
    assert lab.error is None
    assert all(trace.switch_interval == interval / 1000 for trace in lab.traces)
    assert sys.getswitchinterval() == odd_switch_interval  # the kernel's own value is back
    assert f"switch interval {interval:g} ms" in lab.words.value


def test_workers_and_workload_controls_change_what_is_traced(lab):
    lab.workers.value, lab.workload.value = 3, "hash"
    lab.run_button.click()
    assert lab.error is None
    for trace in lab.traces:
        assert trace.workload == "hash" and trace.kind == "threads" and len(trace.lanes) == 3
        assert {lane.pid for lane in trace.lanes} == {os.getpid()}
        assert len({lane.tid for lane in trace.lanes}) == 3


def test_processes_are_other_processes_and_none_is_left(lab, no_leftover_processes):
    lab.kind.value = "processes"
    lab.run_button.click()
    assert lab.error is None
    for trace in lab.traces:
        pids = {lane.pid for lane in trace.lanes}
        assert trace.kind == "processes" and len(pids) == 2 and os.getpid() not in pids
    assert "2 processes" in lab.words.value


def test_controls_are_bounded_and_act_only_on_run(lab):
    assert (lab.workers.min, lab.workers.max) == (1, 4) and lab.workers.continuous_update is False
    lab.workers.value = 99
    assert lab.workers.value == 4
    assert [value for _, value in lab.workload.options] == ["count", "hash"]
    assert lab.switch_interval.value == 5
    assert [value for _, value in lab.switch_interval.options] == list(SWITCH_INTERVALS_MS)
    assert [value for _, value in lab.kind.options] == ["threads", "processes"]
    assert lab.traces == [] and lab.latest is None  # nothing ran yet


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"workers": 5}, "workers"), ({"workers": 0}, "workers"), ({"workload": "sleep"}, "workload"),
    ({"switch_interval_ms": 7}, "switch_interval_ms"), ({"kind": "fibers"}, "kind"),
    ({"seconds": 10}, "seconds"), ({"start_method": "teleport"}, "start_method")])
def test_bad_arguments_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ThreadTraceLab(**kwargs)


def test_a_failure_is_shown_not_raised_and_the_interval_is_back(lab, monkeypatch,
                                                                odd_switch_interval,
                                                                no_leftover_processes):
    fail_on_second_call(monkeypatch, RuntimeError("worker <died>"))
    lab.kind.value, lab.switch_interval.value = "processes", 20
    assert lab.run() is None
    assert isinstance(lab.error, RuntimeError) and lab.traces == []
    assert "The run failed" in lab.words.value and "worker &lt;died&gt;" in lab.words.value
    assert lab.progress.bar_style == "danger" and not lab.run_button.disabled
    assert sys.getswitchinterval() == odd_switch_interval


def test_an_interrupt_is_shown_then_raised_and_the_interval_is_back(lab, monkeypatch,
                                                                    odd_switch_interval,
                                                                    no_leftover_processes):
    fail_on_second_call(monkeypatch, KeyboardInterrupt())
    lab.kind.value, lab.switch_interval.value = "processes", 1
    with pytest.raises(KeyboardInterrupt):
        lab.run()
    assert "Stopped" in lab.words.value and lab.progress.bar_style == "warning"
    assert sys.getswitchinterval() == odd_switch_interval and not lab.run_button.disabled


def test_a_trace_that_fails_midway_keeps_the_ones_before(lab, monkeypatch):
    real, calls = tl.trace_run, []

    def second_fails(**setting):
        calls.append(1)
        if len(calls) == 2:
            raise TimeoutError("the traced workers did not finish")
        return real(**setting)

    monkeypatch.setattr(tl, "trace_run", second_fails)
    lab.run_button.click()
    assert isinstance(lab.error, TimeoutError) and len(lab.traces) == 1
    assert lab.figure is not None and "did not finish" in lab.words.value


def test_turns_so_far_lists_each_traces_median_beside_the_interval():
    said = tl.turns_so_far([TURNS, TURNS])
    assert said.startswith("Median turn, trace by trace (2 of 3): 5.0 ms, 5.0 ms;")
    assert "switch interval 5 ms." in said and "—" not in said


def test_traces_without_turns_say_why():
    alone = synthetic([[(0, 100)]])
    said = tl.turns_so_far([TURNS, SIDE_BY_SIDE, alone])
    assert ": 5.0 ms, —, —;" in said
    assert "ran at once for over 10% of that trace" in said and "no one to take turns" in said
    with pytest.raises(ValueError, match="traces"):
        tl.turns_so_far([])


def test_a_disturbed_trace_is_marked_disturbed():
    busy = synthetic([[(0, 5), (10, 15), (20, 25), (30, 35)],
                      [(5, 10), (15, 20), (25, 30), (35, 40)]], seconds=0.04,
                     load=MachineLoad(others=1.8, allowed=2))
    assert trace_disturbance(busy)
    assert "5.0 ms (**disturbed**)" in tl.turns_so_far([busy])
    assert "<b>disturbed</b>" in tl.lab_words([busy])


def test_words_while_running_say_which_trace_comes_next():
    assert "Trace 2 of 3 is running" in tl.lab_words([TURNS])
    assert "is running" not in tl.lab_words([TURNS] * 3)


def test_a_lone_worker_that_often_did_not_run_is_called_disturbed():
    gaps = synthetic([[(0, 50), (75, 100)]])  # none ran for 25 % of the trace
    said = tl.lab_words([gaps])
    assert "no one to take turns with" in said and said.count("<b>disturbed</b>") == 1
    steady = tl.lab_words([synthetic([[(0, 100)]])])
    assert "disturbed" not in steady


def test_other_pythons_are_offered_by_name_and_traced_there():
    calls = []

    def tracer(label):
        def trace(**setting):
            calls.append((label, setting))
            return TURNS
        return trace

    lab = ThreadTraceLab(pythons={"GIL off": tracer("off"), "PYTHON_GIL=1": tracer("on")},
                         kinds=("threads",))
    shown = [child for row in lab.ui.children for child in getattr(row, "children", ())]
    assert lab.python in shown and lab.kind not in shown
    lab.python.value, lab.switch_interval.value = "PYTHON_GIL=1", 20
    lab.run_button.click()
    assert [label for label, _ in calls] == ["on"] * TRACES
    assert calls[0][1] == {"workload": "count", "workers": 2, "seconds": lab.seconds,
                           "kind": "threads", "switch_interval_ms": 20}
    assert "PYTHON_GIL=1" in lab.figure.axes[0].get_title()


@pytest.mark.parametrize("kwargs, name", [({"pythons": {}}, "pythons"),
                                          ({"kinds": ("fibers",)}, "kinds"),
                                          ({"kinds": ("threads",), "kind": "processes"},
                                           "kind")])
def test_bad_pythons_or_kinds_are_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ThreadTraceLab(**kwargs)
