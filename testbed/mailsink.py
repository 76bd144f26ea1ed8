"""A local SMTP server that keeps every message it receives as an ``.eml`` file.

Used by ``gkwatch demo``: the demo sends its alert digests through the same SMTP code path as production
(outbox → smtplib), to this sink on 127.0.0.1, so that what a subscriber would receive can be opened in
any mail program — and nothing leaves the machine.
"""

from __future__ import annotations

import socket
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session


def free_port(host: str = "127.0.0.1") -> int:
    """A port that is free now (aiosmtpd cannot bind port 0 and report it back)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class _SaveToFolder:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session: Session, envelope: Envelope) -> str:  # noqa: ANN001, N802
        self.count += 1
        rcpt = "_".join(envelope.rcpt_tos)[:60].replace("/", "_").replace("@", "_at_")
        path = self.folder / f"{self.count:04d}-{rcpt}.eml"
        data = envelope.original_content or envelope.content
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        return "250 Message accepted for delivery"


class MailSink:
    """``with MailSink(folder) as sink: … sink.port …`` — an SMTP server on 127.0.0.1 writing .eml files."""

    def __init__(self, folder: Path, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.folder = Path(folder)
        self.host = host
        self.port = port or free_port(host)
        self.handler = _SaveToFolder(self.folder)
        self._controller: Controller | None = None

    @property
    def received(self) -> int:
        return self.handler.count

    def start(self) -> MailSink:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._controller = Controller(self.handler, hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> MailSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
