"""History findings: what only a watchdog that keeps every year (and every crawl) can see.

Run by ``monitor.status.check`` over the chosen report of each agency-year (see there), returning findings keyed
by ``(agency_id, year)``:

* ``history.carry_over``, ``history.stock``, ``copy.previous_year`` — this year's current version against the
  same agency's chosen version of the year before (``monitor.judgement.history.history_findings``);
* ``copy.other_agency`` — near-identical prose of two *different* agencies in the same year (内容雷同),
  put on both reports (docs/rules.md);
* ``history.backdated`` — the report's own date is on or before the due date, yet a listing page that shows it
  now was fetched after the due date (and before we first saw the report) without it; the finding cites
  that snapshot's URL and time. Only snapshots that showed at least one other report count, so an empty
  error page is never taken as proof;
* ``history.changed`` — we hold more than one version (different bytes) of the report.

Why it stays fast over 100,000 agency-years with bounded memory:

* versions are read in batches of agencies; each version is normalized and fingerprinted **once**;
* the fingerprint keeps a *content-defined sample* of the 8-character shingles: those starting with one of
  a few frequent characters (``ANCHORS``), found with ``str.split`` at C speed on the prose with digits
  blanked (``sketch_text``). Sampling by content is consistent across documents, so
  sample(A) ∩ sample(B) = sample(A ∩ B) and the sampled ratio estimates ``copy_ratio``; wherever the
  estimate is within ``EXACT_MARGIN`` of the threshold (or the sample is small) the exact
  ``monitor.judgement.history.copy_ratio`` decides, so decisions match the rule (tests/monitor/test_history.py);
* across agencies, only a bottom-k sketch (k = ``SKETCH_K`` hashes) of each sample is kept for the whole
  year; reports sharing ≥ 2 sketch hashes become candidate pairs (buckets larger than ``MAX_BUCKET`` are
  boilerplate every report carries and are skipped), pairs are pre-filtered by the sketch's estimate and
  confirmed with the exact ratio. A short report copied into a much longer one can be missed (its Jaccard
  similarity is low): the rule is tuned for 内容雷同 of whole reports.
"""

from __future__ import annotations

import heapq
import json
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import chain, combinations
from typing import Any

from sqlalchemy import String, literal, type_coerce
from sqlmodel import Session, func, select

from monitor.judgement.findings import finding
from monitor.judgement.history import COPY_THRESHOLD, HISTORY_CELL_KEYS, SHINGLE, copy_ratio, history_findings
from monitor.status.deadlines import SHANGHAI, Deadline, shanghai_midnight
from monitor.status.verdict import ReportFacts
from storage.models import ListingSnapshot, ReportVersion

Key = tuple[str, int]  # (agency_id, year)

# Function characters, frequent in any Chinese prose (about 1 in 20 characters starts a sampled shingle) but
# not piled up in the boilerplate every report shares (公开, 申请 would make all reports look alike)
ANCHORS = "的在和了是为有"
SKETCH_K = 24
MIN_SHARED = 2
MAX_BUCKET = 50
EXACT_MARGIN = 0.2
SHORT_SAMPLE = 30  # below this many sampled shingles the estimate is too rough: always exact
BATCH_VERSIONS = 2000
_ID_CHUNK = 5000


def sketch_text(prose: str) -> str:
    """A cheap stand-in for ``normalize_prose`` (C-speed ``str.replace`` only): digits made ``0``, so that a
    report copied with its figures changed still looks copied. It feeds the *estimate*; every decision near
    the threshold uses the exact rule."""
    for d in "123456789":
        prose = prose.replace(d, "0")
    return prose


def anchored_shingles(text: str) -> frozenset[str]:
    """The 8-character shingles that start with an anchor character: a sample chosen by content alone, so
    that sample(A) ∩ sample(B) = sample(A ∩ B). ``str.split`` finds them at C speed."""
    out: set[str] = set()
    tail = SHINGLE - 1
    for a in ANCHORS:
        parts = text.split(a)
        out.update([a + p[:tail] for p in parts[1:] if len(p) >= tail])
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class ChosenReport:
    """The report that stands for an agency-year (earliest-dated), with what history rules need."""

    facts: ReportFacts
    listing_url: str | None
    deadline: Deadline


@dataclass(frozen=True)
class Fingerprint:
    """A version's prose, reduced once: a content-defined shingle sample and its bottom-k sketch."""

    sample: frozenset[str]
    sketch: array  # the SKETCH_K smallest hashes of ``sample``, ascending (str hashes: one process only)

    @classmethod
    def of(cls, prose: str | None) -> Fingerprint:
        sample = anchored_shingles(sketch_text(prose or ""))
        return cls(sample, array("q", sorted(map(hash, sample))[:SKETCH_K]))  # sorted: C speed


def sampled_ratio(a: Fingerprint, b: Fingerprint) -> float:
    """Estimated share of ``a``'s shingles found in ``b`` (an estimate of ``copy_ratio``)."""
    if not a.sample:
        return 0.0
    return len(a.sample & b.sample) / len(a.sample)


def _is_copy(a: Fingerprint, b: Fingerprint, prose_a: str, prose_b: str) -> str | None:
    """How much of ``a`` stands in ``b`` ("87%", or "约95%" where estimated) when above the threshold,
    else None; the exact rule decides near the threshold."""
    if prose_a and prose_a == prose_b:
        return "100%"  # the commonest copy of all, decided exactly at C speed
    if len(a.sample) >= SHORT_SAMPLE:
        est = sampled_ratio(a, b)
        if est < COPY_THRESHOLD - EXACT_MARGIN:
            return None
        if est > COPY_THRESHOLD + EXACT_MARGIN:
            return f"约{est:.0%}"
    ratio = copy_ratio(prose_a, prose_b)
    return f"{ratio:.0%}" if ratio > COPY_THRESHOLD else None


@dataclass
class _NumbersOnly:
    """A version without its prose: lets ``history_findings`` judge the numbers while copy is judged here."""

    template: str | None
    year: int | None
    cells: dict[str, Any]
    prose: str | None = None


@dataclass
class HistoryCollector:
    """Gathers history findings for a set of chosen reports; see the module docstring."""

    session: Session
    chosen: Mapping[Key, ChosenReport]
    names: Mapping[str, str]  # agency id -> name, for messages
    as_of: date
    years: range | None = None  # judged years (None: all); the year before each is still read for comparison
    # False: for ``gkwatch check``, which keeps rule ids only — numbers' findings without messages and one
    # per rule and agency-year (a report failing all seven 上年结转 columns holds one finding, not seven)
    messages: bool = True
    out: dict[Key, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))

    def judged(self, year: int) -> bool:
        return self.years is None or year in self.years

    def run(self) -> dict[Key, list[dict[str, Any]]]:
        sketches = self._per_agency()
        self._cross_agency(sketches)
        self._changed()
        self._backdated()
        return dict(self.out)

    # --- this year against last year, and fingerprints -------------------------------------------

    def _per_agency(self) -> dict[int, list[tuple[Key, array]]]:
        """Consecutive years of each agency; returns each year's sketches for the cross-agency pass."""
        by_agency: dict[str, list[int]] = defaultdict(list)
        for (agency_id, year), c in self.chosen.items():
            if c.facts.version_id is not None:
                by_agency[agency_id].append(year)
        sketches: dict[int, list[tuple[Key, array]]] = defaultdict(list)
        batch: list[str] = []
        size = 0
        for agency_id in sorted(by_agency):
            batch.append(agency_id)
            size += len(by_agency[agency_id])
            if size >= BATCH_VERSIONS:
                self._agency_batch(batch, by_agency, sketches)
                batch, size = [], 0
        if batch:
            self._agency_batch(batch, by_agency, sketches)
        return sketches

    def _agency_batch(
        self,
        agencies: list[str],
        years: Mapping[str, list[int]],
        sketches: dict[int, list[tuple[Key, array]]],
    ) -> None:
        ids = {self.chosen[(a, y)].facts.version_id: (a, y) for a in agencies for y in years[a]}
        loaded: dict[Key, tuple[_NumbersOnly, str, Fingerprint]] = {}
        cells_column, read_cells = history_cells(self.session.get_bind().dialect.name)
        rows = self.session.exec(
            select(
                ReportVersion.id,
                ReportVersion.template,
                ReportVersion.year,
                cells_column,
                ReportVersion.prose,
                ReportVersion.error,
            ).where(ReportVersion.id.in_(list(ids)))
        )
        # a report repeating an earlier one word for word (the commonest copy) is fingerprinted once
        fingerprints: dict[str, Fingerprint] = {}
        for vid, template, vyear, cells, prose, error in rows:
            if error:
                continue  # unread: nothing to compare
            key = ids[vid]
            fp = fingerprints.get(prose or "")
            if fp is None:
                fp = fingerprints[prose or ""] = Fingerprint.of(prose)
            loaded[key] = (_NumbersOnly(template, vyear or key[1], read_cells(cells)), prose or "", fp)
            if fp.sketch and self.judged(key[1]):
                sketches[key[1]].append((key, fp.sketch))
        for a in agencies:
            for y in years[a]:
                if not self.judged(y):
                    continue
                cur, prev = loaded.get((a, y)), loaded.get((a, y - 1))
                if cur is None or prev is None:
                    continue
                found = history_findings(cur[0], prev[0], messages=self.messages)
                ratio = _is_copy(cur[2], prev[2], cur[1], prev[1])
                if ratio is not None:
                    found.append(
                        finding(
                            "copy.previous_year",
                            [],
                            f"正文与{y - 1}年度报告重复率 {ratio}（> {COPY_THRESHOLD:.0%}）",
                        )
                    )
                if not self.messages:
                    found = list({f["rule"]: f for f in found}.values())
                self.out[(a, y)].extend(found)

    # --- different agencies, same year ----------------------------------------------------------

    def _cross_agency(self, sketches: Mapping[int, list[tuple[Key, array]]]) -> None:
        for year in sorted(sketches):
            pairs = candidate_pairs(sketches[year])
            if pairs:
                self._confirm_pairs(pairs)

    def _confirm_pairs(self, pairs: list[tuple[Key, Key]]) -> None:
        keys = {k for p in pairs for k in p}
        prose = self._prose({self.chosen[k].facts.version_id: k for k in keys})
        fps = {k: Fingerprint.of(t) for k, t in prose.items()}
        for a, b in pairs:
            if a not in prose or b not in prose:
                continue
            for x, y in ((a, b), (b, a)):
                ratio = _is_copy(fps[x], fps[y], prose[x], prose[y])
                if ratio is not None:
                    other = self.names.get(y[0], y[0])
                    self.out[x].append(
                        finding(
                            "copy.other_agency",
                            [],
                            f"正文与{other}（{y[0]}）{y[1]}年度报告重复率 {ratio}（> {COPY_THRESHOLD:.0%}）",
                        )
                    )

    def _prose(self, ids: Mapping[int | None, Key]) -> dict[Key, str]:
        out: dict[Key, str] = {}
        for chunk in chunks([i for i in ids if i is not None]):
            for vid, prose in self.session.exec(
                select(ReportVersion.id, ReportVersion.prose).where(ReportVersion.id.in_(chunk))
            ):
                out[ids[vid]] = prose or ""
        return out

    # --- changed after publication --------------------------------------------------------------

    def _changed(self) -> None:
        by_report = {c.facts.report_id: k for k, c in self.chosen.items() if self.judged(k[1])}
        end = day_end_utc(self.as_of)
        rows = self.session.exec(
            select(
                ReportVersion.report_id,
                func.count(ReportVersion.id),
                func.min(ReportVersion.fetched_at),
                func.max(ReportVersion.fetched_at),
            )
            .where(ReportVersion.fetched_at < end)
            .group_by(ReportVersion.report_id)
            .having(func.count(ReportVersion.id) > 1)
        )
        for report_id, n, first, last in rows:
            key = by_report.get(report_id)
            if key is None:
                continue
            self.out[key].append(
                finding(
                    "history.changed",
                    [],
                    f"报告发布后内容有变动：共 {n} 个版本，首个版本抓取于 {_shanghai(first)}，"
                    f"最新版本抓取于 {_shanghai(last)}",
                )
            )

    # --- backdated ------------------------------------------------------------------------------

    def _backdated(self) -> None:
        suspects = {
            k: c
            for k, c in self.chosen.items()
            if self.judged(k[1])
            if c.facts.published is not None
            and c.listing_url
            and c.deadline.is_met_by(c.facts.published)
            and c.facts.first_seen >= c.deadline.closes_at
        }
        if not suspects:
            return
        by_listing: dict[str, list[Key]] = defaultdict(list)
        for k, c in suspects.items():
            by_listing[c.listing_url or ""].append(k)
        earliest = min(c.deadline.closes_at for c in suspects.values())
        end = day_end_utc(self.as_of)
        proof: dict[Key, tuple[str, datetime]] = {}
        for chunk in chunks(list(by_listing)):
            snaps = self.session.exec(
                select(ListingSnapshot.url, ListingSnapshot.fetched_at, ListingSnapshot.report_urls)
                .where(ListingSnapshot.url.in_(chunk))
                .where(ListingSnapshot.fetched_at >= earliest)
                .where(ListingSnapshot.fetched_at < end)
                .order_by(ListingSnapshot.fetched_at)
            )
            for url, fetched_at, shown in snaps:
                for k in by_listing[url]:
                    c = suspects[k]
                    if k in proof or not shown or c.facts.url in shown:
                        continue
                    if c.deadline.closes_at <= fetched_at < c.facts.first_seen:
                        proof[k] = (url, fetched_at)
        for k, (url, at) in proof.items():
            c = suspects[k]
            self.out[k].append(
                finding(
                    "history.backdated",
                    [],
                    f"报告标注发布日期 {c.facts.published}（截止日 {c.deadline.due}），但 {_shanghai(at)} 抓取的"
                    f"栏目页 {url} 中没有该报告；首次发现于 {_shanghai(c.facts.first_seen)}",
                )
            )


def history_cells(dialect: str) -> tuple[Any, Callable[[Any], dict[str, Any]]]:
    """The column to select for a version's cells, and how to read it: only ``HISTORY_CELL_KEYS``.

    On SQLite one ``json_extract`` with every path returns just those values (parsed in C), five times
    cheaper than decoding the whole cells object in Python; other backends load the object.
    """
    if dialect != "sqlite":
        return ReportVersion.cells, lambda cells: cells or {}
    paths = [literal(f'$."{k}"') for k in HISTORY_CELL_KEYS]
    column = func.json_extract(type_coerce(ReportVersion.cells, String), *paths, type_=String)

    def read(raw: str | None) -> dict[str, Any]:
        return dict(zip(HISTORY_CELL_KEYS, json.loads(raw), strict=True)) if raw else {}

    return column, read


def candidate_pairs(items: list[tuple[Key, array]]) -> list[tuple[Key, Key]]:
    """Pairs of different agencies whose sketches share ≥ ``MIN_SHARED`` hashes (an inverted index)."""
    # most hashes belong to one report only: count them at C speed and index just the shared ones
    counts = Counter(chain.from_iterable(sketch for _, sketch in items))
    wanted = {h for h, n in counts.items() if 2 <= n <= MAX_BUCKET}
    buckets: dict[int, list[int]] = defaultdict(list)
    for i, (_, sketch) in enumerate(items):
        for h in wanted.intersection(sketch):
            buckets[h].append(i)
    shared: dict[tuple[int, int], int] = defaultdict(int)
    for members in buckets.values():
        for i, j in combinations(members, 2):
            shared[(i, j)] += 1
    out = []
    for (i, j), n in shared.items():
        a, b = items[i][0], items[j][0]
        if n >= MIN_SHARED and a[0] != b[0] and _sketch_may_copy(items[i][1], items[j][1]):
            out.append((a, b))
    return out


def _sketch_may_copy(a: array, b: array) -> bool:
    """Bottom-k estimate of the Jaccard similarity, loose enough to keep every pair above the threshold."""
    union = heapq.nsmallest(SKETCH_K, set(a) | set(b))
    both = set(a) & set(b)
    jaccard = sum(1 for h in union if h in both) / len(union)
    # containment c of equal-sized texts has Jaccard c / (2 - c): 0.5 → 1/3; leave a wide margin
    return jaccard >= 0.15


def collect_history_findings(
    session: Session,
    chosen: Mapping[Key, ChosenReport],
    names: Mapping[str, str],
    *,
    as_of: date,
    years: range | None = None,
    messages: bool = True,
) -> dict[Key, list[dict[str, Any]]]:
    """Every history finding of the chosen reports, keyed by (agency_id, year) (``messages``: see
    ``HistoryCollector``)."""
    return HistoryCollector(session, chosen, names, as_of, years, messages).run()


def day_end_utc(d: date) -> datetime:
    """The first instant after the Shanghai calendar day ``d``, in UTC (what "as of d" can have seen)."""
    return shanghai_midnight(d + timedelta(days=1))


def _shanghai(dt: datetime) -> str:
    return dt.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def chunks(items: list, size: int = _ID_CHUNK) -> Iterator[list]:
    """Slices of ``items`` small enough for one ``IN (...)`` on SQLite and PostgreSQL."""
    for i in range(0, len(items), size):
        yield items[i : i + size]
