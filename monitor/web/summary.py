"""The status table's counts, per year and region at every level, held in memory for one *generation* of the
table — so that the page's totals, its regional chart, the rankings and the "why is this empty" hints cost a
few dictionary look-ups instead of a GROUP BY over 100,000 rows.

The table changes only when ``gkwatch check`` rewrites it (or an operator's act re-checks one agency), and
every write stamps ``computed_at``: the largest stamp (an indexed ``max``) is the generation. A request asks
for it at most once a second (``GENERATION_TTL``); a new generation rebuilds the counts from one
``GROUP BY year, region, kind, status, inconsistent`` (single-flight: concurrent requests wait for the one
rebuild). Like an index, they are derived from the table and never disagree with it for longer than that.

Regions are paths (``山东省/淄博市/淄川区``): every prefix is a node, and a region filter may name any node by
its full path, by its last segments (``淄博市/淄川区``) or by a single name (``淄川区``, ``淄博市``).
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import func, select, text  # noqa: F401
from sqlalchemy.engine import Connection, Engine

from domain.regions import segments
from storage.models import AgencyYearStatus

T = AgencyYearStatus.__table__
C = T.c
GENERATION_TTL = 1.0  # seconds between two looks at the table's generation
NO_REGION = "（未填地区）"

Key = tuple[str, str, bool | None]  # (kind, status, inconsistent)
JUDGED = ("on_time", "late", "missing")  # verdicts on the agency (unknown is the crawler's trouble)


@dataclass
class RegionCount:
    region: str  # the full prefix (a link target)
    label: str  # its last segment
    counts: dict[str, int]  # status -> rows
    inconsistent: int = 0  # rows whose report does not add up

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def judged(self) -> int:
        """Agency-years past due with a verdict on the agency (unknown = the crawler's trouble, left out)."""
        return sum(self.counts.get(s, 0) for s in JUDGED)

    @property
    def on_time_rate(self) -> float | None:
        return self.counts.get("on_time", 0) / self.judged if self.judged else None

    @property
    def missing_rate(self) -> float | None:
        return self.counts.get("missing", 0) / self.judged if self.judged else None

    @property
    def published(self) -> int:
        """Rows with a report (on time, late or undated): the base of the inconsistency rate."""
        return sum(self.counts.get(s, 0) for s in ("on_time", "late", "undated"))

    @property
    def inconsistent_rate(self) -> float | None:
        return self.inconsistent / self.published if self.published else None


@dataclass(frozen=True)
class Match:
    """What a filter keeps: kind, status and consistency ("" / None = any)."""

    kind: str = ""
    status: str = ""
    inconsistent: str = ""  # "" | yes | no | unknown

    def keeps(self, key: Key) -> bool:
        kind, status, inc = key
        if self.kind and kind != self.kind:
            return False
        if self.status and status != self.status:
            return False
        if self.inconsistent:
            want = {"yes": True, "no": False, "unknown": None}[self.inconsistent]
            if inc is not want:
                return False
        return True


def fold_counter(counter: dict[Key, int], match: Match) -> tuple[dict[str, int], int]:
    """Counts per status, and inconsistent rows, of the entries a filter keeps."""
    by_status: dict[str, int] = {}
    bad = 0
    for key, n in counter.items():
        if match.keeps(key):
            by_status[key[1]] = by_status.get(key[1], 0) + n
            if key[2] is True:
                bad += n
    return by_status, bad


_MAX_KEPT_VIEWS = 20_000
_ABSENT = object()
Answer = TypeVar("Answer")


@dataclass
class Summary:
    """Every count of one generation of the status table."""

    generation: Any
    years: list[int] = field(default_factory=list)  # newest first
    # (year or None for every year, region prefix) -> counts of the rows at or below the prefix …
    below: dict[tuple[int | None, str], Counter] = field(default_factory=dict)
    # … and of the rows exactly at the prefix
    at: dict[tuple[int | None, str], Counter] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)  # prefix -> its direct sub-regions
    prefixes: list[str] = field(default_factory=list)  # every region prefix, sorted
    by_tail: dict[str, list[str]] = field(default_factory=dict)  # a last segment -> the prefixes ending so
    by_depth: dict[int, list[str]] = field(default_factory=dict)  # segments -> the prefixes that deep
    built_in_s: float = 0.0
    _whole: dict = field(default_factory=dict)  # (year, prefix) -> counts per status, inconsistent rows
    _kept: dict = field(default_factory=dict)  # what views derived from the counts (``kept``)

    def whole(self, year: int | None, prefix: str) -> tuple[dict[str, int], int] | None:
        """Every row at or below ``prefix`` counted per status (and the inconsistent ones), once per
        generation: the rankings read it for every region of a level."""
        key = (year, prefix)
        found = self._whole.get(key)
        if found is None:
            counter = self.below.get(key)
            if not counter:
                return None
            found = self._whole[key] = fold_counter(counter, Match())
        return found

    @property
    def latest_year(self) -> int | None:
        return self.years[0] if self.years else None

    # --- regions -----------------------------------------------------------------------------------

    def resolve(self, typed: str) -> list[str] | None:
        """The region prefixes a typed region means (None: no region filter; []: none by that name).

        A full path names itself; anything else is matched against the ends of every prefix, by whole
        segments: ``淄川区`` and ``淄博市/淄川区`` find ``山东省/淄博市/淄川区``."""
        parts = segments(typed)
        if not parts:
            return None
        full = "/".join(parts)
        i = bisect.bisect_left(self.prefixes, full)
        if i < len(self.prefixes) and self.prefixes[i] == full:
            return [full]
        return [p for p in self.by_tail.get(parts[-1], []) if segments(p)[-len(parts) :] == parts]

    def sub_regions(self, prefix: str) -> list[str]:
        return self.children.get(prefix, [])

    # --- counts ------------------------------------------------------------------------------------

    def region_counts(self, year: int | None, regions: list[str] | None, match: Match) -> list[RegionCount]:
        """Counts per region one level below each filtered region (or the top level), largest first.

        Rows exactly at a filtered region (a city's own bureaus beside its counties) are one entry of
        their own, labelled with the region's last segment, as the SQL grouping did. Kept for the
        generation (a view's counts are asked for by every page of it); callers only read the answer."""
        key = ("regions", year, None if regions is None else tuple(regions), match)
        return self.kept(key, lambda: self._region_counts(year, regions, match))

    def kept(self, key: tuple, compute: Callable[[], Answer]) -> Answer:
        """``compute()``, once per generation and key: what a view derives from the counts (its regions'
        counts, a ranking's order) is asked for again by every page of it until the next check. Callers
        only read the answer."""
        found = self._kept.get(key, _ABSENT)
        if found is _ABSENT:
            if len(self._kept) >= _MAX_KEPT_VIEWS:  # keys name regions that exist: a rare bound
                self._kept.clear()
            found = self._kept[key] = compute()
        return found

    def _region_counts(self, year: int | None, regions: list[str] | None, match: Match) -> list[RegionCount]:
        out: dict[str, RegionCount] = {}
        for node in regions if regions is not None else [""]:
            entries: list[tuple[str, Counter]] = []
            own = self.at.get((year, node))
            if own and node:
                entries.append((node, own))
            entries += [
                (c, self.below[(year, c)]) for c in self.children.get(node, []) if (year, c) in self.below
            ]
            if not node and (year, "") in self.at:
                entries.append((NO_REGION, self.at[(year, "")]))
            for region, counter in entries:
                counts, bad = fold_counter(counter, match)
                if not counts:
                    continue
                rc = out.get(region)
                if rc is None:
                    out[region] = RegionCount(region, region.rsplit("/", 1)[-1], counts, bad)
                else:
                    for s, n in counts.items():
                        rc.counts[s] = rc.counts.get(s, 0) + n
                    rc.inconsistent += bad
        return sorted(out.values(), key=lambda rc: (-rc.total, rc.region))

    def total(self, year: int | None, regions: list[str] | None, match: Match) -> int:
        nodes = regions if regions is not None else [""]
        return sum(sum(fold_counter(self.below.get((year, n), Counter()), match)[0].values()) for n in nodes)

    def level(self, year: int | None, depth: int, within: str = "") -> list[RegionCount]:
        """Every region ``depth`` segments deep (under ``within``), with its counts (rankings)."""
        out = []
        under = within + "/" if within else ""
        for p in self.by_depth.get(depth, ()):
            if within and not p.startswith(under) and p != within:
                continue
            found = self.whole(year, p)
            if found:
                out.append(RegionCount(p, p.rsplit("/", 1)[-1], dict(found[0]), found[1]))
        return out


def build(conn: Connection, generation: Any) -> Summary:
    """Every count of the table, from one GROUP BY (see the module docstring): the rows at each region per
    year, then rolled up the tree once (each node's counts merged into its parent's)."""
    started = time.perf_counter()
    # plain SQL through the driver: 150,000 groups at 500,000 rows, read from one covering index
    # (``ix_web_ays_counts``) without SQLAlchemy's per-row work
    rows = conn.exec_driver_sql(
        f"SELECT year, region, kind, status, inconsistent, count(*) FROM {T.name} "
        "GROUP BY year, region, kind, status, inconsistent"
    ).fetchall()
    at: dict[tuple[int | None, str], Counter] = defaultdict(Counter)
    normal: dict[str, str] = {}
    for year, region, kind, status, inc, n in rows:
        r = normal.get(region)
        if r is None:
            r = normal[region] = "/".join(segments(region))
        at[(year, r)][(kind, status, None if inc is None else bool(inc))] += n
    years = sorted({y for y, _ in at}, reverse=True)
    for (_, r), counter in list(at.items()):
        at[(None, r)].update(counter)
    children: dict[str, set[str]] = defaultdict(set)
    for r in set(normal.values()):
        parts = r.split("/") if r else []
        chain = [""] + ["/".join(parts[: i + 1]) for i in range(len(parts))]
        for parent, child in zip(chain, chain[1:], strict=False):
            children[parent].add(child)
    kids = {k: sorted(v) for k, v in children.items()}
    below: dict[tuple[int | None, str], Counter] = {}

    def roll(y: int | None, node: str) -> Counter:
        total = Counter(at.get((y, node), ()))
        for child in kids.get(node, ()):
            sub = roll(y, child)
            if sub:
                total.update(sub)
        if total:
            below[(y, node)] = total
        return total

    for y in [*years, None]:
        roll(y, "")
    s = Summary(generation, years=years, below=below, at=dict(at), children=kids)
    s.prefixes = sorted({c for v in kids.values() for c in v} - {""})
    tails: dict[str, list[str]] = defaultdict(list)
    for p in s.prefixes:
        tails[p.rsplit("/", 1)[-1]].append(p)
    s.by_tail = dict(tails)
    deep: dict[int, list[str]] = defaultdict(list)
    for p in s.prefixes:
        deep[p.count("/") + 1].append(p)
    s.by_depth = dict(deep)
    s.built_in_s = time.perf_counter() - started
    return s


def generation(conn: Connection) -> Any:
    """The table's generation: its latest ``computed_at`` (an index makes it one look-up)."""
    return conn.execute(select(func.max(C.computed_at))).scalar()


class SummaryKeeper:
    """One ``Summary`` per app, rebuilt when the table's generation changes (single-flight).

    A new generation written by another process (``gkwatch check``) is counted in a background thread while
    requests go on with the previous counts (a second or two at 500,000 rows): the rows of a page are read
    live, only its totals lag that long. A change made here (an operator's act, ``forget``) and the very
    first summary are waited for."""

    def __init__(self, engine: Engine, ttl: float = GENERATION_TTL):
        self.engine = engine
        self.ttl = ttl
        self._summary: Summary | None = None
        self._checked = 0.0
        self._wait = True  # the next change is waited for, not built in the background
        self._lock = threading.Lock()
        self._building: threading.Thread | None = None

    def forget(self) -> None:
        """The table was just changed here (an operator's act): look again, and wait, at the next request."""
        self._checked = 0.0
        self._wait = True

    def get(self) -> Summary:
        now = time.monotonic()
        current = self._summary
        if current is not None and now - self._checked < self.ttl:
            return current
        with self._lock:
            if self._summary is not None and time.monotonic() - self._checked < self.ttl:
                return self._summary
            with self.engine.connect() as conn:
                gen = generation(conn)
                if self._summary is None or (self._wait and self._summary.generation != gen):
                    self._summary = build(conn, gen)
                elif self._summary.generation != gen and self._building is None:
                    self._building = threading.Thread(target=self._rebuild, args=(gen,), daemon=True)
                    self._building.start()
            self._wait = False
            self._checked = time.monotonic()
            return self._summary

    def _rebuild(self, gen: Any) -> None:
        try:
            with self.engine.connect() as conn:
                fresh = build(conn, gen)
            with self._lock:
                if self._summary is None or self._summary.generation != fresh.generation:
                    self._summary = fresh
        finally:
            self._building = None


def ensure_generation_index(conn: Connection) -> None:
    conn.execute(text(f"CREATE INDEX IF NOT EXISTS ix_web_ays_computed ON {T.name} (computed_at)"))


def fold_rows(
    rows: Iterable[tuple[str, str, str, bool | None, int]], regions: list[str] | None
) -> list[RegionCount]:
    """Region counts from SQL rows (region, kind, status, inconsistent, n) — the name search's path, where the
    summary cannot answer — grouped one level below each filtered region, as ``Summary.region_counts``."""
    nodes = regions if regions is not None else [""]
    out: dict[str, RegionCount] = {}
    for raw, _kind, status, inc, n in rows:
        region = "/".join(segments(raw))
        node = next((p for p in nodes if not p or region == p or region.startswith(p + "/")), None)
        if node is None:
            continue
        if not region:
            key = NO_REGION
        else:
            depth = len(segments(node)) + 1
            key = "/".join(region.split("/")[:depth])
        rc = out.get(key)
        if rc is None:
            rc = out[key] = RegionCount(key, key.rsplit("/", 1)[-1], {})
        rc.counts[status] = rc.counts.get(status, 0) + n
        if inc is True:
            rc.inconsistent += n
    return sorted(out.values(), key=lambda rc: (-rc.total, rc.region))
