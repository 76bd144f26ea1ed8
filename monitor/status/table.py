"""``gkwatch status``: the status table as contract status objects — a terminal table, JSON or CSV.

Rows are computed live (``monitor.status.check.compute_rows``), so that ``--as-of`` (and the web API's ``as_of``)
can judge any day — except where the table the last ``gkwatch check`` wrote is provably the same answer
(``stored_rows_current``), which is then read instead.
"""

from __future__ import annotations

import csv
import json
import sys
import unicodedata
from datetime import date
from typing import Any, TextIO

from sqlalchemy import func
from sqlmodel import Session, select

from domain.clock import today_shanghai
from domain.config import Config
from monitor.status.check import compute_rows
from monitor.status.deadlines import DeadlineEngine
from monitor.status.verdict import CONTRACT_KEYS, StatusRow
from storage.db import init_db, make_engine, session_scope
from storage.models import (
    Agency,
    AgencyYearStatus,
    CrawlProblem,
    CrawlRun,
    FindingReview,
    ListingSnapshot,
    PortalRead,
    Reading,
    ReportVersion,
)

# what the terminal table shows (the full object is in json/csv)
TABLE_COLUMNS = (
    "region",
    "agency",
    "year",
    "status",
    "due",
    "published",
    "published_evidence",
    "inconsistent",
    "findings",
    "crawl_problem",
)


def status_objects(
    session: Session, config: Config, *, year: int | None = None, as_of: date | None = None
) -> list[dict[str, Any]]:
    """Contract status objects sorted by region, agency, year; ``as_of`` None is today in Asia/Shanghai.

    Where the last ``gkwatch check`` judged the same day and nothing was stored since, its table is the
    answer (one SELECT instead of recomputing every agency's history — what keeps ``/api/status`` fast);
    otherwise the rows are computed live.
    """
    as_of = as_of or today_shanghai()
    if stored_rows_current(session, config, as_of):
        return stored_objects(session, year=year)
    rows = compute_rows(session, config, as_of=as_of, year=year)
    rows.sort(key=lambda r: (r.region, r.agency, r.agency_id, r.year))
    return [{**r.to_contract(), "evidence": r.evidence} for r in rows]


# Every table whose newer rows can change a status: a crawl, a listing seen, a new report version, a
# crawl problem, a reviewer's verdict, a registry sync.
_CHANGE_STAMPS = (
    CrawlRun.started_at,
    ListingSnapshot.fetched_at,
    ReportVersion.fetched_at,
    Reading.read_at,
    PortalRead.finished_at,
    CrawlProblem.at,
    FindingReview.at,
    Agency.last_listed_at,
)


def stored_rows_current(session: Session, config: Config, as_of: date) -> bool:
    """Whether ``AgencyYearStatus`` equals what ``compute_rows`` would give for ``as_of`` now.

    True when every stored row was judged as of that day, nothing that a status depends on was stored
    after the check took its snapshot, and the deadlines in the config still give the stored due dates
    (a changed ``deadlines:`` section must not be answered from an old table).
    """
    first_as_of, last_as_of, computed = session.exec(
        select(
            func.min(AgencyYearStatus.as_of),
            func.max(AgencyYearStatus.as_of),
            func.min(AgencyYearStatus.computed_at),
        )
    ).one()
    if computed is None or first_as_of != as_of or last_as_of != as_of:
        return False
    for stamp in _CHANGE_STAMPS:
        latest = session.exec(select(func.max(stamp))).one()
        if latest is not None and latest > computed:
            return False
    engine = DeadlineEngine.from_config(config)
    kinds = session.exec(
        select(
            AgencyYearStatus.kind, AgencyYearStatus.region, AgencyYearStatus.year, AgencyYearStatus.due
        ).distinct()
    )
    return all(engine.deadline(kind, region, year).due == due for kind, region, year, due in kinds)


def stored_objects(session: Session, *, year: int | None = None) -> list[dict[str, Any]]:
    """The status objects as the last ``gkwatch check`` wrote them (``AgencyYearStatus``), same order.

    Cheap (one SELECT) where ``status_objects`` recomputes; as fresh as the last check, whose ``as_of`` is
    in each row of the table.
    """
    query = select(AgencyYearStatus).order_by(
        AgencyYearStatus.region, AgencyYearStatus.agency, AgencyYearStatus.agency_id, AgencyYearStatus.year
    )
    if year is not None:
        query = query.where(AgencyYearStatus.year == year)
    return [stored_to_contract(r) for r in session.exec(query)]


def stored_to_contract(r: AgencyYearStatus) -> dict[str, Any]:
    """A stored row as the contract's status object, with the evidence of its verdict beside it."""
    obj = StatusRow(
        agency_id=r.agency_id,
        agency=r.agency,
        region=r.region,
        kind=r.kind,
        year=r.year,
        status=r.status,
        due=r.due,
        due_reason=r.due_reason,
        published=r.published,
        published_evidence=r.published_evidence,
        first_seen=r.first_seen,
        inconsistent=r.inconsistent,
        findings=list(r.findings),
        report_id=r.report_id,
        report_url=r.report_url,
        crawl_problem=r.crawl_problem,
    ).to_contract()
    obj["evidence"] = r.evidence or {}
    return obj


def cell_text(value: Any) -> str:
    """One value as text: lists joined by ';', booleans as true/false, None as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    return str(value)


def display_width(text: str) -> int:
    """Terminal columns taken by ``text``: wide and full-width characters (CJK) take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _printable(text: str) -> str:
    """Crawled text is untrusted: control characters (escape sequences) never reach the terminal."""
    return "".join(" " if unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


def write_table(objects: list[dict[str, Any]], out: TextIO) -> None:
    cells = [[_printable(cell_text(o[c])) for c in TABLE_COLUMNS] for o in objects]
    widths = [display_width(c) for c in TABLE_COLUMNS]
    for row in cells:
        widths = [max(w, display_width(v)) for w, v in zip(widths, row, strict=True)]
    out.write("  ".join(_pad(c, w) for c, w in zip(TABLE_COLUMNS, widths, strict=True)).rstrip() + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in cells:
        out.write("  ".join(_pad(v, w) for v, w in zip(row, widths, strict=True)).rstrip() + "\n")
    out.write(f"({len(objects)} agency-years)\n")


def write_csv(objects: list[dict[str, Any]], out: TextIO) -> None:
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CONTRACT_KEYS)
    for o in objects:
        w.writerow([cell_text(o[k]) for k in CONTRACT_KEYS])


def write_json(objects: list[dict[str, Any]], out: TextIO) -> None:
    json.dump(objects, out, ensure_ascii=False, indent=1)
    out.write("\n")


WRITERS = {"table": write_table, "csv": write_csv, "json": write_json}


def run_status_command(config: Config, year: int | None, as_of: date | None, fmt: str) -> int:
    """``gkwatch status [--year Y] [--as-of DATE] [--format table|json|csv]``."""
    if fmt not in WRITERS:
        print(f"gkwatch status: unknown format {fmt!r}", file=sys.stderr)
        return 2
    engine = make_engine(config.database_url)
    try:
        init_db(engine)
        with session_scope(engine) as session:
            objects = status_objects(session, config, year=year, as_of=as_of)
    finally:
        engine.dispose()
    WRITERS[fmt](objects, sys.stdout)
    return 0
