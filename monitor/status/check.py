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
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from domain.clock import day_end_utc, today_shanghai
from domain.codes import STATUSES
from domain.config import Config
from monitor.status.choice import stands_for_year
from monitor.status.corrections import active_corrections, apply_corrections
from monitor.status.deadlines import EARLIEST_DEFAULT_YEAR, DeadlineEngine
from monitor.status.facts import (
    Key,
    active_agencies,
    dismissed_rules,
    listing_urls,
    portal_reads,
    report_facts,
)
from monitor.status.judging import ChosenReport, judge_chosen
from monitor.status.verdict import AgencyFacts, ReportFacts, StatusRow, compute_status
from storage.bulk import insert_rows
from storage.db import init_db, make_engine, session_scope
from storage.models import (
    Agency,
    AgencyYearStatus,
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


def choose_reports(
    candidates: dict[Key, list[ReportFacts]], agencies: dict[str, AgencyFacts], deadlines: DeadlineEngine
) -> dict[Key, ChosenReport]:
    """The report that stands for each agency-year (``monitor.status.choice``)."""
    chosen: dict[Key, ChosenReport] = {}
    for key, reports in candidates.items():
        best = stands_for_year(reports)
        if best is not None:
            agency = agencies[key[0]]
            chosen[key] = ChosenReport(best, deadlines.deadline(agency.kind, agency.region, key[1]))
    return chosen


def _absence_windows(
    chosen: dict[Key, ChosenReport], agencies: dict[str, AgencyFacts]
) -> dict[str, datetime]:
    """Per portal, the earliest due date after which an undated report was first seen: its complete reads
    since then may prove the report was absent (``listing_absent``)."""
    out: dict[str, datetime] = {}
    for (agency_id, _), c in chosen.items():
        portal = agencies[agency_id].portal_id
        if portal and c.facts.published is None and c.facts.first_seen >= c.deadline.closes_at:
            out[portal] = min(out.get(portal, c.deadline.closes_at), c.deadline.closes_at)
    return out


@dataclass
class Computed:
    rows: Iterator[StatusRow]
    unread: int


def iter_rows(
    session: Session, config: Config, *, as_of: date, year: int | None = None, only: set[str] | None = None
) -> Computed:
    """The status rows, agency by agency (read-only), and how many chosen reports await a reading.
    ``only``: these agencies (``recheck_agency``) instead of all."""
    deadlines = DeadlineEngine.from_config(config)
    years = report_years(session, config, as_of)
    if year is not None:
        years = range(year, year + 1) if year in years else range(0)
    agency_list = [a for a in active_agencies(session) if only is None or a.id in only]
    agencies = {a.id: a for a in agency_list}
    candidates = report_facts(session, agencies, years)
    corrections = active_corrections(session, only)
    apply_corrections(session, candidates, corrections)
    chosen = choose_reports(candidates, agencies, deadlines)
    judging = judge_chosen(session, chosen, agencies, as_of=as_of, years=years)
    until = day_end_utc(as_of)
    reads = portal_reads(session, until, _absence_windows(chosen, agencies))
    dismissed = dismissed_rules(session)

    def rows() -> Iterator[StatusRow]:
        for agency in agency_list:
            portal = reads.get(agency.portal_id) if agency.portal_id else None
            for y in years:
                key = (agency.id, y)
                c = chosen.get(key)
                others = tuple(r for r in candidates.get(key, ()) if c is None or r is not c.facts)
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
                    others,
                    tuple(c.to_json() for c in corrections.get(key, ())),
                )

    return Computed(rows(), judging.unread)


def with_listing_urls(session: Session, rows: list[StatusRow]) -> None:
    """Name the listing pages behind each proof of absence (the archived snapshots a reader can open)."""
    proofs = {(r.evidence["absence"]["run_id"], r.agency_id): r for r in rows if "absence" in r.evidence}
    if not proofs:
        return
    portals = {agency_id: portal for agency_id, portal in session.exec(select(Agency.id, Agency.portal_id))}
    keys = {(run, portals.get(agency_id)) for run, agency_id in proofs}
    urls = listing_urls(session, [k for k in keys if k[1]])
    for (run, agency_id), row in proofs.items():
        row.evidence["absence"]["listing_urls"] = list(urls.get((run, portals.get(agency_id)), ())[:20])


def compute_rows(
    session: Session, config: Config, *, as_of: date, year: int | None = None
) -> list[StatusRow]:
    """Every judged agency-year's ``StatusRow`` as of ``as_of`` (read-only; see the module docstring)."""
    rows = list(iter_rows(session, config, as_of=as_of, year=year).rows)
    with_listing_urls(session, rows)
    return rows


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
        "evidence": row.evidence,
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
        with_listing_urls(session, rows)
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


def recheck_agency(
    engine: Engine, config: Config, agency_id: str, *, as_of: date | None = None
) -> list[StatusRow]:
    """Recompute one agency's rows at once (after an operator's correction) and store them.

    The rows are the full check's, but for ``copy.other_agency``, which needs every agency's reports of the
    year: the findings of that rule the last full check stored are kept until the next one.
    """
    now = utcnow()
    with session_scope(engine) as session:
        if as_of is None:  # the day the stored table was judged as of, so that the table stays one answer
            as_of = session.exec(select(func.max(AgencyYearStatus.as_of))).one() or today_shanghai()
        rows = list(iter_rows(session, config, as_of=as_of, only={agency_id}).rows)
        with_listing_urls(session, rows)
        before = {
            s.year: [f for f in s.details or [] if f.get("rule") == "copy.other_agency"]
            for s in session.exec(select(AgencyYearStatus).where(AgencyYearStatus.agency_id == agency_id))
        }
    for r in rows:
        kept = before.get(r.year) or []
        if kept and r.version_id is not None:
            r.details = [*r.details, *kept]
            r.findings = sorted({*r.findings, "copy.other_agency"})
    with session_scope(engine) as session:
        session.exec(delete(AgencyYearStatus).where(AgencyYearStatus.agency_id == agency_id))
        insert_rows(
            session.connection(), AgencyYearStatus.__table__, (_status_record(r, as_of, now) for r in rows)
        )
    return rows


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
