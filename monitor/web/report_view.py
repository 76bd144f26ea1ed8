"""A parsed report's three tables laid out for the page, with the cells that a finding names marked.

The layout comes from ``domain.template`` (the one place the national formats are spelled), so the
page shows exactly the rows and columns the report was read against.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from domain.codes import RULES, SEVERITY_ORDER, explain
from domain.template import S3_COLUMNS, S4_COLUMNS, S4_GROUPS, TEMPLATES, get_template
from monitor.web.facts import Facts


@dataclass
class TableView:
    title: str
    html: Markup  # the table, rendered here: a page shows a thousand cells and Jinja would take 20 ms


def _cell_marks(findings: list[dict[str, Any]]) -> dict[str, tuple[list[str], str]]:
    marks: dict[str, tuple[list[str], str]] = {}
    for f in findings:
        sev = f.get("severity") or "info"
        for key in f.get("cells") or []:
            rules, worst = marks.get(key, ([], sev))
            if f.get("rule") not in rules:
                rules.append(str(f.get("rule")))
            if SEVERITY_ORDER.get(sev, 9) < SEVERITY_ORDER.get(worst, 9):
                worst = sev
            marks[key] = (rules, worst)
    return marks


_BLANK = '<span class="muted">空</span>'
_NO_COLUMN = '<td class="na"></td>'


def _td(key: str, cells: dict[str, Any], marks: dict[str, tuple[list[str], str]]) -> str:
    """One cell: its value (``空`` where blank), marked with the worst severity of the findings naming it and
    their meanings in Chinese as the tooltip (rule ids stay out of it)."""
    value = cells.get(key)
    if value is None:
        shown = _BLANK
    elif type(value) is int or type(value) is float:  # noqa: E721 - numbers need no escaping (most cells)
        shown = str(value)
    else:
        shown = escape(str(value))
    mark = marks.get(key) if marks else None
    if mark is None:
        return f'<td data-key="{key}">{shown}</td>'
    why = escape("；".join(explain(r) for r in mark[0]))
    return f'<td class="flag-{mark[1]}" title="{why}" data-key="{key}">{shown}</td>'


@dataclass(frozen=True)
class _Layout:
    """One of a template's three tables, everything but its cells already HTML: the caption, the column
    heads, and each row's escaped heading with the cell keys in column order (``None``: no such column)."""

    title: str
    opening: str
    rows: tuple[tuple[str, tuple[str | None, ...]], ...]


_CLOSING = "</tbody></table></div>"


def _layout(title: str, columns: list[str], rows: list[tuple[str, str, list[str | None]]]) -> _Layout:
    head = "".join(f'<th scope="col">{escape(c)}</th>' for c in columns)
    opening = (
        f'<div class="scroll"><table class="report"><caption>{escape(title)}</caption>'
        f'<thead><tr><th scope="col">项目</th>{head}</tr></thead><tbody>'
    )
    return _Layout(title, opening, tuple((_row_head(g, label), tuple(keys)) for g, label, keys in rows))


def _row_head(group: str, label: str) -> str:
    g = f'<span class="muted small">{escape(group)}</span> ' if group else ""
    return f'<th scope="row">{g}{escape(label)}</th>'


@functools.lru_cache(maxsize=8)
def _layouts(template: str) -> tuple[_Layout, ...]:
    """表二, 表三 and 表四 of a template as the page lays them out: the same on every page, so built once per
    process (an agency page shows up to fifteen tables; their labels were most of the escaping it did)."""
    t = get_template(template)
    # 表二: items have different columns; show each item's own columns in order.
    width = max(len(i.columns) for i in t.s2)
    s2_rows = []
    for item in t.s2:
        keys: list[str | None] = [f"s2.{item.key}.{c.key}" for c in item.columns]
        keys += [None] * (width - len(keys))
        label = item.label + "（" + "／".join(c.label for c in item.columns) + "）"
        s2_rows.append((item.article, label, keys))
    s3_rows = [(r.group, r.label, [f"s3.{r.key}.{c.key}" for c in S3_COLUMNS]) for r in t.s3]
    s4_rows = [("", g.label, [f"s4.{g.key}.{c.key}" for c in S4_COLUMNS]) for g in S4_GROUPS]
    return (
        _layout("表二 主动公开政府信息情况", [f"第{i + 1}栏" for i in range(width)], s2_rows),
        _layout("表三 收到和处理政府信息公开申请情况", [c.label for c in S3_COLUMNS], s3_rows),
        _layout("表四 政府信息公开行政复议、行政诉讼情况", [c.label for c in S4_COLUMNS], s4_rows),
    )


def _table(layout: _Layout, cells: dict[str, Any], marks: dict[str, tuple[list[str], str]]) -> str:
    body = [
        f"<tr>{head}"
        + "".join(_NO_COLUMN if key is None else _td(key, cells, marks) for key in keys)
        + "</tr>"
        for head, keys in layout.rows
    ]
    return layout.opening + "".join(body) + _CLOSING


def tables(template: str | None, cells: dict[str, Any], findings: list[dict[str, Any]]) -> list[TableView]:
    """表二, 表三 and 表四 of a parsed version; empty when the template is unknown."""
    if template not in TEMPLATES:
        return []
    marks = _cell_marks(findings)
    return [TableView(lay.title, Markup(_table(lay, cells, marks))) for lay in _layouts(template)]


@dataclass
class FindingView:
    rule: str
    severity: str
    message: str
    explanation: str
    cells: list[str]
    review: dict[str, Any] | None = None
    data: dict[str, Any] = field(default_factory=Facts)  # the numbers behind it (the other report, …)


def finding_views(
    version_findings: list[dict[str, Any]],
    status_rules: list[str],
    reviews: dict[str, dict[str, Any]],
) -> list[FindingView]:
    """The version's findings, plus rules the status names that the version lacks (history findings)."""
    out = [
        FindingView(
            rule=str(f.get("rule")),
            severity=str(f.get("severity") or "info"),
            message=str(f.get("message") or ""),
            explanation=explain(str(f.get("rule"))),
            cells=list(f.get("cells") or []),
            review=reviews.get(str(f.get("rule"))),
            data=Facts(f.get("data") or {}),
        )
        for f in version_findings
    ]
    seen = {v.rule for v in out}
    for rule in status_rules:
        if rule not in seen:
            out.append(
                FindingView(
                    rule=rule,
                    severity=RULES.get(rule, ("warning", ""))[0],
                    message="",
                    explanation=explain(rule),
                    cells=[],
                    review=reviews.get(rule),
                )
            )
            seen.add(rule)
    for rule, review in reviews.items():  # a dismissed rule drops out of the status: still show it
        if rule not in seen:
            out.append(FindingView(rule, "info", "", explain(rule), [], review))
    out.sort(key=lambda v: (SEVERITY_ORDER.get(v.severity, 9), v.rule))
    return out
