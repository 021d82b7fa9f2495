"""Notebook 09's pipeline: right answers on every executor kind, bad settings, clean-up,
comparing choices. No absolute wall times are asserted."""
from __future__ import annotations

import threading
import time

import psutil
import pytest

from helpers.capstone.pipeline import compare_pipelines, expected_summary, run_pipeline
from helpers.capstone.plan import STAGES, reference_stages
from helpers.core.executors import EXECUTORS

from .fakes import SMALL, small_job


def listening_ports() -> set[int]:
    return {c.laddr.port for c in psutil.Process().net_connections(kind="tcp")
            if c.status == psutil.CONN_LISTEN}


def wait_for_threads(before: set[threading.Thread], grace: float = 5.0) -> list[str]:
    deadline = time.monotonic() + grace
    while True:
        extra = [t.name for t in threading.enumerate() if t not in before and t.is_alive()]
        if not extra or time.monotonic() > deadline:
            return extra
        time.sleep(0.05)


# --- the pipeline: the same answer on every kind -----------------------------------------

@pytest.mark.parametrize("kind", sorted(EXECUTORS))
def test_every_kind_gives_the_right_aggregate(kind, no_leftover_processes):
    threads, ports = set(threading.enumerate()), listening_ports()
    run = run_pipeline({stage: (kind, 2) for stage in STAGES}, **SMALL)
    assert run.summary == expected_summary(small_job())
    assert run.summary.pages == 4 and len(run.summary.primes_by_page) == 4
    assert set(run.runs) == set(STAGES)
    assert all(r.executor == kind for r in run.runs.values())
    assert run.total == pytest.approx(sum(run.wall(s) for s in STAGES))
    assert all(seconds >= 0 for seconds in run.setup.values())
    assert not wait_for_threads(threads), "threads left running"
    assert listening_ports() <= ports, "the server's port is still open"


def test_reference_solution_right_answer_and_waits_use_less_cpu(no_leftover_processes):
    serial = run_pipeline({}, **SMALL)
    reference = run_pipeline(reference_stages(small_job()), **SMALL)
    assert serial.summary == reference.summary == expected_summary(small_job())
    # fetching waits, computing computes: a ratio, robust on a busy machine
    assert serial.utilisation("fetch") < serial.utilisation("compute")


def test_a_timeout_stops_everything(no_leftover_processes):
    threads, ports = set(threading.enumerate()), listening_ports()
    with pytest.raises(TimeoutError):
        run_pipeline({"fetch": ("threads", 2), "compute": ("processes", 2)}, pages=4,
                     latency_ms=1000, repeats=1, timeout=0.3)
    assert not wait_for_threads(threads), "threads left running"
    assert listening_ports() <= ports


def test_compare_runs_every_choice_and_reports_each(no_leftover_processes):
    seen = []
    choices = {"all serial": {}, "threads fetch": {"fetch": ("threads", 4)}}
    comparison = compare_pipelines(choices, on_result=lambda c: seen.append(len(c.runs)),
                                   **SMALL)
    assert list(comparison.runs) == list(choices) and seen == [1, 2]
    assert comparison.baseline.label == "all serial"
    assert "<table>" in comparison._repr_html_()
    assert "<table>" in comparison.baseline._repr_html_()


def test_a_measured_baseline_is_reused_not_run_again(no_leftover_processes):
    serial = run_pipeline({}, label="all serial", **SMALL)
    choices = {"all serial": {}, "threads fetch": {"fetch": ("threads", 4)}}
    comparison = compare_pipelines(choices, baseline=serial, **SMALL)
    assert comparison.baseline is serial and list(comparison.runs) == list(choices)
    with pytest.raises(ValueError, match="baseline must be a PipelineRun of the same job"):
        compare_pipelines(choices, baseline=serial, **{**SMALL, "pages": 5})


# --- bad settings ----------------------------------------------------------------------

@pytest.mark.parametrize("option, value", [
    ("pages", 0), ("pages", 65), ("latency_ms", -1), ("latency_ms", 5000),
    ("compute_size", 10), ("compute_size", 10**7), ("payload_bytes", 1), ("repeats", 0),
    ("timeout", 0),
])
def test_bad_settings_are_refused_before_anything_starts(option, value):
    with pytest.raises(ValueError, match=option):
        run_pipeline({}, **{**SMALL, option: value})


def test_partial_runs_arrive_stage_by_stage_before_the_end(no_leftover_processes):
    seen = []
    run = run_pipeline({"fetch": ("threads", 4)}, on_result=seen.append,
                       **{**SMALL, "repeats": 2})
    assert [list(partial.runs) for partial in seen][:2] == [["fetch"], ["fetch"]]
    assert len(seen[0].runs["fetch"].walls) == 1 and len(seen[1].runs["fetch"].walls) == 2
    assert list(seen[-1].runs) == ["fetch", "parse", "compute", "aggregate"][:len(seen[-1].runs)]
    assert not any(partial.complete for partial in seen) and run.complete
    assert all(partial is not run for partial in seen) and set(run.runs) == set(STAGES)
