"""``cell.*``: how each cell was printed — blank, text instead of a number, irregular, negative.

Blank and text cells are reported per table row (one finding naming every such cell of the row), so a
report that leaves 表三 blank for zero gets one line per row rather than two hundred.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache
from operator import itemgetter
from typing import Any

from crawler.reading.model import CellReading
from domain.template import cell_keys, column_of, row_label
from monitor.judgement.findings import finding

Value = int | float | None
_NOTE_RULES = {"blank": "cell.blank", "not_number": "cell.not_number", "format": "cell.format"}


def cell_findings(
    template: str,
    readings: Mapping[str, CellReading],
    values: Sequence[Value] | None = None,
    unsure: frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """``readings``: the cells to look at for how they were printed — every cell, or only those read with a
    remark (``Reading.remarked``: the others have no note); ``values``: every value in the template's key
    order, for the negative counts (taken from ``readings`` when not given)."""
    out: list[dict[str, Any]] = []
    # (rule, section, row) -> [(key, detail)]
    grouped: dict[tuple[str, str, str], list[tuple[str, str]]] = {}
    index = _index(template)
    noted = sorted((index[k], k, r) for k, r in readings.items() if r.note is not None and k in index)
    for _, key, r in noted:  # in the template's order
        rule = _NOTE_RULES.get(r.note)  # type: ignore[arg-type]
        if rule:
            section, row = key.split(".", 2)[:2]
            grouped.setdefault((rule, section, row), []).append((key, r.detail))
    if values is None:
        values = [r.value if (r := readings.get(k)) is not None else None for k in cell_keys(template)]
    unsigned, getter = _unsigned(template)
    # C speed for the common case: no negative anywhere (``filter(None, …)`` drops None and zeros alike)
    no_negative = len(values) >= len(unsigned) and min(filter(None, getter(values)), default=0) >= 0
    for i, key in () if no_negative else unsigned:
        v = values[i] if i < len(values) else None
        if v is not None and v < 0:
            message = f"{_where(template, key)}：{v:g} < 0"
            if key in unsure:  # a minus sign the reader is unsure of accuses nothing
                out.append(
                    finding(
                        "reading.unsure",
                        [key],
                        f"{message}（读数不确定，请核对原件）",
                        rule_of="cell.negative",
                        value=v,
                    )
                )
            else:
                out.append(finding("cell.negative", [key], message, value=v))
    for (rule, section, row), items in grouped.items():
        label = row_label(template, section, row)
        parts = "；".join(_cell_part(column_of(template, k).label, d) for k, d in items)
        out.append(finding(rule, [k for k, _ in items], f"{label}：{parts}"))
    return out


def _cell_part(column: str, detail: str) -> str:
    said = chinese_detail(detail)
    return f"{column}（{said}）" if said else column


# Readings stored before the readers spoke Chinese carry English remarks: said in Chinese here, so that no
# finding shows a reader's English (the readers now write these words themselves, crawler.reading.values).
_LEGACY = (
    (re.compile(r"^empty cell$"), lambda m: "空白"),
    (re.compile(r"^「(.*)」 instead of a number$"), lambda m: f"填了「{m[1]}」而不是数字"),
    (re.compile(r"^「(.*)」 is not a whole number$"), lambda m: f"「{m[1]}」不是整数"),
    (re.compile(r"^「(.*)」 is not a number$"), lambda m: f"「{m[1]}」不是数字"),
    (re.compile(r"^full-width digits$"), lambda m: "全角数字"),
    (re.compile(r"^written in (元|亿元), converted to 万元$"), lambda m: f"以“{m[1]}”填写，已换算为万元"),
    (re.compile(r"^unit 元 in a count cell$"), lambda m: "数量单元格内带单位“元”"),
    (re.compile(r"^unit (\S+) in the cell$"), lambda m: f"单元格内带单位“{m[1]}”"),
    (re.compile(r"^thousands separators$"), lambda m: "带千位分隔符"),
    (re.compile(r"^leading zeros 「(.*)」$"), lambda m: f"数字前有多余的 0「{m[1]}」"),
)


def chinese_detail(detail: str | None) -> str:
    """A reader's remark on a cell in Chinese (an English one of an old stored reading translated)."""
    parts = []
    for part in re.split(r"; |；", detail or ""):
        part = part.strip()
        for pattern, words in _LEGACY:
            m = pattern.match(part)
            if m:
                part = words(m)
                break
        if part:
            parts.append(part)
    return "；".join(parts)


@cache
def _index(template: str) -> dict[str, int]:
    return {k: i for i, k in enumerate(cell_keys(template))}


@cache
def _unsigned(template: str) -> tuple[tuple[tuple[int, str], ...], itemgetter]:
    """(index, key) of every cell that cannot be negative (all but 本年增/减), and a getter of their values."""
    pairs = tuple((i, k) for i, (k, _s, _r, signed) in enumerate(_cells(template)) if not signed)
    return pairs, itemgetter(*(i for i, _ in pairs))


@cache
def _cells(template: str) -> tuple[tuple[str, str, str, bool], ...]:
    """(key, section, row, signed) of every cell of a template: split once, not once per report."""
    return tuple(
        (key, *key.split(".")[:2], column_of(template, key).signed)  # type: ignore[misc]
        for key in cell_keys(template)
    )


def _where(template: str, key: str) -> str:
    section, row, _ = key.split(".")
    return f"{row_label(template, section, row)} · {column_of(template, key).label}"
