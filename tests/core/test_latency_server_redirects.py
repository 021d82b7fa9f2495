"""Issue 20, point 3: ``fetch`` followed redirects to URLs its own check refuses.

A small server here, on 127.0.0.1, answers ``/to/<where>`` with a 302 whose
``Location`` is off the loopback rule (``0.0.0.0``, a documentation address that is not
this machine) or back to itself (``/ok``, which would answer 200). Neither client may
follow any of them: each raises :class:`HTTPStatusError` naming the status and the
``Location``, and the server sees exactly one request.
"""
from __future__ import annotations

import asyncio
import pickle
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from helpers.core.latency_server import HTTPStatusError, fetch, fetch_async

TARGETS = {
    "every-interface": "http://0.0.0.0:1/",
    "another-machine": "http://192.0.2.1/page/0",  # TEST-NET-1: never this machine
}


class RedirectingHandler(BaseHTTPRequestHandler):
    """``/to/<name>``: 302 to ``TARGETS[name]``, or to this server's ``/ok``; ``/ok``: 200."""

    def do_GET(self) -> None:  # noqa: N802
        self.server.seen.append(self.path)  # type: ignore[attr-defined]
        if self.path == "/ok":
            body = b"followed"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        name = self.path.removeprefix("/to/")
        host, port = self.server.server_address[:2]
        self.send_response(302)
        self.send_header("Location", TARGETS.get(name, f"http://{host}:{port}/ok"))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def redirecting_server() -> Iterator[HTTPServer]:
    server = HTTPServer(("127.0.0.1", 0), RedirectingHandler)
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
        assert not thread.is_alive()


def url_of(server: HTTPServer, name: str) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}/to/{name}"


def fetch_with_asyncio(url: str) -> int:
    return asyncio.run(fetch_async(url, timeout=10))


@pytest.mark.parametrize("client", [fetch, fetch_with_asyncio], ids=["urllib", "asyncio"])
@pytest.mark.parametrize("name", [*TARGETS, "back-to-itself"])
def test_fetch_follows_no_redirect_and_names_its_location(redirecting_server, client, name):
    url = url_of(redirecting_server, name)
    location = TARGETS.get(name, "/ok")
    with pytest.raises(HTTPStatusError) as info:
        client(url)
    error = info.value
    assert error.status == 302 and error.url == url
    assert error.location is not None and error.location.endswith(location)
    assert "302" in str(error) and location in str(error) and "not followed" in str(error)
    assert redirecting_server.seen == [f"/to/{name}"]  # the Location was never asked for


def test_a_redirect_error_keeps_its_location_through_pickle():
    error = HTTPStatusError("http://127.0.0.1:1/to/x", 302, "Found", "http://0.0.0.0:1/")
    again = pickle.loads(pickle.dumps(error))
    assert (again.status, again.location, str(again)) == (302, error.location, str(error))
