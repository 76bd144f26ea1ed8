"""``text.table_mismatch``: figures in the prose of 一、总体情况 that contradict the tables.

Only statements that name the same quantity are compared: "受理政府信息公开申请3119件" is 表三's 本年新收
总计; "行政复议351件" is 表四's 行政复议 总计. A number near similar words about something else (备案 cases,
行政许可 applications) must not match, so every pattern requires the quantity's own words right before the
number, inside a sentence about 信息公开 申请 or 复议/诉讼.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from crawler.reading.metadata import squeeze
from monitor.judgement.findings import finding

Value = int | float | None
_SENTENCE = re.compile(r"[。；;！!\n]")


@dataclass(frozen=True)
class _Statement:
    name: str  # what the quantity is, for the message
    pattern: re.Pattern[str]
    cells: tuple[str, ...]  # the table cells whose sum the prose states
    sentence_needs: tuple[str, ...] = ()  # the sentence must mention one of these


_APPLICATIONS = ("信息公开", "依申请")
STATEMENTS: tuple[_Statement, ...] = (
    _Statement(
        "本年新收政府信息公开申请",
        re.compile(
            r"(?<!上年)(?<!结转)(?:新收|收到|受理|接收)(?:政府信息公开|依申请公开|信息公开)?(?:申请)?(?:共|总计|合计)?(?P<n>\d+)件"
            r"|(?:新收|收到|受理|接收)(?P<n2>\d+)件(?:政府信息公开|依申请公开|信息公开)申请"
        ),
        ("s3.new_received.total",),
        _APPLICATIONS,
    ),
    _Statement(
        "上年结转政府信息公开申请",
        re.compile(r"上年度?结转(?:的)?(?:政府信息公开)?(?:申请)?(?:共)?(?P<n>\d+)件"),
        ("s3.carried_over.total",),
        _APPLICATIONS,
    ),
    _Statement(
        "行政复议",
        re.compile(r"(?<![、和与及])行政复议(?:案件|申请)?(?:共)?(?P<n>\d+)(?:件|起)"),
        ("s4.review.total",),
    ),
    _Statement(
        "行政诉讼",
        # not 一审/二审行政诉讼: a part of the suits, not 表四's total
        re.compile(r"(?<![、和与及审])行政诉讼(?:案件)?(?:共)?(?P<n>\d+)(?:件|起)"),
        ("s4.litigation_direct.total", "s4.litigation_after_review.total"),
    ),
)
_NONE_RECEIVED = re.compile(r"(?:未|没有)(?:收到|受理|接到)(?:任何)?(?:政府信息公开|依申请公开)(?:申请)?")
# Every pattern above needs one of these words (the verbs of ``STATEMENTS[0]`` and ``_NONE_RECEIVED``, the
# nouns of the others): a sentence with none of them (most of a report, and every line of its tables when
# it is plain text) is skipped before the patterns run.
_MAY_STATE = re.compile("新收|收到|受理|接收|接到|结转|行政复议|行政诉讼")


def _stated(prose: str) -> list[tuple[_Statement, int, str]]:
    found: list[tuple[_Statement, int, str]] = []
    for sentence in _SENTENCE.split(prose):
        if not _MAY_STATE.search(sentence):
            continue
        for st in STATEMENTS:
            if st.sentence_needs and not any(w in sentence for w in st.sentence_needs):
                continue
            m = st.pattern.search(sentence)
            if m:
                n = m.groupdict().get("n") or m.groupdict().get("n2")
                found.append((st, int(n), m.group(0)))
        m = _NONE_RECEIVED.search(sentence)
        if m:
            found.append((STATEMENTS[0], 0, m.group(0)))
    return found


def text_findings(
    prose: str, cells: Mapping[str, Value], label: Callable[[str], str]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, int]] = set()
    for st, n, quote in _stated(squeeze(prose)):
        values = [cells.get(c) for c in st.cells]
        if any(v is None for v in values):
            continue
        table = sum(values)  # type: ignore[arg-type]
        if table == n or (st.name, n) in seen:
            continue
        seen.add((st.name, n))
        where = " + ".join(label(c) for c in st.cells)
        out.append(
            finding(
                "text.table_mismatch",
                list(st.cells),
                f"正文「{quote}」说{st.name}{n}件，表格（{where}）为{table:g}件",
            )
        )
    return out
