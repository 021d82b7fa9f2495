"""The capstone's sentences, from made-up measurements: the fastest, each stage, 1 CPU,
ties, the profile of one run."""
from __future__ import annotations

from helpers.capstone.verdicts import describe_pipelines, describe_profile

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
