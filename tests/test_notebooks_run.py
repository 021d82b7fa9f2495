"""Every notebook runs top to bottom under every start method, and leaves no process.

Each notebook runs in its own nbval session (a child pytest) in quick mode with
``LAB_START_METHOD`` forced. This test process is a child subreaper (see
conftest), so a worker that outlives its kernel becomes *our* child and is
caught here rather than vanishing under PID 1.
"""
import multiprocessing
import os
import subprocess
import sys

import pytest

from conftest import ROOT, SUBREAPER, descendants, new_descendants
from test_notebook_files import NOTEBOOKS

METHODS = [m for m in ("fork", "spawn", "forkserver") if m in multiprocessing.get_all_start_methods()]
CELL_TIMEOUT = 180
NOTEBOOK_TIMEOUT = 600


def run_nbval(notebook, method):
    env = {**os.environ, "LAB_QUICK": "1", "LAB_START_METHOD": method, "LAB_STRICT_CHECKS": "1"}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
               "--nbval-current-env", f"--nbval-cell-timeout={CELL_TIMEOUT}",
               "-o", "timeout=0", str(notebook)]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=NOTEBOOK_TIMEOUT)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_leaves_nothing(notebook, method):
    before = descendants()
    result = run_nbval(notebook, method)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert "passed" in result.stdout
    leftovers = new_descendants(before)
    assert not leftovers, f"{notebook.name} under {method} left: {leftovers}"


def test_leak_check_is_armed():
    """The leak check above only sees orphans when this process is a subreaper."""
    if not sys.platform.startswith("linux"):
        pytest.skip("child subreapers are a Linux feature")
    assert SUBREAPER
    orphan_maker = ("import subprocess, sys; "
                    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])")
    before = descendants()
    subprocess.run([sys.executable, "-c", orphan_maker], timeout=60, check=True)
    leftovers = new_descendants(before, grace=0.5)
    assert len(leftovers) == 1, "an orphaned grandchild must show up as our leftover"
    for line in leftovers:
        os.kill(int(line.split()[0]), 9)
    new_descendants(before, grace=5)
