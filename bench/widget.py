"""Widget latency in a real browser: every lab widget of the notebooks, in JupyterLab, driven
by Chromium.

Reuses the browser tests' machinery (``tools/lab_driver.py``): a throwaway JupyterLab on
127.0.0.1 serving a temporary folder, Debian's Chromium through the ``playwright`` package
(never ``playwright install``). Lab widgets are found as the browser tests find them: a code
cell constructing one (``Lab(``, ``PoolSizeLab(`` …, :func:`tools.lab_driver.lab_cells`), so a
new widget gets its own row. Each notebook is served truncated after its last lab cell (the
rest is not needed to reach its widgets) and run once; then, for each of its widgets, one
measurement per click: move a control (the first slider one step, or another dropdown
option), click Run, and time — in the page, from the click event — until the ``<img>`` of its
plot changes (``first_plot_s``) and until Run is enabled again (``complete_s``). The figure is
the median over ``clicks`` clicks. Also recorded: how long after its cell started executing
during run-all the widget's progress bar showed (``bar_after_start_s``).

One widget failing (or its notebook) makes that row FAILED with the reason; the rest go on.
"""
from __future__ import annotations

import fnmatch
import json
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from helpers.core.words import plural

from .figures import FAILED, MEASURED, NOT_MEASURED, SKIPPED, Figure
from .notebooks import PATTERN, find_notebooks

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
from tools import lab_driver as driver  # noqa: E402  (the browser tests' driver)

FIRST_PLOT_GOAL_S = 2.0  # goal and browser-test bound: control change + Run → first new plot
SUMMARY_KEY = "widget_latency"
SUMMARY_TITLE = "Widgets, slowest: control change + Run → first new plot"


@dataclass(frozen=True)
class WidgetCase:
    """One lab widget: the notebook, and the cell constructing it."""

    notebook: Path
    cell: driver.LabCell
    ordinal: int = 1  # 2 for the second widget of the same class in the notebook, …

    @property
    def number(self) -> str:
        return self.notebook.name[:2]

    @property
    def name(self) -> str:
        """The class name, numbered when the notebook has several: ``GilLab``, ``GilLab 2``."""
        return self.cell.name + (f" {self.ordinal}" if self.ordinal > 1 else "")

    @property
    def key(self) -> str:
        return f"widget_latency_{self.number}_{self.name.lower().replace(' ', '_')}"

    @property
    def label(self) -> str:
        return f"notebook {self.number}'s {self.name} (cell {self.cell.index})"

    def figure(self) -> Figure:
        return Figure(self.key, f"Widget {self.number} {self.name}: control change + Run "
                      "→ first new plot", "s", FIRST_PLOT_GOAL_S, "lower")


def widget_cases(pattern: str = PATTERN) -> list[WidgetCase]:
    """Every lab widget of the numbered notebooks, in notebook and cell order."""
    cases = []
    for path in find_notebooks(pattern):
        seen: dict[str, int] = {}
        for cell in driver.lab_cells(path):
            seen[cell.name] = seen.get(cell.name, 0) + 1
            cases.append(WidgetCase(path, cell, seen[cell.name]))
    return cases


def widget_figures(cases: list[WidgetCase]) -> list[Figure]:
    """The slowest-widget figure, then one figure per widget."""
    summary = Figure(SUMMARY_KEY, SUMMARY_TITLE, "s", FIRST_PLOT_GOAL_S, "lower")
    return [summary] + [case.figure() for case in cases]


def chromium_path() -> str | None:
    """``$CHROMIUM_PATH`` if set, else Debian's ``/usr/bin/chromium`` (or ``chromium`` on PATH)."""
    explicit = os.environ.get("CHROMIUM_PATH")
    found = [explicit] if explicit else ["/usr/bin/chromium", shutil.which("chromium")]
    return next((c for c in found if c and os.access(c, os.X_OK)), None)


def served_notebook(source: Path, target: Path, last_cell: int) -> str:
    """Copy ``source`` up to and including cell ``last_cell`` into ``target/notebooks``."""
    notebook = json.loads(source.read_text(encoding="utf-8"))
    notebook["cells"] = notebook["cells"][:last_cell + 1]
    (target / "notebooks").mkdir(parents=True, exist_ok=True)
    (target / "notebooks" / source.name).write_text(json.dumps(notebook), encoding="utf-8")
    return f"notebooks/{source.name}"


def widget_latency(figures: dict[str, Figure], quick: bool, clicks: int = 3,
                   timeout: float = 300, only: list[str] | None = None,
                   log: Callable[[str], None] = print) -> None:
    """Fill every widget figure of ``figures`` (see module doc) and the slowest-widget one.

    ``only``: notebook globs (``["03_*"]``); the other widgets' rows are SKIPPED."""
    cases = [case for case in widget_cases() if case.key in figures]
    chosen = [c for c in cases if not only or any(fnmatch.fnmatch(c.notebook.name, g)
                                                  for g in only)]
    for case in cases:
        if case not in chosen:
            figures[case.key].skip(SKIPPED, f"not selected (--widgets {' '.join(only or [])})")
    why = _why_no_browser()
    if why:
        for case in chosen:
            figures[case.key].skip(NOT_MEASURED, why)
    else:
        _measure_cases(figures, chosen, quick, clicks, timeout, log)
    summarise(figures[SUMMARY_KEY], [figures[c.key] for c in cases], [c.label for c in cases])


def _why_no_browser() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "not measured (the playwright package is not installed; make browser-deps)"
    if chromium_path() is None:
        return "not measured (no Chromium; make browser-deps)"
    return None


def _measure_cases(figures: dict[str, Figure], cases: list[WidgetCase], quick: bool,
                   clicks: int, timeout: float, log: Callable[[str], None]) -> None:
    from playwright.sync_api import sync_playwright

    by_notebook: dict[Path, list[WidgetCase]] = {}
    for case in cases:
        by_notebook.setdefault(case.notebook, []).append(case)
    with tempfile.TemporaryDirectory(prefix="bench-lab-") as folder:
        root, state = Path(folder) / "root", Path(folder) / "state"
        root.mkdir()
        env = {"LAB_QUICK": "1" if quick else None}
        with driver.LabServer(root, state, env=env) as server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True,
                                                 args=driver.CHROMIUM_ARGS, timeout=60_000)
            try:
                for notebook, group in by_notebook.items():
                    path = served_notebook(notebook, root, group[-1].cell.index)
                    log(f"widgets of {notebook.name}: {', '.join(c.cell.name for c in group)} …")
                    results = measure_notebook(browser, server, path, group, clicks, timeout)
                    for case in group:
                        record(figures[case.key], case, results[case.cell.index], quick, clicks)
                        log(f"{case.key}: {figures[case.key].shown}")
                    server.shutdown_kernels()
            finally:
                browser.close()


def measure_notebook(browser, server, path: str, cases: list[WidgetCase], clicks: int,
                     timeout: float) -> dict[int, dict | str]:
    """Run ``path`` once, then time ``clicks`` Runs of each widget: cell index → timings, or
    the reason (text) it could not be measured."""
    cells = [case.cell for case in cases]
    context, page = driver.open_page(browser)
    try:
        try:
            driver.open_notebook(page, server, path)
            driver.run_all(page, path, timeout, watch=cells)
            driver.check_state(page, path)
            delays = driver.progress_delays(page, cells)
            found = page.evaluate(driver._JS_MARK_LAB_CELLS, [path, [c.index for c in cells]])
        except Exception as error:  # the whole notebook failed: every widget of it did
            return {cell.index: _reason(error) for cell in cells}
        results: dict[int, dict | str] = {}
        for key, cell in enumerate(cells):
            if not found[key]:
                results[cell.index] = "no rendered widget with a Run button and a plot area"
                continue
            try:
                results[cell.index] = {"clicks": _clicks(page, path, key, clicks, timeout),
                                       "bar_after_start_s": delays[cell.index]}
            except Exception as error:
                results[cell.index] = _reason(error)
        return results
    finally:
        context.close()


def _clicks(page, path: str, key: int, clicks: int, timeout: float) -> list[dict]:
    timings = [driver.timed_run(page, path, key, timeout) for _ in range(clicks)]
    text = page.locator(f'[data-browser-test-lab="{key}"]').text_content(timeout=10_000) or ""
    failures = [t for t in driver.LAB_FAILURE_TEXTS if t in text]
    if failures:
        raise driver.WidgetCheckFailed(f"the widget reports a failure: {driver._strip(text, 300)}")
    return timings


def _reason(error: Exception) -> str:
    return f"{type(error).__name__}: {driver._strip(str(error), 300)}"


def record(figure: Figure, case: WidgetCase, result: dict | str, quick: bool,
           clicks: int) -> None:
    """Put one widget's timings (or the reason it has none) into its figure."""
    if isinstance(result, str):
        figure.skip(FAILED, f"failed: {result}"[:400])
        return
    timings = result["clicks"]
    first = statistics.median(t["first_plot_s"] for t in timings)
    complete = [t["complete_s"] for t in timings if t["complete_s"] is not None]
    bar = result["bar_after_start_s"]
    figure.value, figure.status = first, MEASURED
    figure.details = {"notebook": case.notebook.name, "cell": case.cell.index,
                      "clicks": timings, "quick": quick, "bar_after_start_s": bar,
                      "complete_s": statistics.median(complete) if complete else None}
    ended = (f", run complete after {figure.details['complete_s']:.2f} s" if complete else "")
    shown = f"{bar:.2f} s" if bar is not None else "never seen"
    figure.note = (f"{case.label}, {'quick' if quick else 'default'} sizes: first new plot "
                   f"{first:.2f} s after Run{ended} (median of {clicks}); progress bar "
                   f"{shown} after its cell started in run-all")


def summarise(summary: Figure, rows: list[Figure], labels: list[str]) -> None:
    """The slowest measured widget; the note names it and any widget that failed."""
    measured = [(row.value, label) for row, label in zip(rows, labels) if row.status == MEASURED]
    failed = [label for row, label in zip(rows, labels) if row.status == FAILED]
    failing = f"; FAILED: {', '.join(failed)}" if failed else ""
    if not measured:
        status = FAILED if failed else (rows[0].status if rows else NOT_MEASURED)
        reason = rows[0].note if rows and not failed else "no widget measured"
        summary.skip(status, (reason or "no lab widget found") + failing)
        return
    value, label = max(measured)
    summary.value, summary.status = value, MEASURED
    summary.details = {"slowest": label, "measured": len(measured), "failed": failed}
    summary.note = (f"slowest of {plural(len(measured), 'widget')} measured: {label}, "
                    f"{value:.2f} s "
                    f"(each widget has its own row below){failing}")
