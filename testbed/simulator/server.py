"""Serving one simulated portal over real HTTP on its own loopback address.

Each portal gets a ``ThreadingHTTPServer`` bound to (127.0.0.N, a free port) in a daemon thread. The
server knows nothing about CMS families: it asks its site for a ``Response`` and then misbehaves on
purpose where the response says so (hang, reset, truncate, stream 200 MB) or where the portal's state
says so (down → 503, blocked → a 访问验证 page, refused → nothing listens).
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import BinaryIO, Protocol
from urllib.parse import parse_qsl, urlsplit

log = logging.getLogger(__name__)

STATES = ("ok", "down", "blocked", "refused")
HTML = "text/html"


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    stream: Callable[[BinaryIO], None] | None = None  # writes the body itself (huge or slow bodies)
    length: int | None = None  # the Content-Length to declare, when not len(body)
    fault: str | None = None  # "reset" | "hang" | "truncate"
    hang_seconds: float = 0.0


class Site(Protocol):
    def handle(self, method: str, path: str, query: dict[str, str]) -> Response | None: ...


def http_date(when: datetime) -> str:
    """An aware instant as an HTTP date (Last-Modified)."""
    return format_datetime(when.astimezone(UTC), usegmt=True)


def text_response(text: str, status: int = 200, content_type: str = "text/plain; charset=utf-8") -> Response:
    return Response(status=status, body=text.encode("utf-8"), content_type=content_type)


NOT_FOUND = text_response("404 Not Found", 404)

CAPTCHA_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>访问验证</title></head>
<body><div class="verify-wrap"><h2>安全验证</h2>
<p>您的访问过于频繁，请完成下方滑动验证后继续访问。</p>
<div id="nc" class="slide-verify">请按住滑块，拖动到最右边</div>
<p class="tip">如有疑问请联系网站管理员。</p>
<script src="/waf/captcha.js"></script></div></body></html>
"""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: faults cannot leak into the next request

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._serve("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve("HEAD")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if method == "POST":  # Hanweb's jpage posts its column parameters
            n = int(self.headers.get("Content-Length") or 0)
            if n:
                query.update(parse_qsl(self.rfile.read(n).decode("utf-8", "replace"), keep_blank_values=True))
        try:
            response = self.server.host.respond(method, parts.path, query)
            self._send(method, response)
        except (ConnectionError, TimeoutError, BrokenPipeError):
            pass  # the client went away (size caps, timeouts): nothing to do
        except Exception:  # a bug in a site must show up as a 500, not as a silent hang
            log.exception("simulator: %s %s failed", method, self.path)
            try:
                self._send(method, text_response("500 Internal Server Error", 500))
            except OSError:
                pass

    def _send(self, method: str, r: Response) -> None:
        if r.fault == "reset":
            # SO_LINGER 0 makes close() send RST: the client sees "connection reset by peer"
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            return
        if r.fault == "hang":
            self.server.host.stopping.wait(r.hang_seconds)
        self.send_response(r.status)
        self.send_header("Content-Type", r.content_type)
        self.send_header("Server", "nginx")
        for k, v in r.headers.items():
            self.send_header(k, v)
        length = r.length if r.length is not None else (None if r.stream else len(r.body))
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        if method == "HEAD":
            return
        if r.stream:
            r.stream(self.wfile)
        elif r.fault == "truncate":
            self.wfile.write(r.body)
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        else:
            self.wfile.write(r.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], host: PortalHost) -> None:
        self.host = host
        super().__init__(address, _Handler)


class PortalHost:
    """One loopback address serving one site, with a state the scenario hooks can change."""

    def __init__(
        self,
        address: str,
        site: Site,
        *,
        state: str = "ok",
        robots: str = "",
        blocked_403_prefixes: tuple[str, ...] = (),
    ) -> None:
        self.address = address
        self.site = site
        self.state = state
        self.robots = robots
        self.blocked_403_prefixes = blocked_403_prefixes
        self.port = 0
        self.hits: Counter[str] = Counter()  # path -> requests, for tests and the retry page
        self.stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://{self.address}:{self.port}"

    def start(self) -> None:
        self.stopping.clear()
        self._listen()

    def _listen(self) -> None:
        server = _Server((self.address, self.port), self)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"sim-{self.address}",
            daemon=True,
        )
        self._thread.start()

    def _close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def stop(self) -> None:
        self.stopping.set()  # wakes hanging handlers
        self._close()

    def set_state(self, state: str) -> None:
        if state not in STATES:
            raise ValueError(f"portal state must be one of {', '.join(STATES)}, not {state!r}")
        with self._lock:
            was, self.state = self.state, state
            if state == "refused" and was != "refused":
                self._close()
            elif was == "refused" and state != "refused":
                for _ in range(50):  # the old socket may linger a moment
                    try:
                        self._listen()
                        break
                    except OSError:
                        time.sleep(0.1)

    def respond(self, method: str, path: str, query: dict[str, str]) -> Response:
        with self._lock:
            self.hits[path] += 1
        if self.state == "down":
            return text_response("503 Service Temporarily Unavailable", 503, "text/html; charset=utf-8")
        if path == "/robots.txt":
            return text_response(self.robots)
        if self.state == "blocked":
            status = 403 if any(path.startswith(p) for p in self.blocked_403_prefixes) else 200
            return Response(status=status, body=CAPTCHA_PAGE.encode("utf-8"))
        return self.site.handle(method, path, query) or NOT_FOUND
