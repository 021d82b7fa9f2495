"""The capstone's sentences, from made-up measurements: the fastest, each stage, 1 CPU,
ties, the profile of one run — and idle, busy, 1-CPU and beyond-ideal measurements."""
from __future__ import annotations

import dataclasses

from helpers.capstone.verdicts import describe_pipelines, describe_profile
from helpers.core.noise import MachineLoad

from .fakes import fake_comparison, fake_run


def test_words_name_the_fastest_and_explain_each_stage():
    text = describe_pipelines(fake_comparison()).text
    assert "Fastest here: **threads + processes**" in text
    assert "**fetch** waits" in text and "13.3× faster than serial" in text
    assert "Processes were 2.0× faster than serial on 2 effective CPUs — 100% of the ideal" in text
    assert "leave it serial" in text


def test_words_on_one_cpu_say_processes_cannot_speed_compute_up():
    text = describe_pipelines(fake_comparison(effective_cpus=1, processes_compute=1.0)).text
    assert "1 effective CPU" in text and "cannot speed the compute stage up" in text
    profile = describe_profile(fake_comparison(effective_cpus=1).baseline).text
    assert "processes cannot speed a computing stage up" in profile


def test_close_totals_are_called_a_tie():
    comparison = fake_comparison()
    comparison.runs["almost"] = fake_run(
        "almost", ["threads", "serial", "processes", "serial"], [0.06, 0.001, 0.52, 0.001],
        [0.02, 0.001, 1.0, 0.001])
    assert "call it a tie" in describe_pipelines(comparison).text


def test_profile_says_which_stage_waits_and_which_computes():
    text = describe_profile(fake_comparison().baseline).text
    assert "**fetch**: 800 ms, 0.05 CPUs busy — it waits" in text
    assert "**compute**: 1.00 s, 1.00 CPUs busy — it computes; the longest stage" in text
    assert "too brief to matter" in text


def test_each_executor_kind_reads_as_the_subject_of_a_sentence():
    comparison = fake_comparison()
    comparison.runs["asyncio"] = fake_run(
        "asyncio", ["asyncio", "serial", "asyncio", "serial"], [0.06, 0.001, 1.0, 0.001],
        [0.02, 0.001, 1.0, 0.001])
    del comparison.runs["threads + processes"]
    text = describe_pipelines(comparison).text
    assert "Asyncio tasks were" in text and "Asyncio were" not in text


BUSY = MachineLoad(1.6, 2)  # other programs kept 1.6 of the 2 CPUs busy


def _with(comparison, label, stage, **changes):
    """``comparison`` with one stage's RunResult of one choice changed."""
    run = comparison.runs[label]
    run.runs[stage] = dataclasses.replace(run.runs[stage], **changes)
    return comparison


def test_an_idle_machine_is_explained_and_never_called_disturbed():
    idle = fake_comparison()
    for run in idle.runs.values():
        for stage in run.runs:
            _with(idle, run.label, stage, load=MachineLoad(0.05, 2))
    text = describe_pipelines(idle).text
    assert "disturbed" not in text and "Each worker has its own interpreter and GIL" in text


def test_a_busy_machine_is_called_disturbed_and_not_explained():
    busy = _with(fake_comparison(), "threads + processes", "compute", load=BUSY)
    text = describe_pipelines(busy).text
    assert "Processes were 2.0× faster than serial. Other programs kept about 1.6" in text
    assert "**disturbed**" in text and "own interpreter and GIL" not in text
    profile = describe_profile(busy.runs["threads + processes"]).text
    assert "**disturbed**" in profile


def test_a_starved_serial_compute_leaves_every_compute_gain_undescribed():
    starved = _with(fake_comparison(), "all serial", "compute", workers=1, cpus=[0.5])
    text = describe_pipelines(starved).text
    assert "Compute kept only 0.50 CPUs busy" in text and "**disturbed**" in text
    assert "none is described here" in text and "Processes were" not in text


def test_a_compute_gain_beyond_the_ideal_is_disturbed():
    text = describe_pipelines(fake_comparison(processes_compute=0.3)).text
    assert "measured 3.3×, more than 2 CPUs can give" in text and "**disturbed**" in text
    assert "own interpreter and GIL" not in text


def test_threads_on_one_cpu_are_not_blamed_on_the_gil():
    comparison = fake_comparison(effective_cpus=1, processes_compute=1.0)
    comparison.runs["all threads"] = fake_run(
        "all threads", ["threads"] * 4, [0.06, 0.001, 1.0, 0.001], [0.02, 0.001, 1.0, 0.001],
        effective_cpus=1)
    text = describe_pipelines(comparison).text
    assert "only one of them computes at a time, GIL or not" in text
    assert "the GIL lets one thread" not in text
