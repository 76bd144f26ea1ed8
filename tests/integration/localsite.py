"""A tiny portal server for crawler tests: one loopback host, a dict of routes, and the faults we need.

Used where the full simulator (``testbed.simulator``) would be too much: engine tests of one behaviour
(a reset, a truncated body, a stream larger than the cap, a slow page for kill-mid-way tests).
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from testbed.loopback import LoopbackServer

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


class LocalSite(LoopbackServer):
    """Serve ``routes`` (path, or path?query → handler) on ``host`` at a free port, in a daemon thread."""

    def __init__(self, host: str, routes: dict[str, Handler]):
        super().__init__(host)
        self.routes = dict(routes)
        self.hits: list[str] = []
        self.user_agents: set[str] = set()

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        self.hits.append(h.path)
        self.user_agents.add(h.headers.get("User-Agent", ""))
        handler = self.routes.get(h.path) or self.routes.get(urlsplit(h.path).path)
        if handler is None:
            page("<html>404</html>", status=404)(h)
            return
        handler(h)
