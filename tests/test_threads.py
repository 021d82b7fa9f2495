"""Tests for helpers.threads.basics: the demos of notebook 01 and its self-checks."""
from __future__ import annotations

import contextlib
import io
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, as_completed

import pytest

from helpers.core.runner import RunResult, run_tasks
from helpers.core.selfcheck import CheckResult
from helpers.core.workloads import sleep_ms
from helpers.threads import basics as ti
from helpers.threads.seed import print_letters, print_numbers


def _run_all(threads: list[threading.Thread]) -> list[threading.Thread]:
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    return threads


# --- demos -------------------------------------------------------------------------------

def test_tick_prints_count_lines(capsys):
    assert ti.tick(3, 0.0, label="beat") == 3
    assert capsys.readouterr().out.splitlines() == ["beat 1", "beat 2", "beat 3"]


@pytest.mark.parametrize("count, interval", [(-1, 0.0), (10_001, 0.0), (1.5, 0.0), (True, 0.0),
                                             (1, -0.1), (1, 11.0), (1, "0.1")])
def test_tick_rejects_bad_arguments(count, interval):
    with pytest.raises(ValueError, match="count|interval"):
        ti.tick(count, interval)


def test_print_whoami_reports_the_calling_thread(capsys):
    seen = []
    thread = threading.Thread(target=lambda: seen.append(ti.print_whoami()), name="probe")
    _run_all([thread])
    assert seen[0]["thread"] == "probe"
    assert "probe" in capsys.readouterr().out


def test_seed_without_join_counts_every_run(capsys):
    tally = ti.seed_without_join(runs=4)
    out = capsys.readouterr().out
    assert out.count(ti.MAIN_LINE) == 4
    assert out.count("--- run") == 4
    assert sum(tally.numbers_before_main.values()) == 4
    assert set(tally.numbers_before_main) <= {0, 1, 2, 3}
    assert 0 <= tally.torn_lines <= 4
    assert "In 4 runs" in tally.sentence()
    assert tally._repr_markdown_() == str(tally)


def test_order_tally_words_follow_the_counts():
    from collections import Counter
    same = ti.OrderTally(5, 3, Counter({3: 5}), 0)
    assert "after all 3 numbers in 5 runs" in same.sentence()
    assert "nothing guarantees" in same.sentence()
    varied = ti.OrderTally(5, 3, Counter({0: 1, 1: 4}), 2)
    assert "before any number in 1 run" in varied.sentence()
    assert "changed from run to run" in varied.sentence()
    assert "In 2 runs the main thread's line tore" in varied.sentence()
    assert "tore" not in same.sentence()


def test_a_line_tears_when_another_write_lands_inside_it():
    main = ti.MAIN_LINE
    assert not ti.tore(["1\n", main, "\n", "2\n"], 1)
    assert ti.tore(["1\n", main, "2\n", "\n"], 1)  # a number between text and newline
    assert ti.tore(["1", main, "\n", "\n"], 1)  # the main line began mid-line
    assert not ti.tore(["1\n", "2\n"], 2)  # no main line at all


def test_the_seed_functions_write_each_line_whole():
    """One write per line: lines from several processes cannot tear (notebook 02)."""
    recorder = ti.RecordingStream(io.StringIO())
    with contextlib.redirect_stdout(recorder):
        print_numbers(3)
        print_letters("ab")
        ti.tick(2, 0.0)
    assert recorder.writes == ["1\n", "2\n", "3\n", "a\n", "b\n", "tick 1\n", "tick 2\n"]


@pytest.mark.parametrize("runs, count", [(0, 3), (101, 3), (2, 0), ("2", 3)])
def test_seed_without_join_rejects_bad_arguments(runs, count):
    with pytest.raises(ValueError, match="runs|count"):
        ti.seed_without_join(runs, count)


def test_interpreter_waits_for_a_normal_thread():
    run = ti.interpreter_exit_demo(daemon=False, ticks=6, interval=0.05, main_seconds=0.075)
    assert run.returncode == 0, run.stderr
    assert run.ticks_printed == 6
    assert run.ticks_after_main_ended >= 1
    assert "waited" in run.sentence()
    assert ti.END_LINE in str(run) and "daemon=False" in run.script


def test_interpreter_does_not_wait_for_a_daemon_thread():
    run = ti.interpreter_exit_demo(daemon=True, ticks=40, interval=0.05, main_seconds=0.075)
    assert run.returncode == 0, run.stderr
    assert ti.END_LINE in run.output
    assert run.ticks_printed < 40
    assert "did not wait" in run.sentence()


def test_exit_run_sentence_without_the_main_line():
    run = ti.ExitRun(daemon=True, ticks=3, output="tick 1\ntick 2\ntick 3\n")
    assert run.ticks_after_main_ended == 0 and run.lines == ["tick 1", "tick 2", "tick 3"]
    assert "make ticks larger" in run.sentence()
    failed = ti.ExitRun(daemon=False, ticks=3, output="", returncode=1, stderr="boom")
    assert "code 1" in failed.sentence() and "boom" in failed.sentence()


def test_exit_run_counts_ticks_in_torn_lines():
    # two threads printing at once can share a line: the counts must still be right
    run = ti.ExitRun(daemon=False, ticks=3,
                     output=f"tick 1\n{ti.END_LINE}tick 2\n\ntick 3\n")
    assert run.ticks_printed == 3 and run.ticks_after_main_ended == 2


@pytest.mark.parametrize("options", [
    {"daemon": 1}, {"daemon": "yes"}, {"daemon": True, "ticks": 0},
    {"daemon": True, "interval": 0.0}, {"daemon": True, "main_seconds": -1},
    {"daemon": True, "timeout": 0.1},
])
def test_interpreter_exit_demo_rejects_bad_arguments(options):
    with pytest.raises(ValueError):
        ti.interpreter_exit_demo(**options)


def test_start_and_join_leaves_no_thread_behind():
    before = threading.active_count()
    assert ti.start_and_join(20) == 20
    assert threading.active_count() == before


@pytest.mark.parametrize("count", [0, 10_001, 2.0, None])
def test_start_and_join_rejects_bad_counts(count):
    with pytest.raises(ValueError, match="count"):
        ti.start_and_join(count)


def test_start_cost_is_measured_by_the_runner():
    run = run_tasks(ti.start_and_join, executor="serial", tasks=1, workers=1, size=10,
                    repeats=3)
    assert run.results == [10] and len(run.walls) == 3
    text = ti.start_cost_sentence(run, compared_with=0.05)
    assert text.startswith("Starting and joining 10 threads took")
    assert "median of 3 repeats" in text
    # compared with a wait when undisturbed; called disturbed (and not compared) otherwise
    assert ("One 50 ms wait" in text) != ("**disturbed**" in text)
    assert "One" not in ti.start_cost_sentence(run)


def test_start_cost_sentence_rejects_an_empty_run():
    with pytest.raises(ValueError, match="run"):
        ti.start_cost_sentence(RunResult("start_and_join", "serial", 1, 1, 10, None))


# --- exercise 1 --------------------------------------------------------------------------

@pytest.fixture
def clean_guestbook():
    ti.clear_guestbook()
    yield
    ti.clear_guestbook()


def _guests(make=None) -> list[threading.Thread]:
    make = make or (lambda name: threading.Thread(target=ti.sign_guestbook, args=(name,),
                                                  name=name))
    return [make(name) for name in ti.GUEST_NAMES]


def test_guestbook_records_the_signing_thread(clean_guestbook):
    _run_all([threading.Thread(target=ti.sign_guestbook, args=("ann",), name="t-ann")])
    assert ti.guestbook() == [("ann", "t-ann")]
    assert ti.sign_guestbook("bob") == 2
    assert ti.guestbook()[-1] == ("bob", threading.current_thread().name)
    ti.clear_guestbook()
    assert ti.guestbook() == []


def test_sign_guestbook_rejects_a_non_string(clean_guestbook):
    with pytest.raises(ValueError, match="guest"):
        ti.sign_guestbook(3)


def test_check_guest_threads_accepts_the_solution(clean_guestbook):
    result = ti.check_guest_threads(_run_all(_guests()))
    assert isinstance(result, CheckResult) and result.passed, result.message


def _assert_rejected(result: CheckResult, *words: str) -> None:
    assert isinstance(result, CheckResult)
    assert not result.passed
    assert "Hint:" in result.message
    for word in words:
        assert word in result.message, result.message


def test_empty_exercises_are_not_answered_neither_passed_nor_failed(clean_guestbook):
    for result in (ti.check_guest_threads(...), ti.check_overlap(DELAYS, ..., ...),
                   ti.check_overlap(DELAYS, [0.16, 0.04, 0.12, 0.08], ...)):
        assert result.state == "unanswered" and not result.passed and not result
        assert "Not answered yet" in str(result) and "run this cell again" in result.message


def test_check_guest_threads_rejects_missing_and_wrong_types(clean_guestbook):
    _assert_rejected(ti.check_guest_threads(None), "no list")
    _assert_rejected(ti.check_guest_threads("guest-1"), "str")
    _assert_rejected(ti.check_guest_threads([None, None, None]), "NoneType", "start()")


def test_check_guest_threads_rejects_wrong_count_and_names(clean_guestbook):
    _assert_rejected(ti.check_guest_threads(_run_all(_guests())[:2]), "2 threads")
    unnamed = _run_all([threading.Thread(target=ti.sign_guestbook, args=(n,))
                        for n in ti.GUEST_NAMES])
    _assert_rejected(ti.check_guest_threads(unnamed), "named", "name=")


def test_check_guest_threads_rejects_threads_never_started(clean_guestbook):
    _assert_rejected(ti.check_guest_threads(_guests()), "never started", "start()")


def test_check_guest_threads_rejects_a_thread_still_running(clean_guestbook):
    release = threading.Event()
    guests = _guests(lambda name: threading.Thread(target=release.wait, args=(5,), name=name))
    for guest in guests:
        guest.start()
    try:
        _assert_rejected(ti.check_guest_threads(guests), "still running", "join")
    finally:
        release.set()
        for guest in guests:
            guest.join(timeout=5)


def test_check_guest_threads_rejects_args_without_comma(clean_guestbook):
    # args=(name) is the string itself: the thread dies with a TypeError, nothing is signed
    guests = _guests(lambda name: threading.Thread(target=ti.sign_guestbook, args=name,
                                                   name=name))
    old_hook, threading.excepthook = threading.excepthook, lambda args: None
    try:
        _run_all(guests)
    finally:
        threading.excepthook = old_hook
    _assert_rejected(ti.check_guest_threads(guests), "no entry", "args=(name,)")


def test_check_guest_threads_rejects_calling_the_target_in_the_main_thread(clean_guestbook):
    guests = _guests(lambda name: threading.Thread(target=ti.sign_guestbook(name), name=name))
    old_hook, threading.excepthook = threading.excepthook, lambda args: None
    try:
        _run_all(guests)  # target is an int: each thread fails, but the main thread signed
    finally:
        threading.excepthook = old_hook
    _assert_rejected(ti.check_guest_threads(guests), "MainThread", "target=sign_guestbook")


def test_check_guest_threads_rejects_swapped_arguments(clean_guestbook):
    names = list(ti.GUEST_NAMES)
    guests = [threading.Thread(target=ti.sign_guestbook, args=(names[(i + 1) % 3],),
                               name=names[i]) for i in range(3)]
    _assert_rejected(ti.check_guest_threads(_run_all(guests)), "signed from the thread")


def test_check_guest_threads_rejects_double_and_stale_entries(clean_guestbook):
    _run_all(_guests())
    _assert_rejected(ti.check_guest_threads(_run_all(_guests())), "signed 2 times",
                     "clear_guestbook")
    ti.clear_guestbook()
    ti.sign_guestbook("guest-0")
    _assert_rejected(ti.check_guest_threads(_run_all(_guests())), "guest-0",
                     "clear_guestbook")


# --- exercise 2 --------------------------------------------------------------------------

def test_exercise_delays_are_distinct_and_unsorted(monkeypatch):
    for quick in ("1", "0"):
        monkeypatch.setenv("LAB_QUICK", quick)
        delays = ti.exercise_delays_ms()
        assert len(delays) == 4 and len(set(delays)) == 4
        assert delays != sorted(delays) and delays[0] == max(delays)
    monkeypatch.setenv("LAB_QUICK", "1")
    quick = ti.exercise_delays_ms()
    monkeypatch.setenv("LAB_QUICK", "0")
    assert sum(quick) < sum(ti.exercise_delays_ms())


DELAYS = [160, 40, 120, 80]


def _solution(delays=DELAYS, workers=None):
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers or len(delays)) as pool:
        waited = list(pool.map(sleep_ms, delays, timeout=30))
    return waited, time.perf_counter() - start


def test_check_overlap_accepts_the_solution():
    result = ti.check_overlap(DELAYS, *_solution())
    assert result.passed, result.message
    assert "faster than one after another" in result.message


def test_check_overlap_rejects_serial_waits():
    start = time.perf_counter()
    waited = [sleep_ms(d) for d in DELAYS]
    _assert_rejected(ti.check_overlap(DELAYS, waited, time.perf_counter() - start),
                     "one after another", "max_workers")


def test_check_overlap_rejects_a_pool_too_small():
    _assert_rejected(ti.check_overlap(DELAYS, *_solution(workers=1)), "max_workers")


def test_check_overlap_rejects_completion_order():
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(sleep_ms, d) for d in DELAYS]
        waited = [f.result() for f in as_completed(futures, timeout=30)]
    _assert_rejected(ti.check_overlap(DELAYS, waited, time.perf_counter() - start),
                     "order the tasks finished", "pool.map")


def test_check_overlap_rejects_a_shuffled_list():
    waited, elapsed = _solution()
    shuffled = [waited[1], waited[0], waited[3], waited[2]]
    _assert_rejected(ti.check_overlap(DELAYS, shuffled, elapsed), "waited[0]", "in order")


def test_check_overlap_rejects_wrong_shapes():
    waited, elapsed = _solution()
    _assert_rejected(ti.check_overlap(DELAYS, None, elapsed), "does not exist")
    _assert_rejected(ti.check_overlap(DELAYS, iter(waited), elapsed), "list(pool.map")
    done: Future = Future()
    done.set_result(0.16)
    _assert_rejected(ti.check_overlap(DELAYS, [done] * 4, elapsed), "Future", "result")
    _assert_rejected(ti.check_overlap(DELAYS, waited[:3], elapsed), "4 numbers")
    _assert_rejected(ti.check_overlap(DELAYS, ["0.16"] * 4, elapsed), "4 numbers")
    _assert_rejected(ti.check_overlap(DELAYS, [w / 1000 for w in waited], elapsed),
                     "waited[0]", "in ms")


def test_check_overlap_rejects_wrong_elapsed():
    waited, elapsed = _solution()
    _assert_rejected(ti.check_overlap(DELAYS, waited, "fast"), "positive number")
    _assert_rejected(ti.check_overlap(DELAYS, waited, -1.0), "positive number")
    _assert_rejected(ti.check_overlap(DELAYS, waited, True), "positive number")
    _assert_rejected(ti.check_overlap(DELAYS, waited, float("nan")), "positive number")
    _assert_rejected(ti.check_overlap(DELAYS, waited, 0.001), "shorter than the longest")


@pytest.mark.parametrize("delays", [[], [50], [50, 50], [0, 10], [10, 70_000], "8020",
                                    [10.5, 20]])
def test_check_overlap_rejects_bad_task_data(delays):
    with pytest.raises(ValueError, match="delays_ms"):
        ti.check_overlap(delays, [0.1, 0.1], 0.1)


def test_check_overlap_tolerates_late_wakeups():
    # a busy machine wakes sleepers late; the right answer must still pass
    late = [d / 1000 + 0.03 for d in DELAYS]
    result = ti.check_overlap(DELAYS, late, max(late) + 0.01)
    assert result.passed, result.message


# --- key points ---------------------------------------------------------------------------

def _sleeps(executor: str, workers: int, wall: float, starts: list[float]) -> RunResult:
    from helpers.core.noise import MachineLoad
    from helpers.core.runner import TaskRecord
    records = [TaskRecord(i, 1, i % workers, start, start + 0.2, 0.0)
               for i, start in enumerate(starts)]
    return RunResult("sleep", executor, workers, len(starts), 200, None, [wall] * 3,
                     [0.001] * 3, records, [0.2] * len(starts), MachineLoad(0.0, 2), waits=True)


def _start_cost(walls: list[float]) -> RunResult:
    from helpers.core.noise import MachineLoad
    return RunResult("start_and_join", "serial", 1, 1, 200, None, walls, walls,
                     load=MachineLoad(0.0, 2))


def test_key_points_count_the_overlapping_waits_and_the_start_cost():
    runs = {"serial": _sleeps("serial", 1, 0.8, [0.0, 0.2, 0.4, 0.6]),
            "threads": _sleeps("threads", 4, 0.2, [0.0] * 4)}
    points = ti.key_points(runs, _start_cost([0.02] * 5), effective_cpus=1)
    assert points.lines[0] == (
        "Waiting threads overlap, whatever the CPUs: 4 sleeps of 200 ms took 0.80 s one after "
        "another and 0.20 s on 4 threads, up to 4 at once on 1 effective CPU: concurrency "
        "without parallelism.")
    assert points.lines[1] == ("Starting a thread took about 100 µs here (section 9): cheap "
                               "next to one 200 ms wait.")


def test_key_points_call_a_disturbed_measurement_disturbed():
    runs = {"serial": _sleeps("serial", 1, 0.8, [0.0, 0.2, 0.4, 0.6]),  # threads in rounds:
            "threads": _sleeps("threads", 4, 0.4, [0.0, 0.0, 0.2, 0.2])}  # fewer than 4 at once
    points = ti.key_points(runs, _start_cost([0.01, 0.02, 0.05, 0.02, 0.03]), effective_cpus=2)
    assert "**disturbed**" in points.lines[0] and "overlap," not in points.lines[0]
    assert "**disturbed**" in points.lines[1] and "cheap" not in points.lines[1]
