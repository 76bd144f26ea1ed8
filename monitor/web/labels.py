"""The Chinese words the page shows for the contract's codes (statuses, evidence, problems, kinds): the
labels of ``domain.codes``, plus the page's own column headers and the due dates' reasons."""

from __future__ import annotations

import re

from domain import codes
from monitor.status.deadlines import DEFAULTS

# The words come from the one table of codes (domain.codes); the page reads them as plain mappings.
STATUS = {code: term.label for code, term in codes.STATUS.items()}
STATUS_HELP = {code: term.help for code, term in codes.STATUS.items()}
EVIDENCE = {code: term.label for code, term in codes.EVIDENCE.items()}
PROBLEM = {code: term.label for code, term in codes.PROBLEM.items()}
KIND = {code: term.label for code, term in codes.KIND.items()}
INCONSISTENT = {code: term.label for code, term in codes.INCONSISTENT.items()}
SEVERITY = {code: term.label for code, term in codes.SEVERITY.items()}
VERDICT = {code: term.label for code, term in codes.VERDICT.items()}
COLUMN = {
    "agency": "机关",
    "agency_id": "机关编号",
    "region": "地区",
    "kind": "类型",
    "year": "年度",
    "status": "状态",
    "due": "截止日",
    "published": "发布日期",
    "published_evidence": "日期依据",
    "first_seen": "首次发现",
    "inconsistent": "数据一致性",
    "findings": "问题",
    "report_url": "报告网址",
    "crawl_problem": "抓取问题",
}

# the legal basis of each default due date (``monitor.status.deadlines.DEFAULTS``), as the page says it; the CLI and
# JSON keep the English text, which is what the contract and scripts compare
_DUE_REASON_BY_KIND = {
    "department": "部门，《条例》第四十九条",
    "township": "乡镇（街道），与部门同一截止日（《条例》第四十九条）",
    "government": "本级人民政府年度报告，《条例》第四十九条",
}
DUE_REASON = {DEFAULTS[kind][2]: text for kind, text in _DUE_REASON_BY_KIND.items()}
_LOCAL_DEFAULT = re.compile(r"local deadline for (?P<region>.+)")


def due_reason(reason: str | None) -> str:
    """The due date's reason in Chinese: the defaults translated, an override's unnamed reason ("local
    deadline for 湖南省/怀化市") as 地方规定; a reason written in config.yaml is shown as written."""
    if not reason:
        return ""
    if reason in DUE_REASON:
        return DUE_REASON[reason]
    m = _LOCAL_DEFAULT.fullmatch(reason)
    if m:
        region = m["region"]
        return "地方规定" if region == "all regions" else f"{region} 地方规定"
    return reason


def label(table: dict, code) -> str:  # noqa: ANN001
    """The Chinese word for a code; an unknown code is shown as itself (never hidden)."""
    if code is None and None not in table:
        return "—"
    return table.get(code, str(code))


# what an operator may correct (monitor.status.corrections)
CORRECTION_KINDS = {"date": "发布日期有误", "attribution": "报告归属有误", "report": "爬虫无法访问的报告"}
