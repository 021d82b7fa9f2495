"""A small web server on this machine whose every answer takes a set time.

Waiting for the network is the classic job for threads and asyncio. To measure it
without the internet we fake a slow website: :class:`LatencyServer` listens on
``127.0.0.1`` (loopback: reachable from this machine only) on a free port, and
answers each ``GET /page/N`` after ``latency_ms`` milliseconds with a page of
``payload_bytes`` bytes. It counts the requests and the largest number it was
handling at the same moment (``peak_in_flight``), so a notebook can show how
many requests a client really had in the air.

Three ways to serve, to compare under many clients at once (``mode``):

``"threading"``  :class:`~http.server.ThreadingHTTPServer` style: one thread per
                 request, so waits overlap — at most ``MAX_HANDLER_THREADS`` (256)
                 at once; more connections wait their turn (none is refused).
``"single"``     plain :class:`~http.server.HTTPServer`: one request at a time; the
                 latency is a sleep inside the handler, so the others queue.
``"asyncio"``    one event loop in one thread; the latency is ``asyncio.sleep``,
                 so waits overlap without a thread per request.

The server runs in its **own process** (:class:`ServerProcess`, with the lab's start
method): its threads never share a GIL with the notebook that measures its clients. The
counts and settings cross the process boundary through a pipe. Use it in a ``with`` block;
the process always ends, also when the cell is interrupted, and never outlives the
notebook's kernel (it stops when the kernel dies)::

    with LatencyServer(latency_ms=100, mode="threading") as server:
        fetch(server.page_url(0))          # about 0.1 s
        server.requests, server.peak_in_flight

:func:`fetch` and :func:`fetch_async` are the clients. They are module-level
functions, so threads, processes and the lab runner can all call them.
"""
from __future__ import annotations

import asyncio
import ipaddress
import multiprocessing
import os
import pickle
import re
import signal
import socket
import socketserver
import threading
import time
import urllib.error
import urllib.request
import warnings
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlsplit

from helpers.core.arguments import require_choice, require_float, require_int
from helpers.core.interrupts import end_process
from helpers.core.settings import resolve_start_method

MODES = ("threading", "single", "asyncio")
LOOPBACK = "127.0.0.1"
MAX_LATENCY_MS = 10_000
MAX_PAYLOAD_BYTES = 10_000_000
MAX_PAGES = 10_000
MAX_URLS = 100_000
MAX_TIMEOUT = 600.0
BACKLOG = 128  # connections that may wait to be accepted (socketserver's default is 5)
MAX_HANDLER_THREADS = 256  # "threading" mode: handler threads at once; more connections wait
CLIENT_TIMEOUT = 30.0  # seconds a silent client may hold a connection
POLL_INTERVAL = 0.05  # how often the serving loop checks whether to stop
CLOSE_TIMEOUT = 5.0
_PAGE_PATH = re.compile(r"/page/(0|[1-9][0-9]*)")


# --- shared by every mode: the pages, the latency setting and the counting ---------------

class RequestStats:
    """Counts requests and how many are being handled at the same moment.

    Every mode calls :meth:`track` around the handling of one request — its latency,
    up to the moment its answer is ready, before it is sent: a client that reads an
    answer and only then sends its next request is never counted twice, so a client
    limited to 3 requests at once is seen with at most 3. A lock makes the counts exact
    even when many threads update them at once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0  # requests received since the last reset
        self.not_found = 0  # of which answered 404
        self.in_flight = 0  # being handled now
        self.peak_in_flight = 0  # the most handled at the same moment

    @contextmanager
    def track(self) -> Iterator[None]:
        with self._lock:
            self.requests += 1
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            yield
        finally:
            with self._lock:
                self.in_flight -= 1

    def count_not_found(self) -> None:
        with self._lock:
            self.not_found += 1

    def reset(self) -> None:
        """Start counting again; requests still in flight stay counted in the peak."""
        with self._lock:
            self.requests = self.not_found = 0
            self.peak_in_flight = self.in_flight

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {"requests": self.requests, "not_found": self.not_found,
                    "in_flight": self.in_flight, "peak_in_flight": self.peak_in_flight}


def page_body(page: int, size: int) -> bytes:
    """The page's content: ``page N`` then dots, exactly ``size`` bytes (cut if shorter)."""
    head = f"page {page}\n".encode("ascii")[:size]
    return head + b"." * (size - len(head))


class ServerCore:
    """What every mode shares: settings (changeable while running), stats, stop flag."""

    def __init__(self, host: str, latency_ms: float, payload_bytes: int, pages: int) -> None:
        self.host = host
        self.latency_ms = latency_ms  # read at the start of each request
        self.payload_bytes = payload_bytes
        self.pages = pages
        self.stats = RequestStats()
        self.stopping = threading.Event()

    def respond(self, target: str) -> tuple[int, str, bytes]:
        """(status, reason, body) for a request target such as ``/page/3?x=1``."""
        path = target.split("?", 1)[0]
        if path == "/":
            index = f"{self.pages} pages: /page/0 to /page/{self.pages - 1}\n"
            return 200, "OK", index.encode("ascii")
        match = _PAGE_PATH.fullmatch(path)
        if match and int(match[1]) < self.pages:
            return 200, "OK", page_body(int(match[1]), self.payload_bytes)
        self.stats.count_not_found()
        return 404, "Not Found", f"no page {path}\n".encode("utf-8", "replace")


def response_head(status: int, reason: str, length: int) -> bytes:
    """The status line and headers of an answer (the asyncio mode writes them itself)."""
    return (f"HTTP/1.1 {status} {reason}\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {length}\r\n"
            f"Connection: close\r\n\r\n").encode("ascii")


# --- modes "threading" and "single": the standard library's http.server ------------------

class _Handler(BaseHTTPRequestHandler):
    """Answers one GET: wait the latency, then send the page."""

    protocol_version = "HTTP/1.1"
    timeout = CLIENT_TIMEOUT

    def setup(self) -> None:
        super().setup()
        self.server.add_connection(self.connection)  # type: ignore[attr-defined]

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.remove_connection(self.connection)  # type: ignore[attr-defined]

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        core: ServerCore = self.server.core  # type: ignore[attr-defined]
        with core.stats.track():  # in flight until its answer is ready, not yet sent
            # The latency: a sleep that close() can cut short (the wait returns True).
            if core.stopping.wait(core.latency_ms / 1000):
                self.close_connection = True
                return
            status, reason, body = core.respond(self.path)
        self.send_response(status, reason)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """No log line per request: it would clutter the notebook."""


class _SingleServer(HTTPServer):
    """``HTTPServer``: handles each request in the serving thread, one at a time."""

    request_queue_size = BACKLOG

    def __init__(self, core: ServerCore) -> None:
        self.core = core
        self.connections: set[socket.socket] = set()
        self.handler_threads: set[threading.Thread] = set()
        self.lock = threading.Lock()
        super().__init__((core.host, 0), _Handler)

    def server_bind(self) -> None:
        # As HTTPServer.server_bind, without its reverse DNS look-up of the address.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def add_connection(self, connection: socket.socket) -> None:
        with self.lock:
            self.connections.add(connection)
            if self.core.stopping.is_set():  # accepted just as close() began: hang up
                with suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)

    def remove_connection(self, connection: socket.socket) -> None:
        with self.lock:
            self.connections.discard(connection)

    def hang_up_all(self) -> None:
        """Shut down every open connection, so no handler waits on a silent client."""
        with self.lock:
            for connection in self.connections:
                with suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hung up is not news in a notebook: no traceback on stderr."""


class ThreadingServer(_SingleServer):
    """``ThreadingHTTPServer``: a new (daemon) thread for each request, at most
    ``most_threads`` (:data:`MAX_HANDLER_THREADS`) at once.

    Like ``socketserver.ThreadingMixIn``, but it keeps the threads in a set so that
    ``close()`` can join them with a time limit — and it caps them, as a real server must:
    a thread per connection without a cap lets enough clients exhaust memory. With every
    handler busy, the serving loop waits for one to end (a semaphore) before it starts the
    next; the connections that come meanwhile wait, in the listen backlog and then in the
    clients' connect retries. None is refused: they are served later, not with an error.
    """

    def __init__(self, core: ServerCore, most_threads: int = MAX_HANDLER_THREADS) -> None:
        self.slots = threading.BoundedSemaphore(most_threads)
        super().__init__(core)

    def process_request(self, request, client_address) -> None:  # type: ignore[override]
        if not self._take_slot():  # close() began while we waited: hang up
            self.shutdown_request(request)
            return
        thread = threading.Thread(target=self._handle_in_thread, args=(request, client_address),
                                  name="LatencyServer-request", daemon=True)
        with self.lock:
            self.handler_threads.add(thread)
        try:
            thread.start()
        except RuntimeError:  # "can't start new thread": give the slot back, hang up
            with self.lock:
                self.handler_threads.discard(thread)
            self.slots.release()
            raise

    def _take_slot(self) -> bool:
        """Wait until fewer than ``most_threads`` handlers run; False if stopping first."""
        while not self.core.stopping.is_set():
            if self.slots.acquire(timeout=POLL_INTERVAL):
                return True
        return False

    def _handle_in_thread(self, request, client_address) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            with self.lock:
                self.handler_threads.discard(threading.current_thread())
            self.slots.release()


class HTTPServerBackend:
    """Runs an http.server in a background thread: handle a request, check the stop flag."""

    def __init__(self, core: ServerCore, threaded: bool,
                 most_threads: int = MAX_HANDLER_THREADS) -> None:
        self.core = core
        self.server = ThreadingServer(core, most_threads) if threaded else _SingleServer(core)
        self.server.timeout = POLL_INTERVAL  # handle_request() returns after this if idle
        self.address = self.server.socket.getsockname()[:2]
        mode = "threading" if threaded else "single"
        self.thread = threading.Thread(target=self._serve, daemon=True,
                                       name=f"LatencyServer-{mode}")

    def start(self) -> None:
        self.thread.start()

    def _serve(self) -> None:
        with suppress(OSError, ValueError):  # the socket closed under us: stop
            while not self.core.stopping.is_set():
                self.server.handle_request()

    def stop(self, deadline: float) -> list[threading.Thread]:
        """Stop; return the threads still alive at ``deadline`` (normally none)."""
        self.core.stopping.set()  # ends the loop and every latency wait
        self.server.hang_up_all()
        self.thread.join(max(0.0, deadline - time.monotonic()))
        self.server.server_close()  # no new connections: connecting now fails
        self.server.hang_up_all()  # any connection accepted meanwhile
        with self.server.lock:
            handlers = list(self.server.handler_threads)
        for thread in handlers:
            thread.join(max(0.0, deadline - time.monotonic()))
        return [t for t in [self.thread, *handlers] if t.is_alive()]


# --- mode "asyncio": one event loop in its own thread ------------------------------------

class _AsyncioBackend:
    """An ``asyncio`` server (``asyncio.start_server``) on an event loop in one thread."""

    def __init__(self, core: ServerCore) -> None:
        self.core = core
        self.address: tuple[str, int] = ("", 0)
        self.thread = threading.Thread(target=self._run, daemon=True, name="LatencyServer-asyncio")
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._tasks: set[asyncio.Task] = set()

    def start(self) -> None:
        self.thread.start()
        if not self._ready.wait(CLOSE_TIMEOUT):
            self.stop(time.monotonic() + CLOSE_TIMEOUT)
            raise RuntimeError("the asyncio server did not start")
        if self._error is not None:
            self.thread.join(CLOSE_TIMEOUT)
            raise self._error

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # report start-up failures to start()
            self._error = exc
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._handle, self.core.host, 0, backlog=BACKLOG)
        self.address = server.sockets[0].getsockname()[:2]
        self._ready.set()
        try:
            if not self.core.stopping.is_set():  # stop() may have come before _stop existed
                await self._stop.wait()
        finally:
            server.close()  # stop accepting: connecting now fails
            for task in list(self._tasks):
                task.cancel()  # ends every asyncio.sleep and read in progress
            await asyncio.gather(*self._tasks, return_exceptions=True)
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(server.wait_closed(), CLOSE_TIMEOUT)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)  # type: ignore[arg-type]
        try:
            if self.core.stopping.is_set():  # accepted just as close() began: hang up
                return
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), CLIENT_TIMEOUT)
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            method, target, _ = (request_line.split(" ") + ["", ""])[:3]
            if method != "GET":
                writer.write(response_head(501, "Not Implemented", 0))
                return
            with self.core.stats.track():  # in flight until its answer is ready, not yet sent
                await asyncio.sleep(self.core.latency_ms / 1000)  # the latency
                status, reason, body = self.core.respond(target)
            writer.write(response_head(status, reason, len(body)) + body)
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                asyncio.TimeoutError):
            pass  # the client hung up or said nothing useful
        except asyncio.CancelledError:
            # stop() cancelled us: end quietly. A connection task that ends *cancelled*
            # makes asyncio's streams print a CancelledError traceback on Python 3.11 and
            # 3.12 (their callback calls task.exception() on it); nothing awaits this task
            # but _main's gather, so nobody misses the cancellation.
            if not self.core.stopping.is_set():
                raise
        finally:
            self._tasks.discard(task)  # type: ignore[arg-type]
            writer.close()

    def stop(self, deadline: float) -> list[threading.Thread]:
        self.core.stopping.set()
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with suppress(RuntimeError):  # the loop has already ended
                loop.call_soon_threadsafe(stop.set)
        if self.thread.ident is not None:
            self.thread.join(max(0.0, deadline - time.monotonic()))
        return [self.thread] if self.thread.is_alive() else []


# --- a server in its own process ---------------------------------------------------------

START_TIMEOUT = 60.0  # seconds a server process may take to start (spawn on a busy machine)
REPLY_TIMEOUT = 10.0  # seconds the server process may take to answer a question
PARENT_CHECK = 0.2  # how often a server process checks that its parent still lives


class ServerChannel:
    """What a function run by :class:`ServerProcess` gets, inside the child process.

    ``stopping`` is set when the parent asks it to stop, closes the pipe, or dies: the
    function should then clean up and return. It calls :meth:`ready` once it serves,
    with what the parent needs (an address), and may :meth:`answer` named questions.
    """

    def __init__(self, connection) -> None:
        self.stopping = threading.Event()
        self._connection = connection
        self._send_lock = threading.Lock()
        self._answers: dict[str, object] = {}

    def answer(self, name: str, function) -> None:
        """Answer the parent's ``ask(name, *args)`` with ``function(*args)``."""
        self._answers[name] = function

    def ready(self, info: object) -> None:
        """Tell the parent the server is up, and ``info`` (sent once)."""
        self._send(("ready", info))

    def _send(self, message: object) -> None:
        with self._send_lock, suppress(OSError, ValueError):
            self._connection.send(message)

    def watch(self, parent_pid: int) -> None:
        """In a daemon thread of the child: answer questions until told to stop, until the
        pipe closes, or until the parent is gone (then this process is an orphan)."""
        while not self.stopping.is_set():
            try:
                message = self._connection.recv() if self._connection.poll(PARENT_CHECK) \
                    else None
            except (EOFError, OSError):  # the parent closed its end, or died
                break
            if os.getppid() != parent_pid:  # the parent died: never outlive it
                break
            if message is None:
                continue
            if message[0] == "stop":
                break
            self._reply(message[1], message[2])
        self.stopping.set()

    def _reply(self, name: str, args: tuple) -> None:
        try:
            self._send(("answer", self._answers[name](*args)))
        except Exception as error:  # the question failed: the parent raises it
            self._send(("error", RuntimeError(f"{name}: {type(error).__name__}: {error}")))


def _child_main(serve, args: tuple, connection) -> None:
    """The child process: ignore the kernel's interrupt (the parent stops us), watch the
    parent, run ``serve(channel, *args)``; exit at once if it does not return in time."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ■ reaches the whole process group
    channel = ServerChannel(connection)
    parent = os.getppid()
    watcher = threading.Thread(target=channel.watch, args=(parent,), daemon=True,
                               name="ServerProcess-watch")
    watcher.start()

    def last_resort() -> None:  # a server that does not stop in time is ended
        channel.stopping.wait()
        time.sleep(CLOSE_TIMEOUT)
        os._exit(1)

    threading.Thread(target=last_resort, daemon=True, name="ServerProcess-deadline").start()
    try:
        serve(channel, *args)
    except BaseException as error:  # report a start-up failure to the parent
        channel._send(("error", _picklable(error)))
    finally:
        channel.stopping.set()
        with suppress(OSError):
            connection.close()


def _picklable(error: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error


class ServerProcess:
    """Run ``serve(channel, *args)`` in a child process: the measured process (the notebook's
    kernel) then shares neither its CPU time nor its GIL with the server.

    ``serve`` must be a module-level function (spawn and forkserver import it by name). It
    gets a :class:`ServerChannel`, calls ``channel.ready(info)`` once it serves, and returns
    when ``channel.stopping`` is set. :meth:`start` waits at most ``START_TIMEOUT`` seconds
    and returns ``info``; :meth:`ask` asks a question the child answers; :meth:`stop` ends
    it — politely, then terminate, then kill: never longer than about ``CLOSE_TIMEOUT`` + 2 s.

    The child never outlives its parent: it stops when asked, when the pipe to its parent
    closes, when its parent dies (it checks every ``PARENT_CHECK`` s), and at the parent's
    exit (a daemon process, plus :func:`weakref.finalize`). It ignores SIGINT: Jupyter's ■
    interrupts the kernel, which then stops the child. Works with every start method.
    """

    def __init__(self, serve, args: tuple = (), start_method: str | None = None,
                 name: str = "ServerProcess") -> None:
        self.start_method = resolve_start_method(start_method)
        context = multiprocessing.get_context(self.start_method)
        self._connection, child_end = context.Pipe()
        self._process = context.Process(target=_child_main, args=(serve, args, child_end),
                                        name=name, daemon=True)
        self._child_end = child_end
        self._pid: int | None = None
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _stop_process, self._process,
                                           self._connection, CLOSE_TIMEOUT)

    def start(self) -> object:
        """Start the child and wait (at most ``START_TIMEOUT`` s) until it serves."""
        with warnings.catch_warnings():  # fork while the kernel has threads: the child only
            warnings.simplefilter("ignore", DeprecationWarning)  # serves; nothing to fear
            self._process.start()
        self._pid = self._process.pid
        self._child_end.close()  # only the child holds that end now
        try:
            kind, info = self._receive(START_TIMEOUT, "start")
        except BaseException:
            self.stop()
            raise
        if kind != "ready":
            self.stop()
            raise info  # type: ignore[misc]
        return info

    def ask(self, name: str, *args: object) -> object:
        """The child's answer to ``name`` (a function it registered with ``answer``)."""
        with self._lock:
            if not self.alive:
                raise RuntimeError("the server process is not running")
            self._connection.send(("ask", name, args))
            kind, value = self._receive(REPLY_TIMEOUT, name)
        if kind == "error":
            raise value  # type: ignore[misc]
        return value

    def _receive(self, timeout: float, what: str) -> tuple[str, object]:
        try:
            if self._connection.poll(timeout):
                return self._connection.recv()
        except (EOFError, OSError):
            raise RuntimeError(f"the server process ended during {what}") from None
        raise TimeoutError(f"the server process did not answer {what} within {timeout:g} s")

    def stop(self) -> None:
        """Ask the child to stop, then make sure it is gone. Idempotent."""
        self._finalizer()

    @property
    def alive(self) -> bool:
        return self._finalizer.alive and self._process.is_alive()

    @property
    def pid(self) -> int | None:
        """The child's process id once started (kept after it ended)."""
        return self._pid


def _stop_process(process, connection, timeout: float) -> None:
    """Ask ``process`` to stop; join it; terminate, then kill it if it does not end."""
    with suppress(OSError, ValueError):
        connection.send(("stop",))
    if process.pid is not None:  # started
        process.join(timeout)
        end_process(process, grace=1.0)
    with suppress(OSError):
        connection.close()
    with suppress(ValueError):  # still running after kill: nothing more we can do
        process.close()


# --- the latency server's child process --------------------------------------------------

def serve_latency(channel: ServerChannel, host: str, latency_ms: float, payload_bytes: int,
                  pages: int, mode: str) -> None:
    """In the server process: serve in ``mode`` until ``channel.stopping``; answer the
    parent's questions about the counts and settings."""
    core = ServerCore(host, latency_ms, payload_bytes, pages)
    core.stopping = channel.stopping  # the parent's stop ends every latency wait too
    if mode == "asyncio":
        backend: HTTPServerBackend | _AsyncioBackend = _AsyncioBackend(core)
    else:
        backend = HTTPServerBackend(core, threaded=mode == "threading")
    backend.start()
    channel.answer("stats", core.stats.snapshot)
    channel.answer("reset", core.stats.reset)
    channel.answer("set", lambda name, value: setattr(core, name, value))
    channel.answer("cpu", lambda: sum(os.times()[:2]))
    channel.ready(backend.address)
    channel.stopping.wait()
    backend.stop(time.monotonic() + CLOSE_TIMEOUT)


# --- the public server -------------------------------------------------------------------

def check_loopback_host(host: object) -> str:
    """``host`` if it is an IPv4 loopback address (``localhost`` gives ``127.0.0.1``).

    The demo server must never be reachable from other machines, so anything
    else — ``0.0.0.0`` (every interface), a LAN address, a name — is refused.
    """
    if host == "localhost":
        return LOOPBACK
    try:
        address = ipaddress.ip_address(host) if isinstance(host, str) else None
    except ValueError:
        address = None
    if address is None or address.version != 4 or not address.is_loopback:
        raise ValueError(f"host must be an IPv4 loopback address such as '{LOOPBACK}' "
                         f"(127.0.0.0/8) or 'localhost', got {host!r}")
    return host  # type: ignore[return-value]


class LatencyServer:
    """A local HTTP server that answers each page request after ``latency_ms`` ms.

    ``latency_ms``     delay before each answer, 0 to 10 000 ms (changeable while running)
    ``payload_bytes``  size of each page's body, 0 to 10 000 000 (changeable while running)
    ``pages``          pages ``/page/0`` … ``/page/{pages-1}``, 1 to 10 000; others are 404
    ``mode``           ``"threading"``, ``"single"`` or ``"asyncio"`` (see the module doc)
    ``host``           an IPv4 loopback address; the port is a free one the OS picks
    ``start_method``   how its process starts (``None``: the lab's method, see ``settings``)

    Start it with ``with LatencyServer(...) as server:`` (or :meth:`start` and
    :meth:`close`). It serves from its own process (:class:`ServerProcess`), so the
    server's threads never wait for the notebook's GIL, nor the notebook's threads for
    the server's. Every answer says ``Connection: close``: one request per connection,
    the simplest thing for a client.
    """

    def __init__(self, latency_ms: float = 100, payload_bytes: int = 1024, pages: int = 100,
                 mode: str = "threading", host: str = LOOPBACK,
                 start_method: str | None = None) -> None:
        self._host = check_loopback_host(host)
        self._latency_ms = require_float("latency_ms", latency_ms, 0, MAX_LATENCY_MS)
        self._payload_bytes = require_int("payload_bytes", payload_bytes, 0, MAX_PAYLOAD_BYTES)
        self._pages = require_int("pages", pages, 1, MAX_PAGES)
        self.mode = require_choice("mode", mode, MODES)
        self._start_method = resolve_start_method(start_method)
        self._process: ServerProcess | None = None
        self._address: tuple[str, int] | None = None
        self._last_stats: dict[str, int] | None = None  # kept at close()

    # life cycle
    def start(self) -> LatencyServer:
        """Start the server process (at most ``START_TIMEOUT`` s); returns self."""
        if self._process is not None:
            if self.running:
                return self
            raise RuntimeError("this LatencyServer was closed; make a new one")
        self._process = ServerProcess(
            serve_latency, (self._host, self._latency_ms, self._payload_bytes, self._pages,
                            self.mode), self._start_method, name=f"LatencyServer-{self.mode}")
        address = self._process.start()  # stops the process itself if starting fails
        self._address = (str(address[0]), int(address[1]))  # type: ignore[index]
        return self

    def close(self) -> None:
        """Stop serving and end the server process (at most ~7 s). Idempotent."""
        if self._process is None or not self._process.alive:
            if self._process is not None:
                self._process.stop()
            return
        with suppress(RuntimeError, TimeoutError, OSError):
            self._last_stats = self._process.ask("stats")  # type: ignore[assignment]
        self._process.stop()

    def __enter__(self) -> LatencyServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()  # also on KeyboardInterrupt; the exception then carries on

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.alive

    @property
    def pid(self) -> int | None:
        """The server process's id (``None`` before :meth:`start`)."""
        return None if self._process is None else self._process.pid

    # where it is
    @property
    def address(self) -> tuple[str, int]:
        """(host, port) the listening socket is bound to."""
        if self._address is None:
            raise RuntimeError("the server is not started: use it in a with block or call start()")
        return self._address

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        return self.address[1]

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321/`` (its page is an index)."""
        host, port = self.address
        return f"http://{host}:{port}/"

    def page_url(self, page: int) -> str:
        """URL of page ``page`` (0 to ``pages - 1``)."""
        require_int("page", page, 0, self.pages - 1)
        return f"{self.url}page/{page}"

    def urls(self, n: int) -> list[str]:
        """``n`` page URLs, going round the pages: page 0, 1, …, pages-1, 0, …"""
        require_int("n", n, 0, MAX_URLS)
        return [self.page_url(i % self.pages) for i in range(n)]

    # settings
    @property
    def latency_ms(self) -> float:
        return self._latency_ms

    @latency_ms.setter
    def latency_ms(self, value: float) -> None:
        self._latency_ms = self._set("latency_ms",
                                     require_float("latency_ms", value, 0, MAX_LATENCY_MS))

    @property
    def payload_bytes(self) -> int:
        return self._payload_bytes

    @payload_bytes.setter
    def payload_bytes(self, value: int) -> None:
        self._payload_bytes = self._set(
            "payload_bytes", require_int("payload_bytes", value, 0, MAX_PAYLOAD_BYTES))

    def _set(self, name: str, value):
        if self.running:
            self._process.ask("set", name, value)  # type: ignore[union-attr]
        return value

    @property
    def pages(self) -> int:
        return self._pages

    # what it saw
    @property
    def requests(self) -> int:
        """Requests received since start or the last :meth:`reset_stats`."""
        return self.stats()["requests"]

    @property
    def in_flight(self) -> int:
        """Requests being handled right now (a client may read its answer a moment
        before the server counts that request as finished)."""
        return self.stats()["in_flight"]

    @property
    def peak_in_flight(self) -> int:
        """The most requests handled at the same moment since start or the last reset."""
        return self.stats()["peak_in_flight"]

    def stats(self) -> dict[str, int]:
        """requests, not_found, in_flight and peak_in_flight, read together (asked of the
        server process; after :meth:`close`, the counts it had then)."""
        if self.running:
            return dict(self._process.ask("stats"))  # type: ignore[union-attr, arg-type]
        if self._last_stats is not None:
            return dict(self._last_stats)
        return {"requests": 0, "not_found": 0, "in_flight": 0, "peak_in_flight": 0}

    def reset_stats(self) -> None:
        """Count from zero again (before each measurement of a sweep)."""
        if self.running:
            self._process.ask("reset")  # type: ignore[union-attr]
        self._last_stats = None

    def cpu_seconds(self) -> float:
        """CPU time (user + system, seconds) the server process has used so far."""
        if not self.running:
            raise RuntimeError("the server is not running")
        return float(self._process.ask("cpu"))  # type: ignore[union-attr, arg-type]

    def __repr__(self) -> str:
        where = self.url if self._address is not None else "not started"
        state = "running" if self.running else ("closed" if self._process else "new")
        return (f"<LatencyServer {self.mode} {where} latency {self.latency_ms:g} ms, "
                f"{self.payload_bytes} bytes, {self.pages} pages, {state}>")


# --- clients -----------------------------------------------------------------------------

class HTTPStatusError(OSError):
    """The server answered, but not with 200 OK (for example 404 for an unknown page).

    A redirect (3xx) is one of them: the clients follow none, since the ``Location`` it
    names may be off this machine. ``location`` keeps it, and the message names it.
    """

    def __init__(self, url: str, status: int, reason: str = "",
                 location: str | None = None) -> None:
        said = f"GET {url} answered {status} {reason}".rstrip()
        if location is not None:
            said += f", a redirect to {location!r}: not followed (these clients follow none)"
        super().__init__(said)
        self.url, self.status, self.reason, self.location = url, status, reason, location

    def __reduce__(self):  # so the error can come back from a worker process
        return type(self), (self.url, self.status, self.reason, self.location)


def split_local_url(url: object) -> tuple[str, int, str]:
    """(host, port, request target) of an ``http://`` URL on this machine."""
    parts = urlsplit(url) if isinstance(url, str) else None
    host = parts.hostname if parts else None
    loopback = host == "localhost"
    with suppress(ValueError):
        loopback = loopback or ipaddress.ip_address(host or "").is_loopback
    if parts is None or parts.scheme != "http" or not loopback:
        raise ValueError("url must be an http:// URL on this machine (127.0.0.1, localhost "
                         f"or ::1), such as LatencyServer.page_url(0); got {url!r}")
    try:
        port = parts.port or 80
    except ValueError:
        raise ValueError(f"url has a bad port: {url!r}") from None
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return host, port, target  # type: ignore[return-value]


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Follow no redirect: urllib then hands the 3xx answer on as an ``HTTPError``.

    urllib's default opener follows a ``Location`` wherever it points — to ``0.0.0.0`` or
    another machine — past the loopback check :func:`split_local_url` made on the URL."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001
        return None


# No proxy: a proxy set in the environment (http_proxy) must not see our local requests;
# no redirects: a request made to this machine stays on it.
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())


def get_body(url: str, timeout: float = 10.0) -> bytes:
    """GET ``url`` (on this machine, through no proxy) and return the body.

    ``timeout`` (seconds) bounds each wait (connecting, each read); ``TimeoutError`` after
    it. A status other than 200 raises :class:`HTTPStatusError` — a redirect too: it is
    not followed.
    """
    split_local_url(url)
    timeout = require_float("timeout", timeout, 0.001, MAX_TIMEOUT)
    try:
        with NO_PROXY.open(url, timeout=timeout) as response:
            if response.status != 200:  # another 2xx: urllib raises only from 300 up
                raise HTTPStatusError(url, response.status, str(response.reason))
            return response.read()
    except urllib.error.HTTPError as exc:
        location = exc.headers.get("Location") if 300 <= exc.code < 400 else None
        exc.close()
        raise HTTPStatusError(url, exc.code, str(exc.reason), location) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise TimeoutError(f"GET {url}: no answer within {timeout} s") from None
        raise
    except TimeoutError:
        raise TimeoutError(f"GET {url}: no answer within {timeout} s") from None


def fetch(url: str, timeout: float = 10.0) -> int:
    """GET ``url`` and return the number of bytes in the body.

    Uses the standard library's ``urllib``: nothing to install, and it blocks the
    calling thread while it waits — which is what threads are for. ``timeout``
    (seconds) bounds each wait (connecting, each read); ``TimeoutError`` after it.
    A status other than 200 raises :class:`HTTPStatusError` (a redirect is not followed).
    """
    return len(get_body(url, timeout))


async def get_body_async(url: str, timeout: float = 10.0) -> bytes:
    """GET ``url`` with asyncio streams and return the body.

    Standard library only, and written out by hand on purpose: no dependency
    to install, and you see everything an HTTP client does — open a connection,
    write the request, read the status line and headers, read the body. While
    it waits for the server, the event loop runs other coroutines. The whole
    request is bounded by ``timeout`` seconds (``TimeoutError`` after it).
    A status other than 200 raises :class:`HTTPStatusError` (a redirect is not followed).
    """
    host, port, target = split_local_url(url)
    timeout = require_float("timeout", timeout, 0.001, MAX_TIMEOUT)
    try:
        return await asyncio.wait_for(read_body(url, host, port, target), timeout)
    except asyncio.TimeoutError:  # on Python 3.10 not the built-in TimeoutError
        raise TimeoutError(f"GET {url}: no answer within {timeout} s") from None


async def fetch_async(url: str, timeout: float = 10.0) -> int:
    """GET ``url`` with asyncio (:func:`get_body_async`) and return the number of bytes in
    the body. While it waits for the server, the event loop runs other coroutines."""
    return len(await get_body_async(url, timeout))


async def read_body(url: str, host: str, port: int, target: str) -> bytes:
    """Open a connection, send one GET, read the status line, the headers and the body."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        writer.write(f"GET {target} HTTP/1.1\r\nHost: {netloc}\r\n"
                     "Connection: close\r\n\r\n".encode("ascii"))
        await writer.drain()
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        status_line, *header_lines = head.split("\r\n")
        _, status, reason = (status_line.split(" ", 2) + ["", ""])[:3]
        headers = {name.strip().lower(): value.strip()
                   for name, _, value in (line.partition(":") for line in header_lines if line)}
        if status != "200":  # a redirect too: never followed
            code = int(status) if status.isdigit() else 0
            location = headers.get("location") if 300 <= code < 400 else None
            raise HTTPStatusError(url, code, reason, location)
        if "content-length" in headers:
            return await reader.readexactly(int(headers["content-length"]))
        return await reader.read()  # no length given: the body ends when the server closes
    finally:
        writer.close()
        with suppress(OSError):
            await writer.wait_closed()
