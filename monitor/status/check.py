"""``gkwatch check``: every agency-year's status and findings, recomputed from what is stored (no network).

Which agency-years are judged: for each **active registered** agency (``Agency.active`` and not
``source = "discovered"``), every report year from the first year to the last one:

* first year = ``deadlines.first_year`` in config.yaml; else the earliest report year stored for any agency
  (not before 2019, the first year of the two national formats); else ``as_of.year - 1``;
* last year = ``as_of.year - 1`` — the latest year whose report can exist on ``as_of`` (a report covers a
  finished calendar year);
* ``year=`` (``gkwatch status --year``) keeps one of them.

The chosen report of an agency-year is the one with the earliest effective date (the portal's own date, else
our first sight) among all the Reports matched to it — a report published on several pages counts from its
first appearance. Its current version's findings plus the history findings (``monitor.status.history``) make the
row's findings; reviewers' dismissals (``FindingReview``) are respected by ``compute_status``.

Facts are gathered in a handful of set-based queries (agencies, reports, versions' findings, portal health,
reviews), never one query per agency, so 100,000 agency-years stay a matter of seconds.
"""

from __future__ import annotations

import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from domain.config import Config
from monitor.status.deadlines import EARLIEST_DEFAULT_YEAR, DeadlineEngine, today_shanghai
from monitor.status.history import ChosenReport, Key, chunks, collect_history_findings
from monitor.status.verdict import (
    BLOCKING_PROBLEMS,
    STATUSES,
    AgencyFacts,
    PortalHealth,
    ReportFacts,
    StatusRow,
    compute_status,
)
from storage.bulk import insert_rows
from storage.db import init_db, make_engine, session_scope
from storage.models import (
    Agency,
    AgencyYearStatus,
    CrawlProblem,
    FindingReview,
    ListingSnapshot,
    Report,
    ReportVersion,
)
from storage.registry import sync_registry
from storage.types import utcnow


@dataclass
class CheckResult:
    """What one ``gkwatch check`` computed and wrote."""

    rows: list[StatusRow]
    counts_by_status: dict[str, int]
    deactivated_agencies: list[str]  # registered before, gone from the registry now (history kept)
    duration_s: float
    as_of: date | None = None
    inconsistent: int = 0
    registry_changes: dict[str, list[str]] = field(default_factory=dict)


def report_years(session: Session, config: Config, as_of: date) -> range:
    """The report years judged as of ``as_of`` (see the module docstring)."""
    last = as_of.year - 1
    first = DeadlineEngine.from_config(config).first_year
    if first is None:
        stored = session.exec(select(func.min(Report.year)).where(Report.agency_id.is_not(None))).one()
        first = min(max(stored, EARLIEST_DEFAULT_YEAR), last) if stored is not None else last
    return range(first, last + 1)


def active_agencies(session: Session) -> list[AgencyFacts]:
    """Registered agencies still in the registry, in a stable order."""
    rows = session.exec(
        select(Agency.id, Agency.name, Agency.kind, Agency.region, Agency.portal_id)
        .where(Agency.active == True)  # noqa: E712
        .where(Agency.source != "discovered")
        .order_by(Agency.region, Agency.name, Agency.id)
    )
    return [AgencyFacts(*r) for r in rows]


def portal_health(session: Session) -> dict[str, PortalHealth]:
    """Per portal: the latest listing read fine, and the latest blocking problem (with its kind)."""
    last_ok = dict(
        session.exec(
            select(ListingSnapshot.portal_id, func.max(ListingSnapshot.fetched_at)).group_by(
                ListingSnapshot.portal_id
            )
        ).all()
    )
    latest = (
        select(CrawlProblem.portal_id, func.max(CrawlProblem.at).label("at"))
        .where(CrawlProblem.kind.in_(BLOCKING_PROBLEMS))
        .group_by(CrawlProblem.portal_id)
        .subquery()
    )
    problems: dict[str, tuple[Any, str]] = {}
    for portal_id, kind, at in session.exec(
        select(CrawlProblem.portal_id, CrawlProblem.kind, CrawlProblem.at)
        .join(latest, and_(CrawlProblem.portal_id == latest.c.portal_id, CrawlProblem.at == latest.c.at))
        .where(CrawlProblem.kind.in_(BLOCKING_PROBLEMS))
    ):
        problems[portal_id] = (at, kind)
    out = {}
    for portal_id in set(last_ok) | set(problems):
        at, kind = problems.get(portal_id, (None, None))
        out[portal_id] = PortalHealth(last_ok.get(portal_id), at, kind)
    return out


def dismissed_rules(session: Session) -> dict[Key, frozenset[str]]:
    found: dict[Key, set[str]] = defaultdict(set)
    for agency_id, year, rule in session.exec(
        select(FindingReview.agency_id, FindingReview.year, FindingReview.rule).where(
            FindingReview.verdict == "dismissed"
        )
    ):
        found[(agency_id, year)].add(rule)
    return {k: frozenset(v) for k, v in found.items()}


def choose_reports(
    session: Session, agencies: dict[str, AgencyFacts], years: range, deadlines: DeadlineEngine
) -> dict[Key, ChosenReport]:
    """The earliest-dated report of each agency-year (years from one before the first, for history)."""
    chosen: dict[Key, ChosenReport] = {}
    if not years:
        return chosen
    rows = session.exec(
        select(
            Report.agency_id,
            Report.year,
            Report.id,
            Report.url,
            Report.published,
            Report.published_evidence,
            Report.first_seen,
            Report.crawl_problem,
            Report.current_version_id,
            Report.listing_url,
        )
        .where(Report.agency_id.is_not(None))
        .where(Report.year >= years.start - 1)
        .where(Report.year < years.stop)
    )
    for agency_id, year, rid, url, published, evidence, first_seen, problem, vid, listing in rows:
        agency = agencies.get(agency_id)
        if agency is None:
            continue
        facts = ReportFacts(rid, url, published, evidence, first_seen, problem, vid)
        key = (agency_id, year)
        old = chosen.get(key)
        if old is None or _rank(facts) < _rank(old.facts):
            chosen[key] = ChosenReport(facts, listing, deadlines.deadline(agency.kind, agency.region, year))
    return chosen


def _rank(r: ReportFacts) -> tuple:
    return (r.effective_date, r.first_seen, r.report_id)


def version_findings(session: Session, version_ids: list[int]) -> dict[int, list[dict[str, Any]] | None]:
    """Each version's stored findings; None for a version the parser could not read."""
    out: dict[int, list[dict[str, Any]] | None] = {}
    for chunk in chunks(version_ids):
        for vid, findings, error in session.exec(
            select(ReportVersion.id, ReportVersion.findings, ReportVersion.error).where(
                ReportVersion.id.in_(chunk)
            )
        ):
            out[vid] = None if error else list(findings or [])
    return out


def iter_rows(
    session: Session, config: Config, *, as_of: date, year: int | None = None
) -> Iterator[StatusRow]:
    """The status rows, agency by agency (read-only)."""
    deadlines = DeadlineEngine.from_config(config)
    years = report_years(session, config, as_of)
    if year is not None:
        years = range(year, year + 1) if year in years else range(0)
    agency_list = active_agencies(session)
    agencies = {a.id: a for a in agency_list}
    chosen = choose_reports(session, agencies, years, deadlines)
    names = {a.id: a.name for a in agency_list}
    # status rows keep rule ids only: no messages
    history = collect_history_findings(session, chosen, names, as_of=as_of, years=years, messages=False)
    wanted = [c.facts.version_id for (_, y), c in chosen.items() if y in years and c.facts.version_id]
    findings = version_findings(session, wanted)
    health = portal_health(session)
    dismissed = dismissed_rules(session)
    for agency in agency_list:
        portal = health.get(agency.portal_id) if agency.portal_id else None
        for y in years:
            key = (agency.id, y)
            c = chosen.get(key)
            found = None
            if c is not None and c.facts.version_id is not None:
                stored = findings.get(c.facts.version_id)
                if stored is not None:
                    found = stored + history.get(key, [])
            yield compute_status(
                agency,
                y,
                c.deadline if c else deadlines.deadline(agency.kind, agency.region, y),
                as_of,
                c.facts if c else None,
                found,
                portal,
                dismissed.get(key, frozenset()),
            )


def compute_rows(
    session: Session, config: Config, *, as_of: date, year: int | None = None
) -> list[StatusRow]:
    """Every judged agency-year's ``StatusRow`` as of ``as_of`` (read-only; see the module docstring)."""
    return list(iter_rows(session, config, as_of=as_of, year=year))


def agency_history_findings(
    session: Session, config: Config, agency_id: str, *, as_of: date
) -> dict[int, list[dict[str, Any]]]:
    """One agency's history findings with their messages, by year — for its page on the web.

    Same rules as ``gkwatch check`` except ``copy.other_agency``, which needs every report of the year
    (its rule id is in the status row's findings all the same).
    """
    row = session.get(Agency, agency_id)
    if row is None:
        return {}
    agency = AgencyFacts(row.id, row.name, row.kind, row.region, row.portal_id)
    deadlines = DeadlineEngine.from_config(config)
    years = report_years(session, config, as_of)
    chosen = choose_reports(session, {agency.id: agency}, years, deadlines)
    found = collect_history_findings(session, chosen, {agency.id: agency.name}, as_of=as_of)
    return {year: f for (_, year), f in sorted(found.items()) if f}


def _status_record(row: StatusRow, as_of: date, now) -> dict[str, Any]:  # noqa: ANN001
    return {
        "agency_id": row.agency_id,
        "year": row.year,
        "agency": row.agency,
        "region": row.region,
        "kind": row.kind,
        "status": row.status,
        "due": row.due,
        "due_reason": row.due_reason,
        "published": row.published,
        "published_evidence": row.published_evidence,
        "first_seen": row.first_seen,
        "inconsistent": row.inconsistent,
        "findings": list(row.findings),
        "report_id": row.report_id,
        "report_url": row.report_url,
        "crawl_problem": row.crawl_problem,
        "as_of": as_of,
        "computed_at": now,
    }


def run_check(engine: Engine, config: Config, *, as_of: date | None = None, sync: bool = True) -> CheckResult:
    """Sync the registry (``sync=False`` skips it), recompute every row, and replace ``AgencyYearStatus``.

    Three steps, so that no write lock is held while rows are computed (on SQLite a crawl writing at the
    same time would otherwise wait): a short transaction syncs the registry; the rows are computed from a
    read-only snapshot; one transaction replaces the table — readers (the web page) see the old table until
    the new one is complete.
    """
    started = time.perf_counter()
    as_of = as_of or today_shanghai()
    changes = None
    if sync:
        with session_scope(engine) as session:
            changes = sync_registry(session, config)
    # The rows describe the data as of this instant: anything stored later makes them stale
    # (``monitor.status.table.stored_rows_current``), so the stamp is taken before reading.
    now = utcnow()
    with session_scope(engine) as session:
        rows = compute_rows(session, config, as_of=as_of)
    with session_scope(engine) as session:
        session.exec(delete(AgencyYearStatus))
        insert_rows(
            session.connection(), AgencyYearStatus.__table__, (_status_record(r, as_of, now) for r in rows)
        )
        gone = list(
            session.exec(
                select(Agency.id)
                .where(Agency.active == False)  # noqa: E712
                .where(Agency.source != "discovered")
                .order_by(Agency.id)
            )
        )
    counts = Counter(r.status for r in rows)
    return CheckResult(
        rows=rows,
        counts_by_status={s: counts.get(s, 0) for s in STATUSES},
        deactivated_agencies=gone,
        duration_s=time.perf_counter() - started,
        as_of=as_of,
        inconsistent=sum(1 for r in rows if r.inconsistent),
        registry_changes=(
            {k: list(getattr(changes, k)) for k in ("added", "updated", "deactivated", "reactivated")}
            if changes
            else {}
        ),
    )


def summary_lines(result: CheckResult) -> list[str]:
    """The short human summary ``gkwatch check`` prints."""
    lines = [
        f"gkwatch check as of {result.as_of}: {len(result.rows)} agency-years in {result.duration_s:.1f} s",
        "  " + " · ".join(f"{s} {result.counts_by_status.get(s, 0)}" for s in STATUSES),
        f"  inconsistent {result.inconsistent}",
    ]
    gone = result.deactivated_agencies
    if gone:
        shown = ", ".join(gone[:10]) + (" …" if len(gone) > 10 else "")
        lines.append(f"  {len(gone)} agencies gone from the registry: {shown}")
    return lines


def run_check_command(config: Config, as_of: date | None) -> int:
    """``gkwatch check [--as-of DATE]``."""
    engine = make_engine(config.database_url)
    try:
        init_db(engine)
        result = run_check(engine, config, as_of=as_of)
    finally:
        engine.dispose()
    for line in summary_lines(result):
        print(line, file=sys.stdout)
    return 0
