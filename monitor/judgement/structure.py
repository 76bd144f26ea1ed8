"""``template.*``: the report's form — the right national format for its year, all six sections, all rows."""

from __future__ import annotations

import re
from typing import Any

from domain.template import SECTIONS, cell_keys, expected_template_for_year
from monitor.judgement.findings import finding

_TEMPLATE_NAMES = {"2019": "国办公开办函〔2019〕60号", "2021": "国办公开办函〔2021〕30号"}


def structure_findings(
    template: str,
    year: int | None,
    sections_present: list[str],
    missing: list[tuple[str, str, str]],
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if year is not None and expected_template_for_year(year) != template:
        want = expected_template_for_year(year)
        out.append(
            finding(
                "template.outdated",
                [],
                f"{year}年度报告应使用{_TEMPLATE_NAMES[want]}格式，实际使用{_TEMPLATE_NAMES[template]}格式",
            )
        )
    for numeral, name in SECTIONS:
        if numeral not in sections_present:
            out.append(finding("template.missing_section", [], f"缺少第{numeral}部分「{name}」"))
    keys = cell_keys(template)
    for section, row, message in missing:
        prefix = f"{section}." if row == "*" else f"{section}.{row}."
        out.append(
            finding("template.missing_row", [k for k in keys if k.startswith(prefix)], _chinese(message))
        )
    return out


# what readings stored before the readers spoke Chinese say about a missing row (crawler.reading.tables)
_OLD_ROW = re.compile(r"^(表[二三]) row 「(.+)」 not found$")
_OLD_S4 = "表四 (行政复议、行政诉讼) numbers not found"


def _chinese(message: str) -> str:
    m = _OLD_ROW.match(message)
    if m:
        return f"{m[1]}中未找到「{m[2]}」这一行"
    return "未找到表四（行政复议、行政诉讼）的数字" if message == _OLD_S4 else message
