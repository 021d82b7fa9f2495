"""The thread-state trace: intervals from progress notes, turns, words, and real runs."""
from __future__ import annotations

import os
import sys

import psutil
import pytest

from helpers.core.lane_plots import plot_traces
from helpers.core.noise import DISTURBED, MachineLoad
from helpers.core.thread_trace import (
    MAX_SECONDS,
    Lane,
    Trace,
    pause_threshold,
    running_intervals,
    trace_run,
    turn_stats,
)
from helpers.core.trace_words import describe_trace, trace_disturbance
from helpers.the_gil.turns import describe_switch_sweep, follows_interval, plot_switch_sweep

MECHANISMS = ("That is the GIL", "own interpreter", "releases the GIL", "without the GIL",
              "operating system")


def stamps_between(start: float, end: float, step: float = 2e-5) -> list[float]:
    count = int(round((end - start) / step))
    return [start + i * step for i in range(count + 1)]


def alternating(turn: float, seconds: float, lanes: int = 2, start: float = 100.0
                ) -> list[Lane]:
    """Lanes that take turns of ``turn`` seconds, round robin."""
    intervals: list[list[tuple[float, float]]] = [[] for _ in range(lanes)]
    moment, number = start, 0
    while moment < start + seconds:
        intervals[number % lanes].append((moment, min(moment + turn, start + seconds)))
        moment, number = moment + turn, number + 1
    return [Lane(1, 10 + i, spans, seconds / lanes, 100) for i, spans in enumerate(intervals)]


def side_by_side(seconds: float, lanes: int = 2, start: float = 100.0) -> list[Lane]:
    return [Lane(1 + i, 10 + i, [(start, start + seconds)], seconds, 100) for i in range(lanes)]


def make_trace(lanes: list[Lane], kind: str = "threads", workload: str = "count",
               gil: bool = True, cpus: int = 2, load: MachineLoad | None = None,
               interval: float = 0.005, seconds: float = 0.3) -> Trace:
    return Trace(kind, workload, lanes, 100.0, seconds, interval, gil, "3.11.2", cpus, load)


# --- from notes to intervals ---------------------------------------------------------

def test_running_intervals_split_at_pauses_longer_than_the_gap() -> None:
    stamps = stamps_between(0.0, 0.005) + stamps_between(0.010, 0.015)
    intervals = running_intervals(stamps)
    assert len(intervals) == 2
    assert intervals[0] == (0.0, pytest.approx(0.005))
    assert intervals[1][0] == pytest.approx(0.010)


def test_a_short_pause_is_a_step_not_a_stop() -> None:
    stamps = stamps_between(0.0, 0.005) + stamps_between(0.00505, 0.01)
    assert len(running_intervals(stamps)) == 1


def test_pause_threshold_follows_the_typical_step_and_has_a_floor() -> None:
    assert pause_threshold(stamps_between(0.0, 0.01, step=1e-4)) == pytest.approx(1e-3)
    assert pause_threshold(stamps_between(0.0, 0.01, step=1e-6)) == pytest.approx(2e-4)


def test_running_intervals_edge_cases() -> None:
    assert running_intervals([]) == []
    assert running_intervals([1.0]) == [(1.0, 1.0)]
    with pytest.raises(ValueError, match="ascending"):
        running_intervals([1.0, 0.5])


# --- turns and overlap ---------------------------------------------------------------

def test_turns_of_alternating_lanes_are_the_turn_length() -> None:
    trace = make_trace(alternating(0.005, 0.3))
    stats = turn_stats(trace)
    assert stats is not None and stats.median == pytest.approx(0.005)
    assert trace.share_running(2) == pytest.approx(0.0)
    assert trace.share_running(1) == pytest.approx(1.0)


def test_a_pause_of_the_same_thread_does_not_end_its_turn() -> None:
    lanes = alternating(0.005, 0.3)
    first = lanes[0]
    split = []  # the first lane's turns, each cut in two by a 1 ms pause
    for a, b in first.intervals:
        middle = (a + b) / 2
        split += [(a, middle - 0.0005), (middle + 0.0005, b)]
    trace = make_trace([Lane(1, 10, split, 0.1, 100), lanes[1]])
    assert turn_stats(trace).median == pytest.approx(0.005)


def test_side_by_side_lanes_overlap_all_the_time() -> None:
    trace = make_trace(side_by_side(0.3), kind="processes")
    assert trace.share_running(2) == pytest.approx(1.0)


def test_a_trace_survives_json() -> None:
    trace = make_trace(alternating(0.005, 0.3), load=MachineLoad(0.1, 2, 0.04))
    assert Trace.from_dict(trace.to_dict()) == trace


# --- words ---------------------------------------------------------------------------

def test_counting_threads_under_the_gil_took_turns_of_one_switch_interval() -> None:
    words = describe_trace(make_trace(alternating(0.0051, 0.3)))
    assert "took turns" in words and "about one switch interval" in words
    assert "That is the GIL" in words and DISTURBED not in words


def test_processes_side_by_side() -> None:
    words = describe_trace(make_trace(side_by_side(0.3), kind="processes"))
    assert "ran side by side" in words and "own interpreter" in words


def test_one_cpu_does_not_credit_the_gil() -> None:
    for kind in ("threads", "processes"):
        words = describe_trace(make_trace(alternating(0.004, 0.3), kind=kind, cpus=1))
        assert "1 effective CPU" in words and "That is the GIL" not in words
        assert "switch interval" not in words.split("1 effective CPU")[0]


def test_a_busy_machine_is_called_disturbed_and_nothing_else() -> None:
    busy = MachineLoad(others=1.6, allowed=2, uncertainty=0.05)
    for trace in (make_trace(side_by_side(0.3), kind="processes", load=busy),
                  make_trace(alternating(0.005, 0.3), load=MachineLoad(2.0, 2, 0.05))):
        words = describe_trace(trace)
        assert DISTURBED in words
        assert not any(mechanism in words for mechanism in MECHANISMS)


def test_a_trace_in_which_nobody_ran_is_disturbed() -> None:
    lanes = [Lane(1, 10, [(100.0, 100.1)], 0.1, 10), Lane(1, 11, [(100.1, 100.15)], 0.05, 5)]
    trace = make_trace(lanes)
    assert DISTURBED in trace_disturbance(trace) and "none of the threads" in describe_trace(trace)


def test_switch_sweep_words() -> None:
    good = {ms: make_trace(alternating(ms / 1000 * 1.02, 0.3), interval=ms / 1000)
            for ms in (1, 5, 20)}
    assert all(follows_interval(trace) for trace in good.values())
    assert "about one switch interval" in describe_switch_sweep(good)
    off = {**good, 20: make_trace(alternating(0.004, 0.3), interval=0.02)}
    words = describe_switch_sweep(off)
    assert DISTURBED in words and "At 20 ms" in words


def test_the_plot_has_a_title_lanes_and_a_time_axis() -> None:
    figure = plot_traces({"2 threads": make_trace(alternating(0.005, 0.3)),
                          "2 processes": make_trace(side_by_side(0.3), kind="processes")})
    top, bottom = figure.axes[:2]
    assert "turns of 5.0 ms" in top.get_title()
    assert "100%" in bottom.get_title()
    assert "ms" in bottom.get_xlabel()
    assert [t.get_text() for t in top.get_yticklabels()] == ["thread 1", "thread 2"]


# --- real traces ---------------------------------------------------------------------

@pytest.mark.parametrize("bad", [dict(workers=0), dict(workers=9), dict(workload="sleep"),
                                 dict(seconds=MAX_SECONDS + 1), dict(kind="dask"),
                                 dict(switch_interval_ms=0.0)])
def test_bad_input_is_named(bad: dict) -> None:
    name = next(iter(bad))
    with pytest.raises(ValueError, match=name):
        trace_run(**bad)


def test_two_counting_threads_take_turns_or_the_run_says_disturbed() -> None:
    before = sys.getswitchinterval()
    trace = trace_run("count", 2, 0.2, "threads", switch_interval_ms=2)
    assert sys.getswitchinterval() == before
    assert trace.switch_interval == pytest.approx(0.002)
    assert {lane.pid for lane in trace.lanes} == {os.getpid()}
    assert len({lane.tid for lane in trace.lanes}) == 2
    for lane in trace.lanes:
        assert all(trace.start <= a <= b <= trace.end for a, b in lane.intervals)
    words = describe_trace(trace)
    if trace.gil_enabled and trace.effective_cpus >= 2 and DISTURBED not in words:
        assert "took turns" in words and "That is the GIL" in words


def test_processes_run_elsewhere_and_leave_no_child() -> None:
    trace = trace_run("count", 2, 0.1, "processes")
    assert os.getpid() not in {lane.pid for lane in trace.lanes}
    assert all(lane.steps > 0 for lane in trace.lanes)
    assert not [child for child in psutil.Process().children(recursive=True)
                if child.pid in {lane.pid for lane in trace.lanes} and child.is_running()]


def test_one_worker_has_no_turns_but_may_be_disturbed() -> None:
    alone = make_trace([Lane(1, 10, [(100.0, 100.3)], 0.3, 100)])
    assert "no one to take turns with" in describe_trace(alone)
    starved = make_trace([Lane(1, 10, [(100.0, 100.1)], 0.1, 100)])
    words = describe_trace(starved)
    assert DISTURBED in words and "the 1 thread's trace" in words
    assert "the thread did not run" in words
    assert "ran 33% of the time" in plot_traces({"1 thread": starved}).axes[0].get_title()


def test_the_switch_sweep_draws_every_setting_once() -> None:
    sweep = {ms: make_trace(alternating(ms / 1000, 0.3), interval=ms / 1000)
             for ms in (1, 5, 20)}
    titles = [ax.get_title() for ax in plot_switch_sweep(sweep).axes]
    assert [t.split(":")[0] for t in titles] == [f"switch interval {ms} ms" for ms in (1, 5, 20)]
    assert all(t.count("switch interval") == 1 for t in titles)


def test_a_long_title_is_wrapped_to_stay_inside_the_figure() -> None:
    name = "trace 3 of 3 · 2 threads, count · PYTHON_GIL=1"
    title = plot_traces({name: make_trace(alternating(0.005, 0.3))}).axes[0].get_title()
    assert "\n" in title and all(len(line) <= 72 for line in title.splitlines())


def test_union_length_counts_overlaps_once() -> None:
    from helpers.core.thread_trace import union_length
    assert union_length([(0, 2), (1, 3), (5, 6)]) == 4.0
    assert union_length([(5, 6), (0, 10)]) == 10.0 and union_length([]) == 0.0
