"""Every notebook runs top to bottom under every start method, and leaves nothing behind.

Each notebook runs in its own nbval session (a child pytest) in quick mode with
``LAB_START_METHOD`` forced, its exercises answered by their solutions (loaded as ``%load``
would, :mod:`tools.solutions`): every self-check must pass. Once more as committed, every
exercise left empty: every self-check must say "not answered" and none may pass
(``LAB_ANSWERS``, :mod:`helpers.core.selfcheck`; the checks are counted in a log).

This test process is a child subreaper (see conftest), so a worker that outlives its
kernel becomes *our* child and is caught here rather than vanishing under PID 1.

Besides processes, a run must leave no semaphore or shared-memory segment: none of the
names it created may remain in ``/dev/shm``, and the kernel's stderr (which nbval passes
through) must not carry the resource tracker's "There appear to be N leaked … objects"
warning — the tracker removes what it warns about, so only the warning shows those.
"""
import json
import multiprocessing
import os
import subprocess
import sys
import time

import pytest
from conftest import (
    ROOT,
    SHM,
    SUBREAPER,
    ShmWatch,
    descendants,
    new_descendants,
    tracker_leak_warnings,
)
from test_notebook_files import NOTEBOOKS

from tools.solutions import load_lines, with_solutions

METHODS = [m for m in ("fork", "spawn", "forkserver") if m in multiprocessing.get_all_start_methods()]
CELL_TIMEOUT = 180
NOTEBOOK_TIMEOUT = 600
TESTS = ROOT / "tests"


def run_nbval(notebook, method, kernel_stderr, answers="solutions", check_log=None):
    """nbval in a child pytest; the kernel ends as under JupyterLab (see nbval_lab_kernel)
    and writes its stderr to the file ``kernel_stderr``; its self-checks strict for
    ``answers`` (``solutions`` or ``empty``), each logged to ``check_log`` if given."""
    env = {**os.environ, "LAB_QUICK": "1", "LAB_START_METHOD": method, "LAB_STRICT_CHECKS": "1",
           "LAB_ANSWERS": answers, "LAB_CHECK_LOG": str(check_log or os.devnull),
           "LAB_KERNEL_STDERR": str(kernel_stderr),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
               "-p", "nbval_lab_kernel",
               "--nbval-current-env", f"--nbval-cell-timeout={CELL_TIMEOUT}",
               "-o", "timeout=0", str(notebook)]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=NOTEBOOK_TIMEOUT)


def run_and_find_leaks(notebook, method, folder, **answers):
    """Run ``notebook`` under ``method``; return the nbval result and what it left behind.

    ``folder`` keeps the kernel's stderr (``kernel-stderr.txt``), read here for the
    resource tracker's warnings after the kernel has shut down.
    """
    processes, kernel_stderr = descendants(), folder / "kernel-stderr.txt"
    with ShmWatch() as shm:
        result = run_nbval(notebook, method, kernel_stderr, **answers)
    stderr = kernel_stderr.read_text(errors="replace") if kernel_stderr.exists() else ""
    left = {"processes": new_descendants(processes),
            "semaphores/shared memory in /dev/shm": shm.leaked(),
            "resource tracker warnings": tracker_leak_warnings(stderr)}
    return result, {kind: found for kind, found in left.items() if found}


def solved_copy(notebook, folder):
    """``notebook`` with its solutions loaded, written into ``folder`` under its own name."""
    solved = with_solutions(json.loads(notebook.read_text(encoding="utf-8")))
    path = folder / notebook.name
    path.write_text(json.dumps(solved), encoding="utf-8")
    return path


def logged_checks(log):
    """The states (``passed``, ``failed``, ``inconclusive``, ``unanswered``) logged."""
    return [line.split(" ", 1)[0] for line in log.read_text(encoding="utf-8").splitlines()
            ] if log.exists() else []


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_with_its_solutions_and_leaves_nothing(notebook, method, tmp_path):
    log, exercises = tmp_path / "checks.log", load_lines(json.loads(notebook.read_text()))
    result, left = run_and_find_leaks(solved_copy(notebook, tmp_path), method, tmp_path,
                                      answers="solutions", check_log=log)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert "passed" in result.stdout
    assert not left, f"{notebook.name} under {method} left: {left}"
    states = logged_checks(log)
    assert "unanswered" not in states and "failed" not in states, states
    assert len(states) >= len(exercises), f"{len(exercises)} exercises, checks run: {states}"


@pytest.mark.parametrize("method", METHODS[:1])  # one method is enough: no exercise runs
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_empty_exercises_are_not_answered_and_never_pass(notebook, method, tmp_path):
    """Run all as committed: each exercise's check says "not answered yet", none passes."""
    log, exercises = tmp_path / "checks.log", load_lines(json.loads(notebook.read_text()))
    result, left = run_and_find_leaks(notebook, method, tmp_path, answers="empty",
                                      check_log=log)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert not left, f"{notebook.name} left: {left}"
    states = logged_checks(log)
    assert set(states) <= {"unanswered"}, states
    assert len(states) >= len(exercises), f"{len(exercises)} exercises, checks run: {states}"


LEAKY_CELLS = [
    # registered with the resource tracker, never unlinked: the tracker warns and removes it
    "import helpers  # as every notebook does: its kernel stops the tracker at shutdown\n"
    "from multiprocessing import shared_memory\n"
    "forgotten = shared_memory.SharedMemory(create=True, size=4096)",
    # a named semaphore no tracker knows of, never unlinked: it stays in /dev/shm
    "import _multiprocessing, os\n"
    "kept = _multiprocessing.SemLock(1, 1, 1, f'/mp-lab-leak-test-{os.getpid()}', False)",
    # held for many of ShmWatch's samples, so that it is seen to be the kernel's
    "import time\ntime.sleep(1)",
]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /dev/shm (Linux)")
def test_leak_check_catches_semaphores_and_shared_memory(tmp_path):
    """The check above fails for a notebook that leaks — through the same nbval run."""
    notebook = tmp_path / "leaky.ipynb"
    notebook.write_text(json.dumps({
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"leak-{i}",
                   "metadata": {}, "outputs": [], "source": source}
                  for i, source in enumerate(LEAKY_CELLS)],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5}))
    method = "forkserver" if "forkserver" in METHODS else "spawn"
    result, left = run_and_find_leaks(notebook, method, tmp_path)
    try:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        warnings = left.get("resource tracker warnings", [])
        assert len(warnings) == 1 and "1 leaked shared_memory objects" in warnings[0], left
        names = left.get("semaphores/shared memory in /dev/shm", [])
        assert len(names) == 1 and names[0].startswith("sem.mp-lab-leak-test-"), left
    finally:
        for name in left.get("semaphores/shared memory in /dev/shm", []):
            (SHM / name).unlink(missing_ok=True)


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


LEAK_SEMAPHORE = ("import _multiprocessing, sys, time\n"
                  "kept = _multiprocessing.SemLock(1, 1, 1, sys.argv[1], False)\n"
                  "time.sleep(0.5)  # held over several samples; never unlinked")


@pytest.mark.skipif(not SHM.is_dir(), reason="needs /dev/shm (Linux)")
def test_shm_watch_reports_what_our_processes_leaked_and_nothing_else():
    """A semaphore a child left is reported; one made by another program is not."""
    import _multiprocessing

    ours, theirs = f"/mp-lab-ours-{os.getpid()}", f"/mp-lab-theirs-{os.getpid()}"
    try:
        with ShmWatch() as watch:
            subprocess.run([sys.executable, "-c", LEAK_SEMAPHORE, ours], timeout=60, check=True)
            # this test process is no descendant of itself: it stands for another program
            del_later = _multiprocessing.SemLock(1, 1, 1, theirs, False)
            time.sleep(0.3)
            del del_later  # closed, never unlinked: left by "another program"
        assert watch.leaked(grace=0.5) == [f"sem{ours.replace('/', '.')}"]
    finally:
        for name in (ours, theirs):
            (SHM / f"sem.{name[1:]}").unlink(missing_ok=True)
