"""The rules that judge a report. One module per family of rules:

* ``cells``        — ``cell.*``: how each cell was printed
* ``arithmetic``   — ``s3.row_total``, ``s3.results_total``, ``s3.balance``, ``s4.total``
* ``structure``    — ``template.*``: format for the year, sections, rows
* ``text``         — ``text.table_mismatch``: prose against tables
* ``plausibility`` — ``plausibility.*``: numbers that add up but cannot be right
* ``history``      — ``history.*``, ``copy.previous_year``: across reports (run by the monitor)

``check_report`` runs every single-report rule over a parsed report; ``findings.RULES`` lists them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crawler.reading.values import CellValue
from domain.template import cell_label
from monitor.judgement.arithmetic import arithmetic_findings
from monitor.judgement.cells import cell_findings
from monitor.judgement.findings import RULES, SEVERITY_ORDER, explain, finding, is_inconsistent
from monitor.judgement.plausibility import plausibility_findings
from monitor.judgement.structure import structure_findings
from monitor.judgement.text import text_findings

__all__ = ["RULES", "check_report", "explain", "finding", "is_inconsistent", "sort_findings"]


def check_report(
    *,
    template: str,
    year: int | None,
    readings: Mapping[str, CellValue],
    sections_present: list[str],
    missing: list[tuple[str, str, str]],
    prose: str,
    period: tuple[str, str] | None = None,
    prose_years: list[int] | None = None,
) -> list[dict[str, Any]]:
    """Every single-report finding, most severe first."""
    cells = {k: r.value for k, r in readings.items()}
    out = cell_findings(template, readings)
    out += arithmetic_findings(template, cells)
    out += structure_findings(template, year, sections_present, missing)
    out += text_findings(prose, cells, lambda k: cell_label(template, k))
    out += plausibility_findings(template, year, cells, period, prose_years or [])
    return sort_findings(out)


def sort_findings(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(findings, key=lambda f: (SEVERITY_ORDER.get(f["severity"], 9), f["rule"]))
