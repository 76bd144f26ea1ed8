"""The Chinese words the page shows for the contract's codes (statuses, evidence, problems, kinds): the
labels of ``domain.codes`` as plain mappings for the templates, plus the page's own column headers. The
sentences (findings, evidence, due reasons) are ``monitor.status.wording``'s, shared with exports and mail."""

from __future__ import annotations

from domain import codes
from monitor.status.wording import DUE_REASON, due_reason  # noqa: F401  (the templates' due reasons)

STATUS = {code: term.label for code, term in codes.STATUS.items()}
STATUS_HELP = {code: term.help for code, term in codes.STATUS.items()}
EVIDENCE = {code: term.label for code, term in codes.EVIDENCE.items()}
EVIDENCE_HELP = {code: term.help for code, term in codes.EVIDENCE.items()}
PROBLEM = {code: term.label for code, term in codes.PROBLEM.items()}
KIND = {code: term.label for code, term in codes.KIND.items()}
INCONSISTENT = {code: term.label for code, term in codes.INCONSISTENT.items()}
SEVERITY = {code: term.label for code, term in codes.SEVERITY.items()}
VERDICT = {code: term.label for code, term in codes.VERDICT.items()}
RUN_STATUS = {code: term.label for code, term in codes.RUN_STATUS.items()}
END_REASON = {code: term.label for code, term in codes.END_REASON.items()}
# what an operator may correct (monitor.status.corrections)
CORRECTION_KINDS = {code: term.label for code, term in codes.CORRECTION.items()}
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


def label(table: dict, code) -> str:  # noqa: ANN001
    """The Chinese word for a code; an unknown code is shown as itself (never hidden)."""
    if code is None and None not in table:
        return "—"
    return table.get(code, str(code))
