"""Widget latency in a real browser: notebook 03's ``Lab`` in JupyterLab, driven by Chromium.

Reuses the browser tests' machinery (``tools/lab_driver.py``): a throwaway
JupyterLab on 127.0.0.1 serving a temporary folder, Debian's Chromium through the
``playwright`` package (never ``playwright install``). The served copy of notebook 03 stops
after its ``Lab(`` cell (the rest of the notebook is not needed to reach the widget).

One measurement: move a control of the widget (the first slider, one step), click Run,
and time until the ``<img>`` of its plot changes (``first_plot_s``); also until the run is
over (``complete_s``: Run enabled again, nothing redrawn). Median over ``clicks`` clicks.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from .figures import MEASURED, NOT_MEASURED, Figure
from .notebooks import NOTEBOOKS, find_notebooks

REPO = Path(__file__).resolve().parent.parent
POLL_MS = 50


def chromium_path() -> str | None:
    """``$CHROMIUM_PATH`` if set, else Debian's ``/usr/bin/chromium`` (or ``chromium`` on PATH)."""
    explicit = os.environ.get("CHROMIUM_PATH")
    found = [explicit] if explicit else ["/usr/bin/chromium", shutil.which("chromium")]
    return next((c for c in found if c and os.access(c, os.X_OK)), None)


def lab_driver():
    """The browser tests' driver module (imported from the repository's tests folder)."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tools import lab_driver as driver

    return driver


def widget_notebook(target: Path) -> str:
    """Copy notebook 03 up to and including its ``Lab(`` cell into ``target``; its path there."""
    source = next(iter(find_notebooks("03_*.ipynb")), None)
    if source is None:
        raise FileNotFoundError(f"no notebook 03 in {NOTEBOOKS}")
    notebook = json.loads(source.read_text(encoding="utf-8"))
    cells = notebook["cells"]
    last = next(i for i, cell in enumerate(cells) if cell["cell_type"] == "code"
                and "Lab(" in "".join(cell["source"]))
    notebook["cells"] = cells[:last + 1]
    (target / "notebooks").mkdir(parents=True, exist_ok=True)
    (target / "notebooks" / source.name).write_text(json.dumps(notebook), encoding="utf-8")
    return f"notebooks/{source.name}"


def _server_class(driver, quick: bool):
    class BenchLabServer(driver.LabServer):
        """The tests' LabServer, with ``LAB_QUICK`` as the benchmark asks (unset = defaults)."""

        def _prepare_dirs(self) -> dict[str, str]:
            env = super()._prepare_dirs()
            if not quick:
                env.pop("LAB_QUICK", None)
            return env

    return BenchLabServer


def widget_latency(figure: Figure, quick: bool, clicks: int = 3, timeout: float = 240) -> None:
    """Fill ``figure`` with the median seconds from Run to a new plot (see module doc)."""
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        figure.skip(NOT_MEASURED, "not measured (the playwright package is not installed; "
                                  "make browser-deps)")
        return
    if executable is None:
        figure.skip(NOT_MEASURED, "not measured (no Chromium; make browser-deps)")
        return
    driver = lab_driver()
    with tempfile.TemporaryDirectory(prefix="bench-lab-") as folder:
        root, state = Path(folder) / "root", Path(folder) / "state"
        root.mkdir()
        path = widget_notebook(root)
        server = _server_class(driver, quick)(root, state).start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                                     args=driver.CHROMIUM_ARGS, timeout=60_000)
                try:
                    context, page = driver.open_page(browser)
                    timings = _measure(driver, page, server, path, clicks, timeout)
                    context.close()
                finally:
                    browser.close()
        finally:
            server.stop()
    first = statistics.median(t["first_plot_s"] for t in timings)
    figure.value, figure.status = first, MEASURED
    figure.details = {"clicks": timings, "quick": quick,
                      "complete_s": statistics.median(t["complete_s"] for t in timings)}
    figure.note = (f"notebook 03's Lab, {'quick' if quick else 'default'} sizes: first new plot "
                   f"{first:.2f} s after Run, run complete after "
                   f"{figure.details['complete_s']:.2f} s (median of {clicks})")


_JS_RUN_ENABLED = """
(i) => {
  const lab = document.querySelector(`[data-browser-test-lab="${i}"]`);
  const runs = lab ? Array.from(lab.querySelectorAll('button.widget-button'))
    .filter((b) => b.textContent.trim() === 'Run') : [];
  return runs.length > 0 && runs.every((b) => !b.disabled);
}
"""


def _measure(driver, page, server, path: str, clicks: int, timeout: float) -> list[dict]:
    """Open and run the notebook, then time ``clicks`` control-change + Run cycles."""
    driver.open_notebook(page, server, path)
    driver.run_all(page, path, timeout)
    driver.check_state(page, path)
    if not page.evaluate(driver._JS_MARK_LABS, path):
        raise driver.WidgetCheckFailed(f"{path}: no lab widget with a Run button rendered")
    lab = page.locator('[data-browser-test-lab="0"]')
    lab.scroll_into_view_if_needed(timeout=10_000)
    run_button = lab.locator("button.widget-button", has_text=re.compile(r"^\s*Run\s*$")).first
    timings = []
    for _ in range(clicks):
        driver._wait_lab_settled(page, path, 0, timeout)
        before = page.evaluate(driver._JS_PLOT, 0)
        changed = driver._change_a_control(lab)
        start = time.perf_counter()
        run_button.click(timeout=10_000)
        page.wait_for_function(driver._JS_PLOT_CHANGED, arg=[0, before],
                               timeout=timeout * 1000, polling=POLL_MS)
        first = time.perf_counter() - start
        page.wait_for_function(_JS_RUN_ENABLED, arg=0, timeout=timeout * 1000, polling=POLL_MS)
        timings.append({"control": changed, "first_plot_s": first,
                        "complete_s": time.perf_counter() - start})
    driver._wait_lab_settled(page, path, 0, timeout)
    text = lab.text_content(timeout=10_000) or ""
    if any(t in text for t in driver.LAB_FAILURE_TEXTS):
        raise driver.WidgetCheckFailed(f"{path}: the lab widget reports a failure: {text[:300]}")
    return timings
