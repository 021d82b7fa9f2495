"""Issue 20.1: when the process that runs a process pool is killed, its workers die with it.

A child Python process (its own session) runs ``run_tasks(..., executor="processes")`` of
tasks that sleep for minutes, from a background thread as the lab does, and records its
pool's worker pids and semaphore names. This test then kills the child alone (SIGKILL:
nothing of it runs any more) and waits, bounded, for every process the child had started —
workers, resource tracker, fork server — to be gone, and the semaphores with them.
The negative control runs the same pool without the watchdog: its workers live on.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import NamedTuple

import psutil
import pytest
from conftest import ROOT, SHM

from helpers.core import executors, orphans

WORKERS = 2
GONE_WITHIN = 10.0  # seconds allowed after the kill (the workers go at once; helpers after)
START_WITHIN = 90.0  # seconds for the child to have its workers ready (a busy CI machine)
METHODS = [method for method in ("fork", "spawn", "forkserver")
           if method in multiprocessing.get_all_start_methods()]
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and sessions: POSIX")

CHILD = """
import json, multiprocessing, os, sys, threading, time
from dataclasses import replace
from pathlib import Path
from helpers.core import executors
from helpers.core.interrupts import ignore_interrupts
from helpers.core.runner import run_tasks

def report_then_sleep(path):
    Path(path).write_text(str(os.getpid()))
    time.sleep(600)

def start_late(go):  # the race: the owner is killed before the watchdog starts
    deadline = time.monotonic() + 60
    while not os.path.exists(go) and time.monotonic() < deadline:
        time.sleep(0.05)
    executors.start_worker()

def semaphore_names(pool):
    queues = (pool._call_queue, pool._result_queue)
    locks = [getattr(queue, name, None) for queue in queues
             for name in ("_rlock", "_wlock", "_sem")]
    return [lock._semlock.name for lock in locks if lock is not None and lock._semlock.name]

if __name__ == "__main__":
    method, folder, mode = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    kind, pools = executors.get_executor_kind("processes"), []
    first, args = {"none": (ignore_interrupts, ()),
                   "late": (start_late, (str(folder / "go"),))}.get(mode, (None, ()))

    def create(workers, method):  # the lab's pool, or one that starts the watchdog late / never
        if mode == "watchdog":
            pool = kind.create(workers, method)
        else:
            pool = executors.InterruptSafeProcessPool(
                workers, mp_context=multiprocessing.get_context(method),
                initializer=first, initargs=args)
        pools.append(pool)
        return pool

    executors.register_executor(replace(kind, create=create))
    tasks = [folder / f"task{i}.pid" for i in range({workers})]
    threading.Thread(target=run_tasks, args=(report_then_sleep,), daemon=True, kwargs=dict(
        executor="processes", arguments=[str(task) for task in tasks], workers={workers},
        warmup=False, start_method=method, timeout=900)).start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (
            pools and len(pools[0]._processes.copy()) == {workers}
            and (mode == "late" or all(task.exists() and task.read_text() for task in tasks))):
        time.sleep(0.05)
    (folder / "ready.json").write_text(json.dumps(
        {"workers": list(pools[0]._processes.copy()), "semaphores": semaphore_names(pools[0])}))
    time.sleep(900)  # until killed
""".replace("{workers}", str(WORKERS))


class Killed(NamedTuple):
    """What the killed child had started, recorded before the kill."""

    workers: list[int]
    descendants: list[int]  # the workers, the resource tracker, the fork server
    semaphores: list[Path]  # its pool's semaphores that were in /dev/shm


def running(pids: list[int]) -> list[int]:
    """Those of ``pids`` still running; zombies (adopted by this subreaper) are reaped."""
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
                continue
            os.waitpid(pid, os.WNOHANG)
        except (psutil.NoSuchProcess, ChildProcessError):
            pass
    return alive


def running_after(pids: list[int], within: float) -> list[int]:
    """Poll until none of ``pids`` runs or ``within`` seconds passed; those still running."""
    deadline = time.monotonic() + within
    while running(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return running(pids)


def start_child(folder: Path, method: str, mode: str) -> subprocess.Popen:
    script = folder / "owner.py"
    script.write_text(CHILD)
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    with open(folder / "stderr.txt", "w") as stderr:  # the child writes to its own copy
        return subprocess.Popen([sys.executable, str(script), method, str(folder), mode],
                                cwd=ROOT, env={**os.environ, "PYTHONPATH": path},
                                start_new_session=True, stdout=subprocess.DEVNULL, stderr=stderr)


def wait_until_ready(folder: Path, child: subprocess.Popen) -> dict:
    """What the child wrote to ready.json once its workers run (bounded wait)."""
    ready, deadline = folder / "ready.json", time.monotonic() + START_WITHIN
    while not (ready.exists() and ready.read_text()):
        stderr = (folder / "stderr.txt").read_text()
        assert child.poll() is None, f"the child ended early:\n{stderr}"
        assert time.monotonic() < deadline, f"no {WORKERS} workers ready:\n{stderr}"
        time.sleep(0.1)
    return json.loads(ready.read_text())


def kill_the_owner(folder: Path, method: str, mode: str) -> Killed:
    """Start the child (``mode``: watchdog, none, late); SIGKILL it once its workers run."""
    child = start_child(folder, method, mode)
    try:
        ready = wait_until_ready(folder, child)
        descendants = [p.pid for p in psutil.Process(child.pid).children(recursive=True)]
        files = [SHM / f"sem.{name.lstrip('/')}" for name in ready["semaphores"]]
        semaphores = [file for file in files if file.exists()]  # before the kill
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    return Killed(ready["workers"], descendants, semaphores)


def kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def clean_up(killed: Killed) -> None:
    """Kill what still runs (after a failed check, or the control's workers) and reap it:
    the workers first, so that the resource tracker can still remove their semaphores."""
    kill(running(killed.workers))
    kill(running_after(killed.descendants, 5.0))
    running_after(killed.descendants, 5.0)


def assert_nothing_left(killed: Killed, method: str) -> None:
    assert set(killed.workers) <= set(killed.descendants)
    assert running_after(killed.descendants, GONE_WITHIN) == []  # workers, tracker, server
    if SHM.is_dir() and method != "fork":  # fork unlinks its semaphores at once
        assert len(killed.semaphores) >= 3  # the task queue's two locks and its counter, ...
    assert [file.name for file in killed.semaphores if file.exists()] == []  # the tracker's


@posix_only
@pytest.mark.parametrize("method", METHODS)
def test_orphaned_workers_die_with_their_parent(method, tmp_path):
    killed = kill_the_owner(tmp_path, method, "watchdog")
    try:
        assert_nothing_left(killed, method)
    finally:
        clean_up(killed)


@posix_only
@pytest.mark.parametrize("method", METHODS)
def test_orphaned_workers_die_even_if_the_parent_died_before_they_watched(method, tmp_path):
    """The race: each worker starts its watchdog only after the owner is dead."""
    killed = kill_the_owner(tmp_path, method, "late")
    try:
        (tmp_path / "go").touch()
        assert_nothing_left(killed, method)
    finally:
        clean_up(killed)


@posix_only
def test_without_the_watchdog_orphaned_workers_live_on(tmp_path):
    """Negative control: the check above fails for a pool whose workers only ignore ■."""
    killed = kill_the_owner(tmp_path, METHODS[0], "none")
    try:
        assert running_after(killed.workers, 2.0) == killed.workers
    finally:
        clean_up(killed)


def test_a_process_multiprocessing_did_not_start_has_no_parent_to_watch():
    assert orphans.die_with_parent() is False  # pytest itself: nothing started, no thread


def test_a_lab_pool_worker_ignores_interrupts_and_watches_its_parent():
    with executors.open_executor("processes", 1, "spawn") as pool:
        assert pool.submit(signal.getsignal, signal.SIGINT).result(60) == signal.SIG_IGN
        assert pool.submit(threading.active_count).result(60) == 2  # itself and the watchdog


DASK_OWNER = """
import json, multiprocessing, sys, time
from pathlib import Path
from helpers.core import dask_plugins
from helpers.core.dask_session import start_dask

if __name__ == "__main__":
    method, folder, mode = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    if mode == "unguarded":  # the negative control: no worker watches the kernel
        dask_plugins.DieWithKernel.setup = lambda self, worker: None
    session = start_dask(2, start_method=method)
    holder = multiprocessing.get_context("fork").Process(target=time.sleep, args=(900,))
    holder.start()  # forked later: holds copies of the pipes every worker watches
    (folder / "ready.json").write_text(json.dumps(
        {"workers": session.worker_pids(), "holder": holder.pid}))
    time.sleep(900)  # until killed
"""


def kill_a_dask_owner(folder: Path, method: str, mode: str) -> tuple[list[int], list[int]]:
    """A child with a local Dask cluster (``mode``: guarded, unguarded) and a process it forked
    later, SIGKILLed: (its Dask workers, everything it had started)."""
    script = folder / "dask_owner.py"
    script.write_text(DASK_OWNER)
    with open(folder / "stderr.txt", "w") as stderr:
        child = subprocess.Popen([sys.executable, str(script), method, str(folder), mode],
                                 cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                                 stderr=stderr, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        ready = wait_until_ready(folder, child)
        descendants = [p.pid for p in psutil.Process(child.pid).children(recursive=True)]
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert set(ready["workers"]) <= set(descendants) and len(ready["workers"]) == 2
    return ready["workers"], descendants


@posix_only
@pytest.mark.timeout(180)
@pytest.mark.parametrize("method", METHODS)
def test_dask_workers_die_with_a_killed_kernel(method, tmp_path):
    """Issue 20.1 for Dask: a local cluster's workers end with the killed kernel, even while
    a process the kernel forked later holds copies of the pipes they watch (seen: workers
    alive 4 min after a kernel was killed)."""
    workers, descendants = kill_a_dask_owner(tmp_path, method, "guarded")
    try:
        assert running_after(workers, GONE_WITHIN) == []
    finally:
        kill(running(descendants))
        running_after(descendants, 5.0)


@posix_only
@pytest.mark.timeout(180)
def test_without_the_plugin_dask_workers_outlive_a_killed_kernel(tmp_path):
    """Negative control: the same kill with no worker watching the kernel leaves them running
    (distributed's own guard watches a pipe that the later fork holds open)."""
    workers, descendants = kill_a_dask_owner(tmp_path, "fork", "unguarded")
    try:
        assert running_after(workers, 3.0) == workers
    finally:
        kill(running(descendants))
        running_after(descendants, 5.0)
