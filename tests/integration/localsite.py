"""A tiny portal server for crawler tests: one loopback host, a dict of routes, and the faults we need.

Used where the full simulator (``testbed.simulator``) would be too much: engine tests of one behaviour
(a reset, a truncated body, a stream larger than the cap, a slow page for kill-mid-way tests).
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

Handler = Callable[[BaseHTTPRequestHandler], None]


def page(
    body: bytes | str, ctype: str = "text/html; charset=utf-8", status: int = 200, **headers: str
) -> Handler:
    data = body.encode("utf-8") if isinstance(body, str) else body

    def handle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            h.send_header(k.replace("_", "-"), v)
        h.end_headers()
        h.wfile.write(data)

    return handle


def slow(handler: Handler, seconds: float) -> Handler:
    def handle(h: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        handler(h)

    return handle


def reset(h: BaseHTTPRequestHandler) -> None:
    """Close the connection with a TCP RST, nothing sent."""
    h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.close_connection = True
    h.connection.close()


def truncated(h: BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "text/html; charset=utf-8")
    h.send_header("Content-Length", "100000")
    h.end_headers()
    h.wfile.write(b"<html><body>" + "年度报告".encode() * 10)
    h.wfile.flush()
    h.close_connection = True


def redirect(location: str, status: int = 302) -> Handler:
    def handle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()

    return handle


def endless(total: int, *, declare_length: bool) -> Handler:
    """A huge attachment streamed lazily (never built in memory); the client must stop at its cap."""

    def handle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/msword")
        if declare_length:
            h.send_header("Content-Length", str(total))
        h.end_headers()
        chunk = b"\0" * 65536
        sent = 0
        try:
            while sent < total:
                h.wfile.write(chunk)
                sent += len(chunk)
        except OSError:
            pass  # the crawler hung up at its size cap: what we want
        h.close_connection = True

    return handle


def _quiet(request, client_address) -> None:  # noqa: ANN001
    pass


class LocalSite:
    """Serve ``routes`` (path, or path?query → handler) on ``host`` at a free port, in a daemon thread."""

    def __init__(self, host: str, routes: dict[str, Handler]):
        self.host = host
        self.routes = dict(routes)
        self.hits: list[str] = []
        self.user_agents: set[str] = set()
        site = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: with Nagle on, a kept-alive connection waits for the
            # client's delayed ACK (~40 ms) before every body.
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

            def do_GET(self) -> None:  # noqa: N802
                site.hits.append(self.path)
                site.user_agents.add(self.headers.get("User-Agent", ""))
                parts = urlsplit(self.path)
                handler = site.routes.get(self.path) or site.routes.get(parts.path)
                if handler is None:
                    page("<html>404</html>", status=404)(self)
                    return
                handler(self)

        self._server = ThreadingHTTPServer((host, 0), _H)
        self._server.daemon_threads = True
        self._server.handle_error = _quiet  # a client hanging up is the point of several routes
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> LocalSite:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self._server.shutdown()
        self._server.server_close()
