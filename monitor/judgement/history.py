"""Rules across reports: this year's against last year's, one agency's against another's, a report against
its own crawl history. Pure functions of readings and facts (``monitor.status.check`` gathers them).

* ``history_findings`` — ``history.carry_over``, ``history.stock``, ``plausibility.s2_repealed_exceeds_stock``
  and ``copy.previous_year``: a report against the same agency's report of the year before;
* ``copy.other_agency`` — near-identical prose of two *different* agencies in the same year (内容雷同),
  found through fingerprints (below) and confirmed exactly;
* ``changed_finding`` (``history.changed``) and ``backdated_finding`` (``history.backdated``): the facts of
  the crawl history, spelled out.

A cross-year finding resting on a cell the reader is unsure of (this year's or last year's) is
``reading.unsure``, never an accusation.

Copy detection stays fast over 100,000 agency-years: each prose is reduced once to a *content-defined
sample* of its 8-character shingles — those starting with one of a few frequent characters (``ANCHORS``),
found with ``str.split`` at C speed on the prose with digits blanked (``sketch_text``). Sampling by content is
consistent across documents, so sample(A) ∩ sample(B) = sample(A ∩ B) and the sampled ratio estimates
``copy_ratio``; wherever the estimate is within ``EXACT_MARGIN`` of the threshold (or the sample is small)
the exact ``copy_ratio`` decides. Across agencies, only a bottom-k sketch (``SKETCH_K`` hashes) of each
sample is kept; reports sharing ≥ 2 sketch hashes become candidate pairs (buckets larger than
``MAX_BUCKET`` are boilerplate every report carries and are skipped), confirmed with the exact ratio.
"""

from __future__ import annotations

import functools
import heapq
import re
import unicodedata
from array import array
from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from itertools import chain, combinations
from typing import Any, Protocol

from domain.clock import beijing_time
from domain.template import S3_COLUMNS
from monitor.judgement.findings import finding

COPY_THRESHOLD = 0.5  # 与上年度重复率大于50%
SHINGLE = 8
Key = tuple[str, int]  # (agency_id, year)
_NOISE = re.compile(r"[^\u4e00-\u9fffA-Za-z0-9]+")
_DIGITS = re.compile(r"\d+")


# the stocks that carry from one year to the next, per template
STOCK_ITEMS_2021 = (("regulations", "规章"), ("normative_docs", "行政规范性文件"))
STOCK_ITEMS_2019 = (
    ("licensing", "行政许可"),
    ("other_services", "其他对外管理服务事项"),
    ("penalties", "行政处罚"),
    ("coercion", "行政强制"),
    ("fees", "行政事业性收费"),
)
# every cell ``history_findings`` reads: the monitor loads only these from the database
HISTORY_CELL_KEYS = (
    *(f"s3.{row}.{col.key}" for row in ("carried_over", "carried_forward") for col in S3_COLUMNS),
    *(f"s2.{item}.{c}" for item, _ in STOCK_ITEMS_2021 for c in ("in_force", "issued", "repealed")),
    *(f"s2.{item}.{c}" for item, _ in STOCK_ITEMS_2019 for c in ("prior", "change")),
)


class ReportLike(Protocol):
    """A reading, or anything with its values: ``cells`` maps cell keys to values (``unsure`` optional)."""

    template: str | None
    year: int | None
    cells: dict[str, Any]
    prose: str | None


def _unsure(report: ReportLike) -> Collection[str]:
    return getattr(report, "unsure", None) or ()


def _stock_pairs(cur: ReportLike, prev: ReportLike) -> list[tuple[str, str, str, float, float]]:
    """(this year's cell, last year's cell, what, expected, actual) for every stock that should carry."""
    c, p = cur.cells, prev.cells
    out: list[tuple[str, str, str, float, float]] = []
    if cur.template == "2021" and prev.template == "2021":
        for item, name in STOCK_ITEMS_2021:
            last, issued, repealed = (
                p.get(f"s2.{item}.in_force"),
                c.get(f"s2.{item}.issued"),
                c.get(f"s2.{item}.repealed"),
            )
            now = c.get(f"s2.{item}.in_force")
            if None not in (last, issued, repealed, now):
                key = f"s2.{item}.in_force"
                out.append((key, key, f"{name}现行有效件数", last + issued - repealed, now))
    elif cur.template == "2019" and prev.template == "2019":
        for item, name in STOCK_ITEMS_2019:
            last, change, now = (
                p.get(f"s2.{item}.prior"),
                p.get(f"s2.{item}.change"),
                c.get(f"s2.{item}.prior"),
            )
            if None not in (last, change, now):
                key = f"s2.{item}.prior"
                out.append((key, key, f"{name}上一年项目数量", last + change, now))
    return out


# (this year's cell, last year's cell, column label) of every 上年结转 that must equal last year's 结转下年度
_CARRY_OVER = tuple((f"s3.carried_over.{c.key}", f"s3.carried_forward.{c.key}", c.label) for c in S3_COLUMNS)


def _cross_year(
    rule: str,
    now_key: str,
    before_key: str,
    current: ReportLike,
    previous: ReportLike,
    message: str,
    **data: Any,
) -> dict[str, Any]:
    """A cross-year finding; ``reading.unsure`` where either year's cell is one its reader is unsure of."""
    if now_key in _unsure(current) or before_key in _unsure(previous):
        return finding(
            "reading.unsure",
            [now_key],
            f"{message}（涉及不确定读数，可能是识别错误，请核对原件）",
            rule_of=rule,
            **data,
        )
    return finding(rule, [now_key], message, **data)


def history_findings(current: ReportLike, previous: ReportLike) -> list[dict[str, Any]]:
    """``current`` against the same agency's report of the year before (the caller picks ``previous``):
    ``history.carry_over``, ``history.stock``, ``plausibility.s2_repealed_exceeds_stock`` and
    ``copy.previous_year`` (exact ratio; ``monitor.status`` decides copies through fingerprints)."""
    out: list[dict[str, Any]] = []
    now_cells, before_cells = current.cells, previous.cells
    last = previous.year or "上"
    for now_key, before_key, label in _CARRY_OVER:
        now = now_cells.get(now_key)
        before = before_cells.get(before_key)
        if now is not None and before is not None and now != before:
            message = f"上年结转 · {label} 为 {now:g}，而{last}年度报告的结转下年度继续办理为 {before:g}"
            data = {"this_year": now, "last_year": before, "last_year_report": previous.year}
            out.append(
                _cross_year("history.carry_over", now_key, before_key, current, previous, message, **data)
            )
    for key, before_key, what, expected, actual in _stock_pairs(current, previous):
        if abs(expected - actual) > 1e-6:
            message = f"{what}为 {actual:g}，按{last}年度报告的存量加本年增减应为 {expected:g}"
            data = {"this_year": actual, "expected": expected, "last_year_report": previous.year}
            out.append(_cross_year("history.stock", key, before_key, current, previous, message, **data))
    out += repealed_findings(current, previous)
    if current.prose and previous.prose:
        ratio = copy_ratio(current.prose, previous.prose)
        if ratio > COPY_THRESHOLD:
            out.append(copy_previous_finding(f"{ratio:.0%}", previous.year))
    return out


def repealed_findings(current: ReportLike, previous: ReportLike) -> list[dict[str, Any]]:
    """2021 format: more repealed this year than were in force last year plus issued this year."""
    if current.template != "2021" or previous.template != "2021":
        return []
    out = []
    for item, name in STOCK_ITEMS_2021:
        last = previous.cells.get(f"s2.{item}.in_force")
        issued = current.cells.get(f"s2.{item}.issued")
        repealed = current.cells.get(f"s2.{item}.repealed")
        if None in (last, issued, repealed) or repealed <= last + issued:
            continue
        key = f"s2.{item}.repealed"
        out.append(
            finding(
                "plausibility.s2_repealed_exceeds_stock",
                [key],
                f"{name}本年废止 {repealed:g} 件，多于{previous.year or '上'}年现行有效 {last:g} 件与本年制发 {issued:g} 件之和",
                repealed=repealed,
                last_year_in_force=last,
                issued=issued,
            )
        )
    return out


def copy_previous_finding(ratio: str, previous_year: int | None) -> dict[str, Any]:
    return finding(
        "copy.previous_year",
        [],
        f"正文与{previous_year or '上'}年度报告重复率 {ratio}（超过 {COPY_THRESHOLD:.0%}）",
        similarity=ratio,
        other_year=previous_year,
    )


def copy_other_finding(
    ratio: str, other_name: str, other_id: str, year: int, other_url: str | None
) -> dict[str, Any]:
    return finding(
        "copy.other_agency",
        [],
        f"正文与{other_name}（{other_id}）{year}年度报告重复率 {ratio}（超过 {COPY_THRESHOLD:.0%}）",
        similarity=ratio,
        other_agency=other_id,
        other_name=other_name,
        other_year=year,
        other_report_url=other_url,
    )


def changed_finding(versions: int, first: datetime, last: datetime) -> dict[str, Any]:
    return finding(
        "history.changed",
        [],
        f"报告发布后内容有变动：共 {versions} 个版本，首个版本抓取于 {beijing_time(first)}，"
        f"最新版本抓取于 {beijing_time(last)}",
        versions=versions,
        first_fetched=first.isoformat(),
        last_fetched=last.isoformat(),
    )


def backdated_finding(
    published: date, due: date, listing_url: str, listing_at: datetime, first_seen: datetime
) -> dict[str, Any]:
    return finding(
        "history.backdated",
        [],
        f"报告标注发布日期 {published}（截止日 {due}），但 {beijing_time(listing_at)} 抓取的栏目页 {listing_url} "
        f"中没有该报告；本系统首次发现于 {beijing_time(first_seen)}",
        published=published.isoformat(),
        due=due.isoformat(),
        listing_url=listing_url,
        listing_fetched=listing_at.isoformat(),
        first_seen=first_seen.isoformat(),
    )


_NON_CJK = re.compile(r"[^\u4e00-\u9fff]+")
# the punctuation of Chinese prose; each is dropped whether or not NFKC runs first (checked by a test)
PROSE_PUNCTUATION = "，。、；：？！“”‘’（）《》【】〔〕—…·　 \n\t"


@functools.lru_cache(maxsize=8192)
def _normalize_run(run: str) -> str:
    return _DIGITS.sub("0", _NOISE.sub("", unicodedata.normalize("NFKC", run)))


def normalize_prose(text: str) -> str:
    """The text copy detection compares: NFKC, punctuation and spaces dropped, every number made ``0``.

    CJK ideographs are already normal and kept as they are, so only the runs between them (punctuation,
    digits, Latin letters — mostly a lone ``，`` or ``。``, hence the cache) are normalized: NFKC over a
    whole report takes CPython's slow path as soon as it holds one full-width comma, at 100 times the cost.
    """
    for ch in PROSE_PUNCTUATION:  # str.replace is C-fast; these are noise before and after NFKC
        text = text.replace(ch, "")
    return _NON_CJK.sub(lambda m: _normalize_run(m.group()), text)


def shingles(text: str, size: int = SHINGLE) -> set[str]:
    """Character n-grams of the text with punctuation dropped and every number made alike.

    Numbers are blanked so that a report copied with only its figures and year changed still counts as
    copied — exactly the behaviour assessments penalize.
    """
    t = normalize_prose(text)
    if len(t) < size:
        return {t} if t else set()
    return {t[i : i + size] for i in range(len(t) - size + 1)}


def copy_ratio(text: str, other: str) -> float:
    """The share of ``text`` that also stands in ``other`` (0 … 1), by 8-character shingles."""
    a = shingles(text)
    if not a:
        return 0.0
    b = shingles(other)
    return len(a & b) / len(a)


# Function characters, frequent in any Chinese prose (about 1 in 20 characters starts a sampled shingle) but
# not piled up in the boilerplate every report shares (公开, 申请 would make all reports look alike)
ANCHORS = "的在和了是为有"
SKETCH_K = 24
MIN_SHARED = 2
MAX_BUCKET = 50
EXACT_MARGIN = 0.2
SHORT_SAMPLE = 30  # below this many sampled shingles the estimate is too rough: always exact


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


def is_copy(a: Fingerprint, b: Fingerprint, prose_a: str, prose_b: str) -> str | None:
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
