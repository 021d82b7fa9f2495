"""Notebook 07's lanes: one free-threaded binary traced with the GIL off and with
``PYTHON_GIL=1`` (:mod:`helpers.free_threading.trace_lanes`).

The real traces need a free-threaded interpreter (``make free-threaded``): they skip without
one on a learner's machine and must run under ``CI=true``. They assert what a trace shows
*or* that its words call it disturbed — never neither — and nothing about wall times. The
words are checked on traces built by hand.
"""
import os
import sys

import pytest

from helpers.core import other_pythons as op
from helpers.core.noise import MachineLoad
from helpers.core.system import gil_enabled, is_free_threaded_build
from helpers.core.thread_trace import Lane, Trace
from helpers.core.trace_words import trace_disturbance
from helpers.free_threading import trace_lanes as tl

FOUND = op.find_free_threaded()  # what the conftest's free_threaded fixture gives


HERE = op.probe(sys.executable)
MECHANISMS = ("That is the GIL", "Only the GIL differs", "releases the GIL", "without the GIL",
              "own interpreter")


# --- real traces ---------------------------------------------------------------------------

def _check_either(trace: Trace, shows: bool) -> bool:
    """The trace shows what it should, or its words say disturbed: never neither. True when
    it was undisturbed."""
    disturbed = trace_disturbance(trace)
    assert shows or "disturbed" in disturbed, (
        f"neither shown nor called disturbed: share_running(2)={trace.share_running(2):.2f}, "
        f"load={trace.load}")
    return not disturbed


def test_gil_off_lanes_overlap_or_are_called_disturbed(free_threaded, no_leftover_processes):
    for _ in range(3):  # a quieter moment, if there is one, shows the overlap itself
        trace = tl.trace_on(free_threaded, gil=False)
        assert not trace.gil_enabled and len(trace.lanes) == 2
        assert len({lane.tid for lane in trace.lanes}) == 2  # two threads of one process
        assert len({lane.pid for lane in trace.lanes}) == 1
        if _check_either(trace, trace.share_running(2) > 0.6 and trace.effective_cpus >= 2):
            break


def test_python_gil_1_lanes_take_turns_or_are_called_disturbed(free_threaded,
                                                                no_leftover_processes):
    trace = tl.trace_on(free_threaded, gil=True, switch_interval_ms=5)
    assert trace.gil_enabled and trace.python == free_threaded.version
    assert trace.switch_interval == pytest.approx(0.005)
    assert trace.lanes[0].pid != os.getpid()  # PYTHON_GIL=1 always starts the binary anew
    _check_either(trace, trace.share_running(2) < 0.1)


def test_the_pair_and_its_words(free_threaded, no_leftover_processes):
    lanes = tl.trace_gil_lanes(free_threaded, seconds=0.1)
    assert list(lanes.traces) == [tl.GIL_OFF_LABEL, tl.GIL_ON_LABEL]
    off, on = lanes.traces.values()
    assert (off.gil_enabled, on.gil_enabled) == (False, True)
    words = tl.describe_gil_lanes(lanes)
    assert words.count("\n- ") == 2 and free_threaded.label in words
    if trace_disturbance(off) or trace_disturbance(on):
        assert "cannot say what the GIL changes" in words


def test_this_kernel_is_traced_here_and_another_python_in_a_child():
    here = tl.trace_on(None, None, workers=1, seconds=0.05)
    assert here.lanes[0].pid == os.getpid() and here.gil_enabled == gil_enabled()
    if gil_enabled():  # the same binary, asked for its default: a child process
        child = tl.trace_on(HERE, None, workers=1, seconds=0.05)
        assert child.lanes[0].pid != os.getpid()


def test_a_tiny_timeout_stops_the_child(no_leftover_processes):
    with pytest.raises(TimeoutError, match="did not finish in time"):
        tl.trace_on(HERE, None, seconds=1.0, timeout=0.05)


@pytest.mark.parametrize("change, name", [
    ({"workload": "teleport"}, "workload"), ({"workers": 0}, "workers"),
    ({"seconds": 5.0}, "seconds"), ({"switch_interval_ms": 0.0}, "switch_interval_ms"),
    ({"timeout": 0}, "timeout"), ({"gil": "yes"}, "gil"), ({"interpreter": "python3"},
                                                           "interpreter")])
def test_bad_input_names_the_parameter_before_anything_starts(monkeypatch, change, name):
    def started(*args, **kwargs):
        raise AssertionError("a trace started before the arguments were checked")

    monkeypatch.setattr(tl, "stream_cli", started)
    monkeypatch.setattr(tl, "trace_run", started)
    arguments = {"interpreter": HERE, "gil": None, **change}
    with pytest.raises(ValueError, match=name):
        tl.trace_on(**arguments)
    if name not in ("gil", "interpreter"):
        with pytest.raises(ValueError, match=name):
            tl.trace_gil_lanes(HERE, **change)


def test_gil_settings_that_cannot_be_had_are_refused(monkeypatch):
    monkeypatch.setattr(tl, "stream_cli", lambda *a, **k: pytest.fail("started"))
    with pytest.raises(ValueError, match="gil must be None when interpreter is None"):
        tl.trace_on(None, True)
    gil_build = op.Interpreter("/usr/bin/python3.11", "3.11.7", free_threaded=False)
    with pytest.raises(ValueError, match="gil=False needs a free-threaded build"):
        tl.trace_on(gil_build, False)


# --- the words, on traces built by hand ----------------------------------------------------

def _trace(intervals: list[list[tuple[float, float]]], gil: bool, cpus: int = 2,
           load: MachineLoad | None = None, workload: str = "count") -> Trace:
    lanes = [Lane(100, 200 + i, spans, sum(b - a for a, b in spans), 1000)
             for i, spans in enumerate(intervals)]
    return Trace("threads", workload, lanes, 0.0, 0.3, 0.005, gil, "3.13.5", cpus, load)


def _overlap(**kwargs) -> Trace:
    return _trace([[(0.0, 0.3)], [(0.0, 0.3)]], gil=False, **kwargs)


def _turns(gil: bool = True, **kwargs) -> Trace:
    turn, count = 0.005, 60
    return _trace([[(k * turn, (k + 1) * turn) for k in range(count) if k % 2 == lane]
                   for lane in (0, 1)], gil=gil, **kwargs)


def _pair(off: Trace, on: Trace) -> tl.GilLanes:
    return tl.GilLanes({tl.GIL_OFF_LABEL: off, tl.GIL_ON_LABEL: on}, "Python 3.13.5t")


def test_overlap_then_turns_credits_the_gil_with_the_numbers():
    sentence = tl.gil_difference(_overlap(), _turns())
    assert "the 2 threads ran side by side 100% of the time" in sentence
    assert "they took turns of 5.0 ms (median)" in sentence
    assert "Only the GIL differs" in sentence and "disturbed" not in sentence
    words = tl.describe_gil_lanes(_pair(_overlap(), _turns()))
    assert "**GIL off** (Python 3.13.5t)" in words and "**PYTHON_GIL=1**" in words


def test_one_cpu_takes_turns_anyway_and_does_not_credit_the_gil():
    sentence = tl.gil_difference(_turns(gil=False, cpus=1), _turns(cpus=1))
    assert "1 effective CPU" in sentence and "GIL or not" in sentence
    assert "0% of the time" in sentence  # measured, not asserted
    assert not any(mechanism in sentence for mechanism in MECHANISMS)
    words = tl.describe_gil_lanes(_pair(_turns(gil=False, cpus=1), _turns(cpus=1)))
    assert "That is the GIL" not in words and "Only the GIL differs" not in words


@pytest.mark.parametrize("which", ["off", "on", "both"])
def test_a_disturbed_trace_is_called_disturbed_and_explained_by_nothing(which):
    busy = MachineLoad(others=1.5, allowed=2, uncertainty=0.0)
    off = _overlap(load=busy if which in ("off", "both") else None)
    on = _turns(load=busy if which in ("on", "both") else None)
    sentence = tl.gil_difference(off, on)
    assert "**disturbed**" in sentence and "cannot say what the GIL changes" in sentence
    assert not any(mechanism in sentence for mechanism in MECHANISMS)
    lines = tl.describe_gil_lanes(_pair(off, on)).split("\n")
    for line, trace in zip(lines, (off, on)):
        if trace.load is busy:
            assert "disturbed" in line
            assert not any(mechanism in line for mechanism in MECHANISMS), line


def test_gil_off_threads_that_barely_overlapped_are_disturbed_not_explained():
    # 2 CPUs, GIL off, nothing else measured busy — yet they ran together 20 % of the time
    off = _trace([[(0.0, 0.2)], [(0.14, 0.3)]], gil=False)
    sentence = tl.gil_difference(off, _turns())
    assert "disturbed" in sentence and "Only the GIL differs" not in sentence


def test_hash_runs_side_by_side_with_the_gil_too():
    sentence = tl.gil_difference(_overlap(workload="hash"),
                                 _trace([[(0.0, 0.3)], [(0.0, 0.3)]], gil=True,
                                        workload="hash"))
    assert "two or more ran at once 100% of the time" in sentence
    assert "releases the GIL while it hashes" in sentence


def test_without_a_free_threaded_python_only_this_kernel_is_described():
    lanes = tl.GilLanes({"this kernel (GIL on)": _turns()}, None)
    words = tl.describe_gil_lanes(lanes)
    assert words.startswith("No free-threaded Python was found")
    assert "took turns" in words and "PYTHON_GIL=1" not in words


def test_the_drawing_marks_a_disturbed_trace():
    pytest.importorskip("matplotlib")
    busy = MachineLoad(others=1.5, allowed=2, uncertainty=0.0)
    figure = tl.draw_gil_lanes(_pair(_overlap(load=busy), _turns()))
    titles = [ax.get_title() for ax in figure.axes]
    assert titles[0].startswith("GIL off:") and titles[0].endswith("(disturbed)")
    assert titles[1].startswith("PYTHON_GIL=1: turns of 5.0 ms")
    assert "disturbed" not in titles[1]


def test_without_matplotlib_or_ipywidgets_one_sentence_each(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "helpers.core.lane_plots", None)
    monkeypatch.setitem(sys.modules, "helpers.core.progress", None)
    shown = tl.draw_gil_lanes(_pair(_overlap(), _turns()))
    assert "matplotlib is not installed" in shown.data
    with tl.tracing_progress(2.0, shown=True):
        pass
    assert "Tracing (about 2 s)" in capsys.readouterr().out


def test_gil_tracers_name_the_settings_and_trace_threads_only(monkeypatch):
    seen = []
    monkeypatch.setattr(tl, "trace_on", lambda *args: seen.append(args) or _turns())
    free = FOUND or op.Interpreter("/nowhere/python3.13t", "3.13.5", True)
    tracers = tl.gil_tracers(free)
    assert list(tracers) == [tl.GIL_OFF_LABEL, tl.GIL_ON_LABEL]
    tracers[tl.GIL_ON_LABEL](workload="hash", workers=3, seconds=0.1, kind="threads",
                             switch_interval_ms=20)
    assert seen == [(free, True, "hash", 3, 0.1, 20)]
    with pytest.raises(ValueError, match="kind"):
        tracers[tl.GIL_OFF_LABEL](workload="count", workers=2, seconds=0.1,
                                  kind="processes", switch_interval_ms=None)
    if not is_free_threaded_build():  # no free-threaded Python given: this kernel as it is
        assert list(tl.gil_tracers(None)) == [tl.kernel_label()]
