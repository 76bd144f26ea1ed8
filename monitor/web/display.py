"""A status row's display values, computed in Python once per row.

The table shows 50 rows of about ten cells; doing the label look-ups here instead of in Jinja macros
halves the page's rendering time (the page must stay fast under concurrent load). The row and region
lists are built as text here, every value escaped (``_e``), and marked safe once.
"""

from __future__ import annotations

import functools
import html
import re
from typing import Any
from urllib.parse import quote, quote_plus

from markupsafe import Markup

from domain.text import safe_url
from monitor.status import wording
from monitor.web import labels as L

_PLAIN_ID = re.compile(r"[A-Za-z0-9_.~-]+").fullmatch  # what ``quote(…, safe="")`` leaves as it is


def agency_href(agency_id: str, year: int | None = None) -> str:
    """The agency's page (``/agency/{id}``; an id's "/" encoded), or one year of it."""
    base = "/agency/" + (agency_id if _PLAIN_ID(agency_id) else quote(agency_id, safe=""))
    return base if year is None else f"{base}/{year}"


# A page's links repeat the same few keys and values (a region, a year, a sort): each quoted once.
_quote_plus = functools.lru_cache(maxsize=4096)(quote_plus)


def urlencode_params(params: dict[str, Any]) -> str:
    """``urllib.parse.urlencode`` of a flat mapping, byte for byte, with each key and value quoted once per
    process: a table page builds about thirty such links, and quoting them was a tenth of its time."""
    return "&".join(f"{_quote_plus(str(k))}={_quote_plus(str(v))}" for k, v in params.items())


_SPECIAL = re.compile("[&<>\"']").search  # most names hold none of them: no five replacements then


def _e(value: Any) -> str:
    """``markupsafe.escape`` as plain text (the same five characters escaped, as ``html.escape`` does):
    a row's ten cells are joined as text and marked safe once, not made into ten ``Markup`` objects."""
    text = value if type(value) is str else str(value)
    return html.escape(text) if _SPECIAL(text) else text


def row_view(r: dict[str, Any]) -> dict[str, Any]:
    findings = r.get("findings") or []
    c = wording.consistency(r.get("inconsistent"), findings)
    return {
        "agency_id": r["agency_id"],
        "href": agency_href(r["agency_id"]),
        "year_href": agency_href(r["agency_id"], r["year"]),
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
        "days_late": r.get("days_late"),
        "consistency": c.css,
        "consistency_label": c.label,
        "consistency_note": c.note,
        "findings_n": len(findings),
        "url": safe_url(r.get("report_url")),
    }


def _url_attr(url: str | None) -> str:
    return _e(url) if url else ""


def row_html(v: dict[str, Any]) -> Markup:
    """One row of the status table (``row_view``'s values), built here: 50 rows of ten cells through Jinja
    cost more than the rest of the page. Every value is escaped; names are isolated (``bdi``)."""
    e = _e
    problem = f' <span class="muted small">{e(v["problem"])}</span>' if v["problem"] else ""
    late = f' <span class="small">逾期 {v["days_late"]} 天</span>' if v["days_late"] else ""
    evidence = f' <span class="muted small">{e(v["evidence"])}</span>' if v["evidence"] else ""
    note = (
        f' <span class="muted small">（{e(v["consistency_note"])}）</span>' if v["consistency_note"] else ""
    )
    report = (
        f'<a href="{_url_attr(v["url"])}" rel="noopener noreferrer nofollow" target="_blank">原文</a>'
        if v["url"]
        else "—"
    )
    return Markup(
        "<tr>"
        f'<td data-label="机关" class="name"><a href="{e(v["href"])}"><bdi>{e(v["agency"])}</bdi></a></td>'
        f'<td data-label="地区"><bdi>{e(v["region"])}</bdi></td>'
        f'<td data-label="类型">{e(v["kind"])}</td>'
        f'<td data-label="年度"><a href="{e(v["year_href"])}" class="year">{v["year"]}</a></td>'
        f'<td data-label="状态"><span class="badge s-{e(v["status"])}" title="{e(v["status_help"])}">'
        f"{e(v['status_label'])}</span>{late}{problem}</td>"
        f'<td data-label="截止日" class="date" title="{e(v["due_reason"])}">{e(v["due"])}</td>'
        f'<td data-label="发布日期"><span class="date">{e(v["published"])}</span>{evidence}</td>'
        f'<td data-label="数据一致性"><span class="c-{e(v["consistency"])}">{e(v["consistency_label"])}</span>{note}</td>'
        f'<td data-label="报告">{report}</td>'
        "</tr>"
    )


def rows_html(rows: list[dict[str, Any]]) -> Markup:
    return Markup("\n".join(row_html(row_view(r)) for r in rows))


_BAR_ORDER = ("on_time", "late", "undated", "missing", "unknown", "not_due")


def regions_html(regions: list, params: dict[str, str]) -> Markup:  # noqa: ANN001
    """The per-region list with its stacked bars (server-drawn SVG), links keeping the other filters."""
    scale = max((rc.total for rc in regions), default=0)
    out = []
    params = {k: v for k, v in params.items() if k != "region"}
    for rc in regions:
        x, rects = 0.0, []
        for s in _BAR_ORDER:
            w = rc.counts.get(s, 0) / scale * 1000 if scale else 0
            if w > 0:
                rects.append(f'<rect class="s-{s}" x="{x:.1f}" y="0" width="{w:.1f}" height="16"></rect>')
            x += w
        href = "/?" + urlencode_params({"region": rc.region, **params})
        rate = f"，按时率 {rc.on_time_rate * 100:.0f}%" if rc.on_time_rate is not None else ""
        out.append(
            f'<li><a href="{_e(href)}" class="rname"><bdi>{_e(rc.label)}</bdi></a>'
            '<svg class="bar" viewBox="0 0 1000 16" preserveAspectRatio="none" role="img" aria-hidden="true">'
            f'{"".join(rects)}</svg><span class="rnum">{rc.total} 条{rate}</span></li>'
        )
    return Markup("\n".join(out))
