"""Negative control: with the widgets extension disabled, the widget check must fail.

Proves that ``test_notebooks_in_browser`` would notice broken widgets: the same
``check_notebook`` on the same fixture notebook, against a JupyterLab whose page config
disables ``@jupyter-widgets/jupyterlab-manager``, raises ``WidgetCheckFailed`` (widget
views shown as plain text, not rendered). Its positive twin is the
``fixture-widget_lab`` case of ``test_notebooks_in_browser``.
"""
from __future__ import annotations

import json

import pytest

from conftest import ARTIFACTS, FIXTURES, open_page
from lab_driver import (WIDGETS_EXTENSION, LabServer, WidgetCheckFailed, check_notebook,
                        copy_tree, has_lab_widget)

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
    assert config["disabledExtensions"] == [WIDGETS_EXTENSION] or \
        WIDGETS_EXTENSION in config["disabledExtensions"], config["disabledExtensions"]
    message = str(failure.value)
    print(f"negative control failed as expected:\n{message}")
    assert "widgets did not render" in message and "0 rendered" in message, message
    assert not left, f"kernel processes left: {left}"
