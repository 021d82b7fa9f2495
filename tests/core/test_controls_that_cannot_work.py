"""Issue 20, point 4: controls that cannot work.

A control offers only what can run: the Lab's asyncio box is off (and says why) for a
workload that is not a coroutine function, a capstone stage's workers slider stops where
its kind does (Dask: 16). A mismatch that still gets through fails *before anything
runs*, in words naming the executor and the workload — not from inside a worker, and not
after the other executors have run.
"""
from __future__ import annotations

import html

import pytest

from helpers.capstone.lab import MAX_STAGE_WORKERS, CapstoneLab
from helpers.core.executors import EXECUTORS
from helpers.core.experiments import compare
from helpers.core.lab import Lab, executor_checkboxes, offer_what_can_run
from helpers.core.runner import run_tasks
from helpers.core.workloads import Workload, get_workload

WORDS = ("executor 'asyncio'", "workload 'count'", "coroutine functions (async def) only")


async def nap(milliseconds: int) -> int:
    """A coroutine function: the one kind of workload the asyncio executor runs."""
    return milliseconds


NAP = Workload("nap", nap, "waits", "milliseconds", "ms", 1, 1, 1, 10, 1)


def test_controls_that_cannot_work_are_not_offered_by_the_lab():
    lab = Lab()
    box = lab.executor_boxes["asyncio"]
    assert box.disabled and not box.value
    assert all(word in box.tooltip for word in WORDS)  # the tooltip says why
    assert not any(lab.executor_boxes[name].disabled for name in ("serial", "threads",
                                                                  "processes"))
    lab.workload.value = "sleep"  # another plain workload: still not offered
    assert box.disabled and "workload 'sleep'" in box.tooltip


def test_controls_that_cannot_work_follow_the_workload_both_ways():
    boxes = executor_checkboxes(ticked=["serial", "threads"])
    offer_what_can_run(boxes, NAP)  # a coroutine function: asyncio only
    assert not boxes["asyncio"].disabled and boxes["asyncio"].tooltip == ""
    assert boxes["threads"].disabled and not boxes["threads"].value
    assert "executor 'threads' runs plain functions only" in boxes["threads"].tooltip
    offer_what_can_run(boxes, get_workload("count"))
    assert boxes["asyncio"].disabled and not boxes["threads"].disabled


def test_controls_that_cannot_work_fail_before_anything_runs():
    progress: list[tuple[int, int]] = []
    with pytest.raises(ValueError) as raised:
        compare("count", ["serial", "threads", "asyncio"], size=10_000, tasks=1, repeats=1,
                on_progress=lambda done, total: progress.append((done, total)))
    assert all(word in str(raised.value) for word in WORDS)
    assert progress == []  # serial and threads did not run first
    with pytest.raises(ValueError, match="executor 'threads' runs plain functions only, "
                                         "but workload 'nap' is a coroutine function"):
        run_tasks(nap, executor="threads", arguments=[1])  # was: cannot unpack a coroutine


def test_controls_that_cannot_work_in_the_lab_show_words_before_any_run():
    lab = Lab(size=10_000, tasks=1, repeats=1)
    lab.executor_boxes["asyncio"].value = True  # ticked from code, past the disabled box
    assert lab.run() is None and lab.history == []
    assert isinstance(lab.error, ValueError) and lab.progress.value == 0
    shown = html.unescape(lab.words.value)
    assert all(word in shown for word in WORDS)
    assert "timed_call" not in shown  # no internal function named


def test_controls_that_cannot_work_capstone_workers_stop_where_the_kind_does():
    lab = CapstoneLab()
    slider, kind = lab.workers["compute"], lab.kinds["compute"]
    kind.value = "threads"
    assert slider.max == MAX_STAGE_WORKERS and not slider.disabled
    kind.value = "serial"
    assert slider.max == 1 and slider.value == 1 and slider.disabled
    if "dask" in EXECUTORS:
        kind.value = "dask"
        assert slider.max == 16 and not slider.disabled
