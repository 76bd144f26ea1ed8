"""What people and mail did: alert state, the outbox, finding reviews, the operators' audit trail."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models._fields import json_field as _json
from storage.models._fields import utc_field as _utc

# --- what people and mail did (monitor: alerts, outbox, reviews) -------------------------------------


class AlertState(SQLModel, table=True):
    """What subscribers were last told about one agency-year, so that mail goes out only on changes.

    Kept apart from ``AgencyYearStatus`` because ``gkwatch check`` rewrites that table wholesale, while this
    one must survive every recomputation.
    """

    agency_id: str = Field(primary_key=True)
    year: int = Field(primary_key=True)
    status: str | None = None
    inconsistent: bool | None = None
    version_id: int | None = None  # the report version last notified (a new one = changed after publication)
    notified_at: datetime = _utc(nullable=False)


class Outbox(SQLModel, table=True):
    """A message waiting to be delivered (or delivered): mail survives an SMTP outage by living here first.

    ``dedupe_key`` is unique: the same digest or operator notice can never be queued twice, and a row is
    claimed (``claimed_until``) before sending and marked ``sent_at`` right after the server accepts it.
    """

    __table_args__ = (UniqueConstraint("dedupe_key"),)

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str
    channel: str = "email"  # email | apprise
    recipient: str  # an address; for apprise the sha256 of the configured URL (no secrets stored)
    kind: str = "digest"  # digest | operator
    subject: str = ""
    body_text: str = ""
    body_html: str | None = None
    message_id: str = ""  # the same Message-ID on every attempt: receivers can drop a duplicate
    created_at: datetime = _utc(nullable=False)
    attempts: int = 0
    next_attempt_at: datetime = _utc(nullable=False, index=True)
    claimed_until: datetime | None = _utc()
    sent_at: datetime | None = _utc(index=True)
    last_error: str | None = None


class FindingReview(SQLModel, table=True):
    """A person's verdict on one finding of one agency-year (e.g. an OCR misreading dismissed).

    ``gkwatch check`` leaves a dismissed rule out of that agency-year's findings and ``inconsistent``.
    """

    __table_args__ = (UniqueConstraint("agency_id", "year", "rule"),)

    id: int | None = Field(default=None, primary_key=True)
    agency_id: str = Field(index=True)
    year: int
    rule: str
    verdict: str = "dismissed"  # dismissed | confirmed
    note: str = ""
    reviewer: str = ""
    at: datetime = _utc(nullable=False)


class OperatorAction(SQLModel, table=True):
    """One act of an operator: ``review`` of a finding or ``crawl`` request."""

    __table_args__ = (Index("ix_operatoraction_agency_year", "agency_id", "year"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _utc(nullable=False)
    username: str
    action: str  # review | crawl
    agency_id: str | None = None
    year: int | None = None
    rule: str | None = None
    verdict: str | None = None
    note: str = ""
    outcome: str = ""  # what happened: "started", "requested (no scheduler running)", …


class VerdictCorrection(SQLModel, table=True):
    """An operator's correction of a verdict's facts, with the reason — a wrong date, a wrong agency
    attribution, a report the crawler could not reach. ``gkwatch check`` applies the active ones (at once
    for the agency concerned: ``monitor.status.check.recheck_agency``); the page and the exports show each
    verdict that rests on one as corrected, with who, when and why. Every act is also in ``OperatorAction``.
    """

    __table_args__ = (Index("ix_verdictcorrection_agency_year", "agency_id", "year"),)

    id: int | None = Field(default=None, primary_key=True)
    agency_id: str
    year: int
    kind: str  # date | attribution | report (see monitor.status.corrections)
    published: date | None = None  # the correct publication date (date, report)
    report_url: str | None = None  # the report concerned (attribution: to credit here; report: where it is)
    reason: str
    username: str
    at: datetime = _utc(nullable=False)
    active: bool = True  # False once withdrawn or replaced by a later correction of the same kind


class OperatorAccount(SQLModel, table=True):
    """An operator who may log in to the web page (``gkwatch user add NAME``; config.yaml's ``web.users``
    seeds it). Only the scrypt hash is stored (``monitor.web.auth.hash_password``)."""

    username: str = Field(primary_key=True)
    password_hash: str
    source: str = "cli"  # cli | config | demo
    active: bool = True
    created_at: datetime = _utc(nullable=False)
    updated_at: datetime = _utc(nullable=False)


class Subscription(SQLModel, table=True):
    """A subscriber of the change digests, managed on the web page (config.yaml's ``alerts.subscribers``
    seeds it). An unsubscribed address stays here, inactive, so that the seed does not subscribe it again."""

    __table_args__ = (UniqueConstraint("email"),)

    id: int | None = Field(default=None, primary_key=True)
    email: str
    regions: list[str] = _json()  # region prefixes; empty = every region
    source: str = "web"  # web | config
    active: bool = True
    added_by: str = ""
    created_at: datetime = _utc(nullable=False)
    updated_at: datetime = _utc(nullable=False)
    unsubscribed_at: datetime | None = _utc()


class WebSession(SQLModel, table=True):
    """An operator's login on the web page, kept server-side so that logging out (or a timeout) ends it.

    The browser's cookie holds a random token; ``id`` is the token's sha256, so this table alone cannot be
    used to act as anyone. A session acts while ``ended_at`` is empty, it was used within
    ``web.session_idle_minutes`` (``last_seen_at``) and began within ``web.session_max_hours``.
    """

    id: str = Field(primary_key=True)  # sha256 hex of the cookie's token
    username: str
    created_at: datetime = _utc(nullable=False)
    last_seen_at: datetime = _utc(nullable=False)
    ended_at: datetime | None = _utc()
