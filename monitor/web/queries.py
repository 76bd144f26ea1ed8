"""The status table's filters, sorting, paging and per-region counts, as Core SQL over ``AgencyYearStatus``.

Every user value reaches the database as a bound parameter; the sort column comes from a whitelist; LIKE
wildcards typed by a user are escaped. A request never loads the whole table: rows come a page at a time
(LIMIT over indexed columns, or keyset pages for ``/api/status``: ``cursor``), the counts from the table's
in-memory summary (``monitor.web.summary``), a name from the search index (``monitor.web.search``); exports
and the unpaged API stream.

The one order, everywhere (page, API, exports): the sort column (empty values last, whichever direction),
then region, agency, agency id, year.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    Select,
    Text,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.engine import Connection, Engine

from domain.clock import FIRST_YEAR, LAST_YEAR
from domain.codes import STATUSES
from domain.config import AGENCY_KINDS
from monitor.web import search
from monitor.web.summary import Match, RegionCount, Summary, ensure_generation_index, fold_rows
from storage.models import AgencyYearStatus

T = AgencyYearStatus.__table__
C = T.c

SORTABLE = {
    "agency": C.agency,
    "agency_id": C.agency_id,
    "region": C.region,
    "kind": C.kind,
    "year": C.year,
    "status": C.status,
    "due": C.due,
    "published": C.published,
    "first_seen": C.first_seen,
    "inconsistent": C.inconsistent,
}
INCONSISTENT_CHOICES = {"yes": True, "no": False, "unknown": None}
SELECTED = (
    C.agency_id,
    C.agency,
    C.region,
    C.kind,
    C.year,
    C.status,
    C.due,
    C.due_reason,
    C.published,
    C.published_evidence,
    C.days_late,
    C.first_seen,
    C.inconsistent,
    C.findings,
    C.report_url,
    C.crawl_problem,
)
# what the exports add: the findings themselves (their numbers) and the evidence (summarized)
EXPORTED = (*SELECTED, C.details, C.evidence)
NULLABLE_SORTS = frozenset({"due", "published", "first_seen", "inconsistent"})
TIEBREAK = ("region", "agency", "agency_id", "year")

# Indexes for the page's filters and its default order (created by the web app; IF NOT EXISTS works on
# SQLite and PostgreSQL alike).
_INDEXES = {
    # the default order (region, agency, agency_id) within a year, and across years
    "ix_web_ays_year_order": "(year, region, agency, agency_id)",
    "ix_web_ays_order": "(region, agency, agency_id, year)",
    # a status within a year, in the default order; and by date (with a status, and without)
    "ix_web_ays_year_status_order": "(year, status, region, agency, agency_id)",
    # newest first (the usual way to sort by date) walks these in order; oldest first sorts within a date
    "ix_web_ays_year_status_pubdesc": "(year, status, published DESC, region, agency, agency_id)",
    "ix_web_ays_year_pubdesc": "(year, published DESC, region, agency, agency_id)",
    # the summary's one GROUP BY (monitor.web.summary), read from the index alone
    "ix_web_ays_counts": "(year, region, kind, status, inconsistent)",
}
# replaced: the counts come from the summary; the date indexes cover the region
_DROPPED = (
    "ix_web_ays_year_region_status",
    "ix_web_ays_year_status_region",
    "ix_web_ays_year_status_published",
    "ix_web_ays_year_published",
    "ix_web_ays_year_status_pub_region",
    "ix_web_ays_year_pub_region",
)


def ensure_indexes(engine: Engine) -> str:
    """The page's indexes, the generation's and the name search's; returns the search method."""
    with engine.begin() as conn:
        for name in _DROPPED:
            conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
        for name, cols in _INDEXES.items():
            conn.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON {T.name} {cols}"))
        ensure_generation_index(conn)
    return search.ensure_search_index(engine)


class BadFilter(ValueError):
    """A filter value the page does not offer; the message says which, in Chinese."""


@dataclass(frozen=True)
class StatusFilter:
    region: str = ""  # a prefix by whole path segments
    kind: str = ""
    year: int | None = None  # None: every year
    status: str = ""
    inconsistent: str = ""  # "" | yes | no | unknown
    q: str = ""  # part of the agency's name
    sort: str = "region"
    desc: bool = False
    page: int = 1
    per_page: int = 50
    default_per_page: int = 50

    def query_params(self, **changes: Any) -> dict[str, str]:
        """The URL parameters that reproduce this filter (with changes), for links and exports."""
        f = replace(self, **changes)
        out = {
            "region": f.region,
            "kind": f.kind,
            "year": "all" if f.year is None else str(f.year),
            "status": f.status,
            "inconsistent": f.inconsistent,
            "q": f.q,
            "sort": f.sort,
            "dir": "desc" if f.desc else "asc",
            "page": "" if f.page == 1 else str(f.page),
            "per_page": "" if f.per_page == f.default_per_page else str(f.per_page),
        }
        if out["sort"] == "region" and out["dir"] == "asc":
            out["sort"] = out["dir"] = ""
        return {k: v for k, v in out.items() if v != ""}

    def cache_key(self) -> tuple:
        return (self.region, self.kind, self.year, self.status, self.inconsistent, self.q)


MAX_PAGE = 10**6  # × at most 500 rows a page: an OFFSET any database takes


def _int(value: str, what: str, lo: int, hi: int) -> int:
    """A whole number within [lo, hi], else ``BadFilter``: never a huge or negative value passed on."""
    if not value.isascii() or len(value) > 12:  # "１２" or a 40-digit number: no need to parse it
        raise BadFilter(f"{what}应在 {lo} 到 {hi} 之间，收到的是 {value[:40]!r}")
    try:
        n = int(value)
    except ValueError:
        raise BadFilter(f"{what}应为整数，收到的是 {value[:40]!r}") from None
    if not lo <= n <= hi:
        raise BadFilter(f"{what}应在 {lo} 到 {hi} 之间")
    return n


def parse_year(value: str) -> int:
    """A report year as a person may ask for it (``domain.clock``: 2000–2100)."""
    return _int(value, "年度", FIRST_YEAR, LAST_YEAR)


def parse_filter(
    params: Mapping[str, str], default_year: int | None, page_size: int, max_page_size: int
) -> StatusFilter:
    """Read the URL's query parameters; unknown values are refused (``BadFilter``), never passed on."""
    get = lambda k: (params.get(k) or "").strip()  # noqa: E731
    kind, status, inconsistent = get("kind"), get("status"), get("inconsistent")
    if kind and kind not in AGENCY_KINDS:
        raise BadFilter(f"机关类型只能是 {', '.join(AGENCY_KINDS)}")
    if status and status not in STATUSES:
        raise BadFilter(f"状态只能是 {', '.join(STATUSES)}")
    if inconsistent and inconsistent not in INCONSISTENT_CHOICES:
        raise BadFilter("“数据不一致”只能是 yes、no 或 unknown")
    sort = get("sort") or "region"
    if sort not in SORTABLE:
        raise BadFilter(f"不能按 {sort[:40]!r} 排序")
    direction = get("dir") or "asc"
    if direction not in ("asc", "desc"):
        raise BadFilter("排序方向只能是 asc 或 desc")
    raw_year = get("year")
    if "year" not in params:
        year = default_year
    elif raw_year in ("", "all"):
        year = None
    else:
        year = parse_year(raw_year)
    return StatusFilter(
        region=get("region").strip("/")[:200],
        kind=kind,
        year=year,
        status=status,
        inconsistent=inconsistent,
        q=get("q")[:100],
        sort=sort,
        desc=direction == "desc",
        page=_int(get("page") or "1", "页码", 1, MAX_PAGE),
        per_page=_int(get("per_page") or str(page_size), "每页行数", 1, max_page_size),
        default_per_page=page_size,
    )


_like_escape = search.like_escape


@dataclass(frozen=True)
class Scope:
    """What a filter means in the table's terms: the region prefixes its region names (None: any; []: a
    name no region has), and the search method of the name filter."""

    regions: list[str] | None = None
    search: str = "like"

    @property
    def impossible(self) -> bool:
        return self.regions == []


def scope_of(f: StatusFilter, summary: Summary, search_method: str) -> Scope:
    return Scope(summary.resolve(f.region) if f.region else None, search_method)


def _region_prefix(prefix: str, dialect: str, ranged: bool = True):  # noqa: ANN202
    """``region`` is ``prefix`` or below it (whole path segments).

    The equality-or-LIKE test is right everywhere. On SQLite (binary collation: code point order) a range
    ``prefix <= region < prefix + "0"`` ("0" follows "/") is added in front when the rows are ordered by
    region (``ranged``): it holds every match, so it changes nothing but lets an index narrow the rows first.
    Ordered by another column, the range is left out, so that the planner walks that column's index (its
    region column filters) instead of sorting every row of the region.
    """
    exact = or_(C.region == prefix, C.region.like(_like_escape(prefix) + "/%", escape="\\"))
    if dialect == "sqlite" and ranged:
        return and_(C.region >= prefix, C.region < prefix + "0", exact)
    return exact


def _where(stmt: Select, f: StatusFilter, scope: Scope, dialect: str = "", *, skip: str = "") -> Select:
    """The filter's conditions (``skip``: one left out, to say what it alone excludes)."""
    if scope.regions is not None and skip != "region":
        if not scope.regions:
            return stmt.where(false())
        ranged = f.sort == "region" and not f.q
        stmt = stmt.where(or_(*(_region_prefix(p, dialect, ranged) for p in scope.regions)))
    if f.kind and skip != "kind":
        stmt = stmt.where(C.kind == f.kind)
    if f.year is not None and skip != "year":
        # With a name search the few matching agencies lead (their rows by the primary key): on SQLite the
        # year is written so that its index is not chosen instead, which would scan the whole year.
        year = C.year + 0 if f.q and skip != "q" and dialect == "sqlite" else C.year
        stmt = stmt.where(year == f.year)
    if f.status and skip != "status":
        stmt = stmt.where(C.status == f.status)
    if f.inconsistent and skip != "inconsistent":
        value = INCONSISTENT_CHOICES[f.inconsistent]
        stmt = stmt.where(C.inconsistent.is_(None) if value is None else C.inconsistent == value)
    if f.q and skip != "q":
        stmt = stmt.where(C.agency_id.in_(search.agency_ids(f.q, scope.search)))
    return stmt


def order_keys(f: StatusFilter) -> list[tuple[Any, bool, str]]:
    """(expression, descending, name) of the one order: the sort column, empty values last in either
    direction (a flag column first), then the tie-breakers ascending."""
    keys: list[tuple[Any, bool, str]] = []
    if f.sort in NULLABLE_SORTS:
        col = SORTABLE[f.sort]
        keys.append((case((col.is_(None), 1), else_=0), False, "_null"))
    keys.append((SORTABLE[f.sort], f.desc, f.sort))
    for name in TIEBREAK:
        if name != f.sort and not (name == "year" and f.year is not None):
            keys.append((SORTABLE[name], False, name))
    return keys


def _ordered(stmt: Select, f: StatusFilter) -> Select:
    """ORDER BY the keys — the null flag spelled ``NULLS LAST`` (the same order, and one an index on the
    column can serve: SQLite keeps NULLs first, so a descending scan ends with them)."""
    out = []
    for e, d, name in order_keys(f):
        if name == "_null":
            continue
        term = e.desc() if d else e.asc()
        out.append(term.nulls_last() if name in NULLABLE_SORTS else term)
    return stmt.order_by(*out)


def latest_year(conn: Connection) -> int | None:
    return conn.execute(select(func.max(C.year))).scalar()


def years(conn: Connection) -> list[int]:
    return [y for (y,) in conn.execute(select(C.year).distinct().order_by(C.year.desc()))]


@dataclass
class Page:
    rows: list[dict[str, Any]]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def count_rows(conn: Connection, f: StatusFilter, scope: Scope | None = None, *, skip: str = "") -> int:
    stmt = _where(select(func.count()).select_from(T), f, scope or Scope(), conn.dialect.name, skip=skip)
    return conn.execute(stmt).scalar() or 0


def page_rows(
    conn: Connection, f: StatusFilter, scope: Scope | None = None, total: int | None = None
) -> Page:
    """One page of rows; ``total`` when already known (the summary's count)."""
    scope = scope or Scope()
    if total is None:
        total = count_rows(conn, f, scope)
    stmt = _ordered(_where(select(*SELECTED), f, scope, conn.dialect.name), f)
    stmt = stmt.limit(f.per_page).offset((f.page - 1) * f.per_page)
    result = conn.execute(stmt)
    keys = tuple(result.keys())
    rows = [dict(zip(keys, r, strict=True)) for r in result]  # a third cheaper than dict(RowMapping)
    return Page(rows=rows, total=total, page=f.page, per_page=f.per_page)


def all_rows(
    conn: Connection, f: StatusFilter, scope: Scope | None = None, columns: tuple = EXPORTED
) -> Iterator[dict[str, Any]]:
    """Every row matching the filter, in the page's order, streamed (exports)."""
    stmt = _ordered(_where(select(*columns), f, scope or Scope(), conn.dialect.name), f)
    for r in conn.execution_options(stream_results=True, yield_per=2000).execute(stmt).mappings():
        yield dict(r)


# --- counts ---------------------------------------------------------------------------------------------


def match_of(f: StatusFilter, skip: str = "") -> Match:
    return Match(
        kind="" if skip == "kind" else f.kind,
        status="" if skip == "status" else f.status,
        inconsistent="" if skip == "inconsistent" else f.inconsistent,
    )


def region_counts(conn: Connection, f: StatusFilter, scope: Scope, summary: Summary) -> list[RegionCount]:
    """Counts per status for each region one level below the region filter, largest first: from the
    summary, or — for a name search, which it cannot answer — one GROUP BY over the matching rows."""
    if scope.impossible:
        return []
    if not f.q:
        return summary.region_counts(f.year, scope.regions, match_of(f))
    stmt = _where(
        select(C.region, C.kind, C.status, C.inconsistent, func.count()), f, scope, conn.dialect.name
    )
    stmt = stmt.group_by(C.region, C.kind, C.status, C.inconsistent)
    return fold_rows(conn.execute(stmt), scope.regions)


@dataclass
class Hint:
    """What one filter alone excludes: with it left out, ``count`` rows would show (a link that drops it)."""

    what: str  # the filter, in words
    count: int
    params: dict[str, str] = field(default_factory=dict)


def empty_hints(
    conn: Connection, f: StatusFilter, scope: Scope, summary: Summary, labels: Mapping[str, str]
) -> list[Hint]:
    """Why a filter shows nothing: for each condition in force, how many rows there are without it."""
    hints = []
    for name, value in (
        ("region", f.region),
        ("kind", f.kind),
        ("status", f.status),
        ("inconsistent", f.inconsistent),
        ("year", f.year),
        ("q", f.q),
    ):
        if value in ("", None):
            continue
        changes: dict[str, Any] = {name: None if name == "year" else "", "page": 1}
        if name == "q":
            n = 0 if scope.impossible else summary.total(f.year, scope.regions, match_of(f))
        elif f.q:
            n = count_rows(conn, f, scope, skip=name)
        else:
            regions = None if name == "region" else scope.regions
            year = None if name == "year" else f.year
            n = 0 if regions == [] else summary.total(year, regions, match_of(f, skip=name))
        hints.append(Hint(labels.get(name, name), n, f.query_params(**changes)))
    return hints


# --- /api/status: keyset pages --------------------------------------------------------------------------


class BadCursor(BadFilter):
    """A ``cursor`` that this filter and order did not hand out."""


def _signature(f: StatusFilter) -> str:
    return f"{f.sort}:{'d' if f.desc else 'a'}:{'y' if f.year is not None else 'n'}"


def encode_cursor(f: StatusFilter, row: Mapping[str, Any]) -> str:
    """The position after ``row`` in the filter's order, as an opaque URL-safe token."""
    values = []
    for _, _, name in order_keys(f):
        if name == "_null":
            values.append(1 if row.get(f.sort) is None else 0)
            continue
        v = row.get(name)
        values.append(v.isoformat() if isinstance(v, date | datetime) else v)
    raw = json.dumps([_signature(f), values], ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def _typed(name: str, value: Any) -> Any:
    if value is None:
        return None
    col = SORTABLE.get(name)
    if col is not None and isinstance(col.type, DateTime) and isinstance(value, str):
        return datetime.fromisoformat(value)
    if col is not None and isinstance(col.type, Date) and isinstance(value, str):
        return date.fromisoformat(value)
    return value


def decode_cursor(f: StatusFilter, token: str) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        sig, values = json.loads(raw.decode("utf-8"))
        keys = order_keys(f)
        if sig != _signature(f) or not isinstance(values, list) or len(values) != len(keys):
            raise ValueError
        return [_typed(name, v) for (_, _, name), v in zip(keys, values, strict=True)]
    except (ValueError, TypeError, UnicodeDecodeError):
        raise BadCursor("cursor 无效：请使用上一页响应的 Link 头给出的地址") from None


def _after(f: StatusFilter, values: list[Any]):  # noqa: ANN202
    """Rows after the cursor's position: a row-value comparison where every key goes one way (an index
    range), else the expanded OR. A null sort value is skipped (the flag before it orders the nulls)."""
    keys = [
        (e, d, literal(v)) for (e, d, name), v in zip(order_keys(f), values, strict=True) if v is not None
    ]
    if len({d for _, d, _ in keys}) == 1:
        left = tuple_(*(e for e, _, _ in keys))
        right = tuple_(*(v for _, _, v in keys))
        return left < right if keys[0][1] else left > right
    terms = []
    for i, (e, d, v) in enumerate(keys):
        same = [k == w for k, _, w in keys[:i]]
        terms.append(and_(*same, e < v if d else e > v))
    return or_(*terms)


def api_page(
    conn: Connection, f: StatusFilter, scope: Scope, limit: int, cursor: str | None, columns: tuple
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of rows after ``cursor`` and the cursor of the next (None: no more)."""
    stmt = _where(select(*columns), f, scope, conn.dialect.name)
    if cursor:
        stmt = stmt.where(_after(f, decode_cursor(f, cursor)))
    rows = [dict(r) for r in conn.execute(_ordered(stmt, f).limit(limit + 1)).mappings()]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(f, rows[-1]) if more and rows else None)


def api_stream(conn: Connection, f: StatusFilter, scope: Scope, columns: tuple) -> Iterator[dict[str, Any]]:
    stmt = _ordered(_where(select(*columns), f, scope, conn.dialect.name), f)
    for r in conn.execution_options(stream_results=True, yield_per=2000).execute(stmt).mappings():
        yield dict(r)


def raw_json(column):  # noqa: ANN001, ANN201
    """A JSON column as the text stored (passed through to the answer without decoding)."""
    return cast(column, Text).label(column.name)


class TTLCache:
    """A tiny per-process cache (the status table only changes on ``gkwatch check``).

    Single-flight: when many requests miss the same key at once, one computes and the others wait for
    its answer instead of repeating the work.
    """

    def __init__(self, seconds: float, max_entries: int = 256):
        self.seconds = seconds
        self.max_entries = max_entries
        self._data: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self._key_locks: dict[Any, threading.Lock] = {}

    def _fresh(self, key: Any) -> tuple[bool, Any]:
        with self._lock:
            hit = self._data.get(key)
            if hit and hit[0] > time.monotonic():
                return True, hit[1]
            return False, None

    def clear(self) -> None:
        """Forget everything (an operator's act changed the table: readers must see it at once)."""
        with self._lock:
            self._data.clear()

    def get_or_compute(self, key: Any, compute: Callable[[], Any]) -> Any:
        found, value = self._fresh(key)
        if found:
            return value
        if self.seconds <= 0:
            return compute()
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            found, value = self._fresh(key)
            if found:
                return value
            value = compute()
            with self._lock:
                if len(self._data) >= self.max_entries:
                    self._data.clear()
                    self._key_locks = {k: v for k, v in self._key_locks.items() if v.locked()}
                self._data[key] = (time.monotonic() + self.seconds, value)
        return value
