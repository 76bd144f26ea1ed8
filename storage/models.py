"""The database tables.

Three groups, in this order:

* what the crawler saw — ``Portal``, ``Agency``, ``CrawlRun``, ``Fetch`` (one archived HTTP response),
  ``ListingSnapshot`` (which report links a listing page showed at a time: the evidence against
  backdating), ``Report`` (one published report, by URL) and ``ReportVersion`` (each distinct content of
  it, parsed), ``CrawlProblem`` (trouble that is the crawler's, not the agency's);
* what the monitor concluded — ``AgencyYearStatus``;
* what people and mail did — ``AlertState``, ``Outbox``, ``FindingReview``, ``OperatorAction``.

Raw bytes never live in the database: ``Fetch.sha256`` names a file in the archive (``storage.archive``).
Datetimes are timezone-aware UTC (``UTCDateTime``); dates (``published``, ``due``) are calendar dates in
Asia/Shanghai, as portals print them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


def _json(default_factory=list) -> Any:
    return Field(default_factory=default_factory, sa_column=Column(JSON, nullable=False))


def _utc(nullable: bool = True, index: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_column=Column(UTCDateTime(), nullable=True, index=index))
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=index))


# --- what the crawler saw ---------------------------------------------------------------------------


class Portal(SQLModel, table=True):
    """A government portal as configured (``portals:`` in config.yaml)."""

    id: str = Field(primary_key=True)
    name: str
    start_urls: list[str] = _json()
    allowed_domains: list[str] = _json()
    platform: str | None = None  # detected CMS family: trs | hanweb | generic
    updated_at: datetime = _utc(nullable=False)


class Agency(SQLModel, table=True):
    """An agency that must publish a report each year."""

    id: str = Field(primary_key=True)
    name: str = Field(index=True)
    aliases: list[str] = _json()
    kind: str = "department"  # department | township | government
    region: str = ""  # 山东省/淄博市/淄川区
    portal_id: str | None = Field(default=None, index=True)
    source: str = "config"  # config | agencies_file | discovered
    active: bool = True  # False: listed in an earlier registry, gone from the current one
    registered_at: datetime = _utc(nullable=False)
    last_listed_at: datetime = _utc(nullable=False)


class CrawlRun(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = _utc(nullable=False)
    finished_at: datetime | None = _utc()
    portal_ids: list[str] = _json()
    status: str = "running"  # running | finished | failed | interrupted
    stats: dict = _json(dict)


class Fetch(SQLModel, table=True):
    """One HTTP response whose body is in the archive, with what the server said about it."""

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(index=True)
    final_url: str | None = None
    sha256: str = Field(index=True)
    size: int = 0
    http_status: int = 200
    content_type: str | None = None
    headers: dict = _json(dict)
    fetched_at: datetime = _utc(nullable=False)
    portal_id: str | None = Field(default=None, index=True)
    run_id: int | None = Field(default=None, index=True)


class ListingSnapshot(SQLModel, table=True):
    """The report links a listing page showed when fetched: proof of what was (not) there on that day."""

    id: int | None = Field(default=None, primary_key=True)
    portal_id: str = Field(index=True)
    url: str = Field(index=True)
    fetched_at: datetime = _utc(nullable=False, index=True)
    sha256: str | None = None
    report_urls: list[str] = _json()


class Report(SQLModel, table=True):
    """One report as published at one URL (a report page, or an attachment linked from a listing)."""

    __table_args__ = (UniqueConstraint("url"), Index("ix_report_agency_year", "agency_id", "year"))

    id: int | None = Field(default=None, primary_key=True)
    url: str
    portal_id: str = Field(index=True)
    agency_id: str | None = None  # None: an agency not in the registry (kept as discovered)
    agency_name: str | None = None  # the name the portal or the document gives
    year: int | None = None  # the year the report covers
    title: str | None = None
    listing_url: str | None = None
    attachment_urls: list[str] = _json()
    # Publication evidence, strongest first: page_meta | page_text | http_header | first_seen.
    published: date | None = None
    published_evidence: str | None = None
    pub_meta: str | None = None  # raw PubDate meta
    pub_text: str | None = None  # raw visible 发布日期 / date beside the link
    pub_header: str | None = None  # raw Last-Modified of the attachment
    first_seen: datetime = _utc(nullable=False)
    last_seen: datetime = _utc(nullable=False)
    last_changed: datetime | None = _utc()  # when a new version (different bytes) was first seen
    current_version_id: int | None = None
    crawl_problem: str | None = None  # parse_failed … for this report


class ReportVersion(SQLModel, table=True):
    """One distinct content of a report, with what the parser made of it."""

    __table_args__ = (UniqueConstraint("report_id", "sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(index=True)
    sha256: str  # of the parsed document's bytes (the attachment where the report is one)
    fetch_id: int | None = None
    document_url: str | None = None
    fetched_at: datetime = _utc(nullable=False)
    format: str | None = None
    template: str | None = None
    year: int | None = None
    agency_name: str | None = None
    title: str | None = None
    cells: dict = _json(dict)
    findings: list[dict] = _json()
    prose: str | None = None  # the report's words, for copy detection
    error: str | None = None


class CrawlProblem(SQLModel, table=True):
    """Trouble reading a portal: unreachable | blocked | robots | parse_failed (never the agency's fault)."""

    id: int | None = Field(default=None, primary_key=True)
    run_id: int | None = Field(default=None, index=True)
    portal_id: str = Field(index=True)
    agency_id: str | None = None
    url: str
    kind: str
    detail: str = ""
    at: datetime = _utc(nullable=False)


# --- what the monitor concluded -----------------------------------------------------------------------


class AgencyYearStatus(SQLModel, table=True):
    """The status object of the contract, as last computed by ``gkwatch check``."""

    agency_id: str = Field(primary_key=True)
    year: int = Field(primary_key=True)
    agency: str = ""
    region: str = Field(default="", index=True)
    kind: str = "department"
    status: str = Field(default="unknown", index=True)  # not_due | on_time | late | missing | unknown
    due: date | None = None
    due_reason: str = ""
    published: date | None = None
    published_evidence: str | None = None
    first_seen: datetime | None = _utc()
    inconsistent: bool | None = None
    findings: list[str] = _json()
    report_id: int | None = None
    report_url: str | None = None
    crawl_problem: str | None = None
    as_of: date | None = None
    computed_at: datetime = _utc(nullable=False)


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
