"""One agency-year's verdict, computed from facts already gathered.

This module is pure (no database): ``monitor.status.check`` gathers the facts in batches and calls
``compute_status`` once per agency-year, so the rules of judgement live in one readable place:

* ``not_due``  — the deadline has not passed (the due day itself is still open), published or not;
* ``on_time``  — past due, and the portal's own date (or, lacking one, our first sight) is on or before it;
* ``late``     — past due, published after the due date;
* ``missing``  — past due, the portal was read fine, and no report of that year is there;
* ``unknown``  — past due, no report, and the portal could not be read (its latest crawl trouble —
  unreachable, blocked, robots — is not older than its latest good read, or it was never read):
  the crawler's trouble is never blamed on the agency.

A report counts "as of" a day only if its publication date is on or before that day, so
``--as-of 2021-02-01`` does not credit a report published on 3 February.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from domain.clock import shanghai_date
from domain.codes import STATUSES
from monitor.judgement.findings import is_inconsistent
from monitor.status.deadlines import Deadline

__all__ = ["STATUSES", "AgencyFacts", "PortalHealth", "ReportFacts", "StatusRow", "compute_status"]

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


@dataclass(frozen=True, slots=True)
class ReportFacts:
    """A report of an agency-year with its publication evidence (``monitor.status.publication``)."""

    report_id: int
    url: str
    published: date | None  # the portal's own date; None where it gives none
    published_evidence: str | None
    first_seen: datetime
    crawl_problem: str | None = None
    version_id: int | None = None
    listing_url: str | None = None

    @property
    def effective_date(self) -> date:
        """The portal's own date; our first sight only where the portal gives none."""
        return self.published if self.published is not None else shanghai_date(self.first_seen)

    @property
    def evidence(self) -> str:
        return self.published_evidence or ("page_text" if self.published else "first_seen")


@dataclass(frozen=True)
class PortalHealth:
    last_ok: datetime | None  # latest listing page read fine
    last_problem_at: datetime | None = None  # latest unreachable | blocked | robots
    last_problem_kind: str | None = None

    def unreadable(self) -> str | None:
        """The problem kind when the portal cannot currently be trusted to show what is there."""
        if self.last_problem_at is not None and (
            self.last_ok is None or self.last_problem_at >= self.last_ok
        ):
            return self.last_problem_kind
        return None


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


def compute_status(
    agency: AgencyFacts,
    year: int,
    deadline: Deadline,
    as_of: date,
    report: ReportFacts | None,
    findings: list[dict[str, Any]] | None,
    portal: PortalHealth | None,
    dismissed: frozenset[str] = frozenset(),
    unreadable: bool = False,
) -> StatusRow:
    """The status of one agency-year.

    ``findings`` are the judged reading's findings plus every history finding (``None``: the report's
    document has no usable reading); ``dismissed`` are rule ids a reviewer dismissed for this agency-year;
    ``unreadable``: the report's document was read and could not be (``crawl_problem: parse_failed``).
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
    visible = report is not None and report.effective_date <= as_of
    if visible:
        assert report is not None
        row.published = report.effective_date
        row.published_evidence = report.evidence
        row.first_seen = report.first_seen
        row.report_id = report.report_id
        row.report_url = report.url
        row.version_id = report.version_id
        row.crawl_problem = report.crawl_problem or ("parse_failed" if unreadable else None)
        if findings is not None:
            kept = [f for f in findings if f.get("rule") not in dismissed]
            row.details = kept
            row.findings = sorted({f["rule"] for f in kept})
            row.inconsistent = is_inconsistent(kept)
        if deadline.is_past(as_of):
            row.status = "on_time" if deadline.is_met_by(report.effective_date) else "late"
        return row
    if not deadline.is_past(as_of):
        return row
    problem = portal.unreadable() if portal is not None else None
    if portal is None or portal.last_ok is None or problem:
        row.status = "unknown"
        row.crawl_problem = problem
    else:
        row.status = "missing"
    return row
