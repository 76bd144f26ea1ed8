"""The table's own redundancy, used to catch and mend OCR misreads before anything is judged.

表三 and 表四 say most of their numbers twice: every row has its 总计, every column its （七）总计, every
column its balance (一 + 二 = 三（七） + 四), every 表四 group its 总计 (domain.md; the rules themselves are
``monitor.judgement.arithmetic`` — this package may not import them, so the same sums are written here as
equations over cell keys from ``domain.template``).

A misread digit breaks the sums its cell is in. Where the failing sums of one connected group are all
mended by changing ONE cell — and by no other single cell — and that cell was read with less than full
confidence and its printed text is one OCR slip away from the mended value (a digit changed, dropped or
doubled), the reading is corrected (``how="ocr_corrected"``, the printed text kept in ``raw``, the change
in the reading's notes). A cell read with full confidence is never changed: where such a cell is the only
one that would mend a sum, the report's own figures disagree, and that is left for the rules to find.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from domain.template import S3_APPLICANT_COLUMNS, S3_COLUMNS, S4_COLUMNS, S4_GROUPS, get_template

Equation = tuple[tuple[str, int], ...]  # Σ coefficient × value = 0
_EPS = 1e-6


@cache
def equations(template: str) -> tuple[Equation, ...]:
    """Every sum of 表三 and 表四 of a template, as equations that hold when the report adds up."""
    t = get_template(template)
    out: list[Equation] = []
    for row in t.s3:
        out.append(((f"s3.{row.key}.total", 1), *((f"s3.{row.key}.{c}", -1) for c in S3_APPLICANT_COLUMNS)))
    for col in S3_COLUMNS:
        parts = tuple((f"s3.{r.key}.{col.key}", -1) for r in t.s3_outcome_rows)
        out.append(((f"s3.results_total.{col.key}", 1), *parts))
        out.append(
            (
                (f"s3.new_received.{col.key}", 1),
                (f"s3.carried_over.{col.key}", 1),
                (f"s3.results_total.{col.key}", -1),
                (f"s3.carried_forward.{col.key}", -1),
            )
        )
    for g in S4_GROUPS:
        parts = tuple((f"s4.{g.key}.{c.key}", -1) for c in S4_COLUMNS if c.key != "total")
        out.append(((f"s4.{g.key}.total", 1), *parts))
    return tuple(out)


def residual(eq: Equation, values: Mapping[str, float | int | None]) -> float | None:
    """Σ coefficient × value, or None where a term is unknown (such a sum is not judged)."""
    s = 0.0
    for k, c in eq:
        v = values.get(k)
        if v is None:
            return None
        s += c * v
    return s


@dataclass(frozen=True)
class Correction:
    key: str
    printed: str
    value: int


def failing(template: str, values: Mapping[str, float | int | None]) -> list[Equation]:
    return [eq for eq in equations(template) if (r := residual(eq, values)) is not None and abs(r) > _EPS]


def _groups(eqs: list[Equation]) -> list[list[Equation]]:
    """Failing equations joined where they share a cell (one misread breaks its row and its column)."""
    groups: list[tuple[set[str], list[Equation]]] = []
    for eq in eqs:
        keys = {k for k, _ in eq}
        joined = [g for g in groups if g[0] & keys]
        merged_keys, merged_eqs = set(keys), [eq]
        for g in joined:
            merged_keys |= g[0]
            merged_eqs += g[1]
            groups.remove(g)
        groups.append((merged_keys, merged_eqs))
    return [g[1] for g in groups]


def one_slip(printed: str, value: int) -> bool:
    """Whether OCR could have read ``value`` as ``printed`` with one slip: a digit changed, dropped or
    added (Levenshtein distance 1 between the digit strings)."""
    a = "".join(ch for ch in printed if ch.isdigit())
    b = str(value)
    if a == b or not a:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    if abs(len(a) - len(b)) != 1:
        return False
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def mend(
    template: str,
    values: Mapping[str, float | int | None],
    printed: Mapping[str, str],
    mendable: set[str],
) -> tuple[list[Correction], list[list[Equation]]]:
    """(the corrections to make, the groups of failing sums left unexplained).

    ``mendable``: the cells OCR read with less than full confidence. A group of failing sums is mended
    only where exactly one cell of the whole group — mendable or not — makes every sum it is in hold, and
    that cell is mendable and one slip from the value.
    """
    eqs = equations(template)
    by_key: dict[str, list[Equation]] = {}
    for eq in eqs:
        for k, _c in eq:
            by_key.setdefault(k, []).append(eq)
    corrections: list[Correction] = []
    unexplained: list[list[Equation]] = []
    for group in _groups(failing(template, values)):
        keys = sorted({k for eq in group for k, _ in eq})
        fits: list[tuple[str, float]] = []
        for k in keys:
            v = values.get(k)
            if v is None:
                continue
            new = _value_that_mends(k, group, by_key[k], values)
            if new is not None:
                fits.append((k, new))
        if len(fits) == 1:
            k, new = fits[0]
            if (
                k in mendable
                and new >= 0
                and float(new).is_integer()
                and one_slip(printed.get(k, ""), int(new))
            ):
                corrections.append(Correction(k, printed.get(k, ""), int(new)))
                continue
        unexplained.append(group)
    return corrections, unexplained


def _value_that_mends(
    key: str, group: list[Equation], its_sums: list[Equation], values: Mapping[str, float | int | None]
) -> float | None:
    """The value of ``key`` that makes every failing sum of the group hold and keeps its other sums
    holding — None where no single value does (the cell is not in every failing sum, or they disagree)."""
    coef = {id(eq): dict(eq)[key] for eq in its_sums}
    if any(id(eq) not in coef for eq in group):
        return None
    wanted: float | None = None
    for eq in its_sums:
        r = residual(eq, values)
        if r is None:
            continue
        new = values[key] - r / coef[id(eq)]  # type: ignore[operator]
        if wanted is None:
            wanted = new
        elif abs(new - wanted) > _EPS:
            return None
    if wanted is None or abs(wanted - values[key]) <= _EPS:  # type: ignore[operator]
        return None
    return wanted
