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
    CPython's slow path as soon as it holds one full-width comma. The runs are split out and mapped in C
    (``re.split`` with a group, ``map`` over the cached function): a report has hundreds of runs, and a
    Python callback per run (``re.sub``) cost as much as normalizing them.
    """
    pieces = _NON_CJK_SPLIT.split(text or "")  # CJK, run, CJK, run, …, CJK (the CJK pieces may be "")
    pieces[1::2] = map(_norm_run_text, pieces[1::2])
    return "".join(pieces)


_NON_CJK_SPLIT = re.compile(r"([^\u4e00-\u9fff]+)")


@lru_cache(maxsize=8192)
def _norm_run_text(run: str) -> str:
    return _KEEP.sub("", unicodedata.normalize("NFKC", run))


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


# --- Fuzzy matching: misprints and variants ------------------------------------------------------------
#
# Real reports misprint labels (洪泽 2023/2024: ``2.其他法律行政止公开`` — 法规禁 dropped) and word them their
# own way. A label no rule above recognizes is scored against every 表三 row's template label: the share of
# characters the two have in common, in order (``difflib``'s ratio: 2·matched / (len a + len b)), after the
# parts every label shares are taken off (numbering, the group label glued on the left). The printed number
# (``2.``) agreeing with the row's number in its group adds a little. The caller decides with the template's
# row order as the tie-breaker (``crawler.reading.tables``): a fuzzy score alone never places a row.

_LEADING_GROUPS = re.compile(
    r"^(?:三?本年度办理结果)?(?:[三四五六](?=不予公开|无法提供|不予处理|其他处理))?"
    r"(?:不予公开|无法提供|不予处理|其他处理(?=.))?"
)
_NUMBERING = re.compile(r"^(?:[一二三四五六七八九十]{1,3}|\d{1,2})(?=\D)")
# Short forms a label may be printed in besides the template's (the template's own wording comes first).
_S3_SHORT_FORMS: dict[str, tuple[str, ...]] = {
    "partially_granted": ("部分公开",),
    "denied_three_safeties": ("危及三安全一稳定",),
    "other_no_correction": ("申请人无正当理由逾期不补正",),
    "other_no_fee": ("申请人逾期未按收费通知要求缴纳费用",),
}
# Above this score, and this far above every other row, a fuzzy label names its row unambiguously.
FUZZY_SURE = 0.7
FUZZY_MARGIN = 0.15
# Below this a label is not taken for a misprint of any row at all.
FUZZY_FLOOR = 0.6


def _core(label: str) -> tuple[str, str | None]:
    """A normalized 表三 label without the group label glued on its left and its numbering: (core, number)."""
    rest = _LEADING_GROUPS.sub("", label, count=1) or label
    m = _NUMBERING.match(rest)
    if not m:
        return rest, None
    return rest[m.end() :], m.group()


@lru_cache(maxsize=4)
def _s3_references(template: str) -> tuple[tuple[str, str, str | None], ...]:
    """(row key, core label, number in its group) for every 表三 row of a template, short forms too."""
    from domain.template import get_template

    refs: list[tuple[str, str, str | None]] = []
    for row in get_template(template).s3:
        core, number = _core(norm(row.label))
        refs.append((row.key, core, number))
        refs.extend((row.key, short, number) for short in _S3_SHORT_FORMS.get(row.key, ()))
    return tuple(refs)


def _ratio(a: str, b: str) -> float:
    from difflib import SequenceMatcher

    if not a or not b:
        return 0.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


@lru_cache(maxsize=4096)
def s3_row_scores(label: str, template: str) -> tuple[tuple[str, float], ...]:
    """Every 表三 row of ``template`` with how well the normalized ``label`` matches it, best first."""
    core, number = _core(label)
    if len(core) < 2:
        return ()
    best: dict[str, float] = {}
    for key, ref, ref_number in _s3_references(template):
        score = _ratio(core, ref)
        if number is not None and ref_number is not None:
            score += 0.05 if number == ref_number else -0.05
        if score > best.get(key, 0.0):
            best[key] = score
    return tuple(sorted(best.items(), key=lambda kv: -kv[1]))


def fuzzy_s3_row(
    label: str, template: str, allowed: frozenset[str] | None = None
) -> tuple[str, float, bool] | None:
    """The 表三 row a misprinted label most likely names: (key, score, unambiguous), or None.

    ``allowed`` narrows the choice to the rows the template's order leaves room for at the label's place.
    Unambiguous: the score is at least ``FUZZY_SURE`` and ``FUZZY_MARGIN`` above every other row of the
    whole template (not only the allowed ones), so order and spelling agree.
    """
    scores = s3_row_scores(label, template)
    if not scores:
        return None
    pool = [(k, s) for k, s in scores if allowed is None or k in allowed]
    if not pool or pool[0][1] < FUZZY_FLOOR:
        return None
    key, score = pool[0]
    runner_up = max((s for k, s in scores if k != key), default=0.0)
    within = max((s for k, s in pool[1:]), default=0.0)
    if score - within < FUZZY_MARGIN / 2:
        return None  # two rows of the allowed ones fit as well: the order cannot tell them apart
    return key, score, score >= FUZZY_SURE and score - runner_up >= FUZZY_MARGIN


@lru_cache(maxsize=4096)
def fuzzy_s2_item(label: str, template: str) -> str | None:
    """The 表二 item a short misprinted cell names (``行政事业收费``), or None: only a close match counts,
    as 表二's labels are short and differ from each other by a word (行政许可 / 行政处罚)."""
    if not label or len(label) > 14:
        return None
    from domain.template import get_template

    scores = sorted(((_ratio(label, norm(i.label)), i.key) for i in get_template(template).s2), reverse=True)
    if scores[0][0] >= 0.8 and scores[0][0] - (scores[1][0] if len(scores) > 1 else 0) >= FUZZY_MARGIN:
        return scores[0][1]
    return None
