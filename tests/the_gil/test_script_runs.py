"""Tests for helpers.the_gil.script_runs: the seed article's combined example as scripts.

The seed script sleeps 2 s twice, so each run takes about 4 s: it runs once per
start method, the three runs side by side (module fixture). Timing assertions
use CPU utilisation (CPU seconds / wall seconds), never absolute wall times.
(That seed_combined.py is the article's listing verbatim: test_seed_verbatim.py.)
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest

from helpers.core.noise import MachineLoad
from helpers.core.system import effective_cpu_count, gil_enabled
from helpers.the_gil import script_runs
from helpers.the_gil.script_runs import (
    BOOTSTRAP_MARK,
    ScriptRun,
    describe_run,
    parse_result,
    prepared_source,
    run_script,
    script_load,
    script_source,
    start_method_line,
)

METHODS = [m for m in ("fork", "spawn", "forkserver")
           if m in multiprocessing.get_all_start_methods()]
NOT_FORK = [m for m in METHODS if m != "fork"]
posix_only = pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs process groups")


@pytest.fixture(scope="module")
def seed_runs() -> dict[str, ScriptRun]:
    """The article's script once under each start method, run concurrently."""
    with ThreadPoolExecutor(len(METHODS)) as pool:
        futures = {m: pool.submit(run_script, "seed_combined", m, timeout=60) for m in METHODS}
        return {m: future.result() for m, future in futures.items()}


# --- the article's script, as written ----------------------------------------------

@pytest.mark.skipif("fork" not in METHODS, reason="no fork on this platform")
def test_seed_script_works_under_fork(seed_runs):
    run = seed_runs["fork"]
    assert run.ok, run.stderr
    assert run.stdout.count("Running Multithreading Example:") == 1
    assert run.stdout.count("Running Multiprocessing Example:") == 1
    assert run.stdout.count("I/O-bound task completed in") == 2
    assert "CPU-bound result: 5000000" in run.stdout
    assert "Multithreading time" not in run.stdout  # the article has no such timer
    assert run.bootstrap_errors == 0 and run.result is None
    text = describe_run(run, cpus=2).text
    assert "only timing" in text and "printed 2 times" in text and "5,000,000" in text


@pytest.mark.skipif("fork" not in METHODS, reason="no fork on this platform")
def test_timed_copy_shows_the_count_and_the_sleep_overlapping():
    run = run_script("seed_timed", "fork", timeout=60)
    assert run.ok, run.stderr
    assert "Multithreading example took" in run.stdout and "Counting took" in run.stdout
    text = describe_run(run, cpus=2).text
    assert "The lab's timers (not the article's)" in text
    assert "they overlapped for about" in text or "**disturbed**" in text


# Since 3.14 the fork server imports the main script to preload it (3.10-3.13 did not):
# on 3.14 it dies of the script's process.start(), on 3.15+ it ignores that error.
SERVER_PRELOADS = sys.version_info >= (3, 14)
SERVER_SURVIVES = sys.version_info >= (3, 15)


@pytest.mark.parametrize("method", NOT_FORK)
def test_seed_script_children_die_but_parent_reports_a_time(seed_runs, method):
    run = seed_runs[method]
    assert "An attempt has been made to start a new process before the" in run.stderr
    assert "RuntimeError" in run.stderr
    assert "CPU-bound result: 5000000" not in run.stdout  # no target ever ran
    assert not run.timed_out
    server = method == "forkserver" and SERVER_PRELOADS
    assert run.fork_server_died == (server and not SERVER_SURVIVES)
    text = describe_run(run, cpus=2).text
    if run.fork_server_died:  # 3.14: no child ever starts, the parent fails
        assert run.child_errors == 0
        assert run.stdout.count("Running Multithreading Example:") == 2  # parent's, server's
        assert run.returncode != 0 and "I/O-bound task completed" in run.stdout
        assert "The fork server itself died" in text and "The parent failed too" in text
        return
    # each child (and a preloading fork server) re-ran the threading example; the parent
    # still exited with code 0
    assert run.child_errors == 2
    assert run.stdout.count("Running Multithreading Example:") == 3 + server
    assert run.stdout.count("I/O-bound task completed in") == 3 + server  # threads' sleeps
    assert run.returncode == 0
    assert "2 child processes died" in text and "Yet the parent exited with code 0" in text
    assert ("the fork server imports the script once" in text) == server


def test_a_fork_server_traceback_is_told_from_a_childs():
    child = ("Traceback (most recent call last):\n  File \".../forkserver.py\", line 1, in main\n"
             "  File \".../forkserver.py\", line 2, in _serve_one\nRuntimeError: \n"
             f"        ... {BOOTSTRAP_MARK}.\n")
    server = ("Traceback (most recent call last):\n  File \".../forkserver.py\", line 230, in "
              "main\n  File \".../spawn.py\", line 307, in import_main_path\nRuntimeError: \n"
              f"        ... {BOOTSTRAP_MARK}.\n")
    parent = ("Traceback (most recent call last):\n  File \"x.py\", line 40\n"
              "ConnectionResetError: [Errno 104] Connection reset by peer\n")
    run = ScriptRun("seed_combined", ("python",), "forkserver", 1,
                    "Running Multithreading Example:\nRunning Multithreading Example:\n",
                    server + parent, 4.5, False, 60.0, 1)
    assert run.fork_server_died and run.bootstrap_errors == 1 and run.child_errors == 0
    assert "last error: ConnectionResetError" in describe_run(run, cpus=2).text
    both = ScriptRun("seed_combined", ("python",), "forkserver", 0, "", child * 2, 4.5, False,
                     60.0, 1)
    assert not both.fork_server_died and both.child_errors == 2


# --- the fixed script ---------------------------------------------------------------

def _busy_seconds() -> float:
    """CPU seconds all programs on this machine have used so far (steal included)."""
    t = psutil.cpu_times()
    return sum(getattr(t, f, 0.0) for f in ("user", "nice", "system", "irq", "softirq",
                                             "steal"))


def _others_cpus(busy_before: float, run: ScriptRun) -> float:
    """CPUs other programs kept busy during ``run``: all busy time minus the script's."""
    own = sum(run.result[k]["cpu"] for k in ("serial", "threads", "processes"))
    own += 0.1 * own + 0.2  # its warm-up and interpreter start-ups
    return max(_busy_seconds() - busy_before - own, 0.0) / run.seconds


@pytest.mark.parametrize("method", METHODS)
def test_fixed_script_shows_the_gil(method):
    """Processes keep clearly more CPUs busy than threads.

    This needs free CPUs. On a machine shared with other programs a disturbed
    measurement is taken again (up to 5 tries); if every try was disturbed —
    other programs kept 0.3 CPUs or more busy meanwhile — the test is skipped
    rather than failed.
    """
    if effective_cpu_count() < 2:
        pytest.skip("needs 2 effective CPUs to see processes run in parallel")
    others = []
    for _ in range(5):
        busy_before = _busy_seconds()
        run = run_script("seed_combined_fixed", method, number=10**7, timeout=120)
        assert run.ok, run.stderr
        result = run.result
        assert result is not None and result["start_method"] == method
        assert result["number"] == 10**7 and result["workers"] == 2
        others.append(_others_cpus(busy_before, run))
        threads = result["threads"]["cpus_busy"]
        processes = result["processes"]["cpus_busy"]
        if gil_enabled():
            assert threads < 1.2, "threads under the GIL cannot keep 2 CPUs busy"
        if processes >= 1.3 and processes > 1.3 * threads:
            break
    else:
        message = (f"processes kept {processes:.2f} CPUs busy, threads {threads:.2f}; "
                   f"other programs used {', '.join(f'{o:.2f}' for o in others)} CPUs")
        if min(others) >= 0.3:
            pytest.skip("machine too busy to measure: " + message)
        pytest.fail(message)
    # the words follow wall times, which a shared host can blur: check they are given
    assert sum("processes" in line for line in describe_run(run).lines) >= 1


def test_fixed_script_uses_the_lab_start_method(monkeypatch):
    method = METHODS[-1]
    monkeypatch.setenv("LAB_START_METHOD", method)
    run = run_script("seed_combined_fixed", number=100_000, timeout=60)
    assert run.ok, run.stderr
    assert run.start_method == method == run.result["start_method"]


# --- safety: timeouts and interrupts kill the whole process group -----------------

def _watch_descendants(stop: threading.Event, seen: dict[int, float],
                       earlier: set[int]) -> None:
    """Record every new descendant of this test process (pid -> create time).

    ``earlier`` are descendants that existed before the call (a resource tracker or
    forkserver left by earlier tests in this process): not the script's.
    """
    me = psutil.Process()
    while not stop.is_set():
        for child in me.children(recursive=True):
            if child.pid in earlier:
                continue
            try:
                seen.setdefault(child.pid, child.create_time())
            except psutil.NoSuchProcess:
                pass
        time.sleep(0.05)


def _alive(seen: dict[int, float]) -> list[int]:
    alive = []
    for pid, created in seen.items():
        try:
            process = psutil.Process(pid)
            if process.create_time() == created and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def _run_watched(call) -> tuple[object, dict[int, float]]:
    stop, seen = threading.Event(), {}
    earlier = {child.pid for child in psutil.Process().children(recursive=True)}
    watcher = threading.Thread(target=_watch_descendants, args=(stop, seen, earlier),
                               daemon=True)
    watcher.start()
    try:
        outcome = call()
    except BaseException as exc:  # noqa: BLE001 - returned to the test to check
        outcome = exc
    finally:
        stop.set()
        watcher.join(5)
    return outcome, seen


def _assert_all_gone(seen: dict[int, float]) -> None:
    deadline = time.monotonic() + 5
    while _alive(seen) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(seen), f"left running: {_alive(seen)}"


@posix_only
def test_timeout_kills_the_whole_process_group():
    method = NOT_FORK[0]
    # after ~2 s the script has started its children, which then sleep 2 s more
    # 3.5 s: children live from ~2 s to ~4 s, so the kill lands while they run
    run, seen = _run_watched(lambda: run_script("seed_combined", method, timeout=3.5))
    assert isinstance(run, ScriptRun)
    assert run.timed_out and not run.ok
    assert run.returncode == -signal.SIGKILL
    assert "Running Multithreading Example:" in run.stdout  # output before the kill is kept
    assert len(seen) >= 3, "the script, its children (and helpers) should have existed"
    _assert_all_gone(seen)
    assert "did not finish within 3.5 s" in describe_run(run).text


@posix_only
def test_keyboard_interrupt_kills_the_group_and_propagates(python_sigint):
    timer = threading.Timer(2.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        outcome, seen = _run_watched(lambda: run_script("seed_combined", METHODS[0],
                                                        timeout=60))
    finally:
        timer.cancel()
    assert isinstance(outcome, KeyboardInterrupt)
    assert len(seen) >= 2
    _assert_all_gone(seen)


# --- source, preparation and parsing --------------------------------------------------

def test_script_source_is_the_file_and_shows_as_python():
    source = script_source("seed_combined")
    assert "if __name__" not in source.text  # the article's script has no main guard
    assert "time.sleep(2)" in source.text
    assert source._repr_markdown_().startswith("```python\n")
    assert "if __name__ == \"__main__\":" in script_source("seed_combined_fixed").text


def test_prepared_source_adds_one_line_after_the_docstring():
    original = script_source("seed_combined_fixed").text.splitlines()
    prepared = prepared_source("seed_combined_fixed", "spawn").text.splitlines()
    assert len(prepared) == len(original) + 1
    index = prepared.index(start_method_line("spawn"))
    assert prepared[index - 1].endswith('"""')  # right after the module docstring
    assert "force=True" in prepared[index]
    seed = prepared_source("seed_combined", "fork").text.splitlines()
    assert seed[0] == start_method_line("fork")  # no docstring: first line


def test_insertion_goes_after_future_imports():
    text = '"""Doc."""\nfrom __future__ import annotations\nimport os\n'
    assert script_runs.insertion_line(text) == 2
    assert script_runs.insertion_line("import os\n") == 0


def test_parse_result_takes_the_last_result_line():
    assert parse_result('x\nRESULT {"a": 1}\nRESULT {"a": 2}\n') == {"a": 2}
    assert parse_result("no result here") is None
    assert parse_result("RESULT {broken") is None


def _fake_fixed_run(threads_busy: float, threads_wall: float, gil: bool = True, *,
                    processes: tuple[float, float] = (1.9, 0.55), serial_busy: float = 1.0,
                    load: MachineLoad | None = None) -> ScriptRun:
    """A fixed-script run: serial 1 s; threads and processes as (CPUs busy, wall)."""
    busy, wall = processes
    result = {"start_method": "spawn", "gil_enabled": gil, "number": 1000, "workers": 2,
              "serial": {"wall": 1.0, "cpu": serial_busy, "cpus_busy": serial_busy},
              "threads": {"wall": threads_wall, "cpu": threads_busy * threads_wall,
                          "cpus_busy": threads_busy},
              "processes": {"wall": wall, "cpu": busy * wall, "cpus_busy": busy}}
    return ScriptRun("seed_combined_fixed", ("python",), "spawn", 0, "", "", 1.0, False,
                     60.0, 1, result, load)


IDLE = MachineLoad(0.05, 2)


def test_describe_fixed_idle_two_cpus_explains_the_gil():
    with_gil = describe_run(_fake_fixed_run(1.0, 1.0, load=IDLE), cpus=2).text
    assert "took turns" in with_gil and "1.8× faster" in with_gil
    assert "disturbed" not in with_gil
    no_gil = describe_run(_fake_fixed_run(1.9, 0.55, gil=False, load=IDLE), cpus=2).text
    assert "The GIL is off" in no_gil and "1.9 CPUs busy" in no_gil


def test_describe_fixed_on_one_cpu_promises_no_speedup():
    one_cpu = describe_run(_fake_fixed_run(1.0, 1.0, processes=(1.0, 1.02),
                                           load=MachineLoad(0.0, 1)), cpus=1).text
    assert "1 effective CPU" in one_cpu and "no speedup can be expected" in one_cpu
    assert "GIL" not in one_cpu and "disturbed" not in one_cpu


def test_describe_fixed_busy_machine_says_disturbed_and_explains_nothing():
    hog = MachineLoad(1.0, 2)  # another program kept one of the 2 CPUs busy
    busy = describe_run(_fake_fixed_run(1.0, 1.0, processes=(1.0, 1.0), load=hog), cpus=2)
    assert "**disturbed**" in busy.text and "GIL" not in busy.text
    assert busy.lines[-1].startswith("Other programs kept about 1.0")
    starved_serial = describe_run(_fake_fixed_run(0.5, 1.0, serial_busy=0.5, load=IDLE),
                                  cpus=2).text
    assert "**disturbed**" in starved_serial and "took turns" not in starved_serial


def test_describe_fixed_beyond_ideal_is_noise():
    lucky_threads = describe_run(_fake_fixed_run(1.0, 0.7, load=IDLE), cpus=2).text
    assert "**disturbed**" in lucky_threads
    assert "Threads measured 1.43× with 1.0 CPUs busy" in lucky_threads
    assert "took turns" not in lucky_threads
    lucky_processes = describe_run(_fake_fixed_run(1.0, 1.0, processes=(1.0, 0.8),
                                                   load=MachineLoad(0.0, 1)), cpus=1).text
    assert "**disturbed**" in lucky_processes and "no speedup" not in lucky_processes




@pytest.mark.parametrize("gain, disturbed", [(1.16, False), (1.25, True)])
def test_describe_fixed_judges_threads_as_the_lab_does(gain, disturbed):
    """Notebook 03 showed the lab's threads at 1.14× ("only slightly faster") and the
    fixed script's at 1.16× called disturbed: one rule for both now (the gain against the
    CPUs busy, helpers.core.noise.beyond_cpus), the same verdict for the same numbers."""
    from helpers.core.experiments import Comparison
    from helpers.core.runner import RunResult
    from helpers.core.words import comparison_disturbance

    script = describe_run(_fake_fixed_run(1.0, 1 / gain, load=IDLE), cpus=2).text
    assert ("**disturbed**" in script) is disturbed

    def run(executor, wall):
        return RunResult("count", executor, 1 if executor == "serial" else 2, 2, 1000,
                         None, walls=[wall], cpus=[wall], load=IDLE)

    lab = Comparison({"serial": run("serial", 1.0), "threads": run("threads", 1 / gain)}, 2)
    assert bool(comparison_disturbance(lab)) is disturbed


# --- bad arguments ----------------------------------------------------------------

@pytest.mark.parametrize("kwargs, parameter", [
    ({"name": "nope"}, "name"),
    ({"name": "seed_combined", "start_method": "threads"}, "start_method"),
    ({"name": "seed_combined", "timeout": 0}, "timeout"),
    ({"name": "seed_combined", "timeout": "5"}, "timeout"),
    ({"name": "seed_combined", "timeout": 10_000}, "timeout"),
    ({"name": "seed_combined", "number": 5}, "number"),
    ({"name": "seed_combined_fixed", "number": 0}, "number"),
    ({"name": "seed_combined_fixed", "number": 10**10}, "number"),
    ({"name": "seed_combined_fixed", "number": True}, "number"),
    ({"name": "seed_combined_fixed", "number": "100"}, "number"),
])
def test_bad_arguments_raise_value_error(kwargs, parameter):
    with pytest.raises(ValueError, match=parameter):
        run_script(**kwargs)


def test_other_bad_arguments():
    with pytest.raises(ValueError, match="start_method"):
        start_method_line("threads")
    with pytest.raises(ValueError, match="name"):
        script_source("../etc/passwd")
    with pytest.raises(ValueError, match="run"):
        describe_run("not a run")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cpus"):
        describe_run(_fake_fixed_run(1.0, 1.0), cpus=0)


def test_bootstrap_mark_matches_the_runtime_error_text():
    assert BOOTSTRAP_MARK in ("An attempt has been made to start a new process before the\n"
                              "        current process has finished its bootstrapping phase.")


def test_default_number_is_smaller_in_quick_mode(monkeypatch):
    monkeypatch.setenv("LAB_QUICK", "1")
    quick = script_runs.default_number()
    monkeypatch.setenv("LAB_QUICK", "0")
    assert quick == 10**7 < script_runs.default_number()


def test_script_load_removes_only_the_cpu_the_os_did_not_count_as_ours():
    assert script_load(MachineLoad(1.5, 2), uncounted_cpu=4.0, seconds=4.0) == MachineLoad(0.5, 2)
    assert script_load(MachineLoad(0.5, 2), uncounted_cpu=4.0, seconds=4.0) == MachineLoad(0.0, 2)
    assert script_load(MachineLoad(0.5, 2), uncounted_cpu=0.0, seconds=4.0) == MachineLoad(0.5, 2)
    assert script_load(None, 1.0, 1.0) is None


def test_child_output_is_plain_text(monkeypatch):
    """No colours: Python 3.13+ colours tracebacks (escape codes in a notebook) unless told
    not to; whatever gets through anyway is stripped."""
    assert script_runs.PLAIN_OUTPUT["PYTHON_COLORS"] == "0"
    assert script_runs.PLAIN_OUTPUT["NO_COLOR"] == "1"
    coloured = "\x1b[1;35mRuntimeError\x1b[0m: \x1b[35mboom\x1b[0m\x1b[?25h"
    assert script_runs.plain_text(coloured) == "RuntimeError: boom"
    started = []
    real_start = script_runs.start_script

    def recording(command, folder):
        started.append(command)
        return real_start((sys.executable, "-c", "import os, sys; print('\\x1b[31m' + "
                           "os.environ['PYTHON_COLORS'] + os.environ['NO_COLOR'] + '\\x1b[0m');"
                           " sys.stderr.write('\\x1b[1mbold\\x1b[0m')"), folder)

    monkeypatch.setattr(script_runs, "start_script", recording)
    run = run_script("seed_combined", timeout=30)
    assert started and run.stdout.strip() == "01" and run.stderr == "bold"
