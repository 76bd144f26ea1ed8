"""``cell.*``: how each cell was printed — blank, text instead of a number, irregular, negative.

Blank and text cells are reported per table row (one finding naming every such cell of the row), so a
report that leaves 表三 blank for zero gets one line per row rather than two hundred.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from crawler.reading.model import CellReading
from domain.template import cell_keys, column_of, row_label
from monitor.judgement.findings import finding

_NOTE_RULES = {"blank": "cell.blank", "not_number": "cell.not_number", "format": "cell.format"}


def cell_findings(template: str, readings: Mapping[str, CellReading]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    # (rule, section, row) -> [(key, detail)]
    grouped: dict[tuple[str, str, str], list[tuple[str, str]]] = {}
    for key, section, row, signed in _cells(template):
        r = readings.get(key)
        if r is None:
            continue
        if r.note is not None:
            rule = _NOTE_RULES.get(r.note)
            if rule:
                grouped.setdefault((rule, section, row), []).append((key, r.detail))
        if r.value is not None and r.value < 0 and not signed:
            out.append(finding("cell.negative", [key], f"{_where(template, key)}: {r.value} < 0"))
    for (rule, section, row), items in grouped.items():
        label = row_label(template, section, row)
        parts = "; ".join(f"{column_of(template, k).label} {d}" for k, d in items)
        out.append(finding(rule, [k for k, _ in items], f"{label}: {parts}"))
    return out


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
