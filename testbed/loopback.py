"""A loopback HTTP server for the test and demo aids: one host, a free port, a daemon thread.

The hostile portal (``testbed.simulator.hostile``), the tests' small route servers and the replay of a real
portal all serve GET requests this way; each says only how a request is answered (``handle``).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LoopbackServer:
    """Subclass and define ``handle(h)``; ``with server:`` (or ``start()`` / ``close()``) runs it on ``base``."""

    def __init__(self, host: str = "127.0.0.1"):
        self.host = host
        site = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: with Nagle on, a kept-alive connection waits for the
            # client's delayed ACK (~40 ms) before every body.
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

            def do_GET(self) -> None:  # noqa: N802
                site.handle(self)

        self._server = ThreadingHTTPServer((host, 0), _H)
        self._server.daemon_threads = True
        # clients hanging up mid-answer is the point of several routes: no traceback on stderr for it
        self._server.handle_error = lambda request, client_address: None
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):  # noqa: ANN204 - the subclass itself
        return self.start()

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.close()
