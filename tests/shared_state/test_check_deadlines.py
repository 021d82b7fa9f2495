"""Issue 20, point 2: self-checks that wait too long.

A transfer that takes the bank's lock and never gives it back must cost one deadline for
all four threads (not one per thread), and the check must say so — and that threads stuck
on a lock cannot be stopped. The "never released" lock here is held until the test lets
go, so that the threads end and nothing is left running after the test.
"""
from __future__ import annotations

import threading

import pytest

from helpers.core.selfcheck import join_within, stuck_threads
from helpers.shared_state import bank

GENEROUS = 20.0  # a bound for the whole check, far above its deadline (never a timing claim)


def run_bounded(function, *args, **kwargs) -> list:
    """Run ``function`` in a thread; wait at most ``GENEROUS`` s; ``[result]`` or ``[]``."""
    result: list = []
    runner = threading.Thread(target=lambda: result.append(function(*args, **kwargs)),
                              daemon=True)
    runner.start()
    runner.join(GENEROUS)
    return result


@pytest.fixture
def hogging_transfer():
    """A transfer that holds ``bank.lock`` until the test ends, and the threads it ran in."""
    let_go = threading.Event()
    seen: set[threading.Thread] = set()

    def hog(b: bank.Bank, source: str, target: str, amount: int) -> None:
        seen.add(threading.current_thread())
        with b.lock:
            let_go.wait()

    yield hog
    let_go.set()
    assert not join_within(list(seen), GENEROUS), "the hogging threads did not end"


def test_check_transfer_with_a_lock_never_released_returns_within_one_deadline(
        hogging_transfer):
    # 0.5 s per thread in turn would be 2 s: longer than the 1 s a single deadline allows,
    # and the message must report the real bound (1 s), not a per-thread one.
    result = run_bounded(bank.check_transfer, hogging_transfer, timeout=1.0)
    assert result, f"check_transfer did not return within {GENEROUS} s"
    check = result[0]
    assert not check and check.state == "failed"
    text = str(check)
    assert "4 of 4 threads were still running after 1 s" in text
    assert "cannot be stopped" in text and "restart the kernel" in text
    assert "bank.lock" in text  # the hint


def test_run_transfers_raises_timeout_error_naming_the_stuck_threads(hogging_transfer):
    with pytest.raises(TimeoutError, match=r"4 of 4 threads .* after 0\.2 s"):
        bank.run_transfers(hogging_transfer, timeout=0.2)


def test_a_timeout_error_raised_by_the_transfer_is_not_taken_for_stuck_threads():
    def impatient(b: bank.Bank, source: str, target: str, amount: int) -> None:
        raise TimeoutError("gave up waiting for the lock")

    text = str(bank.check_transfer(impatient))
    assert "raised TimeoutError: gave up waiting" in text and "cannot be stopped" not in text


def test_a_check_deadline_that_is_not_a_number_is_named():
    with pytest.raises(ValueError, match="timeout"):
        bank.check_transfer(bank.racy_transfer, timeout=0)
    with pytest.raises((TypeError, ValueError), match="timeout"):
        bank.check_transfer(bank.racy_transfer, timeout="soon")


class SlowThread:
    """Stands in for a thread that never ends: ``join`` waits the time it is given and
    notes it, so the test sees the waits asked for, not the clock."""

    def __init__(self, asked: list[float]) -> None:
        self.asked = asked

    def join(self, timeout: float) -> None:
        self.asked.append(timeout)
        threading.Event().wait(timeout)

    def is_alive(self) -> bool:
        return True


def test_join_within_is_one_deadline_for_all_threads():
    asked: list[float] = []
    stuck = [SlowThread(asked) for _ in range(3)]
    assert join_within(stuck, 0.2) == stuck  # all still running, all reported
    assert len(asked) == 3 and asked[0] <= 0.2
    assert sum(asked) <= 0.2 + 1e-9, f"each join got its own deadline: {asked}"


def test_join_within_returns_none_once_every_thread_ended():
    release = threading.Event()
    threads = [threading.Thread(target=release.wait, daemon=True) for _ in range(3)]
    for thread in threads:
        thread.start()
    release.set()
    assert join_within(threads, GENEROUS) == []


def test_stuck_threads_says_the_bound_and_what_to_do():
    text = stuck_threads(3, 4, 2.5)
    assert text.startswith("3 of 4 threads were still running after 2.5 s")
    assert "cannot be stopped" in text and "restart the kernel" in text
    assert not text.endswith(".")  # the caller ends the sentence
