"""Every notebook in a real browser: runs clean, widgets render, lab widgets respond.

For each ``notebooks/NN_*.ipynb`` (and the fixture ``fixtures/widget_lab.ipynb``, the
positive control of ``test_negative_control.py``): open it in a fresh JupyterLab
workspace, run all cells, wait until the kernel is idle, and assert no error output, no
unexecuted cell, every widget view rendered, no "Error displaying widget" or stuck
"Loading widget...", no emoji glyph in any output (it needs an emoji font: empty boxes with
DejaVu), no cut widget label or dropdown text. Each lab widget (a code cell constructing one,
``Lab(``, ``GilLab(`` …): its progress bar shows within ``PROGRESS_BOUND_S`` (1 s) of its cell
starting to execute during run-all; then move a slider with the keyboard (or pick a dropdown
option), press Run, and the first new plot must come within the bench's goal
(``bench.widget.FIRST_PLOT_GOAL_S``, 2 s). The measured numbers are in any failure message.
A screenshot of each notebook lands in ``test-artifacts/browser/<stem>.png``, and a
1280×720 one of its first lab widget in ``<stem>-lab.png``.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from bench.widget import FIRST_PLOT_GOAL_S
from tools.lab_driver import (
    ARTIFACTS,
    FIXTURES,
    NOTEBOOK_TIMEOUT,
    NOTEBOOKS,
    check_notebook,
    lab_cells,
)

pytestmark = pytest.mark.browser

CASES = [pytest.param("notebooks", path, id=path.stem)
         for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))]
CASES.append(pytest.param("fixtures", FIXTURES / "widget_lab.ipynb", id="fixture-widget_lab"))


@pytest.mark.timeout(2 * NOTEBOOK_TIMEOUT + 60)
@pytest.mark.parametrize(("folder", "notebook"), CASES)
def test_notebook_in_browser(notebook_page, lab_server, folder: str, notebook: Path) -> None:
    original = hashlib.sha256(notebook.read_bytes()).hexdigest()
    labs = lab_cells(notebook)
    stem = notebook.stem if folder == "notebooks" else f"fixture-{notebook.stem}"
    report = check_notebook(notebook_page, lab_server, f"{folder}/{notebook.name}", labs=labs,
                            timeout=NOTEBOOK_TIMEOUT, artifact=ARTIFACTS / f"{stem}.png",
                            plot_bound=FIRST_PLOT_GOAL_S)
    print(f"{notebook.name}: {report.seconds} progress bar after (s): {report.bar_delays} "
          f"{report.labs}")
    assert len(report.runs) == len(labs), "every lab widget must have been exercised"
    assert hashlib.sha256(notebook.read_bytes()).hexdigest() == original, \
        f"{notebook} was modified during its browser test"
