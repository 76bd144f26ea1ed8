"""Which report stands for an agency-year: one question, one answer, used by every part of gkwatch.

An agency's report may stand on several pages (a page and a re-upload, the portal and a department site).
The one that counts is the one with the earliest credible publication date (the portal's own date where it
gives one, else our first sight), then the one we saw first, then the lowest id — so the same facts always
choose the same report. ``gkwatch check`` stores the choice (``AgencyYearStatus.report_id`` and the version it
judged); the web page, the exports, the evidence file and the alerts read it from there.
"""

from __future__ import annotations

from collections.abc import Iterable

from monitor.status.verdict import ReportFacts


def rank(report: ReportFacts) -> tuple:
    """Smaller is better: the earliest effective date, then the first seen, then the lowest id."""
    return (report.effective_date, report.first_seen, report.report_id)


def stands_for_year(candidates: Iterable[ReportFacts]) -> ReportFacts | None:
    """The report that stands for an agency-year among all those attributed to it (None: no report)."""
    return min(candidates, key=rank, default=None)
