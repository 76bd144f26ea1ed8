"""What the agency page shows, gathered in a handful of queries: each year's status and evidence, the
chosen report's current parsed version, the reviews and the audit trail."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, select

from monitor.web.audit import OperatorAction, current_reviews, trail_for_agency
from monitor.web.report_view import FindingView, TableView, finding_views, tables
from storage.archive import Archive
from storage.models import Agency, AgencyYearStatus, Fetch, Report, ReportVersion


@dataclass
class YearView:
    year: int
    status: AgencyYearStatus | None
    report: Report | None
    version: ReportVersion | None
    version_count: int
    archived: bool  # the version's bytes are in the archive (the "archived copy" link works)
    other_reports: list[Report] = field(default_factory=list)
    findings: list[FindingView] = field(default_factory=list)
    tables: list[TableView] = field(default_factory=list)


@dataclass
class AgencyPage:
    agency: Agency | None
    name: str
    region: str
    kind: str
    years: list[YearView]
    trail: list[OperatorAction]


def _current_version(versions: list[ReportVersion], report: Report) -> ReportVersion | None:
    if report.current_version_id is not None:
        for v in versions:
            if v.id == report.current_version_id:
                return v
    return max(versions, key=lambda v: (v.fetched_at, v.id or 0)) if versions else None


def agency_page(session: Session, archive: Archive, agency_id: str) -> AgencyPage | None:
    agency = session.get(Agency, agency_id)
    statuses = {
        s.year: s
        for s in session.exec(select(AgencyYearStatus).where(AgencyYearStatus.agency_id == agency_id))
    }
    reports = list(session.exec(select(Report).where(Report.agency_id == agency_id)))
    if agency is None and not statuses and not reports:
        return None
    versions_by_report: dict[int, list[ReportVersion]] = {}
    if reports:
        ids = [r.id for r in reports]
        for v in session.exec(select(ReportVersion).where(ReportVersion.report_id.in_(ids))):
            versions_by_report.setdefault(v.report_id, []).append(v)
    reviews = current_reviews(session, agency_id)

    years = sorted({*statuses, *(r.year for r in reports if r.year is not None)}, reverse=True)
    out: list[YearView] = []
    for year in years:
        status = statuses.get(year)
        year_reports = [r for r in reports if r.year == year]
        chosen = next((r for r in year_reports if status and r.id == status.report_id), None)
        if chosen is None and year_reports:
            chosen = min(
                year_reports, key=lambda r: (r.published is None, r.published or r.first_seen.date())
            )
        versions = versions_by_report.get(chosen.id, []) if chosen else []
        version = _current_version(versions, chosen) if chosen else None
        year_reviews = {rule: r for (y, rule), r in reviews.items() if y == year}
        vf = list(version.findings or []) if version else []
        out.append(
            YearView(
                year=year,
                status=status,
                report=chosen,
                version=version,
                version_count=len(versions),
                archived=bool(version and archive.has(version.sha256)),
                other_reports=[r for r in year_reports if r is not chosen],
                findings=finding_views(vf, list(status.findings or []) if status else [], year_reviews),
                tables=tables(version.template, version.cells or {}, vf) if version else [],
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
