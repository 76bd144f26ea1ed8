"""Fixtures shared by the alert, scheduler and service tests: databases, a real SMTP server, DB states."""

from __future__ import annotations

import socket
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from domain.config import AlertsConfig, Config, PortalConfig, SmtpConfig, Subscriber
from storage.db import init_db, make_engine
from storage.models import AgencyYearStatus

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def free_port(host: str = "127.0.0.1") -> int:
    """aiosmtpd cannot bind port 0, so ask the kernel for a free one first."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage = field(init=False)

    def __post_init__(self) -> None:
        self.message = message_from_bytes(self.raw, policy=policy.default)

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        return body.get_content()


class Collect:
    def __init__(self) -> None:
        self.received: list[Received] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


class SmtpServer:
    """A real SMTP server (aiosmtpd) on a fixed loopback port, startable and stoppable.

    With ``logins`` ({user: password}) it refuses mail from clients that did not log in (AUTH PLAIN/LOGIN).
    """

    def __init__(self, logins: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.handler = Collect()
        self.logins = logins
        self._controller: Controller | None = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data):  # noqa: ANN001
        ok = isinstance(auth_data, LoginPassword) and self.logins.get(auth_data.login.decode()) == (
            auth_data.password.decode()
        )
        return AuthResult(success=ok)

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def start(self) -> None:
        auth = {}
        if self.logins is not None:
            auth = {"authenticator": self._authenticate, "auth_required": True, "auth_require_tls": False}
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **auth)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp_server():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_down():
    """A server object whose port nothing listens on until the test calls ``start()``."""
    server = SmtpServer()
    yield server
    server.stop()


def make_config(tmp_path: Path, smtp_port: int, **alerts) -> Config:
    cfg = Config(path=tmp_path / "config.yaml", database_url=f"sqlite:///{tmp_path / 'gk.db'}")
    cfg.portals = [
        PortalConfig(id="zichuan", name="淄川区人民政府", start_urls=["http://127.0.0.1/"]),
        PortalConfig(id="huaihua", name="怀化市人民政府", start_urls=["http://127.0.0.2/"]),
    ]
    cfg.alerts = AlertsConfig(
        smtp=SmtpConfig(host="127.0.0.1", port=smtp_port, from_addr="gkwatch@example.org", timeout_seconds=5),
        subscribers=alerts.pop(
            "subscribers",
            [
                Subscriber("sd@example.org", ["山东省"]),
                Subscriber("hn@example.org", ["湖南省/怀化市"]),
                Subscriber("all@example.org", []),
            ],
        ),
        base_url="http://watch.example.org",
        **alerts,
    )
    return cfg


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'gk.db'}")
    init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL database for this test (dropped afterwards); skipped when no server answers."""
    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text("select 1"))
    except Exception as e:  # noqa: BLE001 - any failure to connect means: no server here
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 does not answer: {e.__class__.__name__}")
    name = f"gkwatch_h6_{uuid.uuid4().hex[:10]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_engine(pg_url) -> Engine:
    engine = make_engine(pg_url)
    init_db(engine)
    yield engine
    engine.dispose()


def status_row(
    agency_id: str,
    agency: str,
    region: str,
    status: str,
    *,
    year: int = 2022,
    inconsistent: bool | None = False,
    findings: list[str] | None = None,
    report_id: int | None = None,
    report_url: str | None = None,
    published: date | None = None,
    version_id: int | None = None,
) -> AgencyYearStatus:
    return AgencyYearStatus(
        agency_id=agency_id,
        year=year,
        agency=agency,
        region=region,
        status=status,
        due=date(year + 1, 1, 31),
        due_reason="department, 条例 art. 49",
        published=published,
        published_evidence="page_meta" if published else None,
        inconsistent=inconsistent,
        findings=findings or [],
        report_id=report_id,
        report_url=report_url,
        version_id=version_id,
        computed_at=datetime(2023, 3, 1, tzinfo=UTC),
    )
