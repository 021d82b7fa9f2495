"""Every notebook in a real browser: runs clean, widgets render, lab widgets respond.

For each ``notebooks/NN_*.ipynb`` (and the fixture ``fixtures/widget_lab.ipynb``, the
positive control of ``test_negative_control.py``): open it in a fresh JupyterLab
workspace, run all cells, wait until the kernel is idle, and assert no error output, no
unexecuted cell, every widget view rendered, no "Error displaying widget" or stuck
"Loading widget...". Notebooks with a lab widget (``Lab(`` in a code cell): move a
slider with the keyboard (or pick a dropdown option), press Run, and wait for the plot
to change. A screenshot of each notebook lands in ``test-artifacts/browser/<stem>.png``.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tools.lab_driver import (
    ARTIFACTS,
    FIXTURES,
    NOTEBOOK_TIMEOUT,
    NOTEBOOKS,
    check_notebook,
    has_lab_widget,
)

pytestmark = pytest.mark.browser

CASES = [pytest.param("notebooks", path, id=path.stem)
         for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))]
CASES.append(pytest.param("fixtures", FIXTURES / "widget_lab.ipynb", id="fixture-widget_lab"))


@pytest.mark.timeout(2 * NOTEBOOK_TIMEOUT + 60)
@pytest.mark.parametrize(("folder", "notebook"), CASES)
def test_notebook_in_browser(notebook_page, lab_server, folder: str, notebook: Path) -> None:
    original = hashlib.sha256(notebook.read_bytes()).hexdigest()
    lab_widget = has_lab_widget(notebook)
    stem = notebook.stem if folder == "notebooks" else f"fixture-{notebook.stem}"
    report = check_notebook(notebook_page, lab_server, f"{folder}/{notebook.name}",
                            lab_widget=lab_widget, timeout=NOTEBOOK_TIMEOUT,
                            artifact=ARTIFACTS / f"{stem}.png")
    print(f"{notebook.name}: {report.seconds} {report.labs}")
    if lab_widget:
        assert report.labs, "a lab widget notebook must have exercised at least one lab widget"
    assert hashlib.sha256(notebook.read_bytes()).hexdigest() == original, \
        f"{notebook} was modified during its browser test"
