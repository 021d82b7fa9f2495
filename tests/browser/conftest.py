"""Fixtures for the real-browser tests: Chromium via Playwright, a throwaway JupyterLab.

Enable on a machine: ``make browser-deps`` (runs ``tools/install_browser.sh``: Debian's
``chromium`` package, plus ``playwright`` from requirements-test.txt). Without Chromium or
Playwright these tests skip with that hint -- except with ``CI=true``, where they fail.
Screenshots of every notebook go to ``test-artifacts/browser/`` (or ``$BROWSER_ARTIFACTS``).
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import psutil
import pytest

from tools import lab_driver
from tools.lab_driver import FIXTURES, NOTEBOOKS, REPO, open_page

HOW_TO_ENABLE = (
    "Enable them with `make browser-deps` (or: `sudo apt-get install chromium` and "
    "`.venv/bin/pip install -r requirements-test.txt`, which pins playwright; never "
    "`playwright install`). "
    "Set CHROMIUM_PATH if your Chromium is not /usr/bin/chromium.")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives JupyterLab in headless Chromium")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if lab_driver.SCREENSHOTS:
        folders = sorted({str(path.parent) for path in lab_driver.SCREENSHOTS})
        terminalreporter.write_line(f"browser-test screenshots: {', '.join(folders)}")


def unavailable(reason: str) -> None:
    """Skip with a how-to -- or fail, on CI, where browser tests must run."""
    message = f"browser tests cannot run: {reason}. {HOW_TO_ENABLE}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: failing instead of skipping)", pytrace=False)
    pytest.skip(message)


def chromium_path() -> str | None:
    """$CHROMIUM_PATH if set (and nothing else), else Debian's /usr/bin/chromium."""
    explicit = os.environ.get("CHROMIUM_PATH")
    candidates = [explicit] if explicit else ["/usr/bin/chromium", shutil.which("chromium")]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


@pytest.fixture(scope="package")
def browser():
    """Headless Debian Chromium driven by the PyPI ``playwright`` package.

    Package-scoped: closed as soon as the last browser test is done, so no Chromium
    helper process is alive (or starting) while the rest of the suite runs its own
    leftover-process checks.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the Python package 'playwright' is not installed")
    executable = chromium_path()
    if executable is None:
        unavailable(f"no Chromium at {os.environ.get('CHROMIUM_PATH') or '/usr/bin/chromium'}")
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True,
                                              args=lab_driver.CHROMIUM_ARGS, timeout=60_000)
        yield chromium
        chromium.close()
    finally:
        playwright.stop()
        left = reap_new_descendants(before)
    assert not left, f"browser processes still running after close (killed): {left}"


def reap_new_descendants(before: set[int], grace: float = 10.0) -> list[str]:
    """Wait for descendants not in ``before`` to exit (reaping zombies); kill the rest."""
    deadline = time.monotonic() + grace
    while True:
        alive = []
        for process in psutil.Process().children(recursive=True):
            if process.pid in before:
                continue
            try:
                if process.status() == psutil.STATUS_ZOMBIE:
                    try:
                        os.waitpid(process.pid, os.WNOHANG)
                    except ChildProcessError:
                        pass
                    continue
                alive.append(process)
            except psutil.NoSuchProcess:
                pass
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    described = []
    for process in alive:
        try:
            described.append(f"{process.pid} {' '.join(process.cmdline())[:100]}")
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=5)
    return described


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


@pytest.fixture(scope="package")
def lab_root(tmp_path_factory) -> Path:
    """A temporary copy of notebooks/ and the test fixtures: the server's root_dir."""
    root = tmp_path_factory.mktemp("lab-root")
    if NOTEBOOKS.is_dir():
        lab_driver.copy_tree(NOTEBOOKS, root / "notebooks")
    lab_driver.copy_tree(FIXTURES, root / "fixtures")
    return root


@pytest.fixture(scope="package")
def lab_server(browser, lab_root, tmp_path_factory):
    """One JupyterLab for all notebooks; stopped (terminate, then kill) at the end.

    It serves the temporary copy, so it cannot write into notebooks/; each test also
    checks that its notebook's bytes did not change (a session-wide hash would trip over
    people editing notebooks while the suite runs).
    """
    assert REPO not in lab_root.resolve().parents, "serve a copy, never the repository"
    checkpoints = NOTEBOOKS / ".ipynb_checkpoints"
    had_checkpoints = checkpoints.exists()
    server = lab_driver.LabServer(lab_root, tmp_path_factory.mktemp("lab-state")).start()
    yield server
    survivors = server.stop()
    assert not survivors, f"processes left after stopping jupyter lab: {survivors}"
    assert had_checkpoints or not checkpoints.exists(), f"{checkpoints} appeared"


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
