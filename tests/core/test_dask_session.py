"""The Dask session and the registry's `dask` executor: they work, and they clean up."""
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import psutil
import pytest
from conftest import INTERPRETER_HELPERS, ROOT, descendants, new_descendants

from helpers.core import dask_session as dc
from helpers.core.executors import EXECUTORS, open_executor
from helpers.core.runner import run_tasks
from helpers.core.workloads import count_primes


def test_scheduler_address_from_argument_then_environment(monkeypatch):
    monkeypatch.delenv(dc.SCHEDULER_ENV, raising=False)
    assert dc.scheduler_address() is None
    monkeypatch.setenv(dc.SCHEDULER_ENV, "tcp://10.0.0.5:8786")
    assert dc.scheduler_address() == "tcp://10.0.0.5:8786"
    assert dc.scheduler_address("tcp://127.0.0.1:1234") == "tcp://127.0.0.1:1234"
    for bad in ("10.0.0.5:8786", "http://x:1", "", 8786):
        with pytest.raises(ValueError, match="address"):
            dc.scheduler_address(bad)


def test_proxied_dashboard_path(monkeypatch):
    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX", raising=False)
    assert dc.proxied_dashboard_path(8787) == "/proxy/8787/status"
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")
    assert dc.proxied_dashboard_path(8787) == "/user/ada/proxy/8787/status"
    with pytest.raises(ValueError, match="port"):
        dc.proxied_dashboard_path(0)


@pytest.mark.parametrize("workers", [0, dc.MAX_DASK_WORKERS + 1])
def test_worker_count_is_bounded(workers):
    with pytest.raises(ValueError, match="workers"):
        dc.start_dask(workers)


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_local_session_runs_tasks_and_leaves_nothing(method):
    before = descendants()
    threads_before = {t.ident for t in threading.enumerate()}
    with dc.start_dask(2, start_method=method) as session:
        assert session.is_local and len(session.workers()) == 2
        pids = session.worker_pids()
        assert len(set(pids)) == 2 and os.getpid() not in pids
        assert session.client.submit(count_primes, 1000).result(timeout=60) == 168
        during = session.leftovers()
        assert len(during["processes"]) == 2 and during["ports"] and during["threads"]
    assert session.closed and not any(session.leftovers().values())
    session.close()  # closing twice is fine
    assert not new_descendants(before, grace=10, ignore=INTERPRETER_HELPERS)
    assert {t.ident for t in threading.enumerate()} <= threads_before, "a Dask thread stayed"


def test_connecting_by_address_leaves_the_cluster_running():
    with dc.start_dask(2) as local:
        with dc.start_dask(address=local.scheduler_address) as remote:
            assert not remote.is_local and remote.dashboard_links() == {}
            assert remote.client.submit(count_primes, 100).result(timeout=60) == 25
        assert local.client.submit(count_primes, 100).result(timeout=60) == 25
        assert "proxy" in local.dashboard_links()["through Jupyter"]
        assert "scheduler" in local._repr_html_()
    assert "closed" in local._repr_html_()


def test_environment_variable_makes_start_dask_connect(monkeypatch):
    with dc.start_dask(2) as local:
        monkeypatch.setenv(dc.SCHEDULER_ENV, local.scheduler_address)
        with dc.start_dask() as connected:
            assert not connected.is_local
            assert set(connected.workers()) == set(local.workers())


def test_dask_executor_in_the_registry_runs_the_runner():
    assert "dask" in EXECUTORS and not EXECUTORS["dask"].in_this_process
    before = descendants()
    run = run_tasks("primes", executor="dask", workers=2, tasks=4, size=20_000, repeats=2)
    assert run.results == [count_primes(20_000)] * 4
    assert run.worker_count_seen == 2 and os.getpid() not in {r.pid for r in run.records}
    assert run.cpu > 0 and len(run.walls) == 2
    assert not new_descendants(before, grace=10, ignore=INTERPRETER_HELPERS)


def test_repeats_are_not_merged_by_dask():
    """Identical calls must run every time (pure=False), not be answered from memory."""
    run = run_tasks("sleep", executor="dask", workers=2, tasks=4, size=50, repeats=2)
    assert all(record.duration >= 0.045 for record in run.records)


def test_a_run_stopped_by_its_timeout_stops_the_cluster():
    before = descendants()
    with pytest.raises(TimeoutError):
        run_tasks("sleep", executor="dask", workers=2, tasks=4, size=2000, repeats=1,
                  timeout=3, warmup=False)
    assert not new_descendants(before, grace=10, ignore=INTERPRETER_HELPERS)


def test_interrupt_inside_open_executor_closes_the_cluster():
    before = descendants()
    with pytest.raises(KeyboardInterrupt):
        with open_executor("dask", 2) as pool:
            pool.submit(count_primes, 10).result(timeout=60)
            raise KeyboardInterrupt
    assert pool.session.closed
    assert not new_descendants(before, grace=10, ignore=INTERPRETER_HELPERS)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, token: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=20) as response:
        return response.status, response.read().decode(errors="replace")


def test_dashboard_opens_through_jupyter_server_proxy(tmp_path):
    """The 'through Jupyter' link of a session answers from a real Jupyter server."""
    port, token = _free_port(), "lab-test-token"
    jupyter = [sys.executable, "-m", "jupyter", "server", "--no-browser", f"--port={port}",
               "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={ROOT}", "--allow-root"]
    server = subprocess.Popen(jupyter, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path)})
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(f"{base}/api/status", token)
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "no server"
                time.sleep(0.3)
        with dc.start_dask(1) as session:
            path = session.dashboard_links()["through Jupyter"]
            status, page = _get(base + path, token)
            assert status == 200 and "Dask" in page
            with pytest.raises(urllib.error.HTTPError):  # a closed port is not proxied
                _get(f"{base}/proxy/{_free_port()}/status", token)
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_a_session_nobody_holds_stays_listed_until_closed():
    before = descendants()
    dc.start_dask(1)  # the result is dropped: the workers must not be orphaned
    assert len(dc.open_sessions) == 1
    dc.close_all_sessions()
    assert not dc.open_sessions
    assert not new_descendants(before, grace=10, ignore=INTERPRETER_HELPERS)


def test_a_session_left_open_closes_when_the_kernel_exits():
    """A learner who never runs the closing cell: the workers end with the kernel."""
    script = ("from helpers.core.dask_session import start_dask\n"
              "if __name__ == '__main__':\n"
              "    session = start_dask(2)\n"
              "    print(*session.worker_pids())\n")
    before = descendants()
    finished = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                              text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr[-2000:]
    pids = [int(pid) for pid in finished.stdout.split()]
    assert len(pids) == 2
    assert not new_descendants(before, grace=10)


def test_leftovers_count_only_dask_threads():
    """A thread someone else starts during a session (IPython does) is not Dask's."""
    stop = threading.Event()
    with dc.start_dask(1) as session:
        other = threading.Thread(target=stop.wait, args=(30,), name="not-dask")
        other.start()
        assert "not-dask" not in session.leftovers()["threads"]
        assert session.leftovers()["threads"]
        started = time.monotonic()
    try:
        assert time.monotonic() - started < dc.CLOSE_TIMEOUT / 2, "close() waited for it"
        assert not any(session.leftovers().values())
    finally:
        stop.set()
        other.join(5)


def test_an_interrupt_while_the_cluster_starts_leaves_no_worker(monkeypatch, python_sigint):
    """■ pressed while the workers start: held back, then the new session is closed."""
    import signal

    make_session = dc.DaskSession

    def interrupted_session(*args, **kwargs):
        # ■ arrives when the workers run but no session owns them yet: the worst moment.
        # (A timer could fire after a fast start: 3.15 starts two spawn workers in < 0.3 s.)
        os.kill(os.getpid(), signal.SIGINT)
        return make_session(*args, **kwargs)

    monkeypatch.setattr(dc, "DaskSession", interrupted_session)
    before = descendants()
    started = []
    with pytest.raises(KeyboardInterrupt):
        started.append(dc.start_dask(2, start_method="spawn"))
    assert not started and not dc.open_sessions
    assert not new_descendants(before, grace=10, ignore=INTERPRETER_HELPERS)



HEARTBEAT_ERROR = "Failed to communicate with scheduler during heartbeat."
# A kernel whose worker logs, as a worker does when its heartbeat meets a scheduler that
# closed first; the kernel's stderr is what a notebook shows under the cell.
LOGGING_WORKER = ("import logging, sys, time\n"
                  "from helpers.core.dask_session import start_dask\n"
                  "if __name__ == '__main__':\n"
                  "    with start_dask(1) as session:\n"
                  "        if sys.argv[1] == 'quiet':\n"
                  "            session._quiet_workers(10)\n"
                  "        session.client.run(logging.getLogger('distributed.worker').error,\n"
                  f"                           {HEARTBEAT_ERROR!r})\n"
                  "        time.sleep(0.5)\n"
                  "    print(session.leftovers())\n")


def _stderr_of_a_logging_worker(mode: str) -> str:
    finished = subprocess.run([sys.executable, "-c", LOGGING_WORKER, mode], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert finished.stdout.strip() == ("{'processes': [], 'threads': [], 'ports': [], "
                                       "'scratch': []}")
    return finished.stderr


def test_a_worker_left_loud_is_heard_in_the_kernel():
    """The control for the next test: a worker's log line does reach the kernel's stderr."""
    assert HEARTBEAT_ERROR in _stderr_of_a_logging_worker("loud")


def test_closing_quiets_the_workers_first():
    """Python 3.14+ in a notebook: heartbeats that met the closed scheduler printed ~4 KB
    of tracebacks under ``session.close()``. Workers are quieted before they are closed."""
    assert HEARTBEAT_ERROR not in _stderr_of_a_logging_worker("quiet")
    with dc.start_dask(1) as session:
        session._quiet_workers(dc.CLOSE_TIMEOUT)
        assert set(session.client.run(_distributed_level).values()) == {logging.CRITICAL}
    assert not any(session.leftovers().values()), "close() returned before the workers ended"


def _distributed_level() -> int:
    return logging.getLogger("distributed.worker").getEffectiveLevel()


def test_quiet_dask_logs_restores_the_levels_here():
    logger = logging.getLogger("distributed.client")
    before = logger.level
    with dc.quiet_dask_logs():
        assert logging.getLogger("distributed").level == logging.CRITICAL
        assert logger.level == logging.CRITICAL
    assert logger.level == before


# Issue 20, point 5: Dask on re-run.

@pytest.mark.timeout(180)
def test_dask_start_twice_keeps_one_cluster(capsys):
    """A re-run ``session = start_dask()`` cell: the first cluster is closed, and that is
    said; the runner's own cluster (one per run) and a connection close nothing."""
    before = descendants()
    try:
        first = dc.start_dask(1)
        address = first.scheduler_address
        second = dc.start_dask(1)
        left = first.leftovers()  # (its "threads" are the second cluster's now)
        assert first.closed and not (left["processes"] or left["ports"] or left["scratch"])
        said = capsys.readouterr().out
        assert f"closed the cluster started earlier in this kernel ({address}, 1 worker)" in said
        assert "the new one replaces it" in said
        assert dc.open_sessions == {second}
        with open_executor("dask", 1) as pool:  # what measure_overhead does meanwhile
            assert pool.submit(count_primes, 100).result(timeout=60) == 25
        with dc.start_dask(address=second.scheduler_address) as remote:
            assert remote.client.submit(count_primes, 100).result(timeout=60) == 25
        assert not second.closed and dc.open_sessions == {second}
        assert "closed the cluster" not in capsys.readouterr().out
    finally:
        dc.close_all_sessions()
    assert not new_descendants(before, grace=10, ignore=INTERPRETER_HELPERS)


@pytest.mark.timeout(120)
def test_closed_session_fails_fast():
    """After ``close()`` every call raises at once, in words — before: ``IOLoop is
    closed``, or a re-run connect cell that waited 60 s for the scheduler, then OSError."""
    session = dc.start_dask(1)
    session.close()
    calls = {"workers": session.workers, "worker_pids": session.worker_pids,
             "dashboard_links": session.dashboard_links,
             "scheduler_address": lambda: session.scheduler_address,
             "client.submit": lambda: session.client.submit(count_primes, 10),
             "connect again": lambda: dc.start_dask(address=session.scheduler_address)}
    for name, call in calls.items():
        with pytest.raises(dc.SessionClosedError, match=r"closed: run start_dask\(\) again"):
            call()
            pytest.fail(f"{name} did not raise")
    assert "closed" in session._repr_html_()
    assert session.leftovers() == {"processes": [], "threads": [], "ports": [], "scratch": []}
    replaced = dc.start_dask(1)
    dc.start_dask(1)
    with pytest.raises(dc.SessionClosedError, match="a later start_dask"):
        replaced.workers()
    dc.close_all_sessions()


EXIT_WITHOUT_CLOSING = ("import os, signal, sys\n"
                        "from helpers.core.dask_session import start_dask\n"
                        "if __name__ == '__main__':\n"
                        "    session = start_dask(1)\n"
                        "    print(session.scratch, *session.worker_pids(), flush=True)\n"
                        "    if sys.argv[1] == 'killed':\n"
                        "        os.kill(os.getpid(), signal.SIGKILL)\n")


@pytest.mark.timeout(180)
@pytest.mark.parametrize("ending", ["exits", "killed", "kernel shut down"])
def test_no_dask_scratch_left_after_exit(tmp_path, monkeypatch, ending):
    """A session never closed: its scratch directory (its own, not the shared
    ``dask-scratch-space``) is gone when the interpreter exits — and when it was killed
    and could not remove it, the next cluster started removes it."""
    if ending == "kernel shut down":
        return _shut_down_a_kernel_with_a_cluster(tmp_path)
    finished = subprocess.run([sys.executable, "-c", EXIT_WITHOUT_CLOSING, ending], cwd=ROOT,
                              capture_output=True, text=True, timeout=120,
                              env={**os.environ, "TMPDIR": str(tmp_path)})
    scratch, *pids = finished.stdout.split()
    assert os.path.dirname(scratch) == str(tmp_path) and len(pids) == 1
    _end_orphans([int(pid) for pid in pids])
    if ending == "exits":
        assert finished.returncode == 0, finished.stderr[-2000:]
        assert not dask_scratch(tmp_path)  # no scheduler-*/worker-*, not even lock files
        return
    assert os.path.isdir(scratch), "a killed process removed its scratch: the control failed"
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    os.rmdir(dc.scratch_directory())  # what the next start_dask() does first
    assert not dask_scratch(tmp_path)


def dask_scratch(directory) -> list[str]:
    """Dask's entries in a temporary directory: the lab's own, or the shared one.
    (multiprocessing's ``pymp-*`` of a killed forkserver user is not Dask's.)"""
    return [name for name in os.listdir(directory)
            if name.startswith((dc.SCRATCH_PREFIX, "dask-scratch-space"))]


def _end_orphans(pids: list[int], grace: float = 15.0) -> None:
    """Wait (bounded) for the workers of a killed process to notice and end; kill and
    report any that do not."""
    processes = [psutil.Process(pid) for pid in pids if psutil.pid_exists(pid)]
    _, alive = psutil.wait_procs(processes, timeout=grace)
    for process in alive:
        process.kill()
    assert not alive, f"workers outlived their killed parent: {alive}"


def _shut_down_a_kernel_with_a_cluster(tmp_path) -> None:
    """Jupyter's shutdown: SIGINT to the kernel's process group, a shutdown request, and
    SIGTERM if the kernel is still there ~2.5 s later. Closing at exit came too late: the
    forkserver cluster's scratch directory was left behind (the control: remove the
    ``_close_before_kernel_shutdown()`` call and this fails)."""
    from jupyter_client.manager import KernelManager

    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(env={**os.environ, "TMPDIR": str(tmp_path), "LAB_QUICK": "1"},
                         cwd=str(ROOT / "notebooks"))
    client = manager.client()
    try:
        client.start_channels()
        client.wait_for_ready(timeout=60)
        reply = client.execute_interactive(
            "from helpers.core.dask_session import start_dask\n"
            "session = start_dask(1, start_method='forkserver')", timeout=120)
        assert reply["content"]["status"] == "ok", reply["content"]
        assert dask_scratch(tmp_path), "the cluster made no scratch directory here"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=False)
    assert not dask_scratch(tmp_path)
