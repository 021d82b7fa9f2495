"""A kernel that used spawn/forkserver stops its helper processes cleanly on shutdown.

Without :mod:`helpers.core.kernel_exit`, ipykernel SIGTERMs the resource tracker (which ignores
SIGTERM) and SIGKILLs it seconds later, so what the tracker should clean up — shared memory
a program forgot to unlink — stays in ``/dev/shm``. With it, the tracker exits by itself
first, and cleans up.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pytest
from conftest import ROOT, SUBREAPER
from jupyter_client import KernelManager

from helpers.core import kernel_exit

SHM = Path("/dev/shm")
needs_linux = pytest.mark.skipif(not SHM.is_dir() or sys.platform != "linux",
                                 reason="looks into /dev/shm (Linux)")

FAKE_KERNEL = """
import asyncio, json, os, sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import forkserver, get_context, resource_tracker
from helpers.core import kernel_exit

def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except (ProcessLookupError, TypeError):
        return False

if __name__ == "__main__":
    with ProcessPoolExecutor(1, mp_context=get_context("forkserver")) as pool:
        pool.submit(abs, -1).result()
    tracker, server = resource_tracker._resource_tracker._pid, forkserver._forkserver._forkserver_pid
    seen = {}

    class FakeKernel:
        async def do_shutdown(self, restart):
            seen.update(tracker=alive(tracker), server=alive(server), restart=restart)
            return {"status": "ok", "restart": restart}

    kernel = FakeKernel()
    first, again = kernel_exit.install(kernel), kernel_exit.install(kernel)
    reply = asyncio.run(kernel.do_shutdown(False))
    print(json.dumps({"before": [alive(tracker), alive(server)], "at_shutdown": seen,
                      "reply": reply, "installed": [first, again]}))
"""


def test_helpers_are_stopped_before_the_kernel_shuts_down():
    script = subprocess.run([sys.executable, "-c", FAKE_KERNEL], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert script.returncode == 0, script.stderr
    result = json.loads(script.stdout.strip().splitlines()[-1])
    assert result["installed"] == [True, False]  # idempotent
    assert result["reply"] == {"status": "ok", "restart": False}  # the original still runs
    assert result["at_shutdown"] == {"tracker": False, "server": False, "restart": False}


QUEUE_HELD_AT_SHUTDOWN = """
import asyncio, sys
from multiprocessing import get_context
from helpers.core import kernel_exit

class FakeKernel:
    async def do_shutdown(self, restart):
        return {"status": "ok", "restart": restart}

if __name__ == "__main__":
    queue = get_context(sys.argv[1]).Queue()  # two locks and a counter: three semaphores
    queue.put("kept until the end, as a notebook variable is")
    kernel = FakeKernel()
    kernel_exit.install(kernel)
    asyncio.run(kernel.do_shutdown(False))
    print(kernel_exit.stop_multiprocessing_helpers())
"""


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_a_queue_still_held_at_shutdown_is_released_not_reported_as_leaked(method):
    """Notebook 02 keeps its queue in a variable: the tracker used to warn of 3 leaked
    semaphores when the kernel stopped it before multiprocessing's exit finalizers ran."""
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} here")
    script = subprocess.run([sys.executable, "-c", QUEUE_HELD_AT_SHUTDOWN, method], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert script.returncode == 0, script.stderr
    assert "leaked" not in script.stderr, script.stderr
    assert "Traceback" not in script.stderr, script.stderr  # no finalizer failed at exit


def test_outside_a_kernel_nothing_is_installed():
    assert kernel_exit.install() is False  # pytest is no Jupyter kernel


def test_a_helper_that_does_not_stop_is_left_after_the_timeout():
    released = threading.Event()  # a stop that blocks, as when another process holds the pipe
    try:
        assert kernel_exit.bounded_call(lambda: released.wait(10), timeout=0.2) is False
    finally:
        released.set()
    assert kernel_exit.bounded_call(lambda: None, timeout=5.0) is True


@needs_linux
@pytest.mark.skipif(not SUBREAPER, reason="needs this process to adopt orphans (Linux)")
def test_a_real_kernel_stops_its_resource_tracker_before_it_exits():
    """Ordering, not timing: had the tracker outlived the kernel, it would have been
    re-parented to this process (a child subreaper) and we would reap it here."""
    sockets = tempfile.mkdtemp(prefix="lab-kernel-")
    manager = KernelManager(kernel_name="python3", transport="ipc",
                            ip=os.path.join(sockets, "kernel"))
    manager.start_kernel(env={**os.environ, "LAB_QUICK": "1"}, cwd=str(ROOT / "notebooks"))
    client = manager.client()
    try:
        client.start_channels()
        client.wait_for_ready(timeout=60)
        printed = []
        reply = client.execute_interactive(
            "import helpers\nfrom multiprocessing import resource_tracker, shared_memory\n"
            "block = shared_memory.SharedMemory(create=True, size=4096)  # never unlinked\n"
            "print(block.name, resource_tracker._resource_tracker._pid)",
            timeout=60, output_hook=lambda m: printed.append(m["content"].get("text", "")))
        assert reply["content"]["status"] == "ok", reply["content"]
        name, tracker = "".join(printed).split()
        assert (SHM / name).exists()
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=False)
        shutil.rmtree(sockets, ignore_errors=True)
    assert not outlived_the_kernel(int(tracker)), "the tracker outlived the kernel"
    assert not (SHM / name).exists(), "the tracker did not clean up the forgotten block"


def outlived_the_kernel(pid: int, grace: float = 10.0) -> bool:
    """True if ``pid`` became our child (its parent died first); False once it is gone."""
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return True  # it ended after the kernel: we, the subreaper, reaped it
        except ChildProcessError:
            if not psutil.pid_exists(pid):
                return False  # reaped by the kernel, its parent, before the kernel ended
            time.sleep(0.02)  # not (yet) ours and still alive
            continue
        return True  # ours and still running
    raise TimeoutError(f"the resource tracker {pid} is still running after {grace} s")


def test_slow_finalizers_leave_the_helpers_running(monkeypatch):
    """A release still running after its timeout stops nothing: stopping the tracker then
    would let the late finalizer start a new tracker."""
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()  # serves this test process until it exits
    tracker = resource_tracker._resource_tracker._pid
    monkeypatch.setattr(kernel_exit, "release_multiprocessing_objects", lambda timeout: False)
    assert kernel_exit.stop_multiprocessing_helpers(0.1) == {"finalizers": False}
    assert resource_tracker._resource_tracker._pid == tracker and psutil.pid_exists(tracker)
