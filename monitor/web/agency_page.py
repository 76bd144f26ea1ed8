"""What the agency page shows, gathered in a handful of queries: each year's stored verdict (the row
``gkwatch check`` wrote: its report, the version it judged and that version's findings), the evidence of the
verdict in quotable Chinese (``monitor.status.wording``) with the archived listing snapshots it rests on, the
reading of that version (its tables, with the cells a finding names marked), the reviews and the audit trail.

The page never chooses a report itself: the stored row names the one that stands for the year
(``monitor.status.choice``); the agency's other reports of that year are listed beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, func, select, text

from crawler.reading.model import Reading as ReadingView
from monitor.status import wording
from monitor.web.audit import OperatorAction, current_corrections, current_reviews, trail_for_agency
from monitor.web.facts import facts
from monitor.web.report_view import FindingView, TableView, finding_views, tables
from storage.models import (
    Agency,
    AgencyYearStatus,
    Fetch,
    ListingSnapshot,
    Reading,
    Report,
    ReportVersion,
    VerdictCorrection,
)


@dataclass
class Snapshot:
    """A listing page as one crawl read it: the archived copy a reader can open."""

    url: str
    fetched_at: datetime
    sha256: str | None
    links: int


@dataclass
class Evidence:
    """One year's proof, structured for the page (``lines`` is the same in words, for quoting)."""

    sentence: str
    lines: list[str]
    consistency: wording.Consistency
    published: dict[str, Any] = field(default_factory=dict)
    absence: dict[str, Any] | None = None  # the complete read that lacked the report
    absence_kind: str = ""  # missing | listing_absent | last_complete_read
    snapshots: list[Snapshot] = field(default_factory=list)
    problem: dict[str, Any] | None = None
    problem_text: str = ""
    last_read: dict[str, Any] | None = None
    other_reports: list[dict[str, Any]] = field(default_factory=list)
    corrections: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class YearView:
    year: int
    status: AgencyYearStatus | None
    report: Report | None  # the report that stands for the year (the stored row's)
    version: ReportVersion | None  # the version judged
    reading: ReadingView | None  # what was read from it
    version_count: int
    archived: bool  # the version's bytes are in the archive (the "archived copy" link works)
    other_reports: list[Report] = field(default_factory=list)
    findings: list[FindingView] = field(default_factory=list)
    tables: list[TableView] = field(default_factory=list)
    corrections: list[VerdictCorrection] = field(default_factory=list)  # operators' corrections in force
    evidence: Evidence | None = None


@dataclass
class AgencyPage:
    agency: Agency | None
    name: str
    region: str
    kind: str
    years: list[YearView]
    trail: list[OperatorAction]


# the reading's columns the page shows (not the printed texts or the prose: the bulk of a row)
_READING_COLUMNS = (
    "sha256",
    "filename",
    "format",
    "template",
    "year",
    "title",
    "cell_values",
    "cell_marks",
    "error",
)


def _readings(conn, shas: list[str]) -> dict[str, ReadingView]:  # noqa: ANN001
    if not shas:
        return {}
    t = Reading.__table__.c
    rows = conn.execute(select(*(t[c] for c in _READING_COLUMNS)).where(t.sha256.in_(shas))).mappings()
    return {r["sha256"]: ReadingView.from_row(dict(r)) for r in rows}


def agency_page(session: Session, archive, agency_id: str, year: int | None = None) -> AgencyPage | None:  # noqa: ANN001
    """Every year of an agency (``year``: that one only — the agency-year page).

    Core queries, rows with attribute access (the page reads them as the model objects they mirror): a
    handful of indexed look-ups, no ORM bookkeeping."""
    conn = session.connection()
    A, S, R, V = (m.__table__.c for m in (Agency, AgencyYearStatus, Report, ReportVersion))
    agency = conn.execute(select(Agency.__table__).where(A.id == agency_id)).first()
    q_status = select(AgencyYearStatus.__table__).where(S.agency_id == agency_id)
    q_reports = select(Report.__table__).where(R.agency_id == agency_id)
    if year is not None:
        q_status = q_status.where(S.year == year)
        q_reports = q_reports.where(R.year == year)
    statuses = {s.year: s for s in conn.execute(q_status)}
    reports = list(conn.execute(q_reports))
    if agency is None and not statuses and not reports:
        return None
    by_id = {r.id: r for r in reports}
    judged = [s.version_id for s in statuses.values() if s.version_id is not None]
    versions = (
        {v.id: v for v in conn.execute(select(ReportVersion.__table__).where(V.id.in_(judged)))}
        if judged
        else {}
    )
    readings = _readings(conn, [v.sha256 for v in versions.values()])
    # versions per report: counted only where the report changed after publication (``last_changed``)
    changed = [r.id for r in reports if r.last_changed is not None]
    counts: dict[int, int] = {r.id: 1 for r in reports}
    if changed:
        counts.update(
            conn.execute(
                select(V.report_id, func.count(V.id)).where(V.report_id.in_(changed)).group_by(V.report_id)
            ).all()
        )
    acted = _acted_on(
        conn, agency_id
    )  # most agencies were never reviewed or corrected: one look for all three
    reviews = current_reviews(session, agency_id) if "review" in acted else {}
    corrections = current_corrections(session, agency_id) if "correction" in acted else {}

    years = sorted({*statuses, *(r.year for r in reports if r.year is not None)}, reverse=True)
    out: list[YearView] = []
    for y in years:
        status = statuses.get(y)
        report = by_id.get(status.report_id) if status and status.report_id is not None else None
        version = versions.get(status.version_id) if status and status.version_id is not None else None
        reading = readings.get(version.sha256) if version else None
        details = list(status.details or []) if status else []
        year_reviews = {rule: r for (yr, rule), r in reviews.items() if yr == y}
        out.append(
            YearView(
                year=y,
                status=status,
                report=report,
                version=version,
                reading=reading,
                version_count=counts.get(report.id, 0) if report else 0,
                archived=bool(version and archive.has(version.sha256)),
                other_reports=[r for r in reports if r.year == y and r is not report],
                findings=finding_views(details, list(status.findings or []) if status else [], year_reviews),
                tables=tables(reading.template, reading.values, details) if reading else [],
                corrections=corrections.get(y, []),
            )
        )
    _with_evidence(session, agency.portal_id if agency else None, out)
    first = next(iter(statuses.values()), None)
    return AgencyPage(
        agency=agency,
        name=agency.name if agency else (first.agency if first else agency_id),
        region=agency.region if agency else (first.region if first else ""),
        kind=agency.kind if agency else (first.kind if first else ""),
        years=out,
        trail=trail_for_agency(session, agency_id) if "act" in acted else [],
    )


def _acted_on(conn, agency_id: str) -> set[str]:  # noqa: ANN001
    """Which of reviews, corrections and operator acts an agency has (one indexed query for the three)."""
    rows = conn.execute(
        text(
            "SELECT 'review' FROM findingreview WHERE agency_id = :a "
            "UNION SELECT 'correction' FROM verdictcorrection WHERE agency_id = :a "
            "UNION SELECT 'act' FROM operatoraction WHERE agency_id = :a"
        ),
        {"a": agency_id},
    )
    return {r[0] for r in rows}


def row_of(s: AgencyYearStatus) -> dict[str, Any]:
    """A stored row as the mapping ``monitor.status.wording`` reads."""
    return {
        "status": s.status,
        "due": s.due,
        "published": s.published,
        "published_evidence": s.published_evidence,
        "first_seen": s.first_seen,
        "crawl_problem": s.crawl_problem,
        "evidence": s.evidence or {},
    }


def _with_evidence(session: Session, portal_id: str | None, years: list[YearView]) -> None:
    """Each year's evidence, and the listing snapshots of the reads it names (one query for them all)."""
    runs: set[int] = set()
    for y in years:
        s = y.status
        if s is None:
            continue
        ev = s.evidence or {}
        absence = ev.get("absence")
        kind = ("missing" if s.status == "missing" else "listing_absent") if absence else ""
        if absence is None and ev.get("last_complete_read"):
            absence, kind = ev["last_complete_read"], "last_complete_read"
        problem = ev.get("problem")
        y.evidence = Evidence(
            sentence=wording.verdict_sentence(row_of(s)),
            lines=wording.evidence_lines(row_of(s)),
            consistency=wording.consistency(s.inconsistent, s.details or s.findings or []),
            published=facts(ev.get("published") or {}),
            absence=facts(absence),
            absence_kind=kind,
            problem=facts(problem),
            problem_text=wording.problem_text(problem.get("kind"), problem.get("detail")) if problem else "",
            last_read=facts(ev.get("last_read")),
            other_reports=facts(list(ev.get("other_reports") or [])),
            corrections=facts(list(ev.get("corrections") or [])),
        )
        if absence and absence.get("run_id") is not None:
            runs.add(int(absence["run_id"]))
    if not runs or portal_id is None:
        return
    by_run: dict[int, list[Snapshot]] = {}
    for snap in session.exec(
        select(ListingSnapshot)
        .where(ListingSnapshot.run_id.in_(sorted(runs)), ListingSnapshot.portal_id == portal_id)
        .order_by(ListingSnapshot.fetched_at, ListingSnapshot.id)
    ):
        by_run.setdefault(snap.run_id, []).append(
            Snapshot(snap.url, snap.fetched_at, snap.sha256, len(snap.report_urls or []))
        )
    for y in years:
        if y.evidence and y.evidence.absence:
            y.evidence.snapshots = by_run.get(int(y.evidence.absence.get("run_id") or -1), [])


_EXTENSIONS = {
    "application/pdf": "pdf",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "text/html": "html",
    "text/plain": "txt",
}
_SAFE_SUFFIXES = {"pdf", "doc", "docx", "wps", "xls", "xlsx", "et", "html", "htm", "txt", "zip", "rar"}


def archive_filename(session: Session, sha256: str) -> str:
    """A download name from what the server said (ASCII only: the digest plus a known extension)."""
    fetch = session.exec(select(Fetch).where(Fetch.sha256 == sha256)).first()
    ext = "bin"
    if fetch is not None:
        suffix = (fetch.final_url or fetch.url).rsplit("?", 1)[0].rsplit(".", 1)[-1].lower()
        ctype = (fetch.content_type or "").split(";", 1)[0].strip().lower()
        ext = suffix if suffix in _SAFE_SUFFIXES else _EXTENSIONS.get(ctype, "bin")
    return f"{sha256[:16]}.{ext}"
