"""``gkwatch check``: every agency-year's status and findings, recomputed from what is stored (no network).

Every rule runs again on the stored readings (``monitor.status.judging``), so a changed or new rule reaches
every stored report at the next check, without a crawl; ``gkwatch reparse`` does the same for a better reader.

Which agency-years are judged: for each **active registered** agency (``Agency.active`` and not
``source = "discovered"``), every report year from the first year to the last one:

* first year = ``deadlines.first_year`` in config.yaml; else the earliest report year stored for any agency
  (not before 2019, the first year of the two national formats); else ``as_of.year - 1``;
* last year = ``as_of.year - 1`` — the latest year whose report can exist on ``as_of`` (a report covers a
  finished calendar year);
* ``year=`` (``gkwatch status --year``) keeps one of them.

The report of an agency-year is chosen by ``monitor.status.choice.stands_for_year``; its findings and the
version judged are stored with the row, which the web page, the exports and the alerts read. Reviewers'
dismissals (``FindingReview``) are respected by ``compute_status``.

Facts are gathered in a handful of set-based queries (agencies, reports, readings in batches, portal
health, reviews), never one query per agency, so 100,000 agency-years stay a matter of seconds.
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

from domain.clock import today_shanghai
from domain.codes import BLOCKING_PROBLEMS, STATUSES
from domain.config import Config
from monitor.status.choice import stands_for_year
from monitor.status.deadlines import EARLIEST_DEFAULT_YEAR, DeadlineEngine
from monitor.status.judging import ChosenReport, Key, judge_chosen
from monitor.status.publication import choose_pubdate
from monitor.status.verdict import AgencyFacts, PortalHealth, ReportFacts, StatusRow, compute_status
from storage.bulk import insert_rows
from storage.db import init_db, make_engine, session_scope
from storage.models import (
    Agency,
    AgencyYearStatus,
    CrawlProblem,
    FindingReview,
    ListingSnapshot,
    Report,
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
    unread: int = 0  # chosen reports whose document has no reading yet (``gkwatch reparse``)
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


def report_facts(
    session: Session, agencies: dict[str, AgencyFacts], years: range
) -> dict[Key, list[ReportFacts]]:
    """Every report attributed to a judged agency-year (and the year before each, for history), with its
    publication evidence."""
    found: dict[Key, list[ReportFacts]] = defaultdict(list)
    if not years:
        return found
    rows = session.exec(
        select(
            Report.agency_id,
            Report.year,
            Report.id,
            Report.url,
            Report.pub_meta,
            Report.pub_text,
            Report.pub_header,
            Report.first_seen,
            Report.crawl_problem,
            Report.current_version_id,
            Report.listing_url,
        )
        .where(Report.agency_id.is_not(None))
        .where(Report.year >= years.start - 1)
        .where(Report.year < years.stop)
    )
    for agency_id, year, rid, url, meta, text, header, first_seen, problem, vid, listing in rows:
        if agency_id not in agencies:
            continue
        pub = choose_pubdate(pub_meta=meta, pub_text=text, pub_header=header, first_seen=first_seen)
        found[(agency_id, year)].append(
            ReportFacts(rid, url, pub.published, pub.evidence, first_seen, problem, vid, listing)
        )
    return found


def choose_reports(
    session: Session, agencies: dict[str, AgencyFacts], years: range, deadlines: DeadlineEngine
) -> dict[Key, ChosenReport]:
    """The report that stands for each agency-year (years from one before the first, for history)."""
    chosen: dict[Key, ChosenReport] = {}
    for key, candidates in report_facts(session, agencies, years).items():
        best = stands_for_year(candidates)
        if best is not None:
            agency = agencies[key[0]]
            chosen[key] = ChosenReport(best, deadlines.deadline(agency.kind, agency.region, key[1]))
    return chosen


@dataclass
class Computed:
    rows: Iterator[StatusRow]
    unread: int


def iter_rows(session: Session, config: Config, *, as_of: date, year: int | None = None) -> Computed:
    """The status rows, agency by agency (read-only), and how many chosen reports await a reading."""
    deadlines = DeadlineEngine.from_config(config)
    years = report_years(session, config, as_of)
    if year is not None:
        years = range(year, year + 1) if year in years else range(0)
    agency_list = active_agencies(session)
    agencies = {a.id: a for a in agency_list}
    chosen = choose_reports(session, agencies, years, deadlines)
    judging = judge_chosen(session, chosen, agencies, as_of=as_of, years=years)
    health = portal_health(session)
    dismissed = dismissed_rules(session)

    def rows() -> Iterator[StatusRow]:
        for agency in agency_list:
            portal = health.get(agency.portal_id) if agency.portal_id else None
            for y in years:
                key = (agency.id, y)
                c = chosen.get(key)
                yield compute_status(
                    agency,
                    y,
                    c.deadline if c else deadlines.deadline(agency.kind, agency.region, y),
                    as_of,
                    c.facts if c else None,
                    judging.out.get(key),
                    portal,
                    dismissed.get(key, frozenset()),
                    key in judging.failed,
                )

    return Computed(rows(), judging.unread)


def compute_rows(
    session: Session, config: Config, *, as_of: date, year: int | None = None
) -> list[StatusRow]:
    """Every judged agency-year's ``StatusRow`` as of ``as_of`` (read-only; see the module docstring)."""
    return list(iter_rows(session, config, as_of=as_of, year=year).rows)


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
        "days_late": row.days_late,
        "first_seen": row.first_seen,
        "inconsistent": row.inconsistent,
        "findings": list(row.findings),
        "details": row.details,
        "report_id": row.report_id,
        "version_id": row.version_id,
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
        computed = iter_rows(session, config, as_of=as_of)
        rows = list(computed.rows)
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
        unread=computed.unread,
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
    if result.unread:
        lines.append(
            f"  {result.unread} chosen reports have no reading yet (a database from before readings were "
            "stored?): run `gkwatch reparse`"
        )
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
