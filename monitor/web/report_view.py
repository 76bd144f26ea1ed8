"""A parsed report's three tables laid out for the page, with the cells that a finding names marked.

The layout comes from ``domain.template`` (the one place the national formats are spelled), so the
page shows exactly the rows and columns the report was read against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from domain.codes import RULES, SEVERITY_ORDER, explain
from domain.template import S3_COLUMNS, S4_COLUMNS, S4_GROUPS, TEMPLATES, get_template


@dataclass
class CellView:
    key: str
    value: Any
    rules: list[str] = field(default_factory=list)
    severity: str | None = None  # the worst severity among the findings naming it


@dataclass
class RowView:
    label: str
    group: str
    cells: list[CellView | None]  # None: the column does not exist for this row (表二's ragged rows)


@dataclass
class TableView:
    title: str
    columns: list[str]
    rows: list[RowView]


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


def tables(template: str | None, cells: dict[str, Any], findings: list[dict[str, Any]]) -> list[TableView]:
    """表二, 表三 and 表四 of a parsed version; empty when the template is unknown."""
    if template not in TEMPLATES:
        return []
    t = get_template(template)
    marks = _cell_marks(findings)

    def cell(key: str) -> CellView:
        rules, sev = marks.get(key, ([], None))
        return CellView(key=key, value=cells.get(key), rules=rules, severity=sev)

    # 表二: items have different columns; show each item's own columns in order.
    width = max(len(i.columns) for i in t.s2)
    s2_rows = []
    for item in t.s2:
        row_cells: list[CellView | None] = [cell(f"s2.{item.key}.{c.key}") for c in item.columns]
        row_cells += [None] * (width - len(row_cells))
        label = item.label + "（" + "／".join(c.label for c in item.columns) + "）"
        s2_rows.append(RowView(label=label, group=item.article, cells=row_cells))
    s2 = TableView("表二 主动公开政府信息情况", [f"第{i + 1}栏" for i in range(width)], s2_rows)

    s3 = TableView(
        "表三 收到和处理政府信息公开申请情况",
        [c.label for c in S3_COLUMNS],
        [RowView(r.label, r.group, [cell(f"s3.{r.key}.{c.key}") for c in S3_COLUMNS]) for r in t.s3],
    )
    s4 = TableView(
        "表四 政府信息公开行政复议、行政诉讼情况",
        [c.label for c in S4_COLUMNS],
        [RowView(g.label, "", [cell(f"s4.{g.key}.{c.key}") for c in S4_COLUMNS]) for g in S4_GROUPS],
    )
    return [s2, s3, s4]


@dataclass
class FindingView:
    rule: str
    severity: str
    message: str
    explanation: str
    cells: list[str]
    review: dict[str, Any] | None = None


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
