"""`make bench`'s widget-latency figure, measured in a real browser (one click, quick sizes)."""
from __future__ import annotations

import math
import sys

from tools.lab_driver import REPO

from .conftest import chromium_path, unavailable

sys.path.insert(0, str(REPO))  # the bench package lives at the repository root

from bench.figures import MEASURED, Figure  # noqa: E402
from bench.widget import widget_latency  # noqa: E402


def test_widget_latency_is_measured_in_chromium() -> None:
    if chromium_path() is None:
        unavailable("no Chromium found")
    figure = Figure("widget_latency", "Widget: control change + Run → new plot", "s",
                    target=2.0, better="lower")
    widget_latency(figure, quick=True, clicks=1, timeout=90)
    assert figure.status == MEASURED, figure.note
    assert math.isfinite(figure.value) and 0 < figure.value <= figure.details["complete_s"]
    assert "first new plot" in figure.note and figure.details["quick"] is True
