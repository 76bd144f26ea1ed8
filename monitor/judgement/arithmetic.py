"""The arithmetic a report must satisfy (domain.md, "The arithmetic a report must satisfy").

A sum with an unknown (blank, unreadable) term is not judged: the blank is reported by ``cell.blank``
instead, so that one missing cell never becomes a false "does not add up". A finding names the result cell
and the non-zero terms — the cells a reader has to look at — and carries the numbers (``data``).

An accusation rests only on cells read with certainty: a sum that fails where any cell involved is one the
reader is unsure of (placed by order, fuzzy label, realigned, OCR) is ``reading.unsure`` (a warning asking
for a look), never the error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from operator import itemgetter
from typing import Any

from domain.template import (
    S3_APPLICANT_COLUMNS,
    S3_COLUMNS,
    S4_COLUMNS,
    S4_GROUPS,
    cell_keys,
    get_template,
    row_label,
)
from monitor.judgement.findings import finding

Value = int | float | None
_EPS = 1e-6


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def _failed(
    rule: str, involved: list[str], message: str, unsure: frozenset[str], **data: Any
) -> dict[str, Any]:
    """The finding of a failed sum: the rule's own where every cell is certain, else ``reading.unsure``."""
    doubtful = sorted(k for k in involved if k in unsure)
    if not doubtful:
        return finding(rule, involved, message, **data)
    return finding(
        "reading.unsure",
        involved,
        f"{message}（涉及不确定读数，可能是识别错误，请核对原件）",
        rule_of=rule,
        unsure=doubtful,
        **data,
    )


def _sum_rule(
    cells: Mapping[str, Value],
    unsure: frozenset[str],
    rule: str,
    result: str,
    terms: Sequence[str],
    what: str,
    how: str,
) -> dict[str, Any] | None:
    """``result == sum(terms)`` or a finding; None when any cell involved is unknown."""
    total = cells.get(result)
    values = [cells.get(k) for k in terms]
    if total is None or any(v is None for v in values):
        return None
    s = sum(values)  # type: ignore[arg-type]
    if abs(s - total) <= _EPS:
        return None
    involved = [k for k, v in zip(terms, values, strict=True) if v] + [result]
    message = f"{what}：总计 {_fmt(total)}，而{how}为 {_fmt(s)}"
    if unsure and (result in unsure or not unsure.isdisjoint(terms)):
        return _failed(
            rule,
            [*involved, *(k for k in terms if k in unsure and k not in involved)],
            message,
            unsure,
            total=total,
            sum=s,
        )
    return finding(rule, involved, message, total=total, sum=s)


def _balance(cells: Mapping[str, Value], unsure: frozenset[str], col: str) -> dict[str, Any] | None:
    left = [f"s3.new_received.{col}", f"s3.carried_over.{col}"]
    right = [f"s3.results_total.{col}", f"s3.carried_forward.{col}"]
    vals = [cells.get(k) for k in left + right]
    if any(v is None for v in vals):
        return None
    a, b = vals[0] + vals[1], vals[2] + vals[3]  # type: ignore[operator]
    if abs(a - b) <= _EPS:
        return None
    label = next(c.label for c in S3_COLUMNS if c.key == col)
    involved = [k for k, v in zip(left + right, vals, strict=True) if v] or left + right
    message = f"{label}：一+二 = {_fmt(a)}，而三（七）总计+四 = {_fmt(b)}"
    if unsure and not unsure.isdisjoint(left + right):
        doubtful = [k for k in left + right if k in unsure and k not in involved]
        return _failed("s3.balance", involved + doubtful, message, unsure, left=a, right=b)
    return finding("s3.balance", involved, message, left=a, right=b)


SumSpec = tuple[str, str, tuple[str, ...], str, str]  # ``_sum_rule``'s arguments after ``cells``


@cache
def _sums(template: str) -> tuple[tuple[SumSpec, ...], tuple[SumSpec, ...]]:
    """Every sum of a template, spelled out once per template instead of once per report: 表三's row and
    column sums (checked before the balances), and 表四's (after them)."""
    t = get_template(template)
    s3: list[SumSpec] = [
        (
            "s3.row_total",
            f"s3.{row.key}.total",
            tuple(f"s3.{row.key}.{c}" for c in S3_APPLICANT_COLUMNS),
            row_label(template, "s3", row.key),
            "六类申请人之和",
        )
        for row in t.s3
    ]
    s3 += [
        (
            "s3.results_total",
            f"s3.results_total.{col.key}",
            tuple(f"s3.{r.key}.{col.key}" for r in t.s3_outcome_rows),
            f"（七）总计 · {col.label}",
            "（一）至（六）之和",
        )
        for col in S3_COLUMNS
    ]
    s4 = [
        (
            "s4.total",
            f"s4.{g.key}.total",
            tuple(f"s4.{g.key}.{c.key}" for c in S4_COLUMNS if c.key != "total"),
            g.label,
            "维持、纠正、其他、尚未审结之和",
        )
        for g in S4_GROUPS
    ]
    return tuple(s3), tuple(s4)


@cache
def _fast(template: str) -> tuple[list, list]:
    """Per sum: its spec, the result's index and a C-speed getter of its terms, over the template's ordered
    values — so that the sums that hold (nearly all) cost a tuple and a ``sum``; only a failed one is spelled
    out as a finding."""
    index = {k: i for i, k in enumerate(cell_keys(template))}
    s3_sums, s4_sums = _sums(template)
    sums = [(spec, index[spec[1]], itemgetter(*(index[k] for k in spec[2]))) for spec in (*s3_sums, *s4_sums)]
    balances = [
        (
            col.key,
            itemgetter(
                *(
                    index[f"s3.{row}.{col.key}"]
                    for row in ("new_received", "carried_over", "results_total", "carried_forward")
                )
            ),
        )
        for col in S3_COLUMNS
    ]
    return sums, balances


def arithmetic_findings(
    template: str, cells: Mapping[str, Value] | Sequence[Value], unsure: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """Every failed sum of 表三 and 表四 (``cells``: a mapping of keys to values, or the values in the
    template's key order; ``unsure``: the cells the reader is unsure of)."""
    keys = cell_keys(template)
    values = [cells.get(k) for k in keys] if isinstance(cells, Mapping) else cells
    sums, balances = _fast(template)
    failed_sums = set()
    for spec, ri, terms in sums:
        total, parts = values[ri], terms(values)
        if total is None or None in parts or abs(sum(parts) - total) <= _EPS:
            continue
        failed_sums.add(spec)
    failed_balances = set()
    for col, four in balances:
        a, b, c, d = four(values)
        if None in (a, b, c, d) or abs(a + b - c - d) <= _EPS:
            continue
        failed_balances.add(col)
    if not failed_sums and not failed_balances:
        return []
    by_key = cells if isinstance(cells, Mapping) else dict(zip(keys, values, strict=False))
    s3_sums, s4_sums = _sums(template)
    out = [f for spec in s3_sums if spec in failed_sums and (f := _sum_rule(by_key, unsure, *spec))]
    out += [
        f for col in S3_COLUMNS if col.key in failed_balances and (f := _balance(by_key, unsure, col.key))
    ]
    out += [f for spec in s4_sums if spec in failed_sums and (f := _sum_rule(by_key, unsure, *spec))]
    return out
