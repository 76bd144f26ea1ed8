"""The two national report formats, as data.

Every other part of gkwatch (the recognizer, the rules, the web page's tables) reads the shape of a report
from here, so that a cell key such as ``s3.granted.natural_person`` is spelled in exactly one place.

* Format 2019 — 国办公开办函〔2019〕60号, report years 2019 and 2020.
* Format 2021 — 国办公开办函〔2021〕30号, report years from 2021.

Keys follow ``docs/contract.md``: ``s2.<item>.<column>``, ``s3.<row>.<column>``, ``s4.<group>.<column>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

TEMPLATES = ("2019", "2021")


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    money: bool = False  # values in 万元, kept as float
    signed: bool = False  # may legitimately be negative (本年增/减)


@dataclass(frozen=True)
class Item:
    """One row of 表二 (主动公开政府信息情况)."""

    key: str
    label: str
    article: str  # 第二十条第（一）项 …
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class Row:
    """One row of 表三 (收到和处理政府信息公开申请情况)."""

    key: str
    label: str
    group: str = ""  # the merged label on the left: （三）不予公开 …
    outcome: bool = False  # one of the outcome rows （一）…（六） summed into （七）总计


@dataclass(frozen=True)
class Group:
    """One group of 表四 (行政复议、行政诉讼)."""

    key: str
    label: str


# --- 表二 -----------------------------------------------------------------------------------------

_C19_DOCS = (
    Column("made", "本年新制作数量"),
    Column("published", "本年新公开数量"),
    Column("total_published", "对外公开总数量"),
)
_C19_ITEMS = (
    Column("prior", "上一年项目数量"),
    Column("change", "本年增/减", signed=True),
    Column("decisions", "处理决定数量"),
)
S2_2019 = (
    Item("regulations", "规章", "第二十条第（一）项", _C19_DOCS),
    Item("normative_docs", "规范性文件", "第二十条第（一）项", _C19_DOCS),
    Item("licensing", "行政许可", "第二十条第（五）项", _C19_ITEMS),
    Item("other_services", "其他对外管理服务事项", "第二十条第（五）项", _C19_ITEMS),
    Item("penalties", "行政处罚", "第二十条第（六）项", _C19_ITEMS),
    Item("coercion", "行政强制", "第二十条第（六）项", _C19_ITEMS),
    Item("fees", "行政事业性收费", "第二十条第（八）项", _C19_ITEMS[:2]),
    Item(
        "procurement",
        "政府集中采购",
        "第二十条第（九）项",
        (Column("projects", "采购项目数量"), Column("amount", "采购总金额", money=True)),
    ),
)

_C21_DOCS = (
    Column("issued", "本年制发件数"),
    Column("repealed", "本年废止件数"),
    Column("in_force", "现行有效件数"),
)
_C21_DECISIONS = (Column("decisions", "本年处理决定数量"),)
S2_2021 = (
    Item("regulations", "规章", "第二十条第（一）项", _C21_DOCS),
    Item("normative_docs", "行政规范性文件", "第二十条第（一）项", _C21_DOCS),
    Item("licensing", "行政许可", "第二十条第（五）项", _C21_DECISIONS),
    Item("penalties", "行政处罚", "第二十条第（六）项", _C21_DECISIONS),
    Item("coercion", "行政强制", "第二十条第（六）项", _C21_DECISIONS),
    Item(
        "fees",
        "行政事业性收费",
        "第二十条第（八）项",
        (Column("amount", "本年收费金额（万元）", money=True),),
    ),
)

# --- 表三 -----------------------------------------------------------------------------------------

S3_COLUMNS = (
    Column("natural_person", "自然人"),
    Column("business", "商业企业"),
    Column("research", "科研机构"),
    Column("nonprofit", "社会公益组织"),
    Column("legal_services", "法律服务机构"),
    Column("other_org", "其他"),
    Column("total", "总计"),
)
S3_APPLICANT_COLUMNS = tuple(c.key for c in S3_COLUMNS[:-1])

_DENIED = "（三）不予公开"
_UNAVAILABLE = "（四）无法提供"
_REJECTED = "（五）不予处理"
_OTHER = "（六）其他处理"

_S3_HEAD = (
    Row("new_received", "一、本年新收政府信息公开申请数量"),
    Row("carried_over", "二、上年结转政府信息公开申请数量"),
    Row("granted", "（一）予以公开", outcome=True),
    Row("partially_granted", "（二）部分公开（区分处理的，只计这一情形，不计其他情形）", outcome=True),
    Row("denied_state_secret", "1.属于国家秘密", _DENIED, True),
    Row("denied_prohibited_by_law", "2.其他法律行政法规禁止公开", _DENIED, True),
    Row("denied_three_safeties", "3.危及“三安全一稳定”", _DENIED, True),
    Row("denied_third_party", "4.保护第三方合法权益", _DENIED, True),
    Row("denied_internal_affairs", "5.属于三类内部事务信息", _DENIED, True),
    Row("denied_process_info", "6.属于四类过程性信息", _DENIED, True),
    Row("denied_enforcement_files", "7.属于行政执法案卷", _DENIED, True),
    Row("denied_inquiry", "8.属于行政查询事项", _DENIED, True),
    Row("unavailable_not_held", "1.本机关不掌握相关政府信息", _UNAVAILABLE, True),
    Row("unavailable_needs_creation", "2.没有现成信息需要另行制作", _UNAVAILABLE, True),
    Row("unavailable_unclear", "3.补正后申请内容仍不明确", _UNAVAILABLE, True),
    Row("rejected_petition", "1.信访举报投诉类申请", _REJECTED, True),
    Row("rejected_duplicate", "2.重复申请", _REJECTED, True),
    Row("rejected_publication", "3.要求提供公开出版物", _REJECTED, True),
    Row("rejected_excessive", "4.无正当理由大量反复申请", _REJECTED, True),
    Row("rejected_confirmation", "5.要求行政机关确认或重新出具已获取信息", _REJECTED, True),
)
_S3_TAIL = (
    Row("results_total", "（七）总计"),
    Row("carried_forward", "四、结转下年度继续办理"),
)
S3_2019 = _S3_HEAD + (Row("other", "（六）其他处理", outcome=True),) + _S3_TAIL
S3_2021 = (
    _S3_HEAD
    + (
        Row(
            "other_no_correction",
            "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
            _OTHER,
            True,
        ),
        Row(
            "other_no_fee",
            "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
            _OTHER,
            True,
        ),
        Row("other_other", "3.其他", _OTHER, True),
    )
    + _S3_TAIL
)

# --- 表四 -----------------------------------------------------------------------------------------

S4_GROUPS = (
    Group("review", "行政复议"),
    Group("litigation_direct", "行政诉讼·未经复议直接起诉"),
    Group("litigation_after_review", "行政诉讼·复议后起诉"),
)
S4_COLUMNS = (
    Column("upheld", "结果维持"),
    Column("corrected", "结果纠正"),
    Column("other", "其他结果"),
    Column("pending", "尚未审结"),
    Column("total", "总计"),
)

SECTIONS = (
    ("一", "总体情况"),
    ("二", "主动公开政府信息情况"),
    ("三", "收到和处理政府信息公开申请情况"),
    ("四", "政府信息公开行政复议、行政诉讼情况"),
    ("五", "存在的主要问题及改进情况"),
    ("六", "其他需要报告的事项"),
)


@dataclass(frozen=True)
class Template:
    name: str  # "2019" | "2021"
    s2: tuple[Item, ...]
    s3: tuple[Row, ...]

    @property
    def s3_outcome_rows(self) -> tuple[Row, ...]:
        return tuple(r for r in self.s3 if r.outcome)


@cache  # a Template is frozen: one per format, not one per report read
def get_template(name: str) -> Template:
    if name == "2019":
        return Template("2019", S2_2019, S3_2019)
    if name == "2021":
        return Template("2021", S2_2021, S3_2021)
    raise ValueError(f"unknown template {name!r}; expected one of {TEMPLATES}")


def expected_template_for_year(year: int) -> str:
    """The format a report about ``year`` should use (2021 format from report year 2021)."""
    return "2021" if year >= 2021 else "2019"


@cache
def cell_keys(template: str) -> tuple[str, ...]:
    """Every cell key of a template, in reading order (表二, 表三, 表四)."""
    t = get_template(template)
    keys = [f"s2.{i.key}.{c.key}" for i in t.s2 for c in i.columns]
    keys += [f"s3.{r.key}.{c.key}" for r in t.s3 for c in S3_COLUMNS]
    keys += [f"s4.{g.key}.{c.key}" for g in S4_GROUPS for c in S4_COLUMNS]
    return tuple(keys)


@cache
def column_of(template: str, key: str) -> Column:
    """The column definition of a cell key (money? signed?)."""
    section, row, col = key.split(".")
    if section == "s2":
        for item in get_template(template).s2:
            if item.key == row:
                for c in item.columns:
                    if c.key == col:
                        return c
    elif section == "s3":
        for c in S3_COLUMNS:
            if c.key == col:
                return c
    elif section == "s4":
        for c in S4_COLUMNS:
            if c.key == col:
                return c
    raise KeyError(key)


@cache
def cell_label(template: str, key: str) -> str:
    """A human label for a cell key, in Chinese: （一）予以公开 · 自然人."""
    section, row, col = key.split(".")
    t = get_template(template)
    if section == "s2":
        item = next(i for i in t.s2 if i.key == row)
        return f"{item.label} · {column_of(template, key).label}"
    if section == "s3":
        r = next(r for r in t.s3 if r.key == row)
        prefix = f"{r.group} " if r.group else ""
        return f"{prefix}{r.label} · {column_of(template, key).label}"
    g = next(g for g in S4_GROUPS if g.key == row)
    return f"{g.label} · {column_of(template, key).label}"


def row_label(template: str, section: str, row: str) -> str:
    """The short label of a row / item / group, for messages."""
    t = get_template(template)
    if section == "s2":
        return next(i.label for i in t.s2 if i.key == row)
    if section == "s3":
        r = next(r for r in t.s3 if r.key == row)
        return r.label if not r.group else f"{r.group}{r.label}"
    return next(g.label for g in S4_GROUPS if g.key == row)
