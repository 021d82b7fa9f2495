"""Notebook 09's self-checks: the bottleneck, the target, the tool guide; hints that follow
the measured tool and CPUs."""
from __future__ import annotations

import pytest

from helpers.capstone.exercises import (
    GUIDE_JOBS,
    check_beat_target,
    check_bottleneck,
    check_tool_guide,
    target_hint,
    target_time,
)
from helpers.capstone.plan import reference_stages
from helpers.core.selfcheck import STRICT_ENV
from helpers.core.system import gil_enabled

from .fakes import SMALL, fake_comparison, fake_run, small_job


@pytest.fixture(autouse=True)
def lenient_checks(monkeypatch):
    """Wrong answers are fed on purpose here: a failed check must return, not raise."""
    monkeypatch.delenv(STRICT_ENV, raising=False)


def test_bottleneck_check_accepts_the_longest_stage_and_explains_a_wrong_one():
    run = fake_comparison().runs["threads + processes"]
    assert check_bottleneck("compute", run)
    wrong = check_bottleneck("fetch", run)
    assert not wrong and "Hint" in str(wrong) and "fetch took 60 ms" in str(wrong)
    assert not check_bottleneck("download", run) and "Hint" in str(check_bottleneck(3, run))
    assert not check_bottleneck("compute", "not a run")


def test_target_is_halfway_between_baseline_and_fastest():
    comparison = fake_comparison()
    best, base = comparison.fastest.total, comparison.baseline.total
    assert target_time(comparison) == pytest.approx(best + (base - best) / 2)


def test_beat_target_passes_the_reference_and_rejects_all_serial(no_leftover_processes):
    options = {k: v for k, v in SMALL.items()}
    good = check_beat_target(reference_stages(small_job()), 100.0, **options)
    assert good, str(good)
    # 4 serial waits of 60 ms cannot fit; at 10 ms the client's own CPU time per request
    # (urllib, ~2–3 ms on 3.10) made fetch look like computing (0.2+ CPUs busy).
    slow = check_beat_target({}, 0.01, **{**options, "latency_ms": 60})
    assert not slow and "Hint" in str(slow) and "fetch" in str(slow)
    assert "mostly waits" in str(slow)


def test_beat_target_reports_bad_stages_without_raising():
    result = check_beat_target({"fetch": "fibres"}, 1.0, **SMALL)
    assert not result and "Hint" in str(result)
    assert not check_beat_target({}, -1, **SMALL)


def test_tool_guide_check():
    solution = {job: good[0] for job, good in GUIDE_JOBS.items()}
    assert check_tool_guide(solution)
    wrong = {**solution, next(iter(solution)): "processes"}
    result = check_tool_guide(wrong)
    assert not result and "Hint" in str(result)
    assert not check_tool_guide({**solution, next(iter(solution)): ...})
    assert not check_tool_guide(["asyncio"])


def test_hints_follow_the_tool_and_the_cpus():
    threads_only = fake_run("all threads", ["threads"] * 4, [0.06, 0.001, 1.0, 0.001],
                            [0.02, 0.001, 1.0, 0.001])
    passed_text = str(check_bottleneck("compute", threads_only))
    assert "threads removed most of the waiting" in passed_text
    if gil_enabled():
        assert "processes could use your 2 effective CPUs" in passed_text
    reference = fake_comparison().runs["threads + processes"]
    assert "already runs on processes" in target_hint(reference, "compute")
    one_cpu = fake_comparison(effective_cpus=1).runs["threads + processes"]
    assert "no pool can speed it up" in target_hint(one_cpu, "compute")
    assert "no tool can shrink it" in str(check_bottleneck("compute", one_cpu))
    assert "overlap the waits" in target_hint(fake_comparison().baseline, "fetch")


def test_a_disturbed_run_over_the_target_is_not_judged_on_noise():
    import dataclasses

    from helpers.capstone.exercises import against_target
    from helpers.core.noise import MachineLoad

    run = fake_comparison().runs["threads + processes"]
    plan = run.plan
    assert against_target(plan, [run], target_s=10.0)  # under the target: passes
    quiet = str(against_target(plan, [run], target_s=0.3))
    assert "over the target" in quiet and "disturbed" not in quiet
    run.runs["compute"] = dataclasses.replace(run.runs["compute"], load=MachineLoad(1.6, 2),
                                              cpus=[0.4])  # 0.4 CPU-s on 2 CPUs: 0.2 s
    busy = against_target(plan, [run], target_s=0.3)
    assert busy.inconclusive and "Not judged" in str(busy) and "**disturbed**" in str(busy)
    far = against_target(plan, [run], target_s=0.01)  # fetch alone, undisturbed, is over
    assert not far and not far.inconclusive and "over the target" in str(far)
