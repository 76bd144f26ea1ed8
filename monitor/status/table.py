"""``gkwatch status``: the status table as contract status objects — a terminal table, JSON or CSV.

Rows are computed live (``monitor.status.check.compute_rows``), so that ``--as-of`` (and the web API's ``as_of``)
can judge any day — except where the table the last ``gkwatch check`` wrote is provably the same answer
(``stored_rows_current``), which is then read instead.
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TextIO

from sqlalchemy import func
from sqlmodel import Session, select

from domain import codes
from domain.clock import SHANGHAI, as_utc, today_shanghai
from domain.config import Config
from domain.text import clean_text
from monitor.status import wording
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

# --- the published table: one set of columns for the web's CSV and XLSX and ``gkwatch status --format csv``


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # Chinese, as a watchdog publishes it
    width: float  # spreadsheet column width (characters)
    kind: str = "text"  # text | int | date | datetime


EXPORT_COLUMNS: tuple[Column, ...] = (
    Column("agency_id", "机关编号", 16),
    Column("agency", "机关", 30),
    Column("region", "地区", 26),
    Column("kind", "类型", 12),
    Column("year", "年度", 7, "int"),
    Column("status", "状态", 18),
    Column("due", "截止日", 12, "date"),
    Column("due_reason", "截止日依据", 30),
    Column("published", "发布日期", 12, "date"),
    Column("published_evidence", "日期依据", 22),
    Column("days_late", "逾期天数", 9, "int"),
    Column("first_seen", "首次发现（北京时间）", 18, "datetime"),
    Column("consistency", "数据一致性", 22),
    Column("findings_text", "发现的问题（含数字）", 70),
    Column("findings", "规则编号", 26),
    Column("report_url", "报告网址", 44),
    Column("crawl_problem", "抓取问题", 16),
    Column("evidence", "证据", 90),
)
EXPORT_HEADER = tuple(c.header for c in EXPORT_COLUMNS)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe_text(text: str) -> str:
    """Crawled text that a spreadsheet would run as a formula gets a leading ``'`` (OWASP CSV injection)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def export_values(row: dict[str, Any]) -> list[Any]:
    """One row of the published table, typed: ints, ``date`` objects, naive Beijing ``datetime`` for the
    first sight, Chinese words for every code (rule ids aside), the evidence summarized."""
    findings = list(row.get("findings") or [])
    details = row.get("details") or []
    first = wording.instant(row.get("first_seen"))
    values = {
        "agency_id": row.get("agency_id"),
        "agency": row.get("agency"),
        "region": row.get("region"),
        "kind": codes.label(codes.KIND, row.get("kind")) if row.get("kind") else "",
        "year": row.get("year"),
        "status": codes.label(codes.STATUS, row.get("status")),
        "due": wording.day(row.get("due")),
        "due_reason": wording.due_reason(row.get("due_reason")),
        "published": wording.day(row.get("published")),
        "published_evidence": codes.label(codes.EVIDENCE, row["published_evidence"])
        if row.get("published_evidence")
        else "",
        "days_late": row.get("days_late"),
        "first_seen": as_utc(first).astimezone(SHANGHAI).replace(tzinfo=None) if first else None,
        "consistency": wording.consistency(row.get("inconsistent"), details or findings).text,
        "findings_text": "；".join(wording.findings_text(details, findings)),
        "findings": ";".join(findings),
        "report_url": row.get("report_url"),
        "crawl_problem": codes.label(codes.PROBLEM, row["crawl_problem"]) if row.get("crawl_problem") else "",
        "evidence": wording.evidence_summary(row),
    }
    out: list[Any] = []
    for c in EXPORT_COLUMNS:
        v = values[c.key]
        out.append(_safe_text(wording_clean(v)) if isinstance(v, str) else v)
    return out


def wording_clean(text: str) -> str:
    """No control characters or bidi tricks in a published cell (crawled text is untrusted)."""
    return clean_text(text, max_len=32_000)


def csv_text(value: Any) -> str:
    """A typed export value as CSV text: dates ISO, the first sight ``YYYY-MM-DD HH:MM``, None empty."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def csv_lines(rows: Iterable[dict[str, Any]]) -> Iterator[list[str]]:
    """The header, then one list of cells per row."""
    yield list(EXPORT_HEADER)
    for row in rows:
        yield [csv_text(v) for v in export_values(row)]


def status_rows(
    session: Session, config: Config, *, year: int | None = None, as_of: date | None = None
) -> list[dict[str, Any]]:
    """Every row as a dict — the contract's keys, then ``evidence``, ``kind``, ``due_reason`` and ``details``
    — sorted by region, agency, agency id, year; ``as_of`` None is today in Asia/Shanghai.

    Where the last ``gkwatch check`` judged the same day and nothing was stored since, its table is the
    answer (one SELECT instead of recomputing every agency's history); otherwise the rows are computed live.
    """
    as_of = as_of or today_shanghai()
    if stored_rows_current(session, config, as_of):
        return stored_rows(session, year=year)
    rows = compute_rows(session, config, as_of=as_of, year=year)
    rows.sort(key=lambda r: (r.region, r.agency, r.agency_id, r.year))
    return [
        {
            **r.to_contract(),
            "evidence": r.evidence,
            "kind": r.kind,
            "due_reason": r.due_reason,
            "details": r.details,
        }
        for r in rows
    ]


def contract_object(row: dict[str, Any]) -> dict[str, Any]:
    """A full row as the contract's status object with its evidence (``--format json``, ``/api/status``)."""
    obj = {k: row[k] for k in CONTRACT_KEYS}
    obj["evidence"] = row.get("evidence") or {}
    return obj


def status_objects(
    session: Session, config: Config, *, year: int | None = None, as_of: date | None = None
) -> list[dict[str, Any]]:
    """Contract status objects (with their evidence) sorted by region, agency, year (``status_rows``)."""
    return [contract_object(r) for r in status_rows(session, config, year=year, as_of=as_of)]


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


def stored_rows(session: Session, *, year: int | None = None) -> list[dict[str, Any]]:
    """The rows as the last ``gkwatch check`` wrote them (``AgencyYearStatus``), in ``status_rows``' shape.

    Cheap (one SELECT) where ``status_rows`` recomputes; as fresh as the last check, whose ``as_of`` is in
    each row of the table.
    """
    query = select(AgencyYearStatus).order_by(
        AgencyYearStatus.region, AgencyYearStatus.agency, AgencyYearStatus.agency_id, AgencyYearStatus.year
    )
    if year is not None:
        query = query.where(AgencyYearStatus.year == year)
    return [stored_row(r) for r in session.exec(query)]


def stored_objects(session: Session, *, year: int | None = None) -> list[dict[str, Any]]:
    return [contract_object(r) for r in stored_rows(session, year=year)]


def stored_row(r: AgencyYearStatus) -> dict[str, Any]:
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
    obj.update(kind=r.kind, due_reason=r.due_reason, details=list(r.details or []))
    return obj


def stored_to_contract(r: AgencyYearStatus) -> dict[str, Any]:
    """A stored row as the contract's status object, with the evidence of its verdict beside it."""
    return contract_object(stored_row(r))


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


def _clip(text: str, width: int) -> str:
    """At most ``width`` terminal columns, an ellipsis where it was cut."""
    if display_width(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = display_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def _clip_left(text: str, width: int) -> str:
    """The end of ``text`` (a region's last segments say most), ``…`` in front where it was cut."""
    if display_width(text) <= width:
        return text
    out: list[str] = []
    used = 0
    for ch in reversed(text):
        w = display_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "…" + "".join(reversed(out))


# (key, header, minimum width, may shrink, dropped when even the minimums do not fit: lower goes first)
TABLE_COLUMNS = (
    ("region", "地区", 8, True, 6),
    ("agency", "机关", 10, True, 9),
    ("year", "年度", 4, False, 8),
    ("status", "状态", 8, True, 9),
    ("due", "截止日", 10, False, 2),
    ("published", "发布日期", 10, False, 5),
    ("consistency", "一致性", 6, True, 4),
    ("findings", "问题", 4, True, 1),
)


def _table_cells(o: dict[str, Any]) -> list[str]:
    findings = o.get("findings") or []
    c = wording.consistency(o.get("inconsistent"), o.get("details") or findings)
    status = codes.label(codes.STATUS, o.get("status"))
    if o.get("crawl_problem"):
        status += f"（{codes.label(codes.PROBLEM, o['crawl_problem'])}）"
    values = {
        "region": cell_text(o.get("region")),
        "agency": cell_text(o.get("agency")),
        "year": cell_text(o.get("year")),
        "status": status,
        "due": cell_text(o.get("due")) or "—",
        "published": cell_text(o.get("published")) or "—",
        "consistency": c.label,
        "findings": ",".join(findings) if findings else "",
    }
    return [_printable(values[k]) for k, *_ in TABLE_COLUMNS]


def fit_widths(natural: list[int], minimum: list[int], shrinkable: list[bool], total: int) -> list[int]:
    """Column widths that fit ``total`` terminal columns (two spaces between columns): the widest
    shrinkable column gives up a column at a time until the row fits or every column is at its minimum."""
    widths = list(natural)
    budget = total - 2 * (len(widths) - 1)
    while sum(widths) > budget:
        candidates = [i for i, w in enumerate(widths) if shrinkable[i] and w > minimum[i]]
        if not candidates:
            break
        i = max(candidates, key=lambda k: widths[k] - minimum[k])
        widths[i] -= 1
    return widths


def terminal_columns() -> int:
    """The terminal's width (``COLUMNS`` wins, as for every tool; 100 when not a terminal)."""
    return shutil.get_terminal_size((100, 24)).columns


def write_table(objects: list[dict[str, Any]], out: TextIO, width: int | None = None) -> None:
    """Narrow columns and Chinese words, fitted to the terminal's width: long names cut with ``…``, and
    where even that does not fit, the least needed columns left out (the full rows: ``--format csv``)."""
    width = width or terminal_columns()
    cells = [_table_cells(o) for o in objects]
    natural = [display_width(h) for _, h, *_ in TABLE_COLUMNS]
    for row in cells:
        natural = [max(w, display_width(v)) for w, v in zip(natural, row, strict=True)]
    minimum = [
        min(n, max(m, display_width(h))) for n, (_, h, m, *_) in zip(natural, TABLE_COLUMNS, strict=True)
    ]
    keep = list(range(len(TABLE_COLUMNS)))
    while len(keep) > 2 and sum(minimum[i] for i in keep) + 2 * (len(keep) - 1) > width:
        keep.remove(min(keep, key=lambda i: TABLE_COLUMNS[i][4]))
    cols = [TABLE_COLUMNS[i] for i in keep]
    widths = fit_widths([natural[i] for i in keep], [minimum[i] for i in keep], [c[3] for c in cols], width)

    def line(values: list[str]) -> str:
        parts = []
        for (key, *_), v, w in zip(cols, [values[i] for i in keep], widths, strict=True):
            v = _clip_left(v, w) if key == "region" else _clip(v, w)
            parts.append(_pad(v, w))
        return "  ".join(parts).rstrip()

    out.write(line([h for _, h, *_ in TABLE_COLUMNS]) + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in cells:
        out.write(line(row) + "\n")
    counts: dict[str, int] = {}
    for o in objects:
        counts[o["status"]] = counts.get(o["status"], 0) + 1
    summary = "，".join(f"{codes.label(codes.STATUS, s)} {counts[s]}" for s in codes.STATUSES if s in counts)
    out.write(_clip(f"（共 {len(objects)} 条" + (f"：{summary}" if summary else "") + "）", width) + "\n")


def write_csv(rows: list[dict[str, Any]], out: TextIO) -> None:
    """The web's CSV export, byte for byte in shape: a BOM (Excel reads UTF-8 then), Chinese headers."""
    out.write("\ufeff")
    w = csv.writer(out, lineterminator="\r\n")
    for cells in csv_lines(rows):
        w.writerow(cells)


def write_json(objects: list[dict[str, Any]], out: TextIO) -> None:
    json.dump([contract_object(o) for o in objects], out, ensure_ascii=False, indent=1)
    out.write("\n")


WRITERS = {"table": write_table, "csv": write_csv, "json": write_json}


def _utf8_stdout() -> TextIO:
    """Standard output as UTF-8 whatever the locale says (CSV and JSON are UTF-8 files)."""
    try:
        sys.stdout.reconfigure(encoding="utf-8")  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        pass
    return sys.stdout


def run_status_command(config: Config, year: int | None, as_of: date | None, fmt: str) -> int:
    """``gkwatch status [--year Y] [--as-of DATE] [--format table|json|csv]``."""
    if fmt not in WRITERS:
        print(f"gkwatch status: unknown format {fmt!r}", file=sys.stderr)
        return 2
    engine = make_engine(config.database_url)
    try:
        init_db(engine)
        with session_scope(engine) as session:
            rows = status_rows(session, config, year=year, as_of=as_of)
    finally:
        engine.dispose()
    out = _utf8_stdout() if fmt != "table" else sys.stdout
    WRITERS[fmt](rows, out)
    return 0
