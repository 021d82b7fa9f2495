"""Negative controls: the checks of ``test_notebooks_in_browser`` fail when they should.

1. With the widgets extension disabled, the widget check must fail.

Proves that ``test_notebooks_in_browser`` would notice broken widgets: the same
``check_notebook`` on the same fixture notebook, against a JupyterLab whose page config
disables ``@jupyter-widgets/jupyterlab-manager``, raises ``WidgetCheckFailed`` (widget
views shown as plain text, not rendered). Its positive twin is the
``fixture-widget_lab`` case of ``test_notebooks_in_browser``.

2. A notebook whose cell raises fails the notebook check (a stderr line alone does not).
3. A lab widget whose Run button redraws nothing fails the "plot changed" check.

Screenshots: ``test-artifacts/browser/negative-control-*.png``.
"""
from __future__ import annotations

import json

import pytest

from tools.lab_driver import (
    ARTIFACTS,
    FIXTURES,
    WIDGETS_EXTENSION,
    LabServer,
    NotebookCheckFailed,
    WidgetCheckFailed,
    check_notebook,
    copy_tree,
    has_lab_widget,
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
                check_notebook(page, server, "fixtures/widget_lab.ipynb", lab_widget=True,
                               timeout=120,
                               artifact=ARTIFACTS / "negative-control-widgets-disabled.png")
            config = json.loads(page.locator("#jupyter-config-data").text_content())
        finally:
            context.close()
        left = server.shutdown_kernels()
    # the control really is "widgets extension off" (not some other breakage)
    assert WIDGETS_EXTENSION in config["disabledExtensions"], config["disabledExtensions"]
    message = str(failure.value)
    print(f"negative control failed as expected:\n{message}")
    assert "widgets did not render" in message and "0 rendered" in message, message
    assert not left, f"kernel processes left: {left}"


@pytest.mark.timeout(300)
def test_error_output_fails_the_notebook_check(notebook_page, lab_server) -> None:
    """A cell that raises is reported with its traceback; later cells are reported unrun."""
    with pytest.raises(NotebookCheckFailed) as failure:
        check_notebook(notebook_page, lab_server, "fixtures/cell_error.ipynb", lab_widget=False,
                       timeout=120, artifact=ARTIFACTS / "negative-control-cell-error.png")
    message = str(failure.value)
    assert "ZeroDivisionError" in message and "only a warning" not in message, message


@pytest.mark.timeout(300)
def test_lab_check_fails_when_run_does_not_redraw(notebook_page, lab_server) -> None:
    """A lab whose Run button changes nothing fails the "plot changed" check."""
    notebook = FIXTURES / "lab_run_does_nothing.ipynb"
    assert has_lab_widget(notebook)
    with pytest.raises(WidgetCheckFailed) as failure:
        check_notebook(notebook_page, lab_server, f"fixtures/{notebook.name}", lab_widget=True,
                       timeout=10, artifact=ARTIFACTS / "negative-control-run-does-nothing.png")
    assert "the plot did not change" in str(failure.value), failure.value
