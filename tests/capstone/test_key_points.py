"""Notebook 09's key points: their numbers come from the comparison, their words follow
the CPUs, and a gain one CPU cannot give is called disturbed."""
from __future__ import annotations

import pytest

from helpers.capstone.key_points import key_points

from .fakes import fake_comparison


def test_points_quote_the_measured_gains_and_the_next_bottleneck():
    points = key_points(fake_comparison())
    assert 3 <= len(points.lines) <= 6
    text = points.text
    assert "**fetch** ran 13.3× faster than serial on threads" in text
    assert "**compute** ran 2.0× faster than serial in processes" in text
    assert "2 effective CPUs" in text and "its longest stage is now **compute**" in text


def test_on_one_cpu_no_compute_gain_is_explained_by_parallelism():
    flat = key_points(fake_comparison(effective_cpus=1, processes_compute=1.0)).text
    assert "with 1 effective CPU nothing computes in parallel" in flat
    noisy = key_points(fake_comparison(effective_cpus=1)).text
    assert "**disturbed**" in noisy and "own GIL" not in noisy


def test_a_wrong_argument_is_refused():
    with pytest.raises(ValueError, match="comparison must be a PipelineComparison"):
        key_points({"all serial": 1})
