"""Part 5 · the convoy, drawn: round trips beside the CPU threads' lanes, words and plot.

Correctness only, never wall times: the machine is shared.
"""
import threading

import psutil
import pytest

from helpers.core.noise import MachineLoad
from helpers.core.thread_trace import Lane
from helpers.io_bound import convoy_lanes as cl

IDLE = MachineLoad(others=0.0, allowed=2)
BUSY = MachineLoad(others=0.9, allowed=1)  # a hog took most of the only CPU
START = 100.0


def lane(*intervals):
    return Lane(1, 2, list(intervals), 0.1, 100)


def fake(trip_ms=5.2, alone_ms=0.1, cpu_threads=1, gil=True, cpus=2, load=IDLE,
         lanes=None, interval=0.005):
    """A trace of 0.2 s: CPU threads ran all along; back-to-back trips of ``trip_ms``."""
    trips, sent = [], START
    while sent < START + 0.2:
        trips.append((sent, sent + trip_ms / 1000))
        sent += trip_ms / 1000 + 1e-5
    lanes = lanes or [lane((START, START + 0.2))] * cpu_threads
    return cl.ConvoyTrace(lanes, trips, [alone_ms / 1000] * 50, START, 0.2, interval, gil,
                          cpus, load)


# --- reconstruction on synthetic data ------------------------------------------------------

def test_trip_stats_give_median_and_p95():
    stats = cl.trip_stats([0.001 * n for n in range(1, 21)])
    assert stats.count == 20
    assert stats.median == pytest.approx(0.0105)
    assert stats.p95 == pytest.approx(0.019)  # index round(0.95 * 19) = 18


def test_trips_become_bars_in_ms_since_the_start_and_bad_trips_are_refused():
    result = fake(trip_ms=5.0)
    bars = result.ms(result.trips)
    assert bars[0] == pytest.approx((0.0, 5.0))
    assert all(b > a for a, b in bars)
    assert result.behind[0] == pytest.approx(0.005)
    with pytest.raises(ValueError, match="trips"):
        cl.check_trips([(1.0, 0.5)])  # back before sent
    with pytest.raises(ValueError, match="trips"):
        cl.check_trips([(1.0, 2.0), (1.5, 3.0)])  # sent before the previous reply


def test_lanes_name_each_cpu_thread_then_the_io_thread():
    rows = cl.convoy_lanes(fake(cpu_threads=2))
    assert [name for name, _ in rows] == ["CPU thread 1", "CPU thread 2", "I/O thread"]
    assert rows[0][1] == {cl.CPU_RAN: [pytest.approx((0.0, 200.0))]}
    assert list(rows[2][1]) == [cl.IO_WAITED] and cl.IO_WAITED.hatch


def test_idle_share_merges_overlapping_lanes():
    lanes = [lane((START, START + 0.1)), lane((START + 0.05, START + 0.15))]
    assert fake(lanes=lanes).idle_share() == pytest.approx(0.25)


def test_plot_has_title_units_and_the_switch_interval():
    fig = cl.plot_convoy_trace(fake(cpu_threads=2))
    lanes_ax, latency_ax = fig.axes
    assert "5.20 ms (median; alone 0.10 ms)" in " ".join(lanes_ax.get_title().split())
    assert "(ms)" in lanes_ax.get_xlabel() and "(ms" in latency_ax.get_xlabel()
    assert lanes_ax.get_xlim() == (0.0, 100.0)
    labels = [t.get_text() for t in lanes_ax.get_legend().get_texts()]
    assert labels == ["ran Python code", "waiting for reply + GIL", "reply seen in Python"]
    assert any("switch interval (5 ms)" == t.get_text()
               for t in latency_ax.get_legend().get_texts())


# --- words on synthetic results ------------------------------------------------------------

def test_words_behind_one_cpu_thread_give_the_switch_interval_arithmetic():
    text = cl.describe_convoy_trace(fake())
    assert "**0.10 ms**" in text and "**5.20 ms**" in text
    assert "52× longer, 1.0 switch intervals more" in text  # (5.2 - 0.1) / 5
    assert "GIL" in text and "disturbed" not in text and "operating system" not in text


def test_words_with_two_cpu_threads_and_long_waits_say_another_may_take_the_gil():
    text = cl.describe_convoy_trace(fake(trip_ms=12.0, cpu_threads=2))
    assert "another CPU thread may take it" in text


def test_words_on_one_cpu_do_not_credit_the_gil_alone():
    text = cl.describe_convoy_trace(fake(cpus=1, load=MachineLoad(0.0, 1)))
    assert "1 effective CPU" in text and "operating system" in text
    assert "switch-interval sweep above" in text and "disturbed" not in text
    assert "Why:" not in text  # the reply may wait for the CPU too: not measured


@pytest.mark.parametrize("result", [
    fake(load=BUSY, cpus=1),  # other programs took the CPU
    fake(alone_ms=3.0),  # the echo was slow even alone
    fake(lanes=[lane((START, START + 0.1))]),  # the CPU thread did not run half the time
], ids=["load", "slow alone", "idle lanes"])
def test_disturbed_runs_are_called_disturbed_and_explained_by_nothing_else(result):
    text = cl.describe_convoy_trace(result)
    assert "**disturbed**" in text
    assert "GIL" not in text and "switch intervals more" not in text
    assert "operating system" not in text


def test_words_without_the_gil_do_not_blame_it():
    same = cl.describe_convoy_trace(fake(trip_ms=0.1, gil=False))
    assert "without the GIL" in same and "did not slow it down" in same
    grew = cl.describe_convoy_trace(fake(gil=False))
    assert "operating system takes turns" in grew and "switch intervals more" not in grew


def test_no_slowdown_under_the_gil_is_reported_as_unexpected():
    text = cl.describe_convoy_trace(fake(trip_ms=0.1))
    assert "run it again" in text and "switch intervals more" not in text


# --- bad input and a real run ----------------------------------------------------------------

@pytest.mark.parametrize(("call", "name"), [
    (lambda: cl.convoy_trace(0), "cpu_threads"),
    (lambda: cl.convoy_trace(5), "cpu_threads"),
    (lambda: cl.convoy_trace(1, seconds=10), "seconds"),
    (lambda: cl.convoy_trace(1, seconds=0.0), "seconds"),
    (lambda: cl.trip_stats([]), "durations"),
])
def test_bad_inputs_raise_value_error_naming_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def _live_children() -> set[int]:
    """This process's children that run, other than multiprocessing's own helpers."""
    alive = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE and not any(
                    "forkserver" in part or "resource_tracker" in part
                    for part in child.cmdline()):
                alive.add(child.pid)
        except psutil.NoSuchProcess:
            pass
    return alive


@pytest.mark.parametrize("cpu_threads", [1, 2])
def test_a_real_trace_is_consistent_and_leaves_nothing_behind(cpu_threads):
    threads, children = threading.active_count(), _live_children()
    seen = []
    result = cl.convoy_trace(cpu_threads, seconds=0.1,
                             on_progress=lambda done, total: seen.append((done, total)))
    assert seen == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert threading.active_count() == threads and _live_children() <= children
    assert len(result.cpu_lanes) == cpu_threads and result.trips and result.alone
    assert all(back > sent for sent, back in result.trips)
    assert all(result.start <= sent < result.end for sent, _ in result.trips)
    step = 0.01  # a lane's last note comes one counting step after the end, at most
    assert all(result.start <= a <= b <= result.end + step
               for one in result.cpu_lanes for a, b in one.intervals)
    assert cl.describe_convoy_trace(result) and cl.plot_convoy_trace(result).axes


def test_a_hog_on_one_of_two_cpus_disturbs_the_convoy_timing():
    """Under the GIL only one thread computes, but the waiting I/O thread needs a CPU the
    moment its reply (and the GIL) is there: a hog taking one of two CPUs disturbs that."""
    text = cl.describe_convoy_trace(fake(load=MachineLoad(1.0, 2, 0.05)))
    assert "**disturbed**" in text and "Why:" not in text
    assert "**disturbed**" not in cl.describe_convoy_trace(fake(load=MachineLoad(0.1, 2, 0.05)))
