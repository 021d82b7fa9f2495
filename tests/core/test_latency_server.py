"""Tests for helpers.core.latency_server: the local slow web server and its two clients."""
from __future__ import annotations

import asyncio
import ipaddress
import multiprocessing
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import psutil
import pytest

from helpers.core import latency_server as ls
from helpers.core.latency_server import HTTPStatusError, LatencyServer, fetch, fetch_async
from helpers.core.settings import SOURCE_ROOT

MODES = list(ls.MODES)
CONCURRENT_MODES = ["threading", "asyncio"]
MARGIN = 1.0  # seconds a request may take beyond its latency on a busy machine
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def wait_until(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def extra_threads(before: set[threading.Thread], grace: float = 2.0) -> list[str]:
    """Threads started since ``before`` that are still alive after ``grace`` seconds."""
    wait_until(lambda: not (set(threading.enumerate()) - before), grace)
    return sorted(t.name for t in set(threading.enumerate()) - before)


def refuses_connections(port: int) -> bool:
    try:
        socket.create_connection((ls.LOOPBACK, port), timeout=2).close()
    except OSError:
        return True
    return False


def timed_fetch(url: str) -> float:
    start = time.perf_counter()
    fetch(url)
    return time.perf_counter() - start


def fetch_concurrently(urls: list[str]) -> float:
    """Fetch every URL in its own thread, all starting together; return the wall time."""
    barrier = threading.Barrier(len(urls))

    def one(url: str) -> int:
        barrier.wait(timeout=10)
        return fetch(url)

    start = time.perf_counter()
    with ThreadPoolExecutor(len(urls)) as pool:
        sizes = list(pool.map(one, urls, timeout=30))
    assert all(size == sizes[0] for size in sizes)
    return time.perf_counter() - start


# --- answers -----------------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_latency_is_honoured(mode):
    with LatencyServer(latency_ms=100, mode=mode) as server:
        elapsed = timed_fetch(server.page_url(0))
    assert 0.1 <= elapsed < 0.1 + MARGIN


@pytest.mark.parametrize("mode", MODES)
def test_pages_have_the_payload_size_and_content_length(mode):
    with LatencyServer(latency_ms=0, payload_bytes=3000, pages=5, mode=mode) as server:
        with NO_PROXY.open(server.page_url(3), timeout=10) as response:
            body = response.read()
            assert response.status == 200
            assert response.headers["Content-Length"] == "3000"
        assert len(body) == 3000 and body.startswith(b"page 3\n")
        assert fetch(server.page_url(4)) == 3000
        server.payload_bytes = 4  # shorter than "page 4\n": cut
        with NO_PROXY.open(server.page_url(4), timeout=10) as response:
            assert response.read() == b"page"
        server.payload_bytes = 0
        assert fetch(server.page_url(0)) == 0
        assert fetch(server.url) > 0  # the index


def test_page_body_is_deterministic():
    assert ls.page_body(7, 12) == b"page 7\n....."
    assert ls.page_body(7, 12) == ls.page_body(7, 12)
    assert ls.page_body(12, 3) == b"pag"


@pytest.mark.parametrize("mode", MODES)
def test_unknown_pages_are_404_and_counted(mode):
    with LatencyServer(latency_ms=0, pages=3, mode=mode) as server:
        for path in ["page/3", "page/-1", "page/01", "nothing"]:
            with pytest.raises(HTTPStatusError) as info:
                fetch(server.url + path)
            assert info.value.status == 404
        with pytest.raises(HTTPStatusError, match="404"):
            asyncio.run(fetch_async(server.url + "page/3"))
        assert server.stats()["not_found"] == 5
        assert server.requests == 5


@pytest.mark.parametrize("mode", MODES)
def test_requests_are_counted_and_reset(mode):
    with LatencyServer(latency_ms=0, mode=mode) as server:
        for url in server.urls(3):
            fetch(url)
            assert server.in_flight == 0  # counted out before the answer was sent
        assert server.requests == 3 and server.peak_in_flight == 1
        server.reset_stats()
        assert server.requests == 0 and server.peak_in_flight == 0
        fetch(server.page_url(0))
        assert server.requests == 1


@pytest.mark.parametrize("mode", MODES)
def test_a_request_is_out_of_flight_before_its_answer_arrives(mode):
    """So a client that waits for each answer before its next request is never counted
    twice: the peak is what the client allowed (notebook 04's exercise checks it)."""
    with LatencyServer(latency_ms=1, mode=mode) as server:
        still_counted = 0
        for i in range(100):
            fetch(server.page_url(i))
            still_counted += server.in_flight
            asyncio.run(fetch_async(server.page_url(i)))
            still_counted += server.in_flight
        assert still_counted == 0 and server.peak_in_flight == 1


@pytest.mark.parametrize("mode", MODES)
def test_latency_can_change_while_running(mode):
    with LatencyServer(latency_ms=2000, mode=mode) as server:
        server.latency_ms = 0  # before any request: the 2 s must not apply
        assert timed_fetch(server.page_url(0)) < 2.0
        server.latency_ms = 150
        assert 0.15 <= timed_fetch(server.page_url(0)) < 0.15 + MARGIN
        assert server.latency_ms == 150


def test_urls_go_round_the_pages():
    with LatencyServer(latency_ms=0, pages=3) as server:
        urls = server.urls(7)
        assert urls[0] == server.page_url(0) == f"{server.url}page/0"
        assert [url.rsplit("/", 1)[1] for url in urls] == ["0", "1", "2", "0", "1", "2", "0"]
        assert server.urls(0) == []


# --- concurrency -------------------------------------------------------------------------

@pytest.mark.parametrize("mode", CONCURRENT_MODES)
def test_concurrent_modes_overlap_requests(mode):
    clients, latency = 8, 0.2
    with LatencyServer(latency_ms=latency * 1000, mode=mode) as server:
        elapsed = fetch_concurrently(server.urls(clients))
        assert server.requests == clients
        assert server.peak_in_flight >= 2
    assert elapsed < 0.6 * clients * latency  # one at a time would take clients × latency


def test_single_mode_handles_one_request_at_a_time():
    clients, latency = 4, 0.05
    with LatencyServer(latency_ms=latency * 1000, mode="single") as server:
        elapsed = fetch_concurrently(server.urls(clients))
        assert server.requests == clients
        assert server.peak_in_flight == 1
    assert elapsed >= 0.95 * clients * latency  # the requests queued


@pytest.mark.parametrize("mode", MODES)
def test_fetch_async_gathers_many_requests(mode):
    async def many(urls):
        return await asyncio.gather(*(fetch_async(url) for url in urls))

    with LatencyServer(latency_ms=100, payload_bytes=500, mode=mode) as server:
        assert asyncio.run(many(server.urls(6))) == [500] * 6
        assert server.requests == 6
        if mode == "single":
            assert server.peak_in_flight == 1
        else:
            assert server.peak_in_flight >= 2


def test_fetch_async_reads_a_large_body():
    with LatencyServer(latency_ms=0, payload_bytes=3_000_000, mode="asyncio") as server:
        assert asyncio.run(fetch_async(server.page_url(1))) == 3_000_000
        assert fetch(server.page_url(1)) == 3_000_000


# --- shutting down -----------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_close_stops_everything(mode):
    before = set(threading.enumerate())
    server = LatencyServer(latency_ms=0, mode=mode).start()
    assert server.running
    fetch(server.page_url(0))
    port = server.port
    server.close()
    server.close()  # idempotent
    assert not server.running and "closed" in repr(server)
    assert refuses_connections(port)
    assert extra_threads(before) == []
    with pytest.raises(RuntimeError, match="closed"):
        server.start()


@pytest.mark.parametrize("mode", MODES)
def test_keyboard_interrupt_with_a_request_in_flight_still_shuts_down(mode):
    before = set(threading.enumerate())
    errors: list[BaseException] = []

    def client(url: str) -> None:
        try:
            fetch(url, timeout=20)
        except BaseException as exc:  # noqa: BLE001 — the server hangs up: expected
            errors.append(exc)

    with pytest.raises(KeyboardInterrupt):
        with LatencyServer(latency_ms=8000, mode=mode) as server:
            port = server.port
            thread = threading.Thread(target=client, args=(server.page_url(0),))
            thread.start()
            assert wait_until(lambda: server.in_flight == 1)
            start = time.monotonic()
            raise KeyboardInterrupt
    assert time.monotonic() - start < 3.0  # did not wait out the 8 s latency
    thread.join(timeout=10)
    assert not thread.is_alive() and len(errors) == 1
    assert refuses_connections(port)
    assert extra_threads(before) == []


@pytest.mark.parametrize("mode", MODES)
def test_close_hangs_up_on_a_silent_client(mode):
    before = set(threading.enumerate())
    with LatencyServer(latency_ms=0, mode=mode) as server:
        silent = socket.create_connection(server.address, timeout=5)  # never sends a request
        time.sleep(0.1)  # let the server accept it
        start = time.monotonic()
    assert time.monotonic() - start < 3.0
    silent.close()
    assert extra_threads(before) == []


def test_a_forgotten_server_is_stopped_by_the_garbage_collector():
    before = set(threading.enumerate())
    server = LatencyServer(latency_ms=0).start()
    port = server.port
    del server
    import gc
    gc.collect()
    assert refuses_connections(port)
    assert extra_threads(before) == []


def test_not_started_server_has_no_url():
    server = LatencyServer()
    assert "not started" in repr(server) and not server.running
    with pytest.raises(RuntimeError, match="not started"):
        server.url
    server.close()  # harmless


# --- loopback only and bad input ---------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_binds_loopback_only(mode):
    with LatencyServer(mode=mode, host="localhost") as server:
        host, port = server.address
        assert ipaddress.ip_address(host).is_loopback and host == server.host == "127.0.0.1"
        assert 0 < port < 65536 and server.url == f"http://127.0.0.1:{port}/"


@pytest.mark.parametrize("host", ["0.0.0.0", "", "192.168.1.10", "10.0.0.1", "::1",
                                  "example.com", 2130706433, None])
def test_non_loopback_hosts_are_rejected(host):
    with pytest.raises(ValueError, match="host must be an IPv4 loopback address"):
        LatencyServer(host=host)


@pytest.mark.parametrize("kwargs, name", [
    ({"latency_ms": -1}, "latency_ms"), ({"latency_ms": 10_001}, "latency_ms"),
    ({"latency_ms": "50"}, "latency_ms"), ({"latency_ms": float("nan")}, "latency_ms"),
    ({"latency_ms": True}, "latency_ms"),
    ({"payload_bytes": -1}, "payload_bytes"), ({"payload_bytes": 10_000_001}, "payload_bytes"),
    ({"payload_bytes": 1.5}, "payload_bytes"),
    ({"pages": 0}, "pages"), ({"pages": 10_001}, "pages"),
    ({"mode": "fork"}, "mode"), ({"mode": None}, "mode"),
])
def test_bad_parameters_name_the_parameter_and_range(kwargs, name):
    with pytest.raises(ValueError, match=name):
        LatencyServer(**kwargs)


def test_bad_values_while_running_and_bad_pages():
    with LatencyServer(latency_ms=0, pages=4) as server:
        with pytest.raises(ValueError, match=r"latency_ms must be from 0 to 10000"):
            server.latency_ms = -5
        with pytest.raises(ValueError, match="payload_bytes"):
            server.payload_bytes = 10**9
        assert server.latency_ms == 0
        with pytest.raises(ValueError, match=r"page must be from 0 to 3"):
            server.page_url(4)
        with pytest.raises(ValueError, match="n must be"):
            server.urls(-1)


@pytest.mark.parametrize("url", ["https://127.0.0.1/", "http://example.com/", "ftp://127.0.0.1/",
                                 "127.0.0.1:80", "http://10.1.2.3/", None])
def test_fetchers_only_fetch_from_this_machine(url):
    with pytest.raises(ValueError, match="url"):
        fetch(url)
    with pytest.raises(ValueError, match="url"):
        asyncio.run(fetch_async(url))


@pytest.mark.parametrize("timeout", [0, -1, 601, "1"])
def test_fetchers_reject_bad_timeouts(timeout):
    with pytest.raises(ValueError, match="timeout"):
        fetch("http://127.0.0.1:1/", timeout=timeout)
    with pytest.raises(ValueError, match="timeout"):
        asyncio.run(fetch_async("http://127.0.0.1:1/", timeout=timeout))


@pytest.mark.parametrize("mode", MODES)
def test_fetchers_time_out(mode):
    with LatencyServer(latency_ms=3000, mode=mode) as server:
        with pytest.raises(TimeoutError):
            fetch(server.page_url(0), timeout=0.2)
        with pytest.raises(TimeoutError):
            asyncio.run(fetch_async(server.page_url(0), timeout=0.2))


def test_fetchers_report_a_closed_port():
    with LatencyServer() as server:
        port = server.port
    with pytest.raises(OSError):
        fetch(f"http://127.0.0.1:{port}/page/0", timeout=2)
    with pytest.raises(OSError):
        asyncio.run(fetch_async(f"http://127.0.0.1:{port}/page/0", timeout=2))


# --- the clients travel to other processes -----------------------------------------------

def test_fetch_and_its_error_pickle():
    assert pickle.loads(pickle.dumps(fetch)) is fetch
    assert pickle.loads(pickle.dumps(fetch_async)) is fetch_async
    url = "http://127.0.0.1:1/x"
    error = pickle.loads(pickle.dumps(HTTPStatusError(url, 404, "Not Found")))
    assert (error.status, error.url) == (404, url)
    assert str(error) == f"GET {url} answered 404 Not Found"


@pytest.mark.parametrize("method", [m for m in ("spawn", "forkserver")
                                    if m in multiprocessing.get_all_start_methods()])
def test_fetch_runs_in_a_fresh_process(method):
    # (Not the no_leftover_processes fixture: it waits its full 5 s grace whenever the
    # resource tracker or the forkserver is running. active_children() sees pool workers.)
    context = multiprocessing.get_context(method)
    with LatencyServer(latency_ms=0, payload_bytes=777, mode="threading") as server:
        with ProcessPoolExecutor(1, mp_context=context) as pool:
            assert pool.submit(fetch, server.page_url(2)).result(timeout=60) == 777
            with pytest.raises(HTTPStatusError, match="404"):
                pool.submit(fetch, server.url + "missing").result(timeout=60)
        assert server.requests == 2
    assert multiprocessing.active_children() == []  # the worker was joined


# --- the server's own process ------------------------------------------------------------

METHODS = [m for m in ("fork", "spawn", "forkserver")
           if m in multiprocessing.get_all_start_methods()]


def gone(pid: int, timeout: float = 10.0) -> bool:
    """True once ``pid`` has exited (a zombie waiting for its reaper counts as exited)."""
    def ended() -> bool:
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True
    return wait_until(ended, timeout)


@pytest.mark.parametrize("method", METHODS)
def test_the_server_runs_in_its_own_process_and_is_gone_after_close(method):
    with LatencyServer(latency_ms=0, pages=3, start_method=method) as server:
        pid = server.pid
        assert pid is not None and pid != os.getpid()
        assert psutil.Process(pid).ppid() in (os.getpid(), *[
            p.pid for p in psutil.Process().children()])  # forkserver: a grandchild
        assert fetch(server.page_url(1)) == 1024
        assert server.requests == 1 and server.cpu_seconds() >= 0
    assert not server.running
    assert gone(pid)
    assert server.requests == 1  # the counts it had at close() stay readable


def test_settings_and_counts_cross_the_process_boundary():
    with LatencyServer(latency_ms=3000, payload_bytes=10, pages=2) as server:
        server.latency_ms = 0
        server.payload_bytes = 321
        assert fetch(server.page_url(0)) == 321  # no 3 s wait: the child got the setting
        with pytest.raises(HTTPStatusError):
            fetch(server.url + "page/7")
        assert server.stats() == {"requests": 2, "not_found": 1, "in_flight": 0,
                                  "peak_in_flight": 1}
        server.reset_stats()
        assert server.requests == 0 and server.latency_ms == 0


def test_the_server_ignores_the_kernels_interrupt():
    # Jupyter's ■ sends SIGINT to the kernel's whole process group: the server stays up
    # until the kernel's with block closes it.
    with LatencyServer(latency_ms=0) as server:
        os.kill(server.pid, signal.SIGINT)
        time.sleep(0.3)
        assert server.running and fetch(server.page_url(0)) == 1024


def failing_server(channel, message):
    raise ValueError(message)


def silent_server(channel):
    channel.stopping.wait()  # never says it is ready


def test_a_server_that_fails_to_start_raises_and_leaves_no_process():
    process = ls.ServerProcess(failing_server, ("no port today",))
    with pytest.raises(ValueError, match="no port today"):
        process.start()
    assert not process.alive and gone(process.pid)


def test_start_up_waits_a_bounded_time(monkeypatch):
    monkeypatch.setattr(ls, "START_TIMEOUT", 1.0)
    process = ls.ServerProcess(silent_server)
    start = time.monotonic()
    with pytest.raises(TimeoutError, match="start"):
        process.start()
    assert time.monotonic() - start < 1.0 + ls.CLOSE_TIMEOUT + 3
    assert gone(process.pid)


PARENT = """
import sys, time
from helpers.core.latency_server import LatencyServer
server = LatencyServer(latency_ms=0, start_method=sys.argv[1]).start()
print(server.pid, flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("method", METHODS)
def test_the_server_process_dies_when_its_parent_is_killed(method):
    parent = subprocess.Popen([sys.executable, "-c", PARENT, method], cwd=SOURCE_ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        line = parent.stdout.readline()  # the parent waits START_TIMEOUT at most
        child = int(line)
        assert psutil.pid_exists(child)
    finally:
        parent.kill()  # SIGKILL: no atexit, no finalizer runs in the parent
        parent.wait(10)
        parent.stdout.close()
    assert gone(child, timeout=5 * ls.PARENT_CHECK + 5)
