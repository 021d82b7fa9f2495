"""Issue 20, point 9: the latency server's edges.

(a) In "asyncio" mode, ``close()`` with connections still open printed one
``CancelledError`` traceback per connection on Python 3.11 and 3.12 (asyncio's streams
call ``task.exception()`` on a cancelled connection task). The server runs in a child
process that writes to the same stderr, so the check runs in a fresh Python whose stderr
the test reads: nothing may be printed.

(b) "threading" mode started a thread per connection without a cap. It now runs at most
``MAX_HANDLER_THREADS`` handlers at once; more connections wait, and are served later.
The cap is tested in this process on a small server (2 handlers), not through 256 clients.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor


from helpers.core.latency_server import (
    MAX_HANDLER_THREADS,
    ServerCore,
    HTTPServerBackend,
    ThreadingServer,
    fetch,
)
from helpers.core.settings import SOURCE_ROOT

WAIT = 20.0  # bound on every wait below (a correctness bound, not a timing claim)

CLOSE_WITH_OPEN_CONNECTIONS = textwrap.dedent("""
    import socket, time
    from helpers.core.latency_server import LatencyServer

    with LatencyServer(latency_ms=5000, mode="asyncio") as server:
        clients = [socket.create_connection(server.address, timeout=10) for _ in range(3)]
        for client in clients[:2]:  # two requests in their latency, one silent client
            client.sendall(b"GET /page/0 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
        deadline = time.monotonic() + 15
        while server.in_flight < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.in_flight == 2, server.stats()
    for client in clients:
        client.close()
    print("closed")
""")


def test_asyncio_close_with_open_connections_prints_no_traceback():
    done = subprocess.run([sys.executable, "-c", CLOSE_WITH_OPEN_CONNECTIONS],
                          capture_output=True, text=True, timeout=60, cwd=SOURCE_ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "closed"
    assert "CancelledError" not in done.stderr and "Traceback" not in done.stderr, \
        done.stderr[-2000:]


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"never {what} within {WAIT:g} s"
        time.sleep(0.01)


def small_threading_server(latency_ms: float, most_threads: int) -> HTTPServerBackend:
    backend = HTTPServerBackend(ServerCore("127.0.0.1", latency_ms, 10, 4), threaded=True,
                                 most_threads=most_threads)
    backend.start()
    return backend


def test_threading_mode_caps_its_handler_threads_and_serves_the_rest_later():
    backend = small_threading_server(latency_ms=200, most_threads=2)
    host, port = backend.address
    try:
        with ThreadPoolExecutor(6) as clients:
            sizes = list(clients.map(lambda page: fetch(f"http://{host}:{port}/page/{page % 4}",
                                                        timeout=WAIT), range(6)))
        assert sizes == [10] * 6  # the ones over the cap waited; none was refused
        stats = backend.core.stats.snapshot()
        assert stats["requests"] == 6 and stats["peak_in_flight"] == 2
    finally:
        assert backend.stop(time.monotonic() + WAIT) == []


def test_close_ends_connections_waiting_for_a_handler_thread():
    backend = small_threading_server(latency_ms=60_000, most_threads=1)
    clients = [socket.create_connection(backend.address, timeout=WAIT) for _ in range(3)]
    try:
        for client in clients:
            client.sendall(b"GET /page/0 HTTP/1.1\r\nHost: x\r\n\r\n")
        wait_until(lambda: backend.core.stats.in_flight == 1, "one request in flight")
        assert backend.stop(time.monotonic() + WAIT) == []  # the serving loop was waiting
        assert backend.core.stats.peak_in_flight == 1
    finally:
        for client in clients:
            client.close()


def test_the_handler_thread_cap_is_a_documented_constant():
    from helpers.core import latency_server

    assert MAX_HANDLER_THREADS == 256  # pool_size measures up to 256 requests at once
    assert "MAX_HANDLER_THREADS" in latency_server.__doc__
    server = ThreadingServer(ServerCore("127.0.0.1", 0, 1, 1))  # the default: the cap
    try:
        for _ in range(MAX_HANDLER_THREADS):
            assert server.slots.acquire(blocking=False)
        assert not server.slots.acquire(blocking=False)  # the next handler would wait
    finally:
        server.server_close()
