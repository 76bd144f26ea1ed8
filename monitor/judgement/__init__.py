"""Judgement: the rules that judge readings. One module per family of rules:

* ``cells``        — ``cell.*``: how each cell was printed
* ``arithmetic``   — ``s3.row_total``, ``s3.results_total``, ``s3.balance``, ``s4.total`` (and
  ``reading.unsure`` where a sum fails on a cell the reader is unsure of)
* ``structure``    — ``template.*``: format for the year, sections, rows
* ``text``         — ``text.table_mismatch``: prose against tables
* ``plausibility`` — ``plausibility.*``: numbers that add up but cannot be right
* ``history``      — ``history.*``, ``copy.*``: across reports (run by ``monitor.status.history``)

``judge`` runs every single-report rule over one ``Reading``; it reads no document and touches no
database, so ``gkwatch check`` runs it over every stored reading every time. Rule ids and their meanings
are in ``domain.codes.RULES`` (docs/rules.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crawler.reading.model import Reading
from domain.codes import RULES, explain
from domain.template import cell_label
from monitor.judgement.arithmetic import arithmetic_findings
from monitor.judgement.cells import cell_findings
from monitor.judgement.findings import finding, is_inconsistent, sort_findings
from monitor.judgement.plausibility import plausibility_findings, regulations_findings
from monitor.judgement.structure import structure_findings
from monitor.judgement.text import text_findings

__all__ = ["RULES", "AgencyContext", "explain", "finding", "is_inconsistent", "judge", "sort_findings"]


@dataclass(frozen=True, slots=True)
class AgencyContext:
    """What the registry knows of the agency: rules the document alone cannot decide need it."""

    kind: str | None = None
    region: str | None = None


def judge(reading: Reading, agency: AgencyContext | None = None) -> list[dict[str, Any]]:
    """Every single-report finding of a reading, most severe first (none for an unread document)."""
    template = reading.template
    if template is None or reading.error:
        return []
    ordered = reading.ordered_values()
    remarked = reading.remarked()  # the few cells read with a remark: the others need no look
    unsure = frozenset(k for k, c in remarked.items() if not c.sure)
    values = dict(zip(reading.keys(), ordered, strict=False))
    out = cell_findings(template, remarked, ordered, unsure)
    out += arithmetic_findings(template, ordered, unsure)
    out += structure_findings(template, reading.year, reading.sections_present, reading.missing)
    out += text_findings(reading.prose, values, lambda k: cell_label(template, k))
    irregular = frozenset(k for k, c in remarked.items() if c.note == "format")  # printed with a unit, …
    out += plausibility_findings(
        template, reading.year, values, reading.period, reading.prose_years, irregular
    )
    if agency is not None:
        out += regulations_findings(template, values, agency.kind, agency.region)
    return sort_findings(out)
