"""``gkwatch status``: the status table as contract status objects — a terminal table, JSON or CSV.

Rows are computed live (``monitor.check.compute_rows``) rather than read from the table the last
``gkwatch check`` wrote, so that ``--as-of`` (and the web API's ``as_of``) can judge any day.
"""

from __future__ import annotations

import csv
import json
import sys
import unicodedata
from datetime import date
from typing import Any, TextIO

from sqlmodel import Session, select

from monitor.check import compute_rows
from monitor.config import Config
from monitor.deadlines import today_shanghai
from monitor.status import StatusRow
from storage.db import init_db, make_engine, session_scope
from storage.models import AgencyYearStatus

CONTRACT_KEYS = (
    "agency_id",
    "agency",
    "region",
    "year",
    "status",
    "due",
    "published",
    "published_evidence",
    "first_seen",
    "inconsistent",
    "findings",
    "report_url",
    "crawl_problem",
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
    """Contract status objects sorted by region, agency, year; ``as_of`` None is today in Asia/Shanghai."""
    rows = compute_rows(session, config, as_of=as_of or today_shanghai(), year=year)
    rows.sort(key=lambda r: (r.region, r.agency, r.agency_id, r.year))
    return [r.to_contract() for r in rows]


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
    return StatusRow(
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
