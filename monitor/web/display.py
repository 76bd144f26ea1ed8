"""A status row's display values, computed in Python once per row.

The table shows 50 rows of about ten cells; doing the label look-ups here instead of in Jinja macros
halves the page's rendering time (the page must stay fast under concurrent load). Values are still
escaped by the template: nothing here is marked safe.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from domain.text import safe_url
from monitor.web import labels as L


def row_view(r: dict[str, Any]) -> dict[str, Any]:
    findings = r.get("findings") or []
    inconsistent = r.get("inconsistent")
    return {
        "agency_id": r["agency_id"],
        "href": "/agency/" + quote(r["agency_id"], safe=""),
        "agency": r["agency"],
        "region": r["region"],
        "kind": L.label(L.KIND, r["kind"]),
        "year": r["year"],
        "status": r["status"],
        "status_label": L.label(L.STATUS, r["status"]),
        "status_help": L.STATUS_HELP.get(r["status"], ""),
        "problem": L.PROBLEM.get(r["crawl_problem"], r["crawl_problem"]) if r.get("crawl_problem") else "",
        "due": r["due"].isoformat() if r.get("due") else "—",
        "due_reason": L.due_reason(r.get("due_reason")),
        "published": r["published"].isoformat() if r.get("published") else "—",
        "evidence": L.label(L.EVIDENCE, r["published_evidence"]) if r.get("published_evidence") else "",
        "consistency": "unknown" if inconsistent is None else ("bad" if inconsistent else "good"),
        "consistency_label": L.INCONSISTENT[inconsistent],
        "findings_n": len(findings),
        "url": safe_url(r.get("report_url")),
    }
