"""What each sample report says: its cells, its prose, and the ``ReportSpec`` the renderers print.

Cells come from ``testbed.synthetic.consistent_cells`` (seeded per agency and year, so every run
serves the same bytes) and are then chained across years the way honest reports are — this year's 上年结转
is last year's 结转下年度继续办理, this year's 现行有效件数 follows from last year's — so that the history
rules fire only where the scenario plants a defect. Prose is varied per report from a pool of sentences
so that two unrelated reports stay far below the copy threshold, and a planted copy is far above it.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from typing import Any

from domain.template import S3_APPLICANT_COLUMNS
from testbed.render import ReportSpec
from testbed.simulator.scenario import CARRY_OVER, COPY, DASH, ROW_TOTAL, ReportEntry, Scenario
from testbed.synthetic import consistent_cells

# Scenario cells are all numbers (blanks and text are printing defects applied later), so arithmetic on
# them needs no None checks.
Cells = dict[str, Any]

ROW_TOTAL_CELL = "s3.granted.total"  # the cell a ROW_TOTAL report prints wrong
ROW_TOTAL_DELTA = 3
# A DASH report prints 复议后起诉's (zero) parts as ——: arithmetic with unknown terms is not judged, so the
# report stays consistent and only ``cell.not_number`` fires.
DASH_CELLS = tuple(f"s4.litigation_after_review.{c}" for c in ("upheld", "corrected", "other", "pending"))

_SENTENCES = (
    "坚持把政务公开作为转变政府职能、建设法治政府的重要抓手，健全完善工作机制。",
    "围绕优化营商环境，集中公开涉企政策文件，开设惠企政策专栏，方便企业群众查询。",
    "加强政策解读，采用图解、短视频、新闻发布会等多种形式，提高解读的针对性和可读性。",
    "持续推进基层政务公开标准化规范化建设，梳理完善本单位政务公开事项标准目录。",
    "严格落实公文公开属性源头认定制度，在公文办理环节同步明确公开方式。",
    "进一步规范依申请公开办理流程，做到登记、审核、办理、答复、归档全流程闭环管理。",
    "完善政务新媒体管理，及时清理关停功能重复、更新缓慢的账号，确保信息发布权威准确。",
    "推动财政预决算、重大建设项目、公共资源配置等重点领域信息依法依规公开。",
    "组织开展政务公开业务培训，邀请专家授课，提升工作人员的公开意识和业务能力。",
    "畅通政民互动渠道，认真办理网民留言，对群众关切问题及时回应、解疑释惑。",
    "加强政府网站集约化建设，优化栏目设置，提升信息检索和在线服务的便捷程度。",
    "做好人大代表建议和政协委员提案办理结果公开，主动接受社会监督。",
    "规范政府信息公开保密审查，确保不发生泄密事件，守牢网络意识形态安全底线。",
    "围绕乡村振兴、民生保障等群众关心的事项，细化公开内容，拓展公开深度。",
    "建立政务公开工作台账，实行月调度、季通报，推动各项任务落实落细。",
    "开展政府开放日活动，邀请群众代表走进机关，面对面听取意见建议。",
    "推进政策文件库建设，对现行有效的规范性文件进行集中梳理并统一发布。",
    "落实重大行政决策预公开制度，对涉及群众切身利益的事项广泛征求意见。",
    "强化政务服务事项公开，及时更新办事指南，实现服务事项清单化管理。",
    "加强对公开内容的审核把关，坚持先审后发，杜绝错敏信息发布。",
    "配合做好政府信息公开第三方评估工作，对发现的问题建立清单逐项整改。",
    "结合年度重点工作，适时发布工作动态和阶段性成果，增强公开的时效性。",
    "推动公共企事业单位信息公开，督促相关单位公开办事服务信息。",
    "落实政务公开工作责任制，明确分管领导和专职人员，保障工作经费。",
)


def seed_of(*parts: object) -> int:
    """A stable seed: Python's ``hash`` of a str changes between runs."""
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")


def _zero_regulations(cells: Cells, template: str) -> None:
    """County-level agencies cannot make 规章: a non-zero count would be a plausibility finding."""
    cols = (
        ("made", "published", "total_published") if template == "2019" else ("issued", "repealed", "in_force")
    )
    for c in cols:
        cells[f"s2.regulations.{c}"] = 0


def _retotal(cells: Cells, rows: Iterable[str]) -> None:
    for r in rows:
        cells[f"s3.{r}.total"] = sum(cells[f"s3.{r}.{c}"] for c in S3_APPLICANT_COLUMNS)


def _chain(cells: Cells, template: str, previous: Cells | None, previous_template: str | None) -> None:
    """Carry last year's closing figures into this year's opening ones, keeping every sum true."""
    if previous is None:
        return
    for c in S3_APPLICANT_COLUMNS:
        over = previous[f"s3.carried_forward.{c}"]
        handled, forward = cells[f"s3.results_total.{c}"], cells[f"s3.carried_forward.{c}"]
        new = handled + forward - over
        if new < 0:  # more was carried in than handled: the rest is carried on
            forward, new = forward - new, 0
        cells[f"s3.carried_over.{c}"] = over
        cells[f"s3.carried_forward.{c}"] = forward
        cells[f"s3.new_received.{c}"] = new
    _retotal(cells, ("carried_over", "carried_forward", "new_received"))
    if template == "2021" and previous_template == "2021":
        item = "normative_docs"
        last, issued = previous[f"s2.{item}.in_force"], cells[f"s2.{item}.issued"]
        repealed = min(cells[f"s2.{item}.repealed"], last + issued)
        cells[f"s2.{item}.repealed"] = repealed
        cells[f"s2.{item}.in_force"] = last + issued - repealed
    if template == "2019" and previous_template == "2019":
        for item in ("licensing", "other_services", "penalties", "coercion", "fees"):
            cells[f"s2.{item}.prior"] = previous[f"s2.{item}.prior"] + previous[f"s2.{item}.change"]


def _break_carry_over(cells: Cells) -> None:
    """上年结转 two more than last year carried forward, this year's own sums still true."""
    c = "natural_person"
    cells[f"s3.carried_over.{c}"] += 2
    if cells[f"s3.new_received.{c}"] >= 2:
        cells[f"s3.new_received.{c}"] -= 2
    else:
        cells[f"s3.carried_forward.{c}"] += 2
    _retotal(cells, ("carried_over", "carried_forward", "new_received"))


def _fit_next(cells: Cells, template: str, nxt: Cells, next_template: str) -> None:
    """Make a report slotted in later (backdated) close where next year's report already opens, so that
    adding it changes no other report and plants no history finding."""
    for c in S3_APPLICANT_COLUMNS:
        forward, over = nxt[f"s3.carried_over.{c}"], cells[f"s3.carried_over.{c}"]
        new = cells[f"s3.results_total.{c}"] + forward - over
        if new < 0:  # more came in than goes out: grant the difference this year
            cells[f"s3.granted.{c}"] -= new
            cells[f"s3.results_total.{c}"] -= new
            new = 0
        cells[f"s3.carried_forward.{c}"] = forward
        cells[f"s3.new_received.{c}"] = new
    _retotal(cells, ("carried_forward", "new_received", "granted", "results_total"))
    if template == "2021" and next_template == "2021":
        item = "normative_docs"
        target = nxt[f"s2.{item}.in_force"] - nxt[f"s2.{item}.issued"] + nxt[f"s2.{item}.repealed"]
        before = cells[f"s2.{item}.in_force"] - cells[f"s2.{item}.issued"] + cells[f"s2.{item}.repealed"]
        if target >= 0:
            diff = target - before
            cells[f"s2.{item}.issued"], cells[f"s2.{item}.repealed"] = (diff, 0) if diff >= 0 else (0, -diff)
            cells[f"s2.{item}.in_force"] = target
    if template == "2019" and next_template == "2019":
        for item in ("licensing", "other_services", "penalties", "coercion", "fees"):
            cells[f"s2.{item}.change"] = nxt[f"s2.{item}.prior"] - cells[f"s2.{item}.prior"]


def intended_cells(scenario: Scenario, agency_key: str, year: int) -> Cells | None:
    """The cells the agency meant to report for ``year`` (before any printing defect), chained year to year
    from the earliest scenario year on. ``None`` if the scenario has no report of that agency-year.

    A report added by ``publish_backdated`` chains from the year before and fits the year after, while
    every other report keeps exactly the figures (and bytes) it had before the addition.
    """
    entries = {r.year: r for r in scenario.reports if _agency_key(scenario, r) == agency_key}
    backdated = {y for y in entries if (agency_key, y) in scenario.listed_from_now}
    memo: dict[int, Cells] = {}

    def cells_of(y: int) -> Cells:
        if y in memo:
            return memo[y]
        r = entries[y]
        cells = consistent_cells(r.template, random.Random(seed_of("cells", agency_key, y)), scale=12)
        _zero_regulations(cells, r.template)
        if y - 1 in entries and (y - 1 not in backdated or y in backdated):
            _chain(cells, r.template, cells_of(y - 1), entries[y - 1].template)
        if CARRY_OVER in r.defects:
            _break_carry_over(cells)
        if y in backdated and y + 1 in entries and y + 1 not in backdated:
            _fit_next(cells, r.template, cells_of(y + 1), entries[y + 1].template)
        memo[y] = cells
        return cells

    return cells_of(year) if year in entries else None


def _agency_key(scenario: Scenario, r: ReportEntry) -> str:
    return r.agency_id or scenario.printed_name(r)


_AREAS = (
    "义务教育",
    "医疗卫生",
    "养老服务",
    "就业创业",
    "住房保障",
    "生态环境",
    "安全生产",
    "食品药品",
    "交通运输",
    "农业农村",
    "文化旅游",
    "市场监管",
    "城市管理",
    "社会救助",
    "财政资金",
    "征地拆迁",
    "招商引资",
    "科技创新",
    "应急管理",
    "自然资源",
    "水利建设",
    "乡村振兴",
    "退役军人",
    "残疾人权益",
    "公共资源",
    "税费减免",
    "医疗保障",
    "户籍管理",
    "国有企业",
    "审计监督",
    "统计数据",
    "林业草原",
)
_ACTIONS = (
    "细化",
    "完善",
    "规范",
    "拓展",
    "深化",
    "强化",
    "优化",
    "统筹",
    "健全",
    "推进",
    "落实",
    "夯实",
)
_OBJECTS = (
    "公开清单",
    "发布流程",
    "解读机制",
    "互动回应",
    "目录编制",
    "专栏建设",
    "数据开放",
    "审核机制",
    "办事指南",
    "意见征集",
    "结果公开",
    "标准目录",
    "咨询答复",
    "考核评议",
    "台账管理",
    "年度计划",
)
_RESULTS = (
    "群众满意度持续提升",
    "公开质量明显提高",
    "社会关切得到及时回应",
    "企业获得感不断增强",
    "权力运行更加透明",
    "基层治理更加规范",
    "信息检索更加便捷",
    "政策知晓率显著提高",
)


def _focus_sentence(rng: random.Random) -> str:
    """A readable sentence whose 8-character shingles are almost never shared with another report's."""
    a, b, c = rng.sample(_AREAS, 3)
    return (
        f"围绕{a}、{b}和{c}等领域，{rng.choice(_ACTIONS)}{rng.choice(_OBJECTS)}，"
        f"{rng.choice(_ACTIONS)}{rng.choice(_OBJECTS)}，{rng.choice(_RESULTS)}。"
    )


def prose_for(name: str, year: int, cells: Cells, *, seed: int) -> str:
    """一、总体情况: sentences picked per report, with the figures the text rules compare.

    Long enough (as real reports are) that the renderer's fixed wording — title, opening, closing
    sections — stays well under the copy threshold between two honest reports.
    """
    rng = random.Random(seed)
    picked = rng.sample(_SENTENCES, 4)
    focus = [_focus_sentence(rng) for _ in range(20)]
    numbers = (
        f"{year}年，{name}共收到政府信息公开申请{cells['s3.new_received.total']}件，"
        f"上年结转政府信息公开申请{cells['s3.carried_over.total']}件，"
        f"结转下年度继续办理{cells['s3.carried_forward.total']}件，均在法定期限内答复。"
    )
    paragraphs = [
        f"{year}年，{name}" + picked[0] + "".join(focus[:7]),
        picked[1] + "".join(focus[7:14]),
        numbers,
        picked[2] + "".join(focus[14:]) + picked[3],
    ]
    return "\n".join(paragraphs)


def report_spec(scenario: Scenario, r: ReportEntry) -> ReportSpec:
    """The document the agency published (printing defects applied), edits included."""
    key = _agency_key(scenario, r)
    name = scenario.printed_name(r)
    cells = dict(intended_cells(scenario, key, r.year) or {})
    # a copied report reuses last year's sentences (the figures are this year's)
    prose_seed = seed_of("prose", key, r.year - 1 if COPY in r.defects else r.year)
    prose = prose_for(name, r.year, cells, seed=prose_seed)
    edits = scenario.edits.get((key, r.year), 0)
    if edits:
        prose += "\n" + "".join(f"（{n}）本报告于发布后更正了部分表述。" for n in range(1, edits + 1))
    cell_text: dict[str, str] = {}
    if ROW_TOTAL in r.defects:
        cells[ROW_TOTAL_CELL] = cells[ROW_TOTAL_CELL] + ROW_TOTAL_DELTA
    if DASH in r.defects:
        for k in DASH_CELLS:
            cells[k] = 0
        cells["s4.litigation_after_review.total"] = 0
        cell_text = dict.fromkeys(DASH_CELLS, "——")
    return ReportSpec(
        template=r.template, year=r.year, agency=name, cells=cells, prose=prose, cell_text=cell_text
    )


def expected_cells(scenario: Scenario, r: ReportEntry) -> Cells:
    """The cells a correct parser reads back from the served document (—— reads as null)."""
    spec = report_spec(scenario, r)
    out = dict(spec.cells)
    for k in spec.cell_text:
        out[k] = None
    return out
