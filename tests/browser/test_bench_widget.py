"""`make bench`'s widget-latency figures, measured in a real browser (one click, quick sizes,
notebook 03's widget only: the other notebooks' rows are then SKIPPED, not measured)."""
from __future__ import annotations

import math

import pytest

from bench.figures import FAILED, MEASURED, SKIPPED
from bench.widget import SUMMARY_KEY, widget_cases, widget_figures, widget_latency

from .conftest import chromium_path, unavailable

pytestmark = pytest.mark.browser


@pytest.mark.timeout(300)
def test_widget_latency_is_measured_in_chromium() -> None:
    if chromium_path() is None:
        unavailable("no Chromium found")
    cases = widget_cases()
    assert any(case.notebook.name.startswith("03_") for case in cases)
    figures = {figure.key: figure for figure in widget_figures(cases)}
    widget_latency(figures, quick=True, clicks=1, timeout=120, only=["03_*"])
    for case in cases:
        figure = figures[case.key]
        if case.notebook.name.startswith("03_"):
            assert figure.status == MEASURED, figure.note
            first, complete = figure.value, figure.details["complete_s"]
            assert math.isfinite(first) and 0 < first and (complete is None or first <= complete)
            assert "first new plot" in figure.note and figure.details["quick"] is True
        else:
            assert figure.status == SKIPPED and "not selected" in figure.note, figure.note
    summary = figures[SUMMARY_KEY]
    assert summary.status in (MEASURED, FAILED), summary.note
    assert summary.value == max(figures[c.key].value for c in cases
                                if figures[c.key].status == MEASURED)
