"""Negative controls: the checks of ``test_notebooks_in_browser`` fail when they should.

1. With the widgets extension disabled, the widget check must fail.

Proves that ``test_notebooks_in_browser`` would notice broken widgets: the same
``check_notebook`` on the same fixture notebook, against a JupyterLab whose page config
disables ``@jupyter-widgets/jupyterlab-manager``, raises ``WidgetCheckFailed`` (widget
views shown as plain text, not rendered). Its positive twin is the
``fixture-widget_lab`` case of ``test_notebooks_in_browser``.

2. A notebook whose cell raises fails the notebook check (a stderr line alone does not).
3. A lab widget whose Run button redraws nothing fails the "plot changed" check.
4. A lab cell that runs before it displays (``lab.run(); lab``, a 2.5 s run whose first plot
   comes at its end) fails both feedback checks: progress bar within 1 s of the cell
   starting, first new plot within 2 s of Run. Its positive twin is ``fixture-widget_lab``
   (same widget, ``lab.start()``, first plot after 0.1 s). The same fixture prints ✅ and
   shows a cut dropdown text and a cut label: the output checks name all three.

Screenshots: ``test-artifacts/browser/negative-control-*.png``.
"""
from __future__ import annotations

import json

import pytest

from bench.widget import FIRST_PLOT_GOAL_S
from tools.lab_driver import (
    ARTIFACTS,
    FIXTURES,
    PROGRESS_BOUND_S,
    WIDGETS_EXTENSION,
    AcceptanceCheckFailed,
    LabServer,
    NotebookCheckFailed,
    WidgetCheckFailed,
    check_notebook,
    copy_tree,
    has_lab_widget,
    lab_cells,
    open_page,
)

pytestmark = pytest.mark.browser


@pytest.mark.timeout(300)
def test_widget_check_fails_when_widgets_extension_is_disabled(browser, tmp_path) -> None:
    notebook = FIXTURES / "widget_lab.ipynb"
    assert has_lab_widget(notebook)
    copy_tree(FIXTURES, tmp_path / "root" / "fixtures")
    with LabServer(tmp_path / "root", tmp_path / "state",
                   disabled_extensions=(WIDGETS_EXTENSION,)) as server:
        context, page = open_page(browser)
        try:
            with pytest.raises(WidgetCheckFailed) as failure:
                check_notebook(page, server, "fixtures/widget_lab.ipynb",
                               labs=lab_cells(notebook), timeout=120,
                               artifact=ARTIFACTS / "negative-control-widgets-disabled.png")
            config = json.loads(page.locator("#jupyter-config-data").text_content())
        finally:
            context.close()
        left = server.shutdown_kernels()
    # the control really is "widgets extension off" (not some other breakage)
    assert WIDGETS_EXTENSION in config["disabledExtensions"], config["disabledExtensions"]
    message = str(failure.value)
    print(f"negative control failed as expected:\n{message}")
    # a widget view shown as text ("0 rendered"), or no widget view at all (ipywidgets 8
    # displays none when the frontend refuses its comm): either way no lab widget box
    assert "widgets did not render" in message, message
    assert "0 rendered" in message or "no rendered widget box" in message, message
    assert not left, f"kernel processes left: {left}"


@pytest.mark.timeout(300)
def test_error_output_fails_the_notebook_check(notebook_page, lab_server) -> None:
    """A cell that raises is reported with its traceback; later cells are reported unrun."""
    with pytest.raises(NotebookCheckFailed) as failure:
        check_notebook(notebook_page, lab_server, "fixtures/cell_error.ipynb", timeout=120,
                       artifact=ARTIFACTS / "negative-control-cell-error.png")
    message = str(failure.value)
    assert "ZeroDivisionError" in message and "only a warning" not in message, message


@pytest.mark.timeout(300)
def test_lab_check_fails_when_run_does_not_redraw(notebook_page, lab_server) -> None:
    """A lab whose Run button changes nothing fails the "plot changed" check."""
    notebook = FIXTURES / "lab_run_does_nothing.ipynb"
    assert has_lab_widget(notebook)
    with pytest.raises(WidgetCheckFailed) as failure:
        check_notebook(notebook_page, lab_server, f"fixtures/{notebook.name}",
                       labs=lab_cells(notebook), timeout=10,
                       artifact=ARTIFACTS / "negative-control-run-does-nothing.png")
    assert "the plot did not change" in str(failure.value), failure.value


@pytest.mark.timeout(300)
def test_feedback_checks_fail_when_a_lab_runs_before_it_displays(notebook_page,
                                                                  lab_server) -> None:
    """``lab.run(); lab``: the bar shows only after the run; Run draws only at its end."""
    notebook = FIXTURES / "lab_runs_before_display.ipynb"
    labs = lab_cells(notebook)
    assert labs and "lab.run()" in json.dumps(json.loads(notebook.read_text())["cells"])
    with pytest.raises(AcceptanceCheckFailed) as failure:
        check_notebook(notebook_page, lab_server, f"fixtures/{notebook.name}", labs=labs,
                       timeout=120, plot_bound=FIRST_PLOT_GOAL_S,
                       artifact=ARTIFACTS / "negative-control-runs-before-display.png")
    message = str(failure.value)
    print(f"negative control failed as expected:\n{message}")
    assert f"bound {PROGRESS_BOUND_S:.1f} s" in message and "progress bar visible" in message
    assert "first new plot" in message and f"bound {FIRST_PLOT_GOAL_S:.1f} s" in message
    assert "emoji glyph" in message and "done" in message
    assert 'dropdown text "an option far too long' in message
    assert 'label "a description far too long for its box"' in message
