"""Issue 20, point 8 — stopping: a Stop button in every RunPanel.

Headless: a lab's run goes on in a thread (as a click on Run is handled while the kernel
goes on), and Stop is pressed through the button's own click handler from this thread (as
the browser's click reaches a kernel subshell). Asserted: the run ends (every wait
bounded), the words say "Stopped", nothing measured is returned, Run is back and Stop off,
and no child process is left (the multiprocessing helpers that serve this test process
until it exits excepted, as in ``no_leftover_processes``). The browser test clicks Stop
in JupyterLab (tests/browser/test_stop_button_browser.py).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from helpers.core import controls
from helpers.core.controls import RunPanel
from helpers.core.runner import run_tasks
from conftest import INTERPRETER_HELPERS, descendants, new_descendants

START_BOUND = 120.0  # s: until a lab's run has finished its first task (a busy CI machine)
STOP_BOUND = 20.0  # s: until a stopped run has ended; the button's promise is a second or two
LONG_TASK_S = 60  # a task much longer than STOP_BOUND: only a stop inside the wait ends it


def wait_until(condition: Callable[[], bool], bound: float, what: str) -> None:
    deadline = time.monotonic() + bound
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {bound:.0f} s")
        time.sleep(0.02)


def start_in_thread(panel: RunPanel) -> tuple[threading.Thread, list]:
    """``panel.run()`` in a thread of its own; its return value lands in the list."""
    returned: list = []
    runner = threading.Thread(target=lambda: returned.append(panel.run()), daemon=True)
    runner.start()
    return runner, returned


def stop_and_check(panel: RunPanel, runner: threading.Thread, returned: list,
                   before: set[int]) -> None:
    """Press Stop; the run ends, says so, returns nothing and leaves no process."""
    assert panel.running and not panel.stop_button.disabled and panel.run_button.disabled
    panel.stop_button.click()
    runner.join(STOP_BOUND)
    assert not runner.is_alive(), f"the run did not end within {STOP_BOUND:.0f} s of Stop"
    assert returned == [None], "a stopped run returns nothing"
    assert "<b>Stopped:</b> you pressed Stop" in panel.words.value, panel.words.value
    assert panel.progress.bar_style == "warning" and panel.error is None
    assert panel.progress.value < panel.progress.max, "the run was cut short"
    assert not panel.running and not panel.run_button.disabled and panel.stop_button.disabled
    left = new_descendants(before, grace=10.0, ignore=INTERPRETER_HELPERS)
    assert not left, f"processes left running after Stop: {left}"


def lab_cases() -> dict[str, tuple[Callable[[], RunPanel], bool]]:
    """Every lab widget, set up so that its run goes on well past its first task, and
    whether it starts processes (pool workers, a server): then Stop comes after they have."""
    from helpers.capstone.lab import CapstoneLab
    from helpers.core.lab import Lab
    from helpers.free_threading.gil_lab import GilLab
    from helpers.io_bound.pool_size import PoolSizeLab
    from helpers.processes_in_depth.amdahl import AmdahlLab
    from helpers.processes_in_depth.granularity import ChunkLab
    from helpers.the_gil.trace_lab import ThreadTraceLab

    return {
        "Lab": (lambda: Lab("count", ("threads", "processes"), size=4_000_000, tasks=8,
                            repeats=3), False),
        "Lab on processes": (lambda: Lab("count", ("processes",), size=4_000_000, tasks=8,
                                         repeats=3), True),
        "PoolSizeLab": (lambda: PoolSizeLab(latency_ms=200, requests=32, max_threads=4), True),
        "ChunkLab": (lambda: ChunkLab(workers=2), True),
        "AmdahlLab": (lambda: AmdahlLab(serial_fraction=0.3), True),
        "GilLab": (lambda: GilLab(None, "count", threads=2), False),
        "ThreadTraceLab": (lambda: ThreadTraceLab(seconds=1.0), False),
        "CapstoneLab": (lambda: CapstoneLab(None, pages=16, latency_ms=200, repeats=2), True),
    }


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", sorted(lab_cases()))
def test_stop_ends_every_labs_run_and_leaves_no_process(name):
    make, starts_processes = lab_cases()[name]
    panel = make()
    assert panel.stop_button.disabled and not panel.running  # nothing runs yet
    before, threads_before = descendants(), set(threading.enumerate())
    runner, returned = start_in_thread(panel)
    wait_until(lambda: not runner.is_alive() or (
        panel.progress.value >= 1 and (not starts_processes or descendants() - before)),
        START_BOUND, f"{name}: a first finished task" + " and a child process" * starts_processes)
    stop_and_check(panel, runner, returned, before)
    # a thread cannot be killed: one that was running a task finishes it on its own
    wait_until(lambda: set(threading.enumerate()) <= threads_before, STOP_BOUND,
               f"{name}: the run's threads ending on their own")


class SleepingPanel(RunPanel):
    """Two tasks of ``LONG_TASK_S`` seconds in a process pool: no task ends while we wait."""

    def __init__(self) -> None:
        super().__init__([])

    def run(self):
        return self.guarded(lambda on_progress: run_tasks(
            time.sleep, executor="processes", arguments=[LONG_TASK_S] * 2, workers=2,
            waits=True, repeats=1, on_progress=on_progress))


@pytest.mark.timeout(120)
def test_stop_ends_a_run_while_its_tasks_are_still_running():
    # no task finishes, so no progress callback comes: the runner's wait itself must check
    panel, before = SleepingPanel(), descendants()
    runner, returned = start_in_thread(panel)
    wait_until(lambda: len(descendants() - before) >= 2, START_BOUND, "two pool workers")
    stop_and_check(panel, runner, returned, before)
    assert panel.progress.value == 0


class WaitingPanel(RunPanel):
    """A run that lasts until ``release`` is set; ``runs`` counts the runs that ended."""

    def __init__(self) -> None:
        super().__init__([])
        self.release, self.runs = threading.Event(), 0

    def run(self):
        def work(on_progress):
            on_progress(0, 2)
            assert self.release.wait(STOP_BOUND)
            on_progress(1, 2)
            on_progress(2, 2)
            self.runs += 1
            return "done"
        return self.guarded(work)


def test_stop_is_enabled_during_a_run_only_and_a_click_between_runs_does_nothing():
    panel = WaitingPanel()
    panel.stop_button.click()  # between runs: ignored, the next run is not stopped by it
    assert panel.stop_button.disabled and not panel.running
    runner, returned = start_in_thread(panel)
    wait_until(lambda: panel.running, STOP_BOUND, "the run starting")
    assert not panel.stop_button.disabled and panel.run_button.disabled
    panel.release.set()
    runner.join(STOP_BOUND)
    assert returned == ["done"] and panel.runs == 1
    assert panel.stop_button.disabled and not panel.run_button.disabled
    assert "Stopped" not in panel.words.value and panel.progress.bar_style == "success"
    panel.stop_button.click()  # after the run: ignored too
    assert panel.run() == "done" and panel.runs == 2  # release is still set


def test_stop_during_a_run_returns_nothing_and_the_next_run_is_whole():
    panel = WaitingPanel()
    runner, returned = start_in_thread(panel)
    wait_until(lambda: panel.running, STOP_BOUND, "the run starting")
    panel.stop_button.click()
    panel.release.set()  # the run reaches its next progress report, and stops there
    runner.join(STOP_BOUND)
    assert returned == [None] and panel.runs == 0 and "you pressed Stop" in panel.words.value
    assert panel.run() == "done" and panel.runs == 1 and "Stopped" not in panel.words.value


class FakeComm:
    """What ``route_clicks_elsewhere`` reads of an ipykernel 7.4 comm."""

    def __init__(self, route: str | None) -> None:
        self._reply_subshell_id = route

    def _reply_subshell_for(self, data: object, default: str | None) -> str | None:
        return getattr(self, "_reply_subshell_id", default)


def test_a_stop_click_is_sent_to_a_shell_the_run_does_not_hold():
    button = type("Button", (), {})()
    button.comm = FakeComm(route=None)  # enabled by a run in the main shell
    controls.route_clicks_elsewhere(button)
    assert button.comm._reply_subshell_for({}, "widget-subshell") == "widget-subshell"
    button.comm = FakeComm(route="widget-subshell")  # enabled by a run in that subshell
    worker = threading.Thread(target=controls.route_clicks_elsewhere, args=(button,))
    worker.start()
    worker.join(STOP_BOUND)
    assert button.comm._reply_subshell_for({}, "widget-subshell") is None  # the main shell
