"""Fixtures for the real-browser tests: Chromium via Playwright, a throwaway JupyterLab.

Enable on a machine: ``make browser-deps`` (runs ``tools/install_browser.sh``: Debian's
``chromium`` package, plus ``playwright`` from requirements.txt). Without Chromium or
Playwright these tests skip with that hint -- except with ``CI=true``, where they fail.
Screenshots of every notebook go to ``test-artifacts/browser/`` (or ``$BROWSER_ARTIFACTS``).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
from pathlib import Path

import psutil
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab_driver  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", REPO / "test-artifacts" / "browser"))
NOTEBOOK_TIMEOUT = float(os.environ.get("BROWSER_TEST_TIMEOUT", "180"))
HOW_TO_ENABLE = (
    "Enable them with `make browser-deps` (or: `sudo apt-get install chromium` and "
    "`.venv/bin/pip install playwright`; never `playwright install`). "
    "Set CHROMIUM_PATH if your Chromium is not /usr/bin/chromium.")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives JupyterLab in headless Chromium")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if ARTIFACTS.is_dir() and any(ARTIFACTS.glob("*.png")):
        terminalreporter.write_line(f"browser-test screenshots: {ARTIFACTS}")


def unavailable(reason: str) -> None:
    """Skip with a how-to -- or fail, on CI, where browser tests must run."""
    message = f"browser tests cannot run: {reason}. {HOW_TO_ENABLE}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: failing instead of skipping)", pytrace=False)
    pytest.skip(message)


def chromium_path() -> str | None:
    candidates = [os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium", shutil.which("chromium")]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by the PyPI ``playwright`` package."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the Python package 'playwright' is not installed")
    executable = chromium_path()
    if executable is None:
        unavailable("no Chromium at /usr/bin/chromium (or $CHROMIUM_PATH)")
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True,
                                              args=lab_driver.CHROMIUM_ARGS, timeout=60_000)
    except Exception:
        playwright.stop()
        raise
    yield chromium
    chromium.close()
    playwright.stop()


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()} if folder.is_dir() else {}


def python_processes() -> dict[int, str]:
    """Python processes below pytest (kernels, workers) -- not Chromium or node."""
    found = {}
    for process in psutil.Process().children(recursive=True):
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                try:
                    os.waitpid(process.pid, os.WNOHANG)
                except ChildProcessError:
                    pass
                continue
            if "python" in process.name().lower():
                found[process.pid] = " ".join(process.cmdline())[:120]
        except psutil.NoSuchProcess:
            pass
    return found


@pytest.fixture(scope="session")
def lab_root(tmp_path_factory) -> Path:
    """A temporary copy of notebooks/ and the test fixtures: the server's root_dir."""
    root = tmp_path_factory.mktemp("lab-root")
    if NOTEBOOKS.is_dir():
        lab_driver.copy_tree(NOTEBOOKS, root / "notebooks")
    lab_driver.copy_tree(FIXTURES, root / "fixtures")
    return root


@pytest.fixture(scope="session")
def lab_server(browser, lab_root, tmp_path_factory):
    """One JupyterLab for all notebooks; stopped (terminate, then kill) at the end."""
    before = _hashes(NOTEBOOKS)
    server = lab_driver.LabServer(lab_root, tmp_path_factory.mktemp("lab-state")).start()
    yield server
    survivors = server.stop()
    assert not survivors, f"processes left after stopping jupyter lab: {survivors}"
    assert _hashes(NOTEBOOKS) == before, "notebooks/ changed while the browser tests ran"


def open_page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    return context, context.new_page()


@pytest.fixture
def notebook_page(browser, lab_server):
    """A fresh browser context; afterwards every kernel is shut down and checked gone."""
    before = python_processes()
    context, page = open_page(browser)
    yield page
    context.close()
    left = lab_server.shutdown_kernels()
    deadline = time.monotonic() + 10
    while True:
        orphans = {pid: cmd for pid, cmd in python_processes().items()
                   if pid not in before and pid != lab_server.process.pid}
        if not orphans or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not left and not orphans, (
        f"kernel processes left after shutdown: {left or list(orphans.values())}")
