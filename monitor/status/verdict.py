"""One agency-year's verdict, computed from facts already gathered — with the evidence that proves it.

This module is pure (no database): ``monitor.status.check`` gathers the facts in batches and calls
``compute_status`` once per agency-year, so the rules of judgement live in one readable place. The contract's
"No accusation without evidence" decides every verdict:

* ``not_due``  — the deadline has not passed (the due day itself is still open), published or not;
* ``on_time``  — the portal's own credible date is on or before the due date; or it gives none and gkwatch
  saw the report on or before the due date (``first_seen``);
* ``late``     — the portal's own credible date is after the due date; or it gives none, a complete read of the
  portal's listing after the due date did not have the report, and a later read did (``listing_absent``);
* ``undated``  — published, with no credible date and no such proof: whether on time cannot be shown (never
  counted late);
* ``missing``  — past due, no report, and the portal's listing was read completely (every page) after the
  due date: that read is the proof;
* ``unknown``  — past due, no report and no complete read after the due date (a crawl stopped, a page cap
  reached, the portal unreachable, blocked or forbidden by robots.txt); or the agency's report page was
  listed but could not be fetched and shows no date: the crawler's trouble, never blamed on the agency —
  and trouble with one agency's page is never blamed on the portal's other agencies.

Each row carries ``evidence``: the facts that prove its verdict, in a shape the page, the exports, the mail
and ``/api/status`` all show (``StatusRow.evidence``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from domain.clock import day_end_utc, shanghai_date
from domain.codes import BLOCKING_PROBLEMS, STATUSES
from monitor.judgement.findings import is_inconsistent
from monitor.status.deadlines import Deadline
from monitor.status.publication import Publication

__all__ = [
    "STATUSES",
    "AgencyFacts",
    "ListingRead",
    "PortalReads",
    "ReportFacts",
    "StatusRow",
    "compute_status",
]

# The keys of the contract's status object, in its order (`gkwatch status`, /api/status, exports).
CONTRACT_KEYS = (
    "agency_id",
    "agency",
    "region",
    "year",
    "status",
    "due",
    "published",
    "published_evidence",
    "days_late",
    "first_seen",
    "inconsistent",
    "findings",
    "report_url",
    "crawl_problem",
)


@dataclass(frozen=True)
class AgencyFacts:
    id: str
    name: str
    kind: str
    region: str
    portal_id: str | None


@dataclass(frozen=True)
class Trouble:
    """A failed request: what the crawler could not read, and why."""

    kind: str  # unreachable | blocked | robots | limit | incomplete …
    url: str
    detail: str
    at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "url": self.url, "detail": self.detail, "at": self.at.isoformat()}


@dataclass(frozen=True)
class ListingRead:
    """One crawl run's read of a portal's listing (``storage.models.PortalRead``)."""

    run_id: int
    started_at: datetime
    finished_at: datetime | None
    complete: bool
    pages: int = 0
    failed_pages: int = 0
    report_links: int = 0
    end_reason: str | None = None
    listing_urls: tuple[str, ...] = ()  # the listing pages it read (from its snapshots), for the evidence

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "complete": self.complete,
            "listing_pages": self.pages,
            "failed_pages": self.failed_pages,
            "report_links": self.report_links,
            "end_reason": self.end_reason,
            "listing_urls": list(self.listing_urls[:20]),
        }


@dataclass(frozen=True)
class PortalReads:
    """Every read of one portal's listing, oldest first, and its latest trouble."""

    reads: tuple[ListingRead, ...] = ()
    trouble: tuple[Trouble, ...] = ()  # latest first
    listed: dict[int, frozenset[str]] = field(
        default_factory=dict
    )  # run id -> report links its listing showed

    def lacked(self, read: ListingRead, url: str) -> bool:
        """Whether a read's listing did not show ``url`` (unknown runs: it cannot be shown that it did not)."""
        shown = self.listed.get(read.run_id)
        return shown is not None and url not in shown

    def complete_between(self, start: datetime, end: datetime) -> list[ListingRead]:
        """Complete reads that began at or after ``start`` and ended before ``end``, oldest first."""
        return [
            r
            for r in self.reads
            if r.complete and r.started_at >= start and r.finished_at is not None and r.finished_at < end
        ]

    def latest_before(self, end: datetime) -> ListingRead | None:
        earlier = [r for r in self.reads if r.started_at < end]
        return earlier[-1] if earlier else None


@dataclass(frozen=True)
class ReportFacts:
    """A report of an agency-year, with its publication evidence (``monitor.status.publication``)."""

    report_id: int
    url: str
    publication: Publication
    first_seen: datetime
    crawl_problem: str | None = None
    version_id: int | None = None
    listing_url: str | None = None
    trouble: Trouble | None = None  # the failed request behind ``crawl_problem``

    @property
    def published(self) -> date | None:
        """The portal's own credible date (None where it gives none)."""
        return self.publication.date

    @property
    def first_seen_day(self) -> date:
        return shanghai_date(self.first_seen)

    @property
    def effective_date(self) -> date:
        """The date it counts from: the portal's own where credible, else our first sight."""
        return self.published if self.published is not None else self.first_seen_day

    def summary(self) -> dict[str, Any]:
        return {
            "report_url": self.url,
            "published": self.published.isoformat() if self.published else None,
            "published_evidence": self.publication.evidence,
            "first_seen": self.first_seen.isoformat(),
        }


@dataclass(slots=True)  # 100,000 of them live through a check: slots halve their memory
class StatusRow:
    """The contract's status object plus what the database and the web page keep beside it."""

    agency_id: str
    agency: str
    region: str
    kind: str
    year: int
    status: str
    due: date
    due_reason: str
    published: date | None = None
    published_evidence: str | None = None
    first_seen: datetime | None = None
    inconsistent: bool | None = None
    findings: list[str] = field(default_factory=list)
    report_id: int | None = None
    report_url: str | None = None
    crawl_problem: str | None = None
    version_id: int | None = None  # the version judged (its reading gave ``details``)
    details: list[dict[str, Any]] = field(default_factory=list)  # the findings with messages and numbers
    evidence: dict[str, Any] = field(default_factory=dict)  # what proves the verdict

    @property
    def days_late(self) -> int | None:
        if self.status != "late" or self.published is None:
            return None
        return (self.published - self.due).days

    def to_contract(self) -> dict[str, Any]:
        """Exactly the contract's keys, in its order, JSON-ready."""
        return {
            "agency_id": self.agency_id,
            "agency": self.agency,
            "region": self.region,
            "year": self.year,
            "status": self.status,
            "due": self.due.isoformat(),
            "published": self.published.isoformat() if self.published else None,
            "published_evidence": self.published_evidence,
            "days_late": self.days_late,
            "first_seen": self.first_seen.isoformat() if self.first_seen else None,
            "inconsistent": self.inconsistent,
            "findings": list(self.findings),
            "report_url": self.report_url,
            "crawl_problem": self.crawl_problem,
        }


def _problem_of(read: ListingRead | None, reads: PortalReads | None) -> str | None:
    """The crawl problem code of a portal whose listing was not read completely."""
    if reads is not None and reads.trouble:
        latest = reads.trouble[0]
        if read is None or latest.at >= read.started_at:
            return latest.kind if latest.kind in BLOCKING_PROBLEMS else "incomplete"
    if read is None:
        return None  # never read at all: nothing to say but that (unknown)
    reason = read.end_reason or "incomplete"
    return reason if reason in BLOCKING_PROBLEMS else "incomplete"


def compute_status(
    agency: AgencyFacts,
    year: int,
    deadline: Deadline,
    as_of: date,
    report: ReportFacts | None,
    findings: list[dict[str, Any]] | None,
    reads: PortalReads | None,
    dismissed: frozenset[str] = frozenset(),
    unreadable: bool = False,
    others: tuple[ReportFacts, ...] = (),
    corrections: tuple[dict[str, Any], ...] = (),
) -> StatusRow:
    """The status of one agency-year, and its evidence.

    ``findings``: the judged reading's findings plus every history finding (``None``: the report's document
    has no usable reading); ``dismissed``: rule ids a reviewer dismissed for this agency-year; ``unreadable``:
    the report's document was read and could not be (``crawl_problem: parse_failed``); ``others``: the
    agency's other reports of the year (shown beside the chosen one); ``corrections``: operators'
    corrections in force for this agency-year (``monitor.status.corrections``), shown with the verdict.
    """
    row = StatusRow(
        agency_id=agency.id,
        agency=agency.name,
        region=agency.region,
        kind=agency.kind,
        year=year,
        status="not_due",
        due=deadline.due,
        due_reason=deadline.reason,
    )
    if corrections:
        row.evidence["corrections"] = list(corrections)
    until = day_end_utc(as_of)
    # "as of" a day counts a report from its own date (a season crawled years later is still judged by the
    # portal's dates), or from our first sight where it gives none
    if report is not None and report.effective_date <= as_of:
        _with_report(row, report, findings, deadline, as_of, reads, dismissed, unreadable, others)
        return row
    if not deadline.is_past(as_of):
        return row
    _without_report(row, deadline, until, reads)
    return row


def _with_report(
    row: StatusRow,
    report: ReportFacts,
    findings: list[dict[str, Any]] | None,
    deadline: Deadline,
    as_of: date,
    reads: PortalReads | None,
    dismissed: frozenset[str],
    unreadable: bool,
    others: tuple[ReportFacts, ...],
) -> None:
    row.first_seen = report.first_seen
    row.report_id = report.report_id if report.report_id > 0 else None  # < 0: reported by an operator
    row.report_url = report.url
    row.version_id = report.version_id
    row.crawl_problem = report.crawl_problem or ("parse_failed" if unreadable else None)
    pub = report.publication
    row.evidence["published"] = {
        "date": pub.date.isoformat() if pub.date else None,
        "evidence": pub.evidence,
        "quote": pub.quote,
        "source": pub.source,
        "printed": [p.to_json() for p in pub.printed],
        "first_seen": report.first_seen.isoformat(),
        "report_url": report.url,
    }
    if others:
        row.evidence["other_reports"] = [o.summary() for o in others]
    if report.trouble is not None:
        row.evidence["problem"] = report.trouble.to_json()
    if findings is not None:
        kept = [f for f in findings if f.get("rule") not in dismissed]
        row.details = kept
        row.findings = sorted({f["rule"] for f in kept})
        row.inconsistent = is_inconsistent(kept)
    if pub.date is not None:
        row.published, row.published_evidence = pub.date, pub.evidence
        if deadline.is_past(as_of):
            row.status = "on_time" if deadline.is_met_by(pub.date) else "late"
        return
    # The portal gives no credible date: only what gkwatch itself saw can prove anything.
    if report.first_seen < deadline.closes_at:
        row.published, row.published_evidence = report.first_seen_day, "first_seen"
        if deadline.is_past(as_of):
            row.status = "on_time"
        return
    if not deadline.is_past(as_of):
        return
    if report.trouble is not None and report.crawl_problem:
        row.status = "unknown"  # listed, but its page could not be read: it may carry a date we never saw
        return
    # a complete read after the due date whose listing did not show the report (a read that showed it but
    # ended before its page was fetched proves nothing)
    proof = (
        [
            r
            for r in reads.complete_between(deadline.closes_at, report.first_seen)
            if reads.lacked(r, report.url)
        ]
        if reads
        else []
    )
    if proof:
        row.status = "late"
        row.published, row.published_evidence = report.first_seen_day, "listing_absent"
        row.evidence["absence"] = proof[0].to_json()  # the first complete read after the due date lacked it
        return
    row.status = "undated"


def _without_report(row: StatusRow, deadline: Deadline, until: datetime, reads: PortalReads | None) -> None:
    """``missing`` only on a complete read of the listing after the due date — and only while no later read
    of it failed: a portal that stopped answering may hold a report published since (``unknown``)."""
    proof = reads.complete_between(deadline.closes_at, until) if reads else []
    latest = reads.latest_before(until) if reads else None
    if proof and latest is not None and (latest.complete or latest.started_at <= proof[-1].started_at):
        row.status = "missing"
        row.evidence["absence"] = proof[-1].to_json()  # the latest complete read after the due date
        row.evidence["complete_reads_after_due"] = len(proof)
        return
    row.status = "unknown"
    row.crawl_problem = _problem_of(latest, reads)
    if latest is not None:
        row.evidence["last_read"] = latest.to_json()
    if proof:
        row.evidence["last_complete_read"] = proof[-1].to_json()  # absent then; not read completely since
    if reads is not None and reads.trouble:
        row.evidence["problem"] = reads.trouble[0].to_json()
