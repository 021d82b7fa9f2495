"""Issue 20, point 8 — stopping, in a real browser: Stop ends a lab's run half-way.

``fixtures/stop_button.ipynb`` runs a real ``Lab`` on processes. Stop is pressed three
times, in the three places a run can be going on in JupyterLab with ipykernel 7: the run
the cell starts (the kernel's main shell busy with the cell), the run of a first click on
Run, and of a second click (after which the kernel routes that button's clicks to a
subshell). Each time the lab must say "Stopped: you pressed Stop" with its bar short of the
end (a click's run goes to the kernel's main thread, so the widget subshell is free for the
Stop click, with ipykernel 7.3 on Python 3.10 too); then the kernel's ■ ends a click's run
and the kernel goes on. A click handled only after the run (what happens when it waits
behind the run) is ignored, and the run ends whole. Run-all then goes on past the lab's cell, and the kernel
has no child process left but multiprocessing's own helpers. Screenshots: the lab while it
runs (Stop enabled) and after a Stop, ``stop_button-running-lab.png``/``stop_button-lab.png``.
"""
from __future__ import annotations

import time

import psutil
import pytest

from tools.lab_driver import (
    ARTIFACTS,
    FIXTURES,
    check_state,
    lab_cells,
    lab_run_button,
    lab_stop_button,
    mark_labs,
    open_notebook,
    screenshot_lab,
    start_run_all,
)

pytestmark = pytest.mark.browser
PATH = "fixtures/stop_button.ipynb"
BOUND = 90.0  # s: for a run to get going, and for a stopped run to say so (a busy CI machine)
HELPERS = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")

_JS_RUNNING = """
() => {
  // the lab is mid-run: Stop enabled and the progress bar started, not full
  const lab = document.querySelector('[data-browser-test-lab="0"]');
  const stop = lab && Array.from(lab.querySelectorAll('button.widget-button'))
    .find((b) => b.textContent.trim() === 'Stop');
  const bar = lab && lab.querySelector('.progress-bar');
  const width = bar ? parseFloat(bar.style.width) : 0;
  return !!stop && !stop.disabled && width > 0 && width < 100;
}
"""

_JS_SETTLED = """
() => {
  // the run is over: Run enabled again, Stop disabled
  const lab = document.querySelector('[data-browser-test-lab="0"]');
  const named = (text) => Array.from(lab.querySelectorAll('button.widget-button'))
    .find((b) => b.textContent.trim() === text);
  return !named('Run').disabled && named('Stop').disabled;
}
"""

_JS_TEXT_AND_BAR = """
() => {
  const lab = document.querySelector('[data-browser-test-lab="0"]');
  const bar = lab.querySelector('.progress-bar');
  return [lab.textContent, bar ? parseFloat(bar.style.width) : 0];
}
"""


def stop_mid_run(page, what: str) -> str:
    """Wait until the lab is mid-run, press Stop, wait until the run is over; the lab's text."""
    page.wait_for_function(_JS_RUNNING, timeout=BOUND * 1000, polling=100)
    clicked = time.monotonic()
    lab_stop_button(page, 0).click(timeout=10_000)
    page.wait_for_function(_JS_SETTLED, timeout=BOUND * 1000, polling=100)
    print(f"{what}: over {time.monotonic() - clicked:.1f} s after the click on Stop")
    text, width = page.evaluate(_JS_TEXT_AND_BAR)
    assert "Stopped: you pressed Stop" in text, f"{what}: the run was not stopped: {text[:300]}"
    assert width < 100, f"{what}: the bar is full ({width}%): the run ended whole"
    return text


def kernel_children(server) -> list[str]:
    """The kernel's child processes, multiprocessing's own helpers excepted."""
    found = []
    for process in server.process_info().children(recursive=True):
        try:
            if "ipykernel" not in " ".join(process.cmdline()):
                continue
            for child in process.children(recursive=True):
                command = " ".join(child.cmdline())
                if child.status() != psutil.STATUS_ZOMBIE and not any(
                        helper in command for helper in HELPERS):
                    found.append(f"{child.pid} {command[:100]}")
        except psutil.NoSuchProcess:
            continue
    return found


def interrupt_a_click_run(page, server) -> None:
    """A run started by a click on Run is on the kernel's main thread, as a cell's would be:
    the kernel's ■ (the interrupt request JupyterLab sends) ends it, the lab says so, and
    the kernel lives on."""
    lab_run_button(page, 0)[1].click(timeout=10_000)
    page.wait_for_function(_JS_RUNNING, timeout=BOUND * 1000, polling=100)
    [kernel] = server.api("GET", "/api/kernels")
    server.api("POST", f"/api/kernels/{kernel['id']}/interrupt")
    page.wait_for_function(_JS_SETTLED, timeout=BOUND * 1000, polling=100)
    text, width = page.evaluate(_JS_TEXT_AND_BAR)
    assert "Stopped: the kernel was interrupted" in text, f"■ did not stop it: {text[:300]}"
    assert width < 100
    lab_run_button(page, 0)[1].click(timeout=10_000)  # the kernel still runs the lab
    stop_mid_run(page, "a click on Run after ■")


@pytest.mark.timeout(600)
def test_stop_ends_a_labs_run_in_the_browser(notebook_page, lab_server):
    page, labs = notebook_page, lab_cells(FIXTURES / "stop_button.ipynb")
    open_notebook(page, lab_server, PATH)
    start_run_all(page, PATH)
    page.locator(".widget-button", has_text="Stop").first.wait_for(timeout=BOUND * 1000)
    mark_labs(page, PATH, labs)
    page.wait_for_function(_JS_RUNNING, timeout=BOUND * 1000, polling=100)
    screenshot_lab(page, 0, ARTIFACTS / "stop_button-running-lab.png")
    stop_mid_run(page, "the run its cell started")
    run_all_done = page.locator(".jp-OutputArea-output", has_text="after the lab")
    run_all_done.first.wait_for(timeout=BOUND * 1000)  # run-all went on past the lab
    for what in ("a first click on Run", "a second click on Run"):
        lab_run_button(page, 0)[1].click(timeout=10_000)
        stop_mid_run(page, what)
    screenshot_lab(page, 0, ARTIFACTS / "stop_button-lab.png")
    interrupt_a_click_run(page, lab_server)
    deadline = time.monotonic() + 15
    while (left := kernel_children(lab_server)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, f"processes left by the kernel after Stop: {left}"
    check_state(page, PATH)  # no error output, every cell ran
