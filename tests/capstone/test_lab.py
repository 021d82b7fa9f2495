"""The capstone lab widget, headless: a run shows a plot and words; a failure is shown."""
from __future__ import annotations

from helpers.capstone.lab import CapstoneLab
from helpers.capstone.pipeline import expected_summary

from .fakes import SMALL, fake_comparison, small_job


def test_lab_runs_headless_and_shows_a_plot(no_leftover_processes):
    lab = CapstoneLab(fake_comparison(), **{k: v for k, v in SMALL.items()
                                            if k == "repeats"})
    lab.kinds["compute"].value = "threads"
    result = lab.run()
    assert lab.error is None and result is lab.results
    assert result.summary == expected_summary(small_job())
    assert result.plan["compute"][0] == "threads"
    assert lab.figure is not None and "your choice" in lab.words.value
    assert "wrong" not in lab.words.value


def test_lab_shows_a_failure_instead_of_raising(no_leftover_processes):
    lab = CapstoneLab(None, pages=4, latency_ms=900, compute_size=3_000, repeats=1, timeout=0.2)
    lab.kinds["fetch"].value = "serial"
    assert lab.run() is None and lab.results is None
    assert "The run failed" in lab.words.value and isinstance(lab.error, TimeoutError)
