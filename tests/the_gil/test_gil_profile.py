"""helpers.the_gil.gil_profile(_words): the GIL itself, from Python 3.15's sampling profiler.

The parser is checked on a tiny hand-made profile (every share worked out by hand) and on a
profile trimmed from a real run (shares recomputed marker by marker, independently of the
parser's interval code). One real run under the profiler, where a 3.15+ is found, checks
the two counting threads' waiting shares and that no process is left; the failure paths
(no 3.15, timeout, ■, refused permission, bad input) return one sentence, never hang.
"""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from helpers.core.noise import MachineLoad
from helpers.core.other_pythons import CACHE_ENV
from helpers.core.thread_trace import Lane, Trace
from helpers.the_gil import gil_profile as gp
from helpers.the_gil.gil_profile import (
    GilProfile,
    clip,
    failure_reason,
    find_profiler_python,
    probe_profiler,
    profile_gil,
    profiler_candidates,
    read_profile,
    subtract,
)
from helpers.the_gil.gil_profile_words import (
    describe_gil_profile,
    gil_disturbance,
    hand_offs,
    plot_gil_profile,
    shares,
)

STORED = Path(__file__).parent / "data" / "gil_profile_2_counting_threads.json"
IDLE = MachineLoad(0.0, 2)
FOUND = find_profiler_python()


def gecko_thread(tid: int, **states: list[tuple[float, float]]) -> dict:
    """A gecko thread whose markers are ``states`` (type -> spans in ms)."""
    rows = sorted((a, b, kind) for kind, spans in states.items() for a, b in spans)
    return {"tid": tid, "markers": {"data": [{"type": kind} for _, _, kind in rows],
                                    "startTime": [a for a, _, _ in rows],
                                    "endTime": [b for _, b, _ in rows]}}


AGREEING = ([(0.1, 2.9), (6.1, 7.9)], [(3.1, 5.9), (8.1, 9.9)])  # progress while holding


def small_trace(tids=(11, 12), cpus: int = 2, load: MachineLoad | None = IDLE,
                ran=([(1.0, 3.0)], [(1.0, 3.0)]), seconds: float = 0.010) -> Trace:
    """Workers started at perf_counter 2.0 s for ``seconds``; each lane's progress
    ``ran`` in ms since then."""
    lanes = [Lane(1, tid, [(2.0 + a / 1000, 2.0 + b / 1000) for a, b in spans], 0.0, 10)
             for tid, spans in zip(tids, ran)]
    return Trace("threads", "count", lanes, 2.0, seconds, 0.005, True, "3.15.2", cpus, load)


def hand_made(**trace_options) -> GilProfile:
    """meta.startTime 1990 ms, workers started at 2000 ms: the window is 10-20 profile ms.

    Thread 11: held 8-13 and 16-18, waited 13-16, on CPU 7-14, off CPU 13-17 and 19-22.
    Thread 12: waited 8-13 and 16-18, held 13-16 and 18-25, off CPU 5-8. Thread 1 (the
    main thread) is not a worker."""
    gecko = {"meta": {"startTime": 1990.0, "interval": 0.2}, "threads": [
        gecko_thread(1, HasGIL=[(0.0, 30.0)]),
        gecko_thread(11, HasGIL=[(8, 13), (16, 18)], WaitingforGIL=[(13, 16)],
                     OnCPU=[(7, 14)], OffCPU=[(13, 17), (19, 22)]),
        gecko_thread(12, WaitingforGIL=[(8, 13), (16, 18)], HasGIL=[(13, 16), (18, 25)],
                     OffCPU=[(5, 8)])]}
    return read_profile(gecko, small_trace(**trace_options), "Python 3.15.2")


# --- the parser --------------------------------------------------------------------------

def test_hand_made_profile_gives_the_shares_worked_out_by_hand():
    profile = hand_made()
    first, second = profile.threads
    assert [t.tid for t in profile.threads] == [11, 12] and profile.window_ms == 10
    assert first.held == [(0, 3), (6, 8)] and first.waited == [(3, 6)]
    assert first.on_cpu == [] and first.off_cpu == [(6, 7), (9, 10)]
    assert second.held == [(3, 6), (8, 10)] and second.waited == [(0, 3), (6, 8)]
    assert second.on_cpu == [] and second.off_cpu == []
    a, b = shares(profile)
    assert (a.held, a.waited, a.on_cpu, a.off_cpu) == pytest.approx((0.5, 0.3, 0.0, 0.2))
    assert (b.held, b.waited, b.on_cpu, b.off_cpu) == pytest.approx((0.5, 0.5, 0.0, 0.0))
    # both lanes ran 1-3 ms: thread 11 held the GIL then (2 ms), thread 12 did not (0 ms)
    assert profile.agreement == pytest.approx(0.5) and profile.interval_ms == 0.2


def test_clip_and_subtract():
    assert clip([(0, 5), (8, 30), (40, 50)], (4, 20)) == [(0, 1), (4, 16)]
    assert subtract([(0, 10), (12, 14)], [(2, 3), (5, 13)]) == [(0, 2), (3, 5), (13, 14)]
    assert subtract([(0, 10)], []) == [(0, 10)] and subtract([(1, 2)], [(0, 5)]) == []


def _clipped_total(spans, w0, w1):
    return sum(max(0.0, min(b, w1) - max(a, w0)) for a, b in spans)


def test_stored_real_profile_matches_marker_arithmetic():
    data = json.loads(STORED.read_text(encoding="utf-8"))
    trace = Trace.from_dict(data["trace"])
    profile = read_profile(data, trace, "Python 3.15.2")
    w0 = trace.start * 1000 - data["meta"]["startTime"]
    w1 = w0 + trace.seconds * 1000
    by_tid = {t["tid"]: t for t in data["threads"]}
    for lane, measured in zip(trace.lanes, shares(profile)):
        table = by_tid[lane.tid]["markers"]
        spans = {kind: [(a, b) for a, b, d in zip(table["startTime"], table["endTime"],
                                                   table["data"]) if d["type"] == kind]
                 for kind in ("HasGIL", "WaitingforGIL", "OffCPU")}
        waits_off = sum(_clipped_total([(max(a, c), min(b, d))], w0, w1)
                        for a, b in spans["OffCPU"] for c, d in spans["WaitingforGIL"]
                        if min(b, d) > max(a, c))
        window = w1 - w0
        assert measured.held == pytest.approx(_clipped_total(spans["HasGIL"], w0, w1) / window)
        assert measured.waited == pytest.approx(
            _clipped_total(spans["WaitingforGIL"], w0, w1) / window)
        assert measured.off_cpu == pytest.approx(
            (_clipped_total(spans["OffCPU"], w0, w1) - waits_off) / window)
        assert 0.3 <= measured.waited <= 0.7  # two counting threads: each waited ~half
    inner = sorted(min(b, w1) - max(a, w0) for lane in trace.lanes
                   for a, b, d in zip(by_tid[lane.tid]["markers"]["startTime"],
                                      by_tid[lane.tid]["markers"]["endTime"],
                                      by_tid[lane.tid]["markers"]["data"])
                   if d["type"] == "HasGIL" and a > w0 and b < w1)
    assert hand_offs(profile).median == pytest.approx(statistics.median(inner))
    assert 7612 not in [t.tid for t in profile.threads]  # the main thread is not a worker


def test_a_worker_missing_from_the_profile_is_a_sentence():
    gecko = {"meta": {"startTime": 0.0, "interval": 0.2}, "threads": [gecko_thread(11)]}
    profile = read_profile(gecko, small_trace())
    assert not profile.available and "no thread 12" in describe_gil_profile(profile)


# --- the words and the picture -----------------------------------------------------------

def test_words_name_shares_sampling_and_the_gil_on_two_cpus():
    profile = hand_made(ran=AGREEING)
    text = describe_gil_profile(profile)
    assert profile.agreement == pytest.approx(1.0)
    assert "held the GIL (50 %, 50 %) and waited for it (30 %, 50 %)" in text
    assert "Too few hand-offs" in text and "sampled every 0.20 ms" in text
    assert "disturbed" not in text and "waiting was for the GIL" in text


def test_words_on_the_stored_run_give_the_hand_off_beside_the_switch_interval():
    data = json.loads(STORED.read_text(encoding="utf-8"))
    profile = read_profile(data, Trace.from_dict(data["trace"]), "Python 3.15.2")
    text, stats = describe_gil_profile(profile), hand_offs(profile)
    assert f"changed hands every {stats.median:.1f} ms (median of {stats.count}" in text
    assert "switch interval at 5 ms" in text and "Each of the 2 counting threads" in text


def test_one_cpu_reports_the_waiting_without_blaming_the_gil():
    text = describe_gil_profile(hand_made(cpus=1, ran=AGREEING))
    assert "1 effective CPU" in text and "was for the GIL" not in text
    assert "disturbed" not in text


def test_a_busy_machine_is_disturbed_and_explains_nothing():
    text = describe_gil_profile(hand_made(load=MachineLoad(1.5, 2), ran=AGREEING))
    assert "**disturbed**" in text and "changed hands" not in text
    assert "was for the GIL" not in text


def test_progress_outside_the_gil_stretches_is_disturbed():
    profile = hand_made(ran=([(3.5, 5.5)], [(0.5, 2.5)]))  # each waited then: they disagree
    assert profile.agreement < 0.6 and "**disturbed**" in gil_disturbance(profile)


def test_plot_has_four_states_a_title_and_a_time_axis():
    fig = plot_gil_profile(hand_made(), window_ms=(0.0, 10.0))
    ax = fig.axes[0]
    assert "who held the GIL" in ax.get_title() and "sampled every 0.20 ms" in ax.get_title()
    assert ax.get_xlabel() == "time since the workers started (ms)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "holds the GIL", "waits for the GIL", "on CPU, no GIL, not waiting",
        "off CPU, not waiting"]
    with pytest.raises(ValueError, match="window_ms"):
        plot_gil_profile(hand_made(), window_ms=(5.0, 50.0))


def test_unavailable_is_one_sentence_and_no_plot():
    profile = GilProfile.unavailable("no Python 3.15 or newer was found")
    text = describe_gil_profile(profile)
    assert text.count(". ") == 1 and "no Python 3.15" in text and "timeline above" in text
    assert plot_gil_profile(profile) is None


# --- finding and running -------------------------------------------------------------------

@pytest.mark.parametrize("bad", [{"workers": 0}, {"seconds": 5.0}, {"workload": "sleep"},
                                 {"switch_interval_ms": 0.0}, {"timeout": 0.0}])
def test_bad_input_is_refused_before_anything_starts(monkeypatch, bad):
    def started(*args, **kwargs):
        raise AssertionError("nothing may start")

    monkeypatch.setattr(gp, "find_profiler_python", started)
    monkeypatch.setattr(subprocess, "Popen", started)
    with pytest.raises(ValueError, match=next(iter(bad))):
        profile_gil(**bad)


def test_no_python_3_15_is_the_sentence(monkeypatch):
    monkeypatch.setattr(gp, "find_profiler_python", lambda: None)
    text = describe_gil_profile(profile_gil())
    assert "not measured" in text and "no Python 3.15 or newer" in text


def test_an_older_python_has_no_profiler():
    kernel = probe_profiler(sys.executable)
    assert kernel.version == sys.version.split()[0]
    if sys.version_info >= (3, 15):
        assert kernel.problem == ""
    else:
        assert "came with 3.15" in kernel.problem
    assert probe_profiler("/nonexistent/python3.15") is None


def test_candidates_start_with_the_variable_then_newest_first(tmp_path):
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in ("python3.15", "python3.16", "python3.15t", "python3.15-config", "python3.14"):
        (folder / name).write_text("")
    env = {"PATH": str(folder), gp.PROFILER_ENV: "/chosen/python", CACHE_ENV: str(tmp_path)}
    found = profiler_candidates(env, home=tmp_path)
    kernel = [sys.executable] if sys.version_info >= (3, 15) else []
    assert found == ["/chosen/python", *kernel,
                     *(str(folder / n) for n in ("python3.16", "python3.15", "python3.15t"))]


def test_a_refused_permission_is_said_plainly():
    linux = "\n🔒 Tachyon was unable to access process memory. This could be because"
    assert "not permitted to read another process's memory" in failure_reason(1, linux)
    assert "exit code 2: boom" in failure_reason(2, "Traceback…\nboom\n")


@pytest.mark.parametrize("code, words", [
    ("pass", "left no readable result"),
    ("import sys; sys.exit('boom')", "the profiled run failed (exit code 1: boom)"),
    ("import sys; print('🔒 unable to access process memory', file=sys.stderr); sys.exit(1)",
     "not permitted")])
def test_a_child_that_fails_is_one_sentence(monkeypatch, no_leftover_processes, code, words):
    monkeypatch.setattr(gp, "profile_command", lambda *args: [sys.executable, "-c", code])
    python = gp.ProfilerPython(sys.executable, "3.15.2")
    text = describe_gil_profile(profile_gil(python=python, timeout=30.0))
    assert words in text and text.startswith("**The GIL itself was not measured:**")


needs_315 = pytest.mark.skipif(FOUND is None, reason="no Python 3.15+ with its profiler here")


@needs_315
def test_the_environment_variable_is_asked_first(monkeypatch):
    monkeypatch.setenv(gp.PROFILER_ENV, FOUND.path)
    assert find_profiler_python().path == FOUND.path


@needs_315
def test_a_real_run_shows_two_counting_threads_taking_turns(no_leftover_processes):
    """Near one half each, or the words say disturbed; a live measurement may land on a
    hiccup the checks do not catch, so it gets three tries."""
    seen = []
    for _ in range(3):
        profile = profile_gil("count", 2, 0.3, switch_interval_ms=5, python=FOUND)
        assert profile.available, profile.reason
        assert [t.tid for t in profile.threads] == [lane.tid for lane in profile.trace.lanes]
        if gil_disturbance(profile):  # a busy machine: the words must say so
            assert "**disturbed**" in describe_gil_profile(profile)
            return
        rows = shares(profile)
        seen.append([(round(row.waited, 2), round(row.held, 2)) for row in rows])
        if all(0.3 <= row.waited <= 0.7 and 0.3 <= row.held <= 0.7 for row in rows):
            assert hand_offs(profile) is not None
            return
    pytest.fail(f"waited/held shares far from one half in 3 undisturbed runs: {seen}")


def temp_folders() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("lab-gil-*")}


@needs_315
def test_a_timeout_stops_the_profiler_and_its_target(no_leftover_processes):
    before = temp_folders()
    profile = profile_gil(seconds=1.0, python=FOUND, timeout=0.2)
    assert "did not finish within 0.2 s" in describe_gil_profile(profile)
    assert temp_folders() <= before


@needs_315
def test_an_interrupt_stops_everything_and_is_raised(monkeypatch, no_leftover_processes):
    real_wait = subprocess.Popen.wait

    def interrupted(self, timeout=None):
        if timeout is not None and timeout > 10:  # the run's wait, not the reaping one
            raise KeyboardInterrupt
        return real_wait(self, timeout)

    monkeypatch.setattr(subprocess.Popen, "wait", interrupted)
    before = temp_folders()
    with pytest.raises(KeyboardInterrupt):
        profile_gil(python=FOUND, timeout=30.0)
    assert temp_folders() <= before
