"""A finding: one thing wrong (or irregular) with a report, naming its rule and the exact cells.

Rule ids and severities are the contract's (``../shared/spec/contract.md``, "Rule ids"); gkwatch adds a few
plausibility rules (``plausibility.*``) and two that need crawl history (``history.backdated``,
``history.changed``), documented in ``RULES``.
"""

from __future__ import annotations

from typing import Any

# rule id -> (severity, what it means in plain Chinese — shown on the web page and in mail)
RULES: dict[str, tuple[str, str]] = {
    "s3.row_total": ("error", "表三某行的“总计”不等于六类申请人之和"),
    "s3.results_total": ("error", "表三某列的“（七）总计”不等于（一）至（六）各项办理结果之和"),
    "s3.balance": ("error", "表三某列不满足“第一项加第二项之和，等于第三项加第四项之和”"),
    "s4.total": ("error", "表四某组的“总计”不等于维持、纠正、其他、尚未审结之和"),
    "cell.not_number": ("warning", "应填数字的单元格填了文字（如“——”“/”“无”）"),
    "cell.blank": ("warning", "应填数字的单元格为空"),
    "cell.negative": ("error", "不可能为负的数量出现负数"),
    "cell.format": ("info", "数字可读但书写不规范（如“00”、全角数字、单元格内带单位）"),
    "template.outdated": (
        "warning",
        "报告使用的表格格式与报告年度不符（2021年起应使用国办公开办函〔2021〕30号格式）",
    ),
    "template.missing_section": ("warning", "缺少规定的六个部分之一"),
    "template.missing_row": ("warning", "表格缺少规定的行或列"),
    "text.table_mismatch": ("warning", "正文中的数字与表格不一致"),
    "history.carry_over": ("warning", "本年“上年结转”不等于上一年度报告的“结转下年度继续办理”"),
    "history.stock": ("warning", "本年存量不等于上年存量加本年增减"),
    "copy.previous_year": ("warning", "正文与上一年度报告（或其他机关报告）高度重复"),
    "copy.other_agency": ("warning", "正文与同年度其他机关的报告高度重复（内容雷同）"),
    "history.backdated": ("warning", "报告标注的发布日期早于截止日，但截止日后抓取的栏目页中并无该报告"),
    "history.changed": ("info", "报告发布后内容有变动（已保留各版本）"),
    "plausibility.period": ("warning", "统计期限不是报告年度的1月1日至12月31日"),
    "plausibility.year_in_text": ("warning", "正文提到的年份与报告年度不符（可能照抄上年）"),
    "plausibility.money_unit": ("warning", "金额达百万万元以上，可能误以“元”为单位填写"),
    "plausibility.s2_published_exceeds_total": ("warning", "本年新公开数量大于对外公开总数量"),
    "plausibility.s2_repealed_exceeds_stock": (
        "warning",
        "本年废止件数大于上年现行有效件数与本年制发件数之和",
    ),
    "plausibility.regulations": ("warning", "该类机关无权制定规章，却填报了规章数量"),
}

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def finding(rule: str, cells: list[str], message: str) -> dict[str, Any]:
    """Build a finding in the contract's shape; the severity comes from the rule."""
    severity, _ = RULES[rule]
    return {"rule": rule, "severity": severity, "cells": list(cells), "message": message}


def explain(rule: str) -> str:
    """The plain-Chinese meaning of a rule id."""
    return RULES.get(rule, ("", rule))[1]


def is_inconsistent(findings: list[dict[str, Any]]) -> bool:
    """A report "does not add up" when any error-severity finding stands."""
    return any(f.get("severity") == "error" for f in findings)
