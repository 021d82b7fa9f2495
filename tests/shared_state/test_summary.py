"""Notebook 06's Key points: built from the runs, and saying what a result means."""
import dataclasses

from helpers.shared_state import summary
from helpers.shared_state.deadlock import Attempt
from helpers.shared_state.races import Race


def runs(increment, lost, seconds=(0.010, 0.010, 0.010), times=1000, threads=4):
    return [Race(increment, threads, times, threads * times - n, s)
            for n, s in zip(lost, seconds)]


PLAIN = runs("plain +=", [0, 0, 0])
BY_INCREMENT = {"plain +=": PLAIN, summary.PAUSED: runs(summary.PAUSED, [900, 1200, 1500]),
                summary.PAUSED_LOCKED: runs(summary.PAUSED_LOCKED, [0, 0, 0])}
LOCKED = runs("+= with a lock", [0, 0, 0], seconds=(0.030, 0.030, 0.030))
STUCK = [Attempt("thread 1", ("A", "B"), True, 1.0), Attempt("thread 2", ("B", "A"), False, 1.0)]


def test_key_points_state_the_counts_measured():
    text = summary.key_points(PLAIN, BY_INCREMENT, LOCKED, STUCK)
    assert text.count("\n- ") + 1 == 4
    assert "900–1,500 of 4,000" in text and "0 of 4,000" in text
    assert "3.0× as long" in text and "deadlocked here" in text
    assert "disturbed" not in text


def test_no_loss_under_the_gil_is_not_a_promise_and_a_loss_is_just_counted():
    assert "not a promise" in summary.plain_point(PLAIN, gil=True)
    lost = summary.plain_point(runs("plain +=", [5, 7, 9]), gil=False)
    assert "5–9 of 4,000" in lost and "GIL off" in lost and "promise" not in lost


def test_a_disturbed_lock_timing_is_said_in_short():
    spread = runs("+= with a lock", [0, 0, 0], seconds=(0.010, 0.030, 0.090))
    text = summary.key_points(PLAIN, BY_INCREMENT, spread, STUCK)
    assert "**disturbed**" in text and "as long" not in text


def test_threads_that_did_not_overlap_are_not_called_safe():
    lucky = [dataclasses.replace(a, got_both=True) for a in STUCK]
    text = summary.key_points(PLAIN, BY_INCREMENT, LOCKED, lucky)
    assert "did not overlap this time" in text and "deadlocked here" not in text
