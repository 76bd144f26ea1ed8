"""Rules across two reports: this year's against last year's, or one agency's against another's.

Inputs are anything with ``template``, ``year``, ``cells`` and ``prose`` — a ``ParsedReport`` or a stored
``ReportVersion`` — so the monitor can run them over the database without re-parsing.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any, Protocol

from domain.template import S3_COLUMNS
from monitor.judgement.findings import finding

COPY_THRESHOLD = 0.5  # 与上年度重复率大于50%
SHINGLE = 8
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
    template: str | None
    year: int | None
    cells: dict[str, Any]
    prose: str | None


def _stock_pairs(cur: ReportLike, prev: ReportLike) -> list[tuple[str, str, float, float]]:
    """(cell, what, expected, actual) for every stock that should carry from ``prev`` to ``cur``."""
    c, p = cur.cells, prev.cells
    out: list[tuple[str, str, float, float]] = []
    if cur.template == "2021" and prev.template == "2021":
        for item, name in STOCK_ITEMS_2021:
            last, issued, repealed = (
                p.get(f"s2.{item}.in_force"),
                c.get(f"s2.{item}.issued"),
                c.get(f"s2.{item}.repealed"),
            )
            now = c.get(f"s2.{item}.in_force")
            if None not in (last, issued, repealed, now):
                out.append((f"s2.{item}.in_force", f"{name}现行有效件数", last + issued - repealed, now))
    elif cur.template == "2019" and prev.template == "2019":
        for item, name in STOCK_ITEMS_2019:
            last, change, now = (
                p.get(f"s2.{item}.prior"),
                p.get(f"s2.{item}.change"),
                c.get(f"s2.{item}.prior"),
            )
            if None not in (last, change, now):
                out.append((f"s2.{item}.prior", f"{name}上一年项目数量", last + change, now))
    return out


# (this year's cell, last year's cell, column label) of every 上年结转 that must equal last year's 结转下年度
_CARRY_OVER = tuple((f"s3.carried_over.{c.key}", f"s3.carried_forward.{c.key}", c.label) for c in S3_COLUMNS)


def history_findings(
    current: ReportLike, previous: ReportLike, *, messages: bool = True
) -> list[dict[str, Any]]:
    """``history.carry_over``, ``history.stock`` and ``copy.previous_year`` of ``current`` against the
    report of the year before (the caller picks ``previous``; nothing here checks the years).

    ``messages=False`` leaves every message empty: ``gkwatch check`` keeps only rule ids and cells, and
    over 100,000 agency-years formatting messages nobody reads is a good part of its time.
    """
    out: list[dict[str, Any]] = []
    now_cells, before_cells = current.cells, previous.cells
    for now_key, before_key, label in _CARRY_OVER:
        now = now_cells.get(now_key)
        before = before_cells.get(before_key)
        if now is not None and before is not None and now != before:
            message = (
                f"上年结转 · {label} {now:g} ≠ {previous.year or '上'}年度报告的结转下年度继续办理 {before:g}"
                if messages
                else ""
            )
            out.append(finding("history.carry_over", [now_key], message))
    for key, what, expected, actual in _stock_pairs(current, previous):
        if abs(expected - actual) > 1e-6:
            message = f"{what} {actual:g} ≠ 上年 {expected:g}（上年存量加本年增减）" if messages else ""
            out.append(finding("history.stock", [key], message))
    if current.prose and previous.prose:
        ratio = copy_ratio(current.prose, previous.prose)
        if ratio > COPY_THRESHOLD:
            out.append(
                finding(
                    "copy.previous_year",
                    [],
                    f"正文与{previous.year or '上'}年度报告重复率 {ratio:.0%}（> {COPY_THRESHOLD:.0%}）",
                )
            )
    return out


def copy_findings(current: ReportLike, other: ReportLike, other_name: str) -> list[dict[str, Any]]:
    """``copy.previous_year`` against another agency's report of the same year (内容雷同)."""
    ratio = copy_ratio(current.prose or "", other.prose or "")
    if ratio > COPY_THRESHOLD:
        return [
            finding(
                "copy.previous_year",
                [],
                f"正文与{other_name}的报告重复率 {ratio:.0%}（> {COPY_THRESHOLD:.0%}）",
            )
        ]
    return []


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
