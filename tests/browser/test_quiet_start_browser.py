"""A learner's first start, in a real browser: no news pop-up, notebook 00 open, files beside it.

The other browser tests silence JupyterLab's news prompt with a user setting of their own;
here that user setting is removed, so only what installing the project put into this
environment (``jupyter-config/``, see tests/test_quiet_start.py) can keep the prompt away.
The server opens what ``make lab`` opens (``--LabApp.default_url``). Negative control: the
same start with an empty app settings directory shows "Would you like to get notified
about official Jupyter news?" -- so the check below can fail.

Screenshots: ``test-artifacts/browser/quiet-start*.png``.
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from tools import lab_driver
from tools.lab_driver import ARTIFACTS, NOTEBOOKS, LabServer, open_page

pytestmark = pytest.mark.browser

NOTEBOOK = "notebooks/00_start_here.ipynb"
DEFAULT_URL = f"/lab/tree/{NOTEBOOK}"  # what `make lab` passes as --LabApp.default_url
NEWS_PROMPT = "official Jupyter news"
SUITE_NEWS_SETTING = Path("@jupyterlab", "apputils-extension",
                          "notification.jupyterlab-settings")


class FirstStart(LabServer):
    """A LabServer as a learner gets it: no user settings about news, make lab's default URL
    (and, for the negative control, another app settings directory)."""

    def __init__(self, *args, app_settings_dir: Path | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.app_settings_dir = app_settings_dir

    def _prepare_dirs(self) -> dict[str, str]:
        env = super()._prepare_dirs()
        (self.state_dir / "settings" / SUITE_NEWS_SETTING).unlink()
        lab_config: dict[str, str] = {"default_url": DEFAULT_URL}
        if self.app_settings_dir is not None:
            lab_config["app_settings_dir"] = str(self.app_settings_dir)
        (self.state_dir / "config" / "jupyter_server_config.json").write_text(
            json.dumps({"LabApp": lab_config}), encoding="utf-8")
        return env


def first_start(browser, tmp_path: Path, name: str, **server_options) -> dict:
    """Open the server's front page as `make lab` does; what the learner sees first."""
    root = tmp_path / "root"
    (root / "notebooks").mkdir(parents=True)
    shutil.copy2(NOTEBOOKS / "00_start_here.ipynb", root / NOTEBOOK)
    with FirstStart(root, tmp_path / "state", **server_options) as server:
        context, page = open_page(browser)
        try:
            page.goto(f"{server.url}/?token={server.token}")
            page.wait_for_function("() => window.jupyterapp !== undefined")
            page.evaluate("() => window.jupyterapp.restored")
            page.locator(".jp-NotebookPanel").first.wait_for(state="visible")
            # the prompt is emitted as soon as the app is restored: give it 5 s to show
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not page.get_by_text(NEWS_PROMPT).count():
                time.sleep(0.25)
            seen = {
                "url": page.url,
                "news_prompt": page.get_by_text(NEWS_PROMPT).count() > 0,
                "toasts": page.locator(".Toastify__toast").all_inner_texts(),
                "breadcrumbs": page.locator(".jp-FileBrowser .jp-BreadCrumbs").first
                .inner_text(),
                "files": page.locator(".jp-FileBrowser .jp-DirListing-itemText")
                .all_inner_texts(),
            }
            target = ARTIFACTS / f"{name}.png"  # the viewport: what the learner sees
            target.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(target), timeout=30_000)
            lab_driver.SCREENSHOTS.append(target)
        finally:
            context.close()
        left = server.shutdown_kernels()
    assert not left, f"kernel processes left: {left}"
    return seen


@pytest.mark.timeout(180)
def test_first_start_is_quiet_on_notebook_00_with_its_folder(browser, tmp_path) -> None:
    seen = first_start(browser, tmp_path, "quiet-start")
    assert not seen["news_prompt"], f"the news prompt showed: {seen['toasts']}"
    assert not any("news" in toast.lower() for toast in seen["toasts"]), seen["toasts"]
    assert seen["url"].split("?")[0].endswith(DEFAULT_URL), seen["url"]
    assert "notebooks" in seen["breadcrumbs"], seen
    assert "00_start_here.ipynb" in seen["files"], seen


@pytest.mark.timeout(180)
def test_negative_control_without_the_settings_the_prompt_shows(browser, tmp_path) -> None:
    empty = tmp_path / "empty-settings"
    empty.mkdir()
    seen = first_start(browser, tmp_path, "quiet-start-negative-control",
                       app_settings_dir=empty)
    assert seen["news_prompt"], f"no news prompt without the settings: {seen['toasts']}"
