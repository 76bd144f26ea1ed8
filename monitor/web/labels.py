"""The Chinese words the page shows for the contract's codes (statuses, evidence, problems, kinds)."""

from __future__ import annotations

import re

from monitor.status.deadlines import DEFAULTS

STATUS = {
    "not_due": "未到期",
    "on_time": "按时发布",
    "late": "逾期发布",
    "missing": "未发布",
    "unknown": "无法判断",
}
STATUS_HELP = {
    "not_due": "截止日尚未过去",
    "on_time": "网站自身日期不晚于截止日",
    "late": "网站自身日期晚于截止日",
    "missing": "已过截止日，网站可正常读取，但没有该年度报告",
    "unknown": "已过截止日，网站无法读取——不归咎于该机关",
}
EVIDENCE = {
    "page_meta": "页面 PubDate 元数据",
    "page_text": "页面或栏目列表所示日期",
    "http_header": "附件 Last-Modified 响应头",
    "first_seen": "网站无日期，以本系统首次抓取时间代替",
}
PROBLEM = {
    "unreachable": "网站无法访问",
    "blocked": "抓取被拦截",
    "robots": "robots.txt 禁止抓取",
    "parse_failed": "报告无法解析",
}
KIND = {"department": "部门", "township": "乡镇（街道）", "government": "人民政府"}
INCONSISTENT = {True: "不一致", False: "一致", None: "未解析"}
SEVERITY = {"error": "错误", "warning": "警告", "info": "提示"}
VERDICT = {"dismissed": "误报（已排除）", "confirmed": "已确认"}
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
