"""Recognizing the printed labels of the national tables, whatever their spelling.

Labels arrive with full-width punctuation, spaces inside words, numbering in three styles (``1．`` ``1.`` ``1、``),
line breaks in the middle (PDF), merged group labels glued on the left (HTML rowspan), and template typos
(只记这一情形, 三类内容事务信息). So a label is first *normalized* (NFKC, only CJK letters and digits kept),
then recognized by the few characters that distinguish it from every other label — the most specific
tests first.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_KEEP = re.compile(r"[^0-9A-Za-z\u4e00-\u9fff]+")


@lru_cache(maxsize=16384)  # labels and numbers repeat across reports: match each string once
def norm(text: str | None) -> str:
    """Normalize a label: NFKC, drop spaces, punctuation and numbering marks; keep CJK, letters, digits."""
    return _KEEP.sub("", unicodedata.normalize("NFKC", text or ""))


def norm_text(text: str | None) -> str:
    """``norm`` of a whole document's text, without caching the text (a cache of thousands of documents'
    texts would hold hundreds of megabytes).

    CJK ideographs are NFKC-stable and never compose with their neighbours, so only the runs between them
    are normalized (mostly a lone ``，`` or a number, hence their cache): NFKC over a whole report takes
    CPython's slow path as soon as it holds one full-width comma.
    """
    return _NON_CJK_RUN.sub(_norm_run, text or "")


_NON_CJK_RUN = re.compile(r"[^\u4e00-\u9fff]+")


@lru_cache(maxsize=8192)
def _norm_run_text(run: str) -> str:
    return _KEEP.sub("", unicodedata.normalize("NFKC", run))


def _norm_run(m: re.Match[str]) -> str:
    return _norm_run_text(m.group())


# 表三 rows, most specific first. Each entry: (row key, any of these substrings).
_S3_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("carried_forward", ("结转下年度", "下年度继续办理")),
    ("carried_over", ("上年结转",)),
    ("new_received", ("本年新收",)),
    ("partially_granted", ("部分公开",)),
    ("granted", ("予以公开",)),
    ("denied_state_secret", ("国家秘密",)),
    ("denied_prohibited_by_law", ("禁止公开",)),
    ("denied_three_safeties", ("三安全", "一稳定")),
    ("denied_third_party", ("第三方",)),
    ("denied_internal_affairs", ("内部事务", "事务信息")),
    ("denied_process_info", ("过程性",)),
    ("denied_enforcement_files", ("执法案卷",)),
    ("denied_inquiry", ("查询事项",)),
    ("unavailable_not_held", ("不掌握",)),
    ("unavailable_needs_creation", ("另行制作", "现成信息")),
    ("unavailable_unclear", ("不明确",)),
    ("rejected_petition", ("信访", "举报投诉")),
    ("rejected_duplicate", ("重复申请",)),
    ("rejected_publication", ("出版物",)),
    ("rejected_excessive", ("大量反复",)),
    ("rejected_confirmation", ("重新出具", "确认或")),
    ("other_no_correction", ("不补正",)),
    ("other_no_fee", ("缴纳费用", "收费通知", "逾期未按")),
)


@lru_cache(maxsize=16384)  # labels and numbers repeat across reports: match each string once
def match_s3_row(label: str) -> str | None:
    """The 表三 row key a normalized label names, or None.

    ``other`` (2019: one （六）其他处理 row) and ``other_other`` (2021: its sub-row 3.其他) are told apart by
    whether any 其他 remains once the group label 其他处理 is taken out.
    """
    if not label:
        return None
    for key, needles in _S3_RULES:
        if any(n in label for n in needles):
            return key
    rest = label.replace("其他处理", "")
    if "其他处理" in label:
        return "other_other" if "其他" in rest else "other"
    if rest.endswith("其他") and len(rest) <= 8:  # a bare "3.其他" row under a group label printed elsewhere
        return "other_other"
    if "总计" in label:
        return "results_total"
    return None


# 表二 items: (item key, predicate on the normalized label of the item cell).
@lru_cache(maxsize=16384)  # labels and numbers repeat across reports: match each string once
def match_s2_item(label: str) -> str | None:
    """The 表二 item a normalized cell names, or None. Cells are short, so the tests are tight."""
    if not label or len(label) > 14:
        return None
    if label.endswith("规章") and len(label) <= 4:
        return "regulations"
    if "规范性文件" in label:
        return "normative_docs"
    if "对外管理服务" in label:
        return "other_services"
    if label.endswith("行政许可") and len(label) <= 6:
        return "licensing"
    if label.endswith("行政处罚") and len(label) <= 6:
        return "penalties"
    if label.endswith("行政强制") and len(label) <= 6:
        return "coercion"
    if "事业性收费" in label:
        return "fees"
    if "集中采购" in label:
        return "procurement"
    return None


# 表二 column headers: normalized header text -> column key.
_S2_COLUMN_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("made", ("新制作",)),
    ("published", ("新公开",)),
    ("total_published", ("公开总数",)),
    ("prior", ("上一年项目", "上年项目")),
    ("change", ("增减",)),
    ("decisions", ("处理决定",)),
    ("projects", ("采购项目",)),
    ("issued", ("制发",)),
    ("repealed", ("废止",)),
    ("in_force", ("现行有效",)),
    ("amount", ("金额",)),
)


@lru_cache(maxsize=16384)  # labels and numbers repeat across reports: match each string once
def match_s2_column(label: str) -> str | None:
    for key, needles in _S2_COLUMN_RULES:
        if any(n in label for n in needles):
            return key
    return None


# Template markers: labels that only one of the two national formats prints.
MARKERS_2019 = (
    "新制作数量",
    "新公开数量",
    "对外公开总数量",
    "上一年项目数量",
    "本年增减",
    "其他对外管理服务",
    "集中采购",
    "采购总金额",
)
MARKERS_2021 = (
    "制发件数",
    "废止件数",
    "现行有效件数",
    "收费金额",
    "逾期不补正",
    "缴纳费用",
    "行政规范性文件",
)


def template_scores(normalized_text: str) -> tuple[int, int]:
    """How many 2019-only and 2021-only labels a (normalized) document prints."""
    return (
        sum(1 for m in MARKERS_2019 if m in normalized_text),
        sum(1 for m in MARKERS_2021 if m in normalized_text),
    )
