"""What the crawler saw: portals, agencies, crawl runs, fetches, listing snapshots, reports, their versions
and the crawl problems (trouble that is the crawler's, never the agency's)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models._fields import json_field as _json
from storage.models._fields import utc_field as _utc

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
    """One ``gkwatch crawl`` (or ``scrapy crawl portal``) process.

    While it runs it beats: ``heartbeat_at`` is renewed every ``storage.crawl_state.HEARTBEAT_SECONDS``.
    A run still ``running`` whose heartbeat is older than ``STALE_AFTER`` (or whose process is gone, on
    this host) is dead — killed, or its machine lost — whoever looks (``storage.crawl_state``).
    """

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = _utc(nullable=False)
    finished_at: datetime | None = _utc()
    portal_ids: list[str] = _json()
    status: str = "running"  # running | finished | failed | interrupted
    stats: dict = _json(dict)
    host: str | None = None  # the machine and process that run it: a dead one is recognized by them …
    pid: int | None = None
    heartbeat_at: datetime | None = _utc()  # … and, from anywhere, by a heartbeat that stopped


class PortalRead(SQLModel, table=True):
    """One crawl run's read of one portal's listing — the proof a ``missing`` verdict needs.

    ``complete`` is True only when every listing page the portal led to was fetched and read (pagination
    followed to its end, every sub-column) and no bound cut the read short. A run that was stopped (SIGTERM,
    a timeout, a kill), a listing page that failed, a page cap reached: ``complete`` stays False and
    ``end_reason`` says why — and no agency of that portal may be called ``missing`` on that read.
    """

    __table_args__ = (
        UniqueConstraint("run_id", "portal_id"),
        Index("ix_portalread_portal_time", "portal_id", "finished_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(index=True)
    portal_id: str
    started_at: datetime = _utc(nullable=False)
    finished_at: datetime | None = _utc()  # when its listing was read to the end (or given up)
    complete: bool = False
    listing_pages: int = 0  # listing pages read fine
    failed_pages: int = 0  # listing pages that could not be read
    report_links: int = 0  # report links the listing showed
    # finished | interrupted | limit | listing_failed | unreachable | blocked | robots | busy (another run
    # held the portal's lock: not read by this run)
    end_reason: str | None = None


class PortalLock(SQLModel, table=True):
    """One crawl per portal at a time: the run reading a portal holds its row (``storage.crawl_state``).

    Taken when a run starts (a run that finds a portal locked by a live run skips it and says so), renewed
    by the holder's heartbeat, released when it ends; a dead holder's lock (heartbeat stale, or its
    process gone on this host) is taken over.
    """

    portal_id: str = Field(primary_key=True)
    run_id: int
    host: str = ""
    pid: int = 0
    acquired_at: datetime = _utc(nullable=False)
    heartbeat_at: datetime = _utc(nullable=False)


class UrlState(SQLModel, table=True):
    """What the last full fetch of a report page or attachment returned, for conditional requests.

    A later sweep asks with ``If-None-Match`` / ``If-Modified-Since``; a 304 proves the document is still
    there unchanged (``checked_at`` advances, and the report's ``last_seen``) without its body. Known URLs
    checked recently are not asked again before ``crawl.revalidate_known_after_days``.
    """

    url: str = Field(primary_key=True)
    portal_id: str = Field(index=True)
    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None  # of the body the validators belong to
    size: int = 0
    fetched_at: datetime = _utc(nullable=False)  # last 200 with a body
    checked_at: datetime = _utc(nullable=False)  # last 200 or 304


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
    run_id: int | None = Field(default=None, index=True)  # the crawl run whose PortalRead it belongs to


class Report(SQLModel, table=True):
    """One report as published at one URL (a report page, or an attachment linked from a listing).

    The crawler stores what the portal said about it (title, column, 发布机构, the dates as printed);
    which agency and year it stands for is decided by ``crawler.reading.attribution`` once its document
    has been read, and its publication date by ``monitor.status.publication`` at every check.
    """

    __table_args__ = (UniqueConstraint("url"), Index("ix_report_agency_year", "agency_id", "year"))

    id: int | None = Field(default=None, primary_key=True)
    url: str
    portal_id: str = Field(index=True)
    agency_id: str | None = None  # None: an agency not in the registry (kept as discovered)
    agency_name: str | None = None  # the name the portal or the document gives
    attributed_by: str | None = None  # title | document | content_source | column | title_guess …
    year: int | None = None  # the year the report covers
    year_source: str | None = None  # title | document | column | url
    title: str | None = None  # the page's own title (ArticleTitle), else the listing's link text
    link_text: str | None = None  # the listing's link text, as printed
    column: str | None = None  # the sub-column(s) it was listed under
    content_source: str | None = None  # the page's 发布机构 / ContentSource
    listing_url: str | None = None
    attachment_urls: list[str] = _json()
    # Publication evidence as printed (the date itself is decided at check time, monitor.status.publication)
    pub_meta: str | None = None  # raw PubDate meta
    pub_text: str | None = None  # raw visible 发布日期 / date beside the link
    pub_header: str | None = None  # raw Last-Modified of the attachment
    listing_date: str | None = None  # raw date printed beside its link in the listing
    # every set of dates printed for it, each with when first seen: a re-upload's new date keeps the first
    pub_history: list = _json()
    first_seen: datetime = _utc(nullable=False)
    last_seen: datetime = _utc(nullable=False)
    last_changed: datetime | None = _utc()  # when a new version (different bytes) was first seen
    current_version_id: int | None = None
    crawl_problem: str | None = None  # the report could not be fetched (unreachable, blocked, too large …)


class ReportVersion(SQLModel, table=True):
    """One distinct content of a report (its document's bytes, by sha256); its reading is the ``Reading``
    of the same sha256."""

    __table_args__ = (UniqueConstraint("report_id", "sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(index=True)
    sha256: str = Field(index=True)  # of the document's bytes (the attachment where the report is one)
    fetch_id: int | None = None
    document_url: str | None = None
    fetched_at: datetime = _utc(nullable=False)


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
