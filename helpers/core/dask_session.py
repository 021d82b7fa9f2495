"""Dask distributed: the same tasks on a cluster — local now, many machines later.

A Dask *cluster* is a scheduler plus workers. :func:`start_dask` gives you a
:class:`DaskSession` holding a ``Client``:

* with no address, it starts a ``LocalCluster`` on this machine: one worker
  **process** per worker with one thread each (so, like a process pool, each has
  its own GIL), everything listening on ``127.0.0.1`` only;
* with an address (the ``address`` argument, else the ``LAB_DASK_SCHEDULER``
  environment variable, e.g. ``tcp://10.0.0.5:8786``), it connects to a cluster
  that is already running somewhere else. The code that submits work is the same.

Worker functions come from importable modules (``helpers``), exactly as for a
process pool; on a real cluster ``helpers`` must be installed on every worker.

A session always cleans up: ``close()`` (or leaving a ``with`` block, or the
kernel exiting) stops the workers, the scheduler, their ports and Dask's helper
thread, and removes the cluster's scratch directory (a temporary one of its own,
not the ``dask-scratch-space`` other programs share). A closed session refuses
every call at once, saying so. :class:`DaskExecutor` wraps a session as a
``concurrent.futures`` executor, which is how the lab's runner and widgets run on
Dask.

**One cluster per kernel.** Re-running a notebook cell ``session = start_dask()``
must not leave the first cluster running with nobody holding it: each
``start_dask()`` that starts a local cluster first closes the one the previous call
started, and prints that it did. (The runner's ``dask`` executor starts clusters
of its own, one per run, closed with the run: :func:`open_session`.)
"""
from __future__ import annotations

import atexit
import glob
import html
import logging
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass

import psutil

from helpers.core.arguments import require_float, require_int
from helpers.core.system import MAX_DASK_WORKERS

SCHEDULER_ENV = "LAB_DASK_SCHEDULER"
START_TIMEOUT = 60.0  # seconds for the cluster to start or the client to connect
CLOSE_TIMEOUT = 10.0
QUIET_TIMEOUT = 5.0  # seconds for the workers to hear "be quiet" before they are closed
SHUTDOWN_CLOSE_TIMEOUT = 2.0  # of the ~2.5 s Jupyter gives a kernel to shut down
_ADDRESS = re.compile(r"^(tcp|tls|inproc|ucx|ws|wss)://\S+$")
_DASK_MODULES = ("distributed", "dask", "tornado", "multiprocessing.queues")
_LOGGER_PREFIXES = ("distributed", "tornado", "asyncio")
SCRATCH_PREFIX = "lab-dask-"  # + "<pid of the process that owns it>-<random>"
# Strong references: a session nobody holds any more still owns worker processes, so it
# stays listed until it is closed (at the latest when the kernel exits).
open_sessions: set[DaskSession] = set()
_lock = threading.Lock()
_kernel_cluster: DaskSession | None = None  # the local cluster start_dask() started last


class SessionClosedError(RuntimeError):
    """A call on a Dask session after ``close()``: its scheduler and workers are gone."""


def scheduler_address(address: str | None = None) -> str | None:
    """The scheduler to connect to: ``address``, else ``$LAB_DASK_SCHEDULER``, else
    ``None`` (meaning: start a local cluster). ``ValueError`` for a malformed one."""
    chosen = address if address is not None else os.environ.get(SCHEDULER_ENV) or None
    if chosen is not None and not (isinstance(chosen, str) and _ADDRESS.match(chosen)):
        raise ValueError(f"address must look like 'tcp://host:8786' (from the argument or "
                         f"${SCHEDULER_ENV}), got {chosen!r}")
    return chosen


def proxied_dashboard_path(port: int) -> str:
    """The dashboard's path through Jupyter's server (jupyter-server-proxy).

    A browser can reach ``127.0.0.1:<port>`` only on the machine running the
    kernel. Through the proxy the dashboard is served by Jupyter itself, so the
    link also works on Binder or a remote JupyterHub. ``JUPYTERHUB_SERVICE_PREFIX``
    is set on Binder/JupyterHub; locally Jupyter is served from ``/``.
    """
    require_int("port", port, 1, 65535)
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/")
    return f"{prefix.rstrip('/')}/proxy/{port}/status"


class DaskSession:
    """A Dask client and (unless connected elsewhere) the local cluster it owns."""

    def __init__(self, client, cluster=None, *, threads_before: set[int] | None = None,
                 scratch: str | None = None) -> None:
        self._client = client
        self.cluster = cluster
        self.closed = False
        self.closed_because = ""  # why, when something other than close() closed it
        self.scratch = scratch  # the cluster's own scratch directory, removed on close
        with _lock:
            open_sessions.add(self)
        self._threads_before = threads_before or set()
        # Worker processes only: starting them may also start multiprocessing's own
        # helpers (resource tracker, forkserver), which serve the whole kernel.
        self._pids = set(self.worker_pids()) if cluster is not None else set()
        self._ports = self._own_ports() if cluster is not None else set()

    @property
    def client(self):
        """The ``distributed.Client``; ``SessionClosedError`` at once after ``close()``
        (a closed client would wait for its scheduler, then fail in Dask's words)."""
        if self.closed:
            raise SessionClosedError(f"this Dask session is closed{self.closed_because}: "
                                     "run start_dask() again for a new one")
        return self._client

    def describe(self) -> str:
        """Where it runs and how many workers it has, e.g. ``tcp://127.0.0.1:40001, 2
        workers`` (asks the scheduler: only while open)."""
        count = len(self.workers())
        return f"{self.scheduler_address}, {count} worker{'s' * (count != 1)}"

    def _own_ports(self) -> set[int]:
        """The scheduler's, the dashboard's and every worker's port."""
        addresses = [self.scheduler_address, *self.workers()]
        ports = {int(address.rsplit(":", 1)[1]) for address in addresses}
        return ports | ({self.dashboard_port} if self.dashboard_port else set())

    def leftovers(self) -> dict[str, list]:
        """What this session started that is still there: processes, threads, ports
        that still accept connections, its scratch directory. All four lists are empty
        after ``close()``."""
        processes = sorted(pid for pid in self._pids if _alive(pid))
        threads = sorted(t.name for t in self._new_dask_threads())
        ports = sorted(port for port in self._ports if _listening(port))
        scratch = [self.scratch] if self.scratch and os.path.exists(self.scratch) else []
        return {"processes": processes, "threads": threads, "ports": ports,
                "scratch": scratch}

    @property
    def scheduler_address(self) -> str:
        return self.client.scheduler.address

    @property
    def is_local(self) -> bool:
        """True when this session started its own cluster on this machine."""
        return self.cluster is not None

    def workers(self) -> dict[str, int]:
        """Worker address → number of threads, as the scheduler sees them now."""
        info = self.client.scheduler_info(n_workers=-1)["workers"]
        return {address: worker["nthreads"] for address, worker in info.items()}

    def worker_pids(self) -> list[int]:
        """Process ids of the workers (asked from each worker)."""
        return sorted(self.client.run(os.getpid).values())

    @property
    def dashboard_port(self) -> int | None:
        link = self.client.dashboard_link if self.is_local else None
        match = re.search(r":(\d+)/", link or "")
        return int(match.group(1)) if match else None

    def dashboard_links(self) -> dict[str, str]:
        """'direct' (this machine's browser) and 'through Jupyter' (works everywhere)."""
        port = self.dashboard_port
        if port is None:
            return {}
        return {"direct": self.client.dashboard_link,
                "through Jupyter": proxied_dashboard_path(port)}

    def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Close the client, then the local cluster, wait (bounded) for its worker
        processes to end, and remove its scratch directory; idempotent.

        Closing is quiet: a worker whose heartbeat meets a scheduler that has just gone
        would log a traceback ("Failed to communicate with scheduler during heartbeat")
        into the notebook, and so may Dask's own loggers here. The workers are told to
        log nothing below CRITICAL first, and this kernel's Dask loggers are held there
        while the cluster closes.
        """
        if self.closed:
            return
        self.closed = True
        deadline = time.monotonic() + timeout
        if self.cluster is not None:
            self._quiet_workers(timeout)
        with quiet_dask_logs():
            try:
                self._client.close(timeout=timeout)
            finally:
                if self.cluster is not None:
                    try:
                        self.cluster.close(timeout=timeout)
                        self._wait_for_workers(max(deadline - time.monotonic(), 1.0))
                    finally:
                        _remove_scratch(self.scratch)
                with _lock:
                    open_sessions.discard(self)
                    if not open_sessions:
                        _retire_offload_thread()
                        self._join_threads(timeout)

    def _quiet_workers(self, timeout: float) -> None:
        """Raise every worker's Dask loggers to CRITICAL (best effort: a worker that
        cannot be reached any more has nothing left to say)."""
        with suppress(Exception):  # Client.run has no timeout of its own: bound it here
            self._client.sync(self._client._run, silence_dask_loggers, on_error="ignore",
                             callback_timeout=min(timeout, QUIET_TIMEOUT))

    def _wait_for_workers(self, timeout: float) -> None:
        """Wait until the worker processes have ended (at most ``timeout`` s), so none
        writes into a later cell."""
        processes = []
        for pid in self._pids:
            with suppress(psutil.NoSuchProcess):
                processes.append(psutil.Process(pid))
        psutil.wait_procs(processes, timeout=timeout)

    def _join_threads(self, timeout: float) -> None:
        """Wait (bounded) for the threads Dask started to notice the close and end."""
        deadline = time.monotonic() + timeout
        for thread in self._new_dask_threads():
            thread.join(max(deadline - time.monotonic(), 0))

    def _new_dask_threads(self) -> list[threading.Thread]:
        """Threads started since this session began that belong to Dask (or to the
        multiprocessing queues of its worker processes) — not, say, IPython's own."""
        return [thread for thread in threading.enumerate()
                if thread.ident not in self._threads_before and _is_dask_thread(thread)]

    def __enter__(self) -> DaskSession:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _repr_html_(self) -> str:
        if self.closed:
            return "<p>Dask session: closed.</p>"
        where = "local cluster on 127.0.0.1" if self.is_local else "connected cluster"
        rows = [("scheduler", f"{self.scheduler_address} ({where})"),
                ("workers", f"{len(self.workers())} × "
                            f"{', '.join(sorted({str(n) for n in self.workers().values()}))}"
                            " thread(s)")]
        rows += [(f"dashboard ({name})", f"<a href='{html.escape(link)}' target='_blank'>"
                  f"{html.escape(link)}</a>") for name, link in self.dashboard_links().items()]
        body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{v}</td></tr>"
                       for k, v in rows)
        return f"<table>{body}</table>"


def _dask_loggers() -> list[logging.Logger]:
    """Dask's logger and those below it that have a level of their own, with tornado's
    and asyncio's (the event loop Dask runs on)."""
    names = [name for name in logging.root.manager.loggerDict
             if name.startswith(_LOGGER_PREFIXES)]
    return [logging.getLogger(name) for name in dict.fromkeys([*_LOGGER_PREFIXES, *names])]


def silence_dask_loggers() -> None:
    """Log nothing below CRITICAL from Dask in this process (run on workers before they
    are closed: they are going away, and their complaints about it are not news)."""
    for logger in _dask_loggers():
        logger.setLevel(logging.CRITICAL)


@contextmanager
def quiet_dask_logs() -> Iterator[None]:
    """Hold this process's Dask loggers at CRITICAL inside the block, then restore them."""
    loggers = _dask_loggers()
    levels = [logger.level for logger in loggers]
    silence_dask_loggers()
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _is_dask_thread(thread: threading.Thread) -> bool:
    target = getattr(thread, "_target", None)
    module = getattr(target, "__module__", None) or type(thread).__module__
    return thread.name.startswith("Dask-") or module.startswith(_DASK_MODULES)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _listening(port: int) -> bool:
    """True when something on 127.0.0.1 still accepts connections on ``port``."""
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _retire_offload_thread() -> None:
    """Stop Dask's helper thread ("Dask-Offload") once no session is open.

    distributed keeps one module-level thread pool for blocking work; its thread
    would otherwise stay for the life of the kernel. A fresh pool starts no thread
    until it is next used, so this is safe to do between sessions.
    """
    from distributed import utils

    old = utils._offload_executor
    utils._offload_executor = ThreadPoolExecutor(max_workers=1,
                                                 thread_name_prefix="Dask-Offload")
    old.shutdown(wait=True)


def start_dask(workers: int | None = None, *, address: str | None = None,
               start_method: str | None = None, timeout: float = START_TIMEOUT
               ) -> DaskSession:
    """Connect to ``address`` (or ``$LAB_DASK_SCHEDULER``), else start a local cluster.

    A local cluster has ``workers`` worker processes (default: one per effective
    CPU, at least 2), one thread each, started with the lab's start method. It
    listens on 127.0.0.1 only, with the dashboard on a free port.

    One local cluster per kernel: if an earlier ``start_dask()`` (a cell run before,
    or this one re-run) started a cluster that is still open, it is closed first —
    and this says so — then the new one replaces it. Connecting closes nothing.
    """
    request = DaskRequest.checked(workers, address, start_method, timeout)
    if request.address is None:
        close_earlier_cluster()
    session = open_session(request)
    if session.is_local:
        _remember_kernel_cluster(session)
    return session


def _remember_kernel_cluster(session: DaskSession) -> None:
    global _kernel_cluster
    with _lock:
        _kernel_cluster = session


@dataclass(frozen=True)
class DaskRequest:
    """What to open, checked: an address to connect to, or a local cluster's size."""

    address: str | None
    workers: int
    start_method: str
    timeout: float

    @classmethod
    def checked(cls, workers: int | None = None, address: str | None = None,
                start_method: str | None = None, timeout: float = START_TIMEOUT
                ) -> DaskRequest:
        """``ValueError``/``TypeError`` naming a bad argument, before anything starts
        (or anything earlier is closed)."""
        from helpers.core.settings import resolve_start_method
        from helpers.core.system import default_workers

        timeout = require_float("timeout", timeout, 1, 600)
        address = scheduler_address(address)
        workers = require_int("workers", default_workers() if workers is None else workers,
                              1, MAX_DASK_WORKERS)
        return cls(address, workers, resolve_start_method(start_method), timeout)


def close_earlier_cluster() -> None:
    """Close the local cluster the last ``start_dask()`` started, if it is still open,
    and print that it did (its session then refuses every call, saying why)."""
    global _kernel_cluster
    with _lock:
        earlier, _kernel_cluster = _kernel_cluster, None
    if earlier is None or earlier.closed:
        return
    try:
        described = f" ({earlier.describe()})"
    except Exception:  # a scheduler that no longer answers is closed all the same
        described = ""
    earlier.close()
    earlier.closed_because = " (a later start_dask() replaced it)"
    print(f"start_dask: closed the cluster started earlier in this kernel{described}. "
          "One cluster per kernel: the new one replaces it.")


def open_session(request: DaskRequest) -> DaskSession:
    """Open what ``request`` asks for, closing nothing else: a client connected to its
    address, or a new local cluster owned by the session (for the runner's ``dask``
    executor, whose cluster lives for one run)."""
    from distributed import Client  # imported here: dask is only needed from notebook 08

    _close_before_dask_at_exit()
    _close_before_kernel_shutdown()
    threads_before = {t.ident for t in threading.enumerate()}
    if request.address is not None:
        return DaskSession(Client(request.address, timeout=request.timeout),
                           threads_before=threads_before)
    from helpers.core.interrupts import interrupts_deferred

    session = None
    try:
        # An interrupt (■) while the workers start would leave them without an owner:
        # it is held back until the session exists, then closes it.
        with interrupts_deferred():
            session = _start_local(request, threads_before)
    except KeyboardInterrupt:
        if session is not None:
            session.close()
        raise
    return session


def _start_local(request: DaskRequest, threads_before: set[int]) -> DaskSession:
    """A ``LocalCluster`` whose scheduler and workers keep their scratch files in a new
    directory of its own (``temporary-directory`` for the scheduler, ``local_directory``
    for the workers), and a client connected to it. Its workers die with this process
    (:class:`~helpers.core.dask_plugins.DieWithKernel`)."""
    import dask
    from distributed import Client, LocalCluster

    from helpers.core.dask_plugins import DieWithKernel

    scratch = scratch_directory()
    settings = {"distributed.worker.multiprocessing-method": request.start_method,
                "distributed.comm.timeouts.connect": f"{request.timeout}s",
                "temporary-directory": scratch}
    cluster = client = None
    try:
        with dask.config.set(settings):
            cluster = LocalCluster(n_workers=request.workers, threads_per_worker=1,
                                   processes=True, host="127.0.0.1",
                                   dashboard_address="127.0.0.1:0", local_directory=scratch,
                                   silence_logs=logging.ERROR)
        client = Client(cluster, timeout=request.timeout)
        client.register_plugin(DieWithKernel())  # no worker outlives a killed kernel
    except BaseException:
        if cluster is not None:
            cluster.close(timeout=CLOSE_TIMEOUT)
        _remove_scratch(scratch)
        raise
    return DaskSession(client, cluster, threads_before=threads_before, scratch=scratch)


def scratch_directory() -> str:
    """A new temporary directory for one cluster, named after this process.

    Removed when the session closes (at the latest when the interpreter exits). A
    process killed outright (``kill -9``, a kernel the server had to kill) cannot
    remove it: the next one to start a cluster removes every such directory whose
    process no longer exists.
    """
    for path in glob.glob(os.path.join(tempfile.gettempdir(), f"{SCRATCH_PREFIX}*")):
        owner = os.path.basename(path)[len(SCRATCH_PREFIX):].split("-")[0]
        if owner.isdigit() and not psutil.pid_exists(int(owner)):
            _remove_scratch(path)
    return tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-")


def _remove_scratch(path: str | None) -> None:
    if path is not None:
        shutil.rmtree(path, ignore_errors=True)


def _close_before_dask_at_exit() -> None:
    """Have :func:`close_all_sessions` run before distributed's own exit handlers (atexit
    runs the last registered first; distributed registers its own when first imported).
    Those close the clusters under the open sessions, whose ``close()`` then waited 10 s
    for Dask's event-loop thread before the interpreter could exit."""
    atexit.unregister(close_all_sessions)
    atexit.register(close_all_sessions)


def _close_before_kernel_shutdown() -> None:
    """In a Jupyter kernel: close every session as soon as the kernel is asked to shut
    down or restart (idempotent), as :mod:`helpers.core.kernel_exit` does for
    multiprocessing's helpers.

    At exit would be too late: ipykernel first signals its child processes (the
    workers), and Jupyter stops a kernel that is not gone within about 2.5 s, before
    the scratch directory could be removed. Closing gets ``SHUTDOWN_CLOSE_TIMEOUT``
    seconds; whatever is still open after that is left to the exit handler.
    """
    from helpers.core.kernel_exit import before_shutdown, bounded_call

    before_shutdown(lambda: bounded_call(close_all_sessions, SHUTDOWN_CLOSE_TIMEOUT),
                    "_lab_closes_dask")


@atexit.register
def close_all_sessions() -> None:
    """Close every session still open (the kernel is exiting, or a test is ending); a
    session that fails to close does not keep the others open."""
    for session in list(open_sessions):
        try:
            session.close()
        except Exception:
            _remove_scratch(session.scratch)


class DaskExecutor(Executor):
    """A ``concurrent.futures`` executor running on its own Dask session.

    Tasks are submitted with ``pure=False``: Dask would otherwise treat two calls
    with the same arguments as the same task and run it only once.
    """

    def __init__(self, workers: int, start_method: str | None = None) -> None:
        self.session = open_session(DaskRequest.checked(workers, start_method=start_method))
        self._executor = self.session.client.get_executor(pure=False)

    def submit(self, fn, /, *args, **kwargs) -> Future:  # type: ignore[override]
        return self._executor.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if self.session.closed:
            return
        if cancel_futures:
            self.session.client.cancel(list(self._executor._futures))
        try:
            self._executor.shutdown(wait=wait)
        finally:
            self.session.close()
