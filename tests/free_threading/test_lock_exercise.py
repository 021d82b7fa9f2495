"""Tests for helpers.free_threading.lock_exercise: notebook 07's second exercise (a counter
safe without the GIL).

Counts, never times. The free-threaded part runs only where a free-threaded Python is found.
"""
from __future__ import annotations

import threading

import pytest

from helpers.core.other_pythons import find_free_threaded
from helpers.free_threading import lock_exercise as lx

GLOBAL_LOCK = threading.Lock()


def safe_add(counter, times):  # the notebook's solution
    for _ in range(times):
        with counter.lock:
            counter.value += 1


def plain_add(counter, times):
    for _ in range(times):
        counter.value += 1


def new_lock_each_time(counter, times):
    for _ in range(times):
        with threading.Lock():
            counter.value += 1


def lock_around_the_write_only(counter, times):
    for _ in range(times):
        current = counter.value
        with counter.lock:
            counter.value = current + 1


def adds_two(counter, times):
    for _ in range(times):
        with counter.lock:
            counter.value += 2


def never_releases(counter, times):
    counter.lock.acquire()
    for _ in range(times):
        counter.value += 1


def raises(counter, times):
    raise KeyError("oops")


def global_lock_add(counter, times):  # right here, but it needs a name from elsewhere
    for _ in range(times):
        with GLOBAL_LOCK:
            counter.value += 1


def test_the_pausing_counter_loses_updates_without_a_lock():
    counted, problem = lx.count_with_threads(plain_add, lx.PausingCounter(), 4, 200)
    assert problem is None and counted < 800


def test_check_safe_add_accepts_the_solution():
    result = lx.check_safe_add(safe_add, times=200)
    assert result and "all 800 counted" in result.message


@pytest.mark.parametrize(("answer", "words"), [
    (plain_add, "updates lost"),
    (new_lock_each_time, "updates lost"),
    (lock_around_the_write_only, "updates lost"),
    (adds_two, "more than"),
    (never_releases, "still running"),
    (raises, "KeyError"),
    ("safe_add", "function"),
])
def test_check_safe_add_rejects_wrong_answers_without_raising(answer, words):
    result = lx.check_safe_add(answer, times=200, timeout=1.0)
    assert not result
    assert words in result.message and "Hint:" in result.message


def test_an_empty_exercise_is_not_answered_neither_right_nor_wrong():
    result = lx.check_safe_add(..., times=200)
    assert result.state == "unanswered" and not result.passed
    assert "safe_add" in result.message


def test_bad_settings_name_the_parameter():
    with pytest.raises(ValueError, match="threads"):
        lx.check_safe_add(safe_add, threads=1)


def test_source_of_a_def_function_only():
    assert lx.source_of(safe_add).startswith("def safe_add(counter, times):")
    assert lx.source_of(lambda counter, times: None) is None
    assert lx.source_of(len) is None


FT = find_free_threaded()


@pytest.mark.skipif(FT is None, reason="no free-threaded Python on this machine")
def test_with_the_gil_off_the_solution_counts_everything_and_a_global_name_is_refused():
    result = lx.check_safe_add(safe_add, FT, times=100)
    assert result and "GIL off" in result.message, result.message
    refused = lx.check_safe_add(global_lock_add, FT, times=100)
    assert lx.check_safe_add(global_lock_add, times=100)  # here it is right
    assert not refused and "NameError" in refused.message and "Hint:" in refused.message


@pytest.mark.skipif(FT is None, reason="no free-threaded Python on this machine")
def test_run_in_counts_in_the_free_threaded_build_with_the_gil_off():
    there = lx.run_in(FT, lx.source_of(plain_add), "plain_add", threads=4, times=200_000)
    assert there["problem"] is None and not there["gil_enabled"]
    assert 0 < there["counted"] <= 800_000  # a count; lost updates are likely, not certain


def test_check_safe_add_stuck_threads_say_one_deadline_and_restart_the_kernel():
    """Issue 20, point 2: one deadline for all threads, and the words say what it means."""
    result = lx.check_safe_add(never_releases, times=200, timeout=0.5)
    assert not result
    assert "of 4 threads were still running after 0.5 s" in result.message
    assert "restart the kernel" in result.message
