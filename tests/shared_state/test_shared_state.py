"""Notebook 06's other helpers: pipelines, deadlock, sharing between processes,
coordination, and the bank exercise's self-check."""
import multiprocessing
import threading
import time

import pytest

from helpers.shared_state import bank, coordination, deadlock, pipelines
from helpers.shared_state.process_sharing import WAYS, describe_sharing, share_counter

METHODS = multiprocessing.get_all_start_methods()


@pytest.mark.parametrize("kind", ["threads", "processes"])
@pytest.mark.parametrize("maxsize", [0, 2])
def test_pipeline_processes_every_item_once_and_stops(kind, maxsize, no_leftover_processes):
    before = threading.active_count()
    result = pipelines.run_producer_consumer(kind, items=12, consumers=3, maxsize=maxsize,
                                             produce_ms=1, work_ms=5)
    assert sorted(rec.task for rec in result.run.records) == list(range(12))
    assert result.run.worker_count_seen <= 3 and result.run.executor == kind
    if maxsize:
        assert result.deepest <= maxsize
    assert threading.active_count() <= before  # every consumer thread got its sentinel
    assert kind in pipelines.describe_pipeline(result)


@pytest.mark.parametrize("call, name", [
    (lambda: pipelines.run_producer_consumer("fibers"), "kind"),
    (lambda: pipelines.run_producer_consumer(items=0), "items"),
    (lambda: pipelines.run_producer_consumer(consumers=0), "consumers"),
    (lambda: pipelines.run_producer_consumer(maxsize=-1), "maxsize"),
    (lambda: pipelines.run_producer_consumer(work_ms=5000), "work_ms"),
    (lambda: deadlock.two_threads(True, timeout=0), "timeout"),
    (lambda: share_counter("telepathy"), "way"),
    (lambda: share_counter(WAYS[0], processes=0), "processes"),
    (lambda: coordination.semaphore_limit(limit=0), "limit"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_opposite_orders_deadlock_and_return_within_the_timeout():
    start = time.monotonic()
    attempts = deadlock.two_threads(opposite=True, timeout=0.3, hold=0.05)
    assert time.monotonic() - start < 10  # bounded: never hangs
    assert any(not a.got_both for a in attempts)
    assert "could not get" in deadlock.describe_attempts(attempts)


def test_one_lock_order_never_deadlocks():
    attempts = deadlock.two_threads(opposite=False, timeout=0.3, hold=0.05)
    assert all(a.got_both for a in attempts) and len(attempts) == 2
    assert "No deadlock is possible" in deadlock.describe_attempts(attempts)


@pytest.mark.parametrize("method", METHODS)
def test_correct_ways_of_sharing_lose_nothing(method, no_leftover_processes):
    results = [share_counter(way, 2, times=300, start_method=method) for way in WAYS]
    for result in results:
        if result.way != "Value, no lock":
            assert result.lost == 0, result
        assert 0 <= result.lost < result.expected and result.per_add > 0
    assert "| Array, a slot each | 600 / 600 | 0 |" in describe_sharing(results)


def test_coordination_examples():
    woken = coordination.event_wakeup(3, after=0.05)
    assert len(woken) == 3 and min(woken) >= 0.05
    seen = coordination.semaphore_limit(limit=2, threads=6, latency_ms=30)
    assert seen["requests"] == 6 and seen["peak_in_flight"] <= 2
    assert all(a == b for a, b in coordination.thread_local_names(4))
    checks = coordination.atomic_checks(threads=4, times=2000)
    assert checks[0].operation == "list.append(x)" and checks[0].lost == 0


def test_bank_self_check_rejects_the_race_and_accepts_a_lock():
    assert not bank.check_transfer(bank.racy_transfer)

    def locked(b, source, target, amount):
        with b.lock:
            bank.racy_transfer(b, source, target, amount)

    assert bank.check_transfer(locked)
    assert not bank.check_transfer("not a function")

    def broken(b, source, target, amount):
        raise KeyError(source)

    assert "KeyError" in str(bank.check_transfer(broken))

    def lock_only_the_write(b, source, target, amount):
        from_balance, to_balance = b.balances[source], b.balances[target]
        time.sleep(0)
        with b.lock:
            b.balances[source] = from_balance - amount
            b.balances[target] = to_balance + amount

    assert not bank.check_transfer(lock_only_the_write)
