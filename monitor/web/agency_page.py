"""What the agency page shows, gathered in a handful of queries: each year's stored verdict (the row
``gkwatch check`` wrote: its report, the version it judged and that version's findings), the reading of
that version (its tables, with the cells a finding names marked), the reviews and the audit trail.

The page never chooses a report itself: the stored row names the one that stands for the year
(``monitor.status.choice``); the agency's other reports of that year are listed beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, func, select

from crawler.reading.model import Reading as ReadingView
from monitor.web.audit import OperatorAction, current_corrections, current_reviews, trail_for_agency
from monitor.web.report_view import FindingView, TableView, finding_views, tables
from storage.archive import Archive
from storage.models import Agency, AgencyYearStatus, Fetch, Reading, Report, ReportVersion, VerdictCorrection


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


@dataclass
class AgencyPage:
    agency: Agency | None
    name: str
    region: str
    kind: str
    years: list[YearView]
    trail: list[OperatorAction]


def _readings(session: Session, versions: list[ReportVersion]) -> dict[str, ReadingView]:
    shas = [v.sha256 for v in versions]
    if not shas:
        return {}
    rows = session.exec(select(Reading).where(Reading.sha256.in_(shas)))
    return {r.sha256: ReadingView.from_row(r) for r in rows}


def agency_page(session: Session, archive: Archive, agency_id: str) -> AgencyPage | None:
    agency = session.get(Agency, agency_id)
    statuses = {
        s.year: s
        for s in session.exec(select(AgencyYearStatus).where(AgencyYearStatus.agency_id == agency_id))
    }
    reports = list(session.exec(select(Report).where(Report.agency_id == agency_id)))
    if agency is None and not statuses and not reports:
        return None
    by_id = {r.id: r for r in reports}
    judged = [s.version_id for s in statuses.values() if s.version_id is not None]
    versions = {
        v.id: v
        for v in (session.exec(select(ReportVersion).where(ReportVersion.id.in_(judged))) if judged else [])
    }
    readings = _readings(session, list(versions.values()))
    counts: dict[int, int] = {}
    if reports:
        counts = dict(
            session.exec(
                select(ReportVersion.report_id, func.count(ReportVersion.id))
                .where(ReportVersion.report_id.in_(list(by_id)))
                .group_by(ReportVersion.report_id)
            ).all()
        )
    reviews = current_reviews(session, agency_id)
    corrections = current_corrections(session, agency_id)

    years = sorted({*statuses, *(r.year for r in reports if r.year is not None)}, reverse=True)
    out: list[YearView] = []
    for year in years:
        status = statuses.get(year)
        report = by_id.get(status.report_id) if status and status.report_id is not None else None
        version = versions.get(status.version_id) if status and status.version_id is not None else None
        reading = readings.get(version.sha256) if version else None
        details = list(status.details or []) if status else []
        year_reviews = {rule: r for (y, rule), r in reviews.items() if y == year}
        out.append(
            YearView(
                year=year,
                status=status,
                report=report,
                version=version,
                reading=reading,
                version_count=counts.get(report.id, 0) if report else 0,
                archived=bool(version and archive.has(version.sha256)),
                other_reports=[r for r in reports if r.year == year and r is not report],
                findings=finding_views(details, list(status.findings or []) if status else [], year_reviews),
                tables=tables(reading.template, reading.values, details) if reading else [],
                corrections=corrections.get(year, []),
            )
        )
    first = next(iter(statuses.values()), None)
    return AgencyPage(
        agency=agency,
        name=agency.name if agency else (first.agency if first else agency_id),
        region=agency.region if agency else (first.region if first else ""),
        kind=agency.kind if agency else (first.kind if first else ""),
        years=out,
        trail=trail_for_agency(session, agency_id),
    )


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
