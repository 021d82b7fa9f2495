"""Notebook 09's self-checks: the bottleneck, the target, the tool guide; hints that follow
the measured tool and CPUs."""
from __future__ import annotations

import pytest

from helpers.capstone.exercises import (
    GUIDE_JOBS,
    SLACK,
    against_target,
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


def test_blank_answers_are_not_answered_never_graded():
    run = fake_comparison().runs["threads + processes"]
    target = target_time(fake_comparison())
    for result in (check_bottleneck(..., run), check_tool_guide({job: ... for job in GUIDE_JOBS}),
                   check_beat_target(..., target),
                   check_beat_target({"fetch": ("threads", 4), "compute": ...}, target)):
        assert result.state == "unanswered" and not result.passed and "Not answered" in str(result)


def test_target_is_the_best_time_of_each_stage_plus_slack():
    comparison = fake_comparison()
    target = target_time(comparison)
    # the fakes: fetch best 0.06 (threads), parse and aggregate 0.001, compute best 0.5
    assert float(target) == pytest.approx(SLACK * (0.06 + 0.001 + 0.5 + 0.001))
    assert target.best["compute"].executor == "processes" and target.within == 1
    # all threads (compute on threads, as slow as serial on this fake) is not within it
    threads = fake_run("all threads", ["threads"] * 4, [0.06, 0.001, 1.0, 0.001],
                       [0.02, 0.001, 1.0, 0.001])
    assert against_target(threads.plan, [threads], target).state == "failed"
    with pytest.raises(ValueError, match="comparison must be"):
        target_time({"all serial": 1})


def test_target_words_follow_the_measurement_and_the_cpus():
    two = str(target_time(fake_comparison())._repr_markdown_())
    assert "fetch (13.3×) and compute (2.0×) clearly faster" in two and "1 effective" not in two
    one = target_time(fake_comparison(effective_cpus=1, processes_compute=1.0))._repr_markdown_()
    assert "1 effective CPU" in one and "compute (" not in one and "disturbed" not in one
    noisy = target_time(fake_comparison(effective_cpus=1))._repr_markdown_()
    assert "**disturbed**" in noisy and "compute (2.0×)" not in noisy


def test_a_failed_target_points_at_the_stage_furthest_from_its_best():
    target = target_time(fake_comparison())
    run = fake_run("yours", ["threads", "serial", "threads", "serial"], [0.06, 0.001, 1.0, 0.001],
                   [0.02, 0.001, 1.0, 0.001])
    result = against_target(run.plan, [run], target)
    assert not result and "compute took 1.00 s here" in str(result)
    assert "fastest any choice measured for it was 500 ms" in str(result)
    on_one_cpu = target_time(fake_comparison(effective_cpus=1, processes_compute=1.0))
    slow_compute = fake_run("yours", ["threads", "serial", "threads", "serial"],
                            [0.06, 0.001, 1.0, 0.001], [0.02, 0.001, 1.0, 0.001], 1)
    fine = against_target(slow_compute.plan, [slow_compute], on_one_cpu)
    assert fine.passed and "its tool hardly mattered" in str(fine)


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
    assert not check_tool_guide({**solution, next(iter(solution)): "free-threading"})
    assert not check_tool_guide(["asyncio"])
    quoted = check_tool_guide(wrong, fake_comparison())  # the learner's own figures
    assert not quoted and "Your capstone run measured for processes: compute 2.0×" in str(quoted)


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

    from helpers.core.noise import MachineLoad

    run = fake_comparison().runs["threads + processes"]
    plan = run.plan
    assert against_target(plan, [run], target=10.0)  # under the target: passes
    quiet = str(against_target(plan, [run], target=0.3))
    assert "over the target" in quiet and "disturbed" not in quiet
    run.runs["compute"] = dataclasses.replace(run.runs["compute"], load=MachineLoad(1.6, 2),
                                              cpus=[0.4])  # 0.4 CPU-s on 2 CPUs: 0.2 s
    busy = against_target(plan, [run], target=0.3)
    assert busy.inconclusive and "Not judged" in str(busy) and "**disturbed**" in str(busy)
    far = against_target(plan, [run], target=0.01)  # fetch alone, undisturbed, is over
    assert not far and not far.inconclusive and "over the target" in str(far)


def test_a_target_runs_its_own_job_and_passes_the_reference(no_leftover_processes):
    target = target_time(fake_comparison())  # the fakes' job: 4 pages of 10 ms
    result = check_beat_target(reference_stages(small_job()), target, repeats=1)
    assert result.state in ("passed", "inconclusive"), str(result)
    assert not check_beat_target({"fetch": ("threads", 4), "compute": ("threads", 0)}, target)
