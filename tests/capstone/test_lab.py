"""The capstone lab widget, headless: a run shows a plot and words; a failure is shown."""
from __future__ import annotations

from helpers.capstone.lab import CapstoneLab
from helpers.capstone.pipeline import expected_summary
from helpers.capstone.plan import STAGES

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


def test_lab_draws_a_partial_run_before_the_whole_pipeline_ends(no_leftover_processes):
    lab = CapstoneLab(fake_comparison(), repeats=2)
    drawn = []
    lab.show = lambda figure: drawn.append([t.get_text() for t in figure.axes[0].texts])
    lab.throttle.interval = 0.0  # draw every partial result (the panel throttles to 1/s)
    assert lab.run() is not None and lab.error is None
    assert " measuring…" in drawn[0] and " measuring…" not in drawn[-1]
    assert len(drawn) >= len(STAGES) and "your choice" in lab.words.value
