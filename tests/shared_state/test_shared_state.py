"""Notebook 06's other helpers: pipelines, deadlock, sharing between processes,
coordination, and the bank exercise's self-check."""
import multiprocessing
import queue
import threading
import time

import pytest

from helpers.core.runner import RunResult, TaskRecord
from helpers.shared_state import bank, coordination, deadlock, pipelines
from helpers.shared_state.process_sharing import (
    UNGUARDED,
    WAYS,
    Shared,
    describe_sharing,
    share_counter,
)

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
    assert len(result.puts) == 12 + 3  # every item and every sentinel
    assert threading.active_count() <= before  # every consumer thread got its sentinel
    assert kind in pipelines.describe_pipeline(result)


@pytest.mark.parametrize("kind", ["threads", "processes"])
def test_producer_waits_only_on_a_bounded_queue(kind, no_leftover_processes):
    """One slow consumer, a producer that never pauses: a queue of 1 fills at once."""
    shape = dict(items=8, consumers=1, produce_ms=0, work_ms=20)
    bounded = pipelines.run_producer_consumer(kind, maxsize=1, **shape)
    assert bounded.waits > 0 and bounded.producer_blocked > 0
    assert all(put.blocked > 0 for put in bounded.puts if put.waited)
    unbounded = pipelines.run_producer_consumer(kind, maxsize=0, **shape)
    assert unbounded.waits == 0 and unbounded.producer_blocked == 0
    assert "never full" in pipelines.describe_pipeline(unbounded)
    assert "found the queue full" in pipelines.describe_pipeline(bounded)


def test_put_and_record_waits_only_for_a_full_queue():
    tasks = queue.Queue(maxsize=1)
    first = pipelines.put_and_record(tasks, 1)
    assert not first.waited and first.blocked == 0 and first.depth == 1
    taker = threading.Timer(0.05, tasks.get)
    taker.start()
    second = pipelines.put_and_record(tasks, 2, timeout=10)
    taker.join()
    assert second.waited and second.blocked > 0 and second.end >= second.start


def fake_pipeline(maxsize, waits, durations=(0.03, 0.03, 0.031)):
    records = [TaskRecord(i, 1, 1, i * 0.03, i * 0.03 + d, 0.0)
               for i, d in enumerate(durations)]
    run = RunResult("pipeline", "threads", 1, len(records), 30, None, [0.1], [0.0], records,
                    [r.task for r in records])
    puts = tuple(pipelines.Put(i, i * 0.01, i * 0.01 + (0.02 if w else 0.0), w,
                               min(i + 1, maxsize or 99))
                 for i, w in enumerate(waits))
    return pipelines.Pipeline(run, maxsize, puts)


def test_pipeline_words_come_from_the_puts():
    unbounded = pipelines.describe_pipeline(fake_pipeline(0, [False] * 4))
    assert "none of the producer's 4 puts waited" in unbounded and "4 items" in unbounded
    idle = pipelines.describe_pipeline(fake_pipeline(3, [False] * 3))
    assert "never filled" in idle and "not needed" in idle and "back-pressure:" not in idle
    pushed = pipelines.describe_pipeline(fake_pipeline(2, [False, False, True, True]))
    assert "full at 2 of its 4 puts" in pushed and "0.04 s" in pushed
    assert "disturbed" not in pushed
    busy = pipelines.describe_pipeline(fake_pipeline(2, [False] * 3, (0.03, 0.06, 0.09)))
    assert "**disturbed**" in busy and "30 to 90 ms" in busy


def test_pipeline_plot_draws_the_producer_waiting():
    from matplotlib.colors import to_hex

    from helpers.core.plots import colour_for

    fig = pipelines.plot_pipelines({"unbounded": fake_pipeline(0, [False] * 3),
                                    "maxsize=2": fake_pipeline(2, [False, True, True])})
    lanes, length = fig.axes[2], fig.axes[3]
    hatched = [c for c in lanes.collections if c.get_hatch() == "///"]
    assert hatched and len(hatched[0].get_paths()) == 2  # the two waits
    assert not fig.axes[0].collections[-1].get_paths()  # unbounded: nothing hatched
    assert "(s)" in length.get_xlabel() and "items" in length.get_ylabel()
    assert "waited 0.04 s at 2 of 3 puts" in lanes.get_title()
    fills = {to_hex(c.get_facecolor()[0]) for c in lanes.collections[:1]}
    assert fills == {colour_for("threads").lower()}


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


def test_opposite_orders_that_did_not_overlap_are_not_called_safe():
    attempts = [deadlock.Attempt("thread 1", ("A", "B"), True, 0.0),
                deadlock.Attempt("thread 2", ("B", "A"), True, 0.0)]
    text = deadlock.describe_attempts(attempts)
    assert "this time" in text and "No deadlock is possible" not in text


def test_one_lock_order_never_deadlocks():
    attempts = deadlock.two_threads(opposite=False, timeout=0.3, hold=0.05)
    assert all(a.got_both for a in attempts) and len(attempts) == 2
    assert "No deadlock is possible" in deadlock.describe_attempts(attempts)


@pytest.mark.parametrize("method", METHODS)
def test_correct_ways_of_sharing_lose_nothing(method, no_leftover_processes):
    results = [share_counter(way, 2, times=300, start_method=method) for way in WAYS]
    for result in results:
        if result.way != UNGUARDED:
            assert result.lost == 0, result
        assert 0 <= result.lost < result.expected and result.per_add > 0
        assert isinstance(result.disturbed, str)
    assert "| Array, a slot each | 600 / 600 | 0 |" in describe_sharing(results)


def test_a_value_has_a_lock_yet_plus_equals_takes_it_twice():
    value = multiprocessing.Value("q", 0)
    assert hasattr(value, "get_lock")  # lock=True is the default
    assert "without get_lock()" in UNGUARDED


BUSY = "Other programs kept about 1.9 of this machine's 2 CPUs busy … **disturbed** …"


def fake_shared(lost_unguarded=0, disturbed=""):
    return [Shared(UNGUARDED, 2, 100, 200 - lost_unguarded, 1e-6, disturbed),
            Shared("Array, a slot each", 2, 100, 200, 1e-7, disturbed),
            Shared("Manager value + lock", 2, 100, 200, 1e-4, disturbed)]


def test_sharing_words_follow_the_counts_and_the_load():
    lost = describe_sharing(fake_shared(lost_unguarded=40))
    assert "lost 40 updates although it has a lock" in lost
    assert "fastest correct way was **Array, a slot each**" in lost
    hidden = describe_sharing(fake_shared())
    assert "this time" in hidden and "did not show" in hidden
    busy = describe_sharing(fake_shared(disturbed=BUSY))
    assert "**disturbed**" in busy and "(disturbed)" in busy and "fastest" not in busy


def test_coordination_examples():
    woken = coordination.event_wakeup(3, after=0.05)
    assert len(woken) == 3 and min(woken) >= 0.05
    seen = coordination.semaphore_limit(limit=2, threads=6, latency_ms=30)
    assert seen["requests"] == 6 and seen["peak_in_flight"] <= 2
    assert all(a == b for a, b in coordination.thread_local_names(4))
    checks = coordination.atomic_checks(threads=4, times=2000)
    assert checks[0].operation == "list.append(x)" and checks[0].lost == 0
    assert "list.append(x)" in coordination.describe_atomic(checks)


@pytest.mark.parametrize("gil", [True, False])
def test_atomic_words_never_call_an_unseen_race_safe(gil):
    checks = [coordination.AtomicCheck("list.append(x)", 100, 100),
              coordination.AtomicCheck('d["n"] += 1', 100, 100)]
    text = coordination.describe_atomic(checks, gil=gil)
    assert "nothing lost in this run" in text and "not a guarantee" in text
    lost = coordination.describe_atomic([coordination.AtomicCheck('d["n"] += 1', 100, 93)],
                                        gil=gil)
    assert "**7 lost**" in lost


def test_bank_self_check_rejects_the_race_and_accepts_a_lock():
    assert not bank.check_transfer(bank.racy_transfer)

    def locked(b, source, target, amount):
        with b.lock:
            bank.racy_transfer(b, source, target, amount)

    assert bank.check_transfer(locked)
    assert not bank.check_transfer("not a function")
    empty = bank.check_transfer(...)
    assert empty.state == "unanswered" and not empty.passed and "safe_transfer" in empty.message

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


def test_the_racy_bank_is_described_not_graded():
    said = bank.describe_transfers(bank.racy_transfer)
    assert "1,200 transfers" in said
    assert ("money was **" in said) != ("nothing lost this time" in said)

    def locked(b, source, target, amount):
        with b.lock:
            bank.racy_transfer(b, source, target, amount)

    assert "became 3,000: nothing lost" in bank.describe_transfers(locked)
