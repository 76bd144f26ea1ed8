"""The status table's filters, sorting, paging and per-region counts, as SQL over ``AgencyYearStatus``.

Every user value reaches the database as a bound parameter; the sort column comes from a whitelist; LIKE
wildcards typed by a user are escaped. Pages are LIMIT/OFFSET over indexed columns (``ensure_indexes``), so
a request never loads the whole table — the page must stay fast with 100,000 agency-years stored.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, text
from sqlalchemy.engine import Connection, Engine

from domain.codes import STATUSES
from domain.config import AGENCY_KINDS
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
    C.first_seen,
    C.inconsistent,
    C.findings,
    C.report_url,
    C.crawl_problem,
)

# Indexes for the page's filters and its default order (created by the web app; IF NOT EXISTS works on
# SQLite and PostgreSQL alike).
_INDEXES = {
    # the default order (region, agency, agency_id) within a year, and across years
    "ix_web_ays_year_order": "(year, region, agency, agency_id)",
    "ix_web_ays_order": "(region, agency, agency_id, year)",
    # per-region counts: covering, already grouped
    "ix_web_ays_year_region_status": "(year, region, status)",
    "ix_web_ays_year_status_region": "(year, status, region)",
}


def ensure_indexes(engine: Engine) -> None:
    with engine.begin() as conn:
        for name, cols in _INDEXES.items():
            conn.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON {T.name} {cols}"))


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


def _int(value: str, what: str, lo: int, hi: int) -> int:
    try:
        n = int(value)
    except ValueError:
        raise BadFilter(f"{what}应为整数，收到的是 {value[:40]!r}") from None
    if not lo <= n <= hi:
        raise BadFilter(f"{what}应在 {lo} 到 {hi} 之间")
    return n


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
        year = _int(raw_year, "年度", 1990, 2200)
    return StatusFilter(
        region=get("region").strip("/")[:200],
        kind=kind,
        year=year,
        status=status,
        inconsistent=inconsistent,
        q=get("q")[:100],
        sort=sort,
        desc=direction == "desc",
        page=_int(get("page") or "1", "页码", 1, 10**6),
        per_page=_int(get("per_page") or str(page_size), "每页行数", 1, max_page_size),
        default_per_page=page_size,
    )


def _like_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _region_prefix(prefix: str, dialect: str):  # noqa: ANN202
    """``region`` is ``prefix`` or below it (whole path segments).

    The equality-or-LIKE test is right everywhere. On SQLite (binary collation: code point order) a range
    ``prefix <= region < prefix + "0"`` ("0" follows "/") is added in front: it holds every match, so it
    changes nothing but lets an index narrow the rows first.
    """
    exact = or_(C.region == prefix, C.region.like(_like_escape(prefix) + "/%", escape="\\"))
    if dialect == "sqlite":
        return and_(C.region >= prefix, C.region < prefix + "0", exact)
    return exact


def _where(stmt: Select, f: StatusFilter, dialect: str = "") -> Select:
    if f.region:
        stmt = stmt.where(_region_prefix(f.region, dialect))
    if f.kind:
        stmt = stmt.where(C.kind == f.kind)
    if f.year is not None:
        stmt = stmt.where(C.year == f.year)
    if f.status:
        stmt = stmt.where(C.status == f.status)
    if f.inconsistent:
        value = INCONSISTENT_CHOICES[f.inconsistent]
        stmt = stmt.where(C.inconsistent.is_(None) if value is None else C.inconsistent == value)
    if f.q:
        stmt = stmt.where(C.agency.like("%" + _like_escape(f.q) + "%", escape="\\"))
    return stmt


def _ordered(stmt: Select, f: StatusFilter) -> Select:
    col = SORTABLE[f.sort]
    first = col.desc() if f.desc else col.asc()
    tiebreak = [c for c in (C.region, C.agency, C.agency_id, C.year) if c is not col]
    if f.year is not None:
        tiebreak.remove(C.year)
    return stmt.order_by(first, *tiebreak)


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


def count_rows(conn: Connection, f: StatusFilter) -> int:
    return conn.execute(_where(select(func.count()).select_from(T), f, conn.dialect.name)).scalar() or 0


def page_rows(conn: Connection, f: StatusFilter, total: int | None = None) -> Page:
    """One page of rows; ``total`` when already known (it is the sum of the cached per-region counts)."""
    if total is None:
        total = count_rows(conn, f)
    stmt = _ordered(_where(select(*SELECTED), f, conn.dialect.name), f)
    stmt = stmt.limit(f.per_page).offset((f.page - 1) * f.per_page)
    rows = [dict(r) for r in conn.execute(stmt).mappings()]
    return Page(rows=rows, total=total, page=f.page, per_page=f.per_page)


def all_rows(conn: Connection, f: StatusFilter) -> Iterator[dict[str, Any]]:
    """Every row matching the filter, in the page's order, streamed (exports)."""
    stmt = _ordered(_where(select(*SELECTED), f, conn.dialect.name), f)
    for r in conn.execution_options(stream_results=True, yield_per=2000).execute(stmt).mappings():
        yield dict(r)


@dataclass
class RegionCount:
    region: str  # the full prefix (a link target)
    label: str  # its last segment
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def judged(self) -> int:
        """Agency-years past due with a verdict on the agency (unknown = the crawler's trouble, left out)."""
        return sum(self.counts.get(s, 0) for s in ("on_time", "late", "missing"))

    @property
    def on_time_rate(self) -> float | None:
        return self.counts.get("on_time", 0) / self.judged if self.judged else None


def region_counts(conn: Connection, f: StatusFilter) -> list[RegionCount]:
    """Counts per status for each region one level below the region filter, largest first."""
    stmt = _where(select(C.region, C.status, func.count()), f, conn.dialect.name).group_by(C.region, C.status)
    depth = len(f.region.split("/")) + 1 if f.region else 1
    folded: dict[str, dict[str, int]] = {}
    for region, status, n in conn.execute(stmt):
        key = "/".join((region or "（未填地区）").split("/")[:depth])
        bucket = folded.setdefault(key, {})
        bucket[status] = bucket.get(status, 0) + n
    out = [RegionCount(region=k, label=k.rsplit("/", 1)[-1], counts=v) for k, v in folded.items()]
    out.sort(key=lambda rc: (-rc.total, rc.region))
    return out


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
