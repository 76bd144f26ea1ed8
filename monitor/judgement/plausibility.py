"""``plausibility.*``: numbers that add up but cannot be right (warnings, never errors).

domain.md: 规章 only from governments that may make them; a money cell of a million 万元 or more was
probably written in 元; 本年新公开 above 对外公开总数; a statistical period other than the calendar year;
prose naming another year (copied from last year's report).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from domain.template import cell_keys, column_of
from monitor.judgement.findings import finding

Value = int | float | None
MONEY_LIMIT = 1_000_000  # 万元


def plausibility_findings(
    template: str,
    year: int | None,
    cells: Mapping[str, Value],
    period: tuple[str, str] | None,
    prose_years: list[int],
    unit_printed: frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """``unit_printed``: cells printed with their unit (``27225290916元``, ``26.8万元``): the reader converted
    them by the unit they name, so their size is no sign of a wrong unit."""
    out: list[dict[str, Any]] = []
    for key in _money_keys(template):
        v = cells.get(key)
        if v is not None and v >= MONEY_LIMIT and key not in unit_printed:
            out.append(finding("plausibility.money_unit", [key], f"{v:g}万元：可能误将“元”作“万元”填写"))
    if template == "2019":
        for item in ("regulations", "normative_docs"):
            pub, total = cells.get(f"s2.{item}.published"), cells.get(f"s2.{item}.total_published")
            if pub is not None and total is not None and pub > total:
                out.append(
                    finding(
                        "plausibility.s2_published_exceeds_total",
                        [f"s2.{item}.published", f"s2.{item}.total_published"],
                        f"本年新公开{pub:g} > 对外公开总数{total:g}",
                    )
                )
    if year is not None and period is not None and period != (f"{year}-01-01", f"{year}-12-31"):
        out.append(
            finding("plausibility.period", [], f"统计期限为{period[0]}至{period[1]}，而非{year}年全年")
        )
    if year is not None and prose_years and year not in prose_years:
        others = sorted(set(prose_years))
        out.append(
            finding(
                "plausibility.year_in_text",
                [],
                f"{year}年度报告的正文只提到{'、'.join(str(y) for y in others)}年",
            )
        )
    return out


@cache
def _money_keys(template: str) -> tuple[str, ...]:
    """The 万元 cells of a template, in reading order."""
    return tuple(key for key in cell_keys(template) if column_of(template, key).money)


def regulations_findings(
    template: str, cells: Mapping[str, Value], kind: str | None, region: str | None
) -> list[dict[str, Any]]:
    """规章 reported by an agency that cannot make them: a township, or anything at county level or below.

    Needs the registry's kind and region, so the monitor calls it (the document alone does not say).
    """
    county_or_below = region is not None and region.count("/") >= 2
    if kind != "township" and not county_or_below:
        return []
    col = "made" if template == "2019" else "issued"
    key = f"s2.regulations.{col}"
    v = cells.get(key)
    if v:
        return [finding("plausibility.regulations", [key], f"县级及以下机关填报规章{v:g}件")]
    return []
