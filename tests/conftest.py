"""Shared test fixtures: quick mode, and proof that no child process is left behind."""
from __future__ import annotations

import ctypes
import os
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
PR_SET_CHILD_SUBREAPER = 36

os.environ.setdefault("LAB_QUICK", "1")  # the same code path, smaller sizes


def become_subreaper() -> bool:
    """Make this process adopt orphaned descendants (Linux), so leaks stay visible.

    Without it, a worker whose parent kernel died would be re-parented to PID 1 and
    vanish from our view; with it, it becomes our child and the leak check sees it.
    """
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


SUBREAPER = become_subreaper()


def descendants() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def new_descendants(before: set[int], grace: float = 5.0,
                    ignore: tuple[str, ...] = ()) -> list[str]:
    """Descendants not in ``before`` still alive after ``grace`` seconds (zombies reaped).

    Processes whose command line contains one of ``ignore`` are not counted.
    """
    deadline = time.monotonic() + grace
    while True:
        alive = []
        for pid in descendants() - before:
            try:
                process = psutil.Process(pid)
                if process.status() == psutil.STATUS_ZOMBIE:
                    os.waitpid(pid, os.WNOHANG)
                    continue
                command = " ".join(process.cmdline())
                if not any(word in command for word in ignore):
                    alive.append(f"{pid} {command[:120]}")
            except (psutil.NoSuchProcess, ChildProcessError):
                continue
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


# multiprocessing's per-interpreter helpers: started once, they end with this process.
INTERPRETER_HELPERS = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")


@pytest.fixture
def no_leftover_processes():
    """Fail the test if it leaves a child (or orphaned grandchild) process running.

    The resource tracker and the forkserver are excepted here: they serve this test
    process until it exits. The notebook tests check the stricter thing — nothing at
    all survives the kernel.
    """
    before = descendants()
    yield
    leftovers = new_descendants(before, ignore=INTERPRETER_HELPERS)
    assert not leftovers, f"processes left running: {leftovers}"


def best_of(measure, attempts: int = 3, enough: float = float("inf")) -> float:
    """The largest of up to ``attempts`` measurements, stopping once one reaches ``enough``.

    For "these workers ran in parallel" assertions: on a shared or virtual machine another
    program (or the hypervisor) can take a CPU away for part of one run, which lowers the
    CPUs-busy figure of that run only. Parallelism that exists shows in some attempt;
    its absence (the GIL) shows in every one, so the upper bounds are asserted once.
    """
    best = 0.0
    for _ in range(attempts):
        best = max(best, measure())
        if best >= enough:
            break
    return best
