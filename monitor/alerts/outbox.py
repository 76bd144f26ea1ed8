"""The outbox: every message is a database row before it is mail, so an SMTP outage loses nothing.

Queueing happens in the caller's transaction, together with whatever state says "this was notified"
(``AlertState``): either both are committed or neither, so a crash can neither lose nor double a notice.

Delivery (``deliver_outbox``) claims due rows first — a conditional UPDATE of ``claimed_until`` whose row
count says who won, plus ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so concurrent workers do not even wait on
each other — then sends each with ``smtplib`` and marks ``sent_at`` at once. A failure adds one attempt and
pushes ``next_attempt_at`` out exponentially (capped); a row is never dropped. The only window for a
duplicate is a crash between the server's "250 OK" and our commit; the Message-ID is fixed at queue time
and reused on every attempt, so a receiving system can drop such a duplicate.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from domain.config import Config, SmtpConfig
from domain.text import clean_text, header_value
from monitor.alerts.channels import apprise_url_for_key, send_apprise
from storage.db import session_scope
from storage.models import Outbox
from storage.types import utcnow

log = logging.getLogger(__name__)

BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=6)
CLAIM_MIN = timedelta(minutes=15)  # a claim outlives a worker that died mid-batch, then the row is due again

CLAIM_ROUNDS = 10

SessionSource = Engine | Callable[[], Session]


@dataclass
class DeliveryResult:
    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def claimed(self) -> int:
        return self.sent + self.failed


def new_message_id(from_addr: str) -> str:
    domain = from_addr.rpartition("@")[2] or "gkwatch.invalid"
    return make_msgid(domain=clean_text(domain, max_len=200))


def enqueue(
    session: Session,
    *,
    dedupe_key: str,
    recipient: str,
    subject: str,
    body_text: str,
    body_html: str | None,
    from_addr: str,
    kind: str = "digest",
    channel: str = "email",
    now: datetime | None = None,
) -> Outbox | None:
    """Add a message to the caller's transaction; None when that ``dedupe_key`` is already queued."""
    if session.exec(select(Outbox.id).where(Outbox.dedupe_key == dedupe_key)).first() is not None:
        return None
    now = now or utcnow()
    row = Outbox(
        dedupe_key=dedupe_key,
        channel=channel,
        recipient=recipient,
        kind=kind,
        subject=header_value(subject),
        body_text=body_text,
        body_html=body_html,
        message_id=new_message_id(from_addr),
        created_at=now,
        next_attempt_at=now,
    )
    session.add(row)
    return row


def build_email(row: Outbox, from_addr: str) -> EmailMessage:
    """The message as sent: plain text and HTML alternatives, every header value a single clean line."""
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = header_value(from_addr)
    msg["To"] = header_value(row.recipient)
    msg["Subject"] = header_value(row.subject)
    msg["Date"] = format_datetime(row.created_at)
    msg["Message-ID"] = header_value(row.message_id)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(row.body_text)
    if row.body_html:
        msg.add_alternative(row.body_html, subtype="html")
    return msg


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after the 1st, 2nd, 3rd … failure, at most ``BACKOFF_CAP``."""
    return min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(0, attempts - 1)))


def claim_length(smtp_timeout_s: float, max_batch: int) -> timedelta:
    """Long enough for the slowest possible batch, so a claim never lapses while its worker still sends."""
    return max(CLAIM_MIN, timedelta(seconds=2 * smtp_timeout_s * max_batch))


def claim_due(
    source: SessionSource, now: datetime, max_batch: int, claim_for: timedelta = CLAIM_MIN
) -> list[Outbox]:
    """Claim up to ``max_batch`` due, unsent rows for this worker; rows another worker holds are skipped."""
    with session_scope(source) as s:
        pg = s.get_bind().dialect.name == "postgresql"
        claimed: list[int] = []
        for _ in range(CLAIM_ROUNDS):  # rows another worker won are skipped by the next round's query
            q = (
                select(Outbox.id)
                .where(Outbox.sent_at.is_(None))
                .where(Outbox.next_attempt_at <= now)
                .where(or_(Outbox.claimed_until.is_(None), Outbox.claimed_until < now))
                .order_by(Outbox.next_attempt_at, Outbox.id)
                .limit(max_batch - len(claimed))
            )
            ids = list(s.exec(q.with_for_update(skip_locked=True) if pg else q))
            for row_id in ids:
                res = s.exec(
                    update(Outbox)
                    .where(Outbox.id == row_id)
                    .where(Outbox.sent_at.is_(None))
                    .where(or_(Outbox.claimed_until.is_(None), Outbox.claimed_until < now))
                    .values(claimed_until=now + claim_for)
                )
                if res.rowcount == 1:
                    claimed.append(row_id)
            if not ids or len(claimed) >= max_batch:
                break
        rows = [r for r in (s.get(Outbox, i) for i in claimed) if r is not None]
        for r in rows:
            s.expunge(r)  # usable after commit whatever the factory's expire_on_commit
    return rows


def _mark_sent(source: SessionSource, row_id: int, now: datetime) -> None:
    with session_scope(source) as s:
        s.exec(
            update(Outbox)
            .where(Outbox.id == row_id)
            .values(sent_at=now, claimed_until=None, attempts=Outbox.attempts + 1, last_error=None)
        )


def _mark_failed(source: SessionSource, row: Outbox, now: datetime, error: str) -> None:
    attempts = row.attempts + 1
    with session_scope(source) as s:
        s.exec(
            update(Outbox)
            .where(Outbox.id == row.id)
            .values(
                attempts=attempts,
                next_attempt_at=now + backoff(attempts),
                claimed_until=None,
                last_error=clean_text(error, max_len=1000),
            )
        )


class SmtpSender:
    """One SMTP connection for a batch, opened on first use, with starttls/ssl/login as configured."""

    def __init__(self, cfg: SmtpConfig) -> None:
        self.cfg = cfg
        self._conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        cfg = self.cfg
        if cfg.ssl:
            conn: smtplib.SMTP = smtplib.SMTP_SSL(
                cfg.host, cfg.port, timeout=cfg.timeout_seconds, context=ssl.create_default_context()
            )
        else:
            conn = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_seconds)
        conn.ehlo_or_helo_if_needed()
        if cfg.starttls and not cfg.ssl:
            conn.starttls(context=ssl.create_default_context())
            conn.ehlo()
        if cfg.username:
            conn.login(cfg.username, cfg.password or "")
        return conn

    def send(self, msg: EmailMessage, recipient: str) -> None:
        if self._conn is None:
            self._conn = self._connect()
        self._conn.send_message(msg, from_addr=self.cfg.from_addr, to_addrs=[recipient])

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.quit()
            except (smtplib.SMTPException, OSError):
                self._conn.close()
            self._conn = None


# Errors after which the rest of the batch would fail the same way (server down, auth refused).
_CONNECTION_ERRORS = (
    OSError,
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPConnectError,
    smtplib.SMTPAuthenticationError,
)


def deliver_outbox(
    session_factory_or_engine: SessionSource,
    config: Config,
    *,
    now: datetime | None = None,
    max_batch: int = 100,
) -> DeliveryResult:
    """Send what is due. Safe to run from several processes at once; returns what happened."""
    frozen = now
    now = now or utcnow()
    result = DeliveryResult()
    claim_for = claim_length(config.alerts.smtp.timeout_seconds, max_batch)
    rows = claim_due(session_factory_or_engine, now, max_batch, claim_for)
    if not rows:
        return result
    sender = SmtpSender(config.alerts.smtp)
    broken: str | None = None  # set once the SMTP server is unreachable: the rest of the batch waits
    try:
        for row in rows:
            assert row.id is not None
            error = broken
            if error is None:
                try:
                    _send_one(row, config, sender)
                except _CONNECTION_ERRORS as e:
                    error = broken = f"{type(e).__name__}: {e}"
                    sender.close()
                except (smtplib.SMTPException, RuntimeError, ValueError) as e:
                    error = f"{type(e).__name__}: {e}"
            if error is None:
                _mark_sent(session_factory_or_engine, row.id, frozen or utcnow())
                result.sent += 1
            else:
                _mark_failed(session_factory_or_engine, row, frozen or utcnow(), error)
                result.failed += 1
                result.errors.append(error)
                log.warning(
                    "outbox: %s to %s not delivered (attempt %d): %s",
                    row.kind,
                    row.recipient,
                    row.attempts + 1,
                    error,
                )
    finally:
        sender.close()
    return result


def _send_one(row: Outbox, config: Config, sender: SmtpSender) -> None:
    if row.channel == "email":
        sender.send(build_email(row, config.alerts.smtp.from_addr), row.recipient)
    elif row.channel == "apprise":
        url = apprise_url_for_key(config.alerts.apprise_urls, row.recipient)
        if url is None:
            raise RuntimeError("this Apprise URL is no longer in alerts.apprise_urls")
        send_apprise(url, row.subject, row.body_text)
    else:
        raise RuntimeError(f"unknown channel {row.channel!r}")
