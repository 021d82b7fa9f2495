"""Interrupting the kernel (■) stops a process-pool run cleanly.

This is what a learner does when a cell runs too long. A real kernel is started
with jupyter_client (the way JupyterLab starts one), a long ``run_tasks`` on a
process pool — or a lab widget run — is started in it, and the kernel is
interrupted with ``KernelManager.interrupt_kernel()``, which on POSIX sends
SIGINT to the kernel's whole process group, workers included, exactly as
JupyterLab's ■ button does. Then:

* the cell ends with ``KeyboardInterrupt`` (not ``BrokenProcessPool``), and no
  worker's own traceback reaches the notebook;
* within a few seconds no worker process is left — neither a descendant of the
  kernel nor an orphan (this test process is a child subreaper, see conftest);
  only multiprocessing's per-interpreter helpers (resource tracker, fork server)
  may stay, and they end with the kernel;
* the kernel survives: ``1 + 1`` gives 2, and a new process pool works;
* the lab widget, interrupted from a cell or while running from its Run button,
  says that it stopped.

The interrupt comes while workers start, while tasks run, while a worker is being
started (the fork server held still), and from a front end that signals only the
kernel process. One kernel per start method (``LAB_START_METHOD``), interrupted
many times; every wait is bounded.
"""
from __future__ import annotations

import multiprocessing
import os
import queue
import re
import shutil
import signal
import sys
import tempfile
import time

import psutil
import pytest
from conftest import INTERPRETER_HELPERS, ROOT, descendants
from jupyter_client import KernelManager

pytestmark = pytest.mark.skipif(sys.platform == "win32",
                                reason="kernel interrupts are signals on POSIX only")

METHODS = [m for m in ("fork", "spawn", "forkserver")
           if m in multiprocessing.get_all_start_methods()]
GRACE = 5.0  # s: how long workers may take to disappear after the interrupt
STARTUP_TIMEOUT = 60.0
REPLY_TIMEOUT = 30.0  # s for the interrupted cell to end once interrupted

# Long runs: each would take 10 s or more; the interrupt comes long before the end.
RUNS = {
    "cpu-bound": ('run_tasks("count", executor="processes", tasks=16, size=12_000_000, '
                  'workers=2, repeats=3, on_progress=tick)'),
    "waiting": ('run_tasks("sleep", executor="processes", tasks=16, size=1_000, workers=2, '
                'repeats=3, on_progress=tick)'),
}
SETUP = """
from helpers.core.runner import run_tasks
def tick(done, total):
    print(f"progress {done}/{total}", flush=True)
"""


# --- a kernel and a little client ----------------------------------------------------

class Kernel:
    """A started kernel, its client, and helpers to run code and watch its processes."""

    def __init__(self, method: str) -> None:
        self.method = method
        # Unix sockets rather than TCP ports: no port race with other kernels on the machine.
        self.sockets = tempfile.mkdtemp(prefix="lab-kernel-")
        self.manager = KernelManager(kernel_name="python3", transport="ipc",
                                     ip=os.path.join(self.sockets, "kernel"))
        env = {**os.environ, "LAB_QUICK": "1", "LAB_START_METHOD": method}
        env.pop("PYTEST_CURRENT_TEST", None)  # else ipykernel does not forward fd output
        self.manager.start_kernel(env=env, cwd=str(ROOT / "notebooks"))
        self.client = self.manager.client()
        try:
            self.client.start_channels()
            self.client.wait_for_ready(timeout=STARTUP_TIMEOUT)
        except BaseException:
            self.close()
            raise
        self.pid = self.manager.provisioner.process.pid

    def close(self) -> None:
        try:
            self.client.stop_channels()
        finally:
            self.manager.shutdown_kernel(now=False)  # graceful; killed after 5 s
            shutil.rmtree(self.sockets, ignore_errors=True)

    def send(self, code: str) -> str:
        return self.client.execute(code, store_history=False)

    def finish(self, msg_id: str, timeout: float = REPLY_TIMEOUT) -> tuple[dict, list[dict]]:
        """Read the cell's output messages until it is idle; return (reply, outputs)."""
        outputs, deadline = [], time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"the cell did not finish within {timeout} s: {outputs}")
            try:
                message = self.client.get_iopub_msg(timeout=remaining)
            except queue.Empty:
                continue
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            kind = message["msg_type"]
            if kind == "status" and message["content"]["execution_state"] == "idle":
                break
            if kind in ("stream", "error", "execute_result", "display_data"):
                outputs.append({"type": kind, **message["content"]})
        return self.reply(msg_id, deadline - time.monotonic()), outputs

    def reply(self, msg_id: str, timeout: float) -> dict:
        deadline = time.monotonic() + max(timeout, 5.0)
        while time.monotonic() < deadline:
            try:
                message = self.client.get_shell_msg(timeout=deadline - time.monotonic())
            except queue.Empty:
                break
            if message["parent_header"].get("msg_id") == msg_id:
                return message["content"]
        raise TimeoutError("no execute_reply")

    def run(self, code: str, timeout: float = REPLY_TIMEOUT) -> tuple[dict, list[dict]]:
        return self.finish(self.send(code), timeout)

    def value(self, expression: str) -> str:
        reply, outputs = self.run(expression)
        assert reply["status"] == "ok", reply
        results = [o["data"]["text/plain"] for o in outputs if o["type"] == "execute_result"]
        return results[0] if results else ""

    # processes

    def helper_pids(self) -> set[int]:
        """The kernel's resource tracker and fork server: they serve it until it exits."""
        pids = set()
        try:
            for child in psutil.Process(self.pid).children():
                if any(h in " ".join(_cmdline(child)) for h in INTERPRETER_HELPERS):
                    pids.add(child.pid)
        except psutil.NoSuchProcess:
            pass
        return pids

    def workers(self) -> list[psutil.Process]:
        """Live processes under the kernel other than its helpers (fork-server workers too)."""
        try:
            below = psutil.Process(self.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        helpers = self.helper_pids()
        return [p for p in below if p.pid not in helpers and _alive(p)]


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return []


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def reap_zombies() -> None:
    """Reap orphans that were re-parented to us (we are a subreaper) and have exited."""
    for child in psutil.Process().children():
        if not _alive(child):
            try:
                os.waitpid(child.pid, os.WNOHANG)
            except ChildProcessError:
                pass


def leftovers(kernel: Kernel, before: set[int]) -> list[str]:
    """Processes started since ``before`` other than the kernel and its helpers: its
    workers, and orphans re-parented to this process."""
    reap_zombies()
    allowed = before | {kernel.pid} | kernel.helper_pids()
    found = []
    for pid in descendants() - allowed:
        try:
            process = psutil.Process(pid)
            if _alive(process):
                found.append(f"{pid} {' '.join(_cmdline(process))[:100]}")
        except psutil.NoSuchProcess:
            continue
    return found


def wait_until_gone(kernel: Kernel, before: set[int], grace: float = GRACE) -> list[str]:
    deadline = time.monotonic() + grace
    while True:
        left = leftovers(kernel, before)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what}")
        time.sleep(0.02)


def wait_for_progress(kernel: Kernel, msg_id: str, timeout: float = 60.0) -> list[dict]:
    """Read the running cell's output until the first "progress" line: tasks are running."""
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            message = kernel.client.get_iopub_msg(timeout=0.5)
        except queue.Empty:
            continue
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        if message["msg_type"] in ("stream", "error"):
            seen.append({"type": message["msg_type"], **message["content"]})
        if message["msg_type"] == "error":
            raise AssertionError(f"the run failed before the interrupt: {seen}")
        if message["msg_type"] == "stream" and "progress" in message["content"]["text"]:
            return seen
    raise TimeoutError(f"no task finished within {timeout} s: {seen}")


def assert_survives(kernel: Kernel) -> None:
    """The kernel answers, and can start a process pool again."""
    assert kernel.manager.is_alive()
    assert kernel.value("1 + 1") == "2"
    assert kernel.value('run_tasks("count", executor="processes", tasks=2, size=10_000, '
                        'workers=2, repeats=1).results') == "[10000, 10000]"


def describe_outputs(outputs: list[dict]) -> str:
    return "\n".join(o.get("text") or f"{o.get('ename')}: {o.get('evalue')}" for o in outputs)


# --- tests -----------------------------------------------------------------------------

@pytest.fixture(scope="module", params=METHODS)
def kernel(request):
    before = descendants()
    started = Kernel(request.param)
    try:
        reply, outputs = started.run(SETUP)
        assert reply["status"] == "ok", outputs
        yield started
    finally:
        started.close()
    reap_zombies()
    deadline = time.monotonic() + GRACE
    while (left := [p for p in descendants() - before if _alive_pid(p)]) and (
            time.monotonic() < deadline):
        time.sleep(0.1)
        reap_zombies()
    for pid in left:  # report them, but do not leave them behind on this machine
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes left after the {request.param} kernel shut down: {left}"


def _alive_pid(pid: int) -> bool:
    try:
        return _alive(psutil.Process(pid))
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("moment", ["starting", "running"])
@pytest.mark.parametrize("workload", RUNS)
def test_interrupt_stops_a_process_pool_run(kernel, workload, moment):
    before = descendants()
    msg_id = kernel.send(RUNS[workload])
    early = []
    if moment == "starting":  # as soon as the first worker exists: start-up or warm-up
        wait_for(lambda: kernel.workers(), 60, "a worker process")
    else:  # after the first task finished: the run is in full swing
        early = wait_for_progress(kernel, msg_id)
    assert kernel.workers(), "the pool's workers should be running now"
    interrupted = time.monotonic()
    kernel.manager.interrupt_kernel()
    reply, outputs = kernel.finish(msg_id)
    ended = time.monotonic() - interrupted
    left = wait_until_gone(kernel, before)
    text = describe_outputs(early + outputs)
    assert reply["status"] == "error", f"the run was not interrupted: {reply}\n{text}"
    assert reply["ename"] == "KeyboardInterrupt", (
        f"the cell reported {reply['ename']}: {reply['evalue']}, not KeyboardInterrupt\n{text}")
    assert "BrokenProcessPool" not in text, text
    assert ended < 10, f"the cell took {ended:.1f} s to stop after the interrupt"
    assert not left, f"{kernel.method}: processes left {GRACE} s after the interrupt: {left}"
    assert_survives(kernel)


def test_interrupt_of_the_kernel_process_alone(kernel):
    """A front end that signals only the kernel (not its process group): the workers get
    no SIGINT, so it is ``open_executor`` that must stop them."""
    before = descendants()
    msg_id = kernel.send(RUNS["cpu-bound"])
    early = wait_for_progress(kernel, msg_id)
    os.kill(kernel.pid, signal.SIGINT)
    reply, outputs = kernel.finish(msg_id)
    left = wait_until_gone(kernel, before)
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt", (
        reply, describe_outputs(early + outputs))
    assert not left, f"{kernel.method}: processes left after the interrupt: {left}"
    assert_survives(kernel)


def test_interrupt_prints_no_worker_traceback(kernel):
    """Idle workers must not die of the interrupt and print their tracebacks ("Process
    SpawnProcess-3: Traceback … KeyboardInterrupt") into this cell or a later one: only the
    kernel should handle it. Four workers and two tasks, so two workers sit idle."""
    msg_id = kernel.send('run_tasks("count", executor="processes", tasks=2, size=12_000_000, '
                         'workers=4, repeats=10, on_progress=tick)')
    early = wait_for_progress(kernel, msg_id)
    kernel.manager.interrupt_kernel()
    reply, interrupted = kernel.finish(msg_id)
    assert reply["ename"] == "KeyboardInterrupt", reply
    time.sleep(1.0)  # a dying worker's text arrives late, under whatever cell runs next
    _, later = kernel.run("1 + 1")
    streams = describe_outputs([o for o in early + interrupted + later if o["type"] == "stream"])
    assert not re.search(r"Traceback|Process \w*Process-\d+:", streams), (
        f"worker tracebacks reached the notebook:\n{streams}")


@pytest.mark.skipif("forkserver" not in METHODS, reason="needs the forkserver start method")
@pytest.mark.parametrize("kernel", ["forkserver"], indirect=True)
def test_interrupt_while_a_worker_is_being_started(kernel):
    """The interrupt lands inside ``submit`` while the pool starts a worker process.

    With a fork server the kernel asks the server for a child and waits for its pid; the
    test freezes the server (SIGSTOP) so that the interrupt arrives exactly then, and lets
    it go on (SIGCONT) afterwards. A pool interrupted there never learns the new worker's
    pid, so unless interrupts are held back until ``submit`` returns, that worker is left
    running with nothing to stop it (a real Jupyter interrupt hits this window now and then).
    """
    before = descendants()
    assert_survives(kernel)  # also makes sure the fork server is running
    servers = [pid for pid in kernel.helper_pids()
               if "forkserver" in " ".join(_cmdline(psutil.Process(pid)))]
    assert len(servers) == 1, servers
    os.kill(servers[0], signal.SIGSTOP)
    try:
        msg_id = kernel.send(RUNS["cpu-bound"])
        time.sleep(1.0)  # the kernel now waits for the frozen server's reply
        kernel.manager.interrupt_kernel()
        time.sleep(0.5)
    finally:
        os.kill(servers[0], signal.SIGCONT)
    reply, outputs = kernel.finish(msg_id)
    left = wait_until_gone(kernel, before)
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt", (
        reply, describe_outputs(outputs))
    assert not left, ("a worker started while the kernel was interrupted was left running: "
                      f"{left}")
    assert_survives(kernel)


LAB = ('from helpers.core.lab import Lab\n'
       'lab = Lab("count", ("processes",), size=12_000_000, tasks=16, workers=2, repeats=5)')


@pytest.mark.parametrize("how", ["cell", "button"])
def test_interrupt_stops_a_lab_run(kernel, how):
    """``lab.run()`` in a cell, or a click on Run (a comm message, as in JupyterLab)."""
    before = descendants()
    reply, outputs = kernel.run(LAB)
    assert reply["status"] == "ok", describe_outputs(outputs)
    if how == "cell":
        msg_id = kernel.send("lab.run()")
    else:
        button = kernel.value("lab.run_button.model_id").strip("'")
        click = kernel.client.session.msg("comm_msg", {
            "comm_id": button, "data": {"method": "custom", "content": {"event": "click"}}})
        kernel.client.shell_channel.send(click)
        msg_id = click["header"]["msg_id"]
    wait_for(lambda: len(kernel.workers()) >= 2, 60, "the lab's worker processes")
    time.sleep(0.5)  # past the warm-up, into the tasks
    assert kernel.workers(), "the lab run ended before the interrupt"
    kernel.manager.interrupt_kernel()
    if how == "cell":
        reply, outputs = kernel.finish(msg_id)
        assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt", (
            reply, describe_outputs(outputs))
    left = wait_until_gone(kernel, before)
    assert not left, f"{kernel.method}: the lab left processes after the interrupt: {left}"
    assert_survives(kernel)
    assert kernel.value("lab.run_button.disabled") == "False", "Run must work again"
    assert kernel.value("lab.results is None") == "True", "an interrupted run has no results"
    status = kernel.value("lab.status.value")
    assert "Running" not in status and "Stopped" in status, (
        f"after an interrupt the widget must say the run was stopped, not: {status}")
