"""Every code gkwatch gives — statuses, publication evidence, crawl problems, severities, agency kinds, rule
ids — with the one Chinese label each is shown under, on the page, in exports and in mail.

The codes themselves (English) are the contract's and stay in JSON, the CLI and rule ids; people read the
labels. A code missing here is shown as itself, never hidden (``label``).
"""

from __future__ import annotations

from typing import NamedTuple


class Term(NamedTuple):
    label: str  # what people read
    help: str = ""  # one sentence: what it means, shown beside it


# --- the status of an agency-year (the contract's ``status``) -----------------------------------------

STATUS: dict[str, Term] = {
    "not_due": Term("未到期", "截止日尚未过去"),
    "on_time": Term("按时发布", "网站自身日期（或截止日前本系统的发现）不晚于截止日"),
    "late": Term("逾期发布", "网站自身日期晚于截止日，或截止日后完整读取的栏目中没有、之后才出现"),
    "undated": Term("已发布，日期无法证实", "报告已发布，但网站未注明日期，且无法证明是否按时：不计为逾期"),
    "missing": Term("未发布", "截止日后完整读取了该机关的全部栏目页，没有该年度报告"),
    "unknown": Term("无法判断", "网站或栏目未能完整读取：不归咎于该机关"),
}
STATUSES = tuple(STATUS)
# Verdicts that accuse the agency: each must rest on the evidence the contract names.
ACCUSATIONS = ("late", "missing")

# --- where the publication date comes from (``published_evidence``) ------------------------------------

EVIDENCE: dict[str, Term] = {
    "page_meta": Term(
        "页面 PubDate 元数据", "报告页面的 PubDate 元数据（《政府网站发展指引》要求的发布时间）"
    ),
    "page_text": Term("页面所示发布日期", "报告页面上印出的发布日期"),
    "listing_date": Term("栏目列表所示日期", "栏目列表中报告链接旁印出的日期"),
    "http_header": Term("附件的 Last-Modified", "附件文件的 HTTP Last-Modified 响应头"),
    "first_seen": Term("截止日前已被本系统发现", "网站未注明日期；本系统在截止日前已抓取到该报告"),
    "listing_absent": Term(
        "截止日后栏目中没有，之后才出现",
        "网站未注明日期；截止日后完整读取的栏目页中没有该报告，之后的读取中才出现",
    ),
    "operator": Term("操作员更正", "操作员根据核实的情况更正了发布日期或报告（附理由，可查记录）"),
}

# --- the crawler's trouble (``crawl_problem``): never the agency's fault --------------------------------

PROBLEM: dict[str, Term] = {
    "unreachable": Term("网站无法访问", "请求失败或返回错误状态"),
    "blocked": Term("抓取被拦截", "网站返回拦截、验证码或限流页面；本系统不会设法绕过"),
    "robots": Term("robots.txt 禁止抓取", "网站的 robots.txt 不允许抓取该页面"),
    "parse_failed": Term("报告无法解析", "文件已存档，但无法读取其中的表格"),
    "limit": Term("达到抓取上限", "抓取达到为防止陷阱而设的页数、请求数或大小上限"),
    "incomplete": Term("栏目未读完", "本次抓取在读完全部栏目页之前中断"),
}
# Problems that leave a portal's (or an agency's) listing unread: no ``missing`` may rest on such a read.
BLOCKING_PROBLEMS = ("unreachable", "blocked", "robots", "limit", "incomplete")

# --- findings -------------------------------------------------------------------------------------------

SEVERITY: dict[str, Term] = {
    "error": Term("错误", "报告自身数据不成立（确定读数）"),
    "warning": Term("警告", "需要核实"),
    "info": Term("提示", "仅供参考"),
}
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


class Rule(NamedTuple):
    severity: (
        str  # an error-severity finding makes the report ``inconsistent``: only certain readings give one
    )
    meaning: str  # plain Chinese


RULES: dict[str, Rule] = {
    "s3.row_total": Rule("error", "表三某行的“总计”不等于六类申请人之和"),
    "s3.results_total": Rule("error", "表三某列的“（七）总计”不等于（一）至（六）各项办理结果之和"),
    "s3.balance": Rule("error", "表三某列不满足“第一项加第二项之和，等于第三项加第四项之和”"),
    "s4.total": Rule("error", "表四某组的“总计”不等于维持、纠正、其他、尚未审结之和"),
    "cell.not_number": Rule("warning", "应填数字的单元格填了文字（如“——”“/”“无”）"),
    "cell.blank": Rule("warning", "应填数字的单元格为空"),
    "cell.negative": Rule("error", "不可能为负的数量出现负数"),
    "cell.format": Rule("info", "数字可读但书写不规范（如“00”、全角数字、单元格内带单位）"),
    "reading.unsure": Rule(
        "warning", "表格的勾稽关系不成立，但涉及的单元格读数不确定（可能是识别错误，需人工核对）"
    ),
    "template.outdated": Rule(
        "warning", "报告使用的表格格式与报告年度不符（2021年起应使用国办公开办函〔2021〕30号格式）"
    ),
    "template.missing_section": Rule("warning", "缺少规定的六个部分之一"),
    "template.missing_row": Rule("warning", "表格缺少规定的行或列"),
    "text.table_mismatch": Rule("warning", "正文中的数字与表格不一致"),
    "history.carry_over": Rule("warning", "本年“上年结转”不等于上一年度报告的“结转下年度继续办理”"),
    "history.stock": Rule("warning", "本年存量不等于上年存量加本年增减"),
    "copy.previous_year": Rule("warning", "正文与上一年度报告高度重复（重复率超过50%）"),
    "copy.other_agency": Rule("warning", "正文与同年度其他机关的报告高度重复（内容雷同）"),
    "history.backdated": Rule("warning", "报告标注的发布日期早于截止日，但截止日后抓取的栏目页中并无该报告"),
    "history.changed": Rule("info", "报告发布后内容有变动（已保留各版本）"),
    "plausibility.period": Rule("warning", "统计期限不是报告年度的1月1日至12月31日"),
    "plausibility.year_in_text": Rule("warning", "正文提到的年份与报告年度不符（可能照抄上年）"),
    "plausibility.money_unit": Rule("warning", "金额达百万万元以上，可能误以“元”为单位填写"),
    "plausibility.s2_published_exceeds_total": Rule("warning", "本年新公开数量大于对外公开总数量"),
    "plausibility.s2_repealed_exceeds_stock": Rule(
        "warning", "本年废止件数大于上年现行有效件数与本年制发件数之和"
    ),
    "plausibility.regulations": Rule("warning", "该类机关无权制定规章，却填报了规章数量"),
}

# --- the registry ---------------------------------------------------------------------------------------

KIND: dict[str, Term] = {
    "department": Term("部门", "县级以上人民政府部门：次年1月31日前发布（《条例》第四十九条）"),
    "township": Term("乡镇（街道）", "乡镇人民政府、街道办事处：实践中与部门同为次年1月31日"),
    "government": Term("人民政府", "本级人民政府的年度报告：次年3月31日前发布（《条例》第四十九条）"),
}
AGENCY_KINDS = tuple(KIND)

INCONSISTENT: dict[bool | None, Term] = {
    True: Term("不一致", "报告的数字不成立（有错误级问题）"),
    False: Term("一致", "未发现错误级问题"),
    None: Term("未解析", "没有可判断的读数"),
}

# --- what operators and mail do -------------------------------------------------------------------------

VERDICT: dict[str, Term] = {
    "dismissed": Term("误报（已排除）", "复核认为该问题不成立"),
    "confirmed": Term("已确认", "复核确认该问题成立"),
}
CHANGE: dict[str, Term] = {
    "missing": Term("未发布"),
    "late": Term("逾期发布"),
    "inconsistent": Term("数据不一致"),
    "changed": Term("发布后被修改"),
    "corrected": Term("更正"),
}
# what an operator may correct (``monitor.status.corrections``)
CORRECTION: dict[str, Term] = {
    "date": Term("发布日期有误", "网站所示或本系统认定的发布日期与核实的不符"),
    "attribution": Term("报告归属有误", "报告被归到了别的机关或年度"),
    "report": Term("爬虫无法访问的报告", "报告已发布，但本系统无法抓取（由操作员提供网址和日期）"),
}

# --- crawl runs (``CrawlRun.status``) and how a portal's listing read ended (``PortalRead.end_reason``) ----

RUN_STATUS: dict[str, Term] = {
    "running": Term("进行中"),
    "finished": Term("已完成"),
    "interrupted": Term("中断", "抓取在完成前被停止（超时、终止信号或进程被杀）"),
    "failed": Term("失败", "抓取进程出错退出"),
}
END_REASON: dict[str, Term] = {
    "finished": Term("栏目已读完", "全部栏目页均已读取"),
    "interrupted": Term("中断", "抓取在读完栏目前被停止"),
    "limit": Term("达到抓取上限", "达到为防止陷阱而设的页数或请求数上限"),
    "listing_failed": Term("栏目页读取失败", "有栏目页未能读取"),
    "unreachable": Term("网站无法访问"),
    "blocked": Term("抓取被拦截"),
    "robots": Term("robots.txt 禁止抓取"),
    "busy": Term("未读取：另一次抓取正在读取该网站"),
    "quiet": Term(
        "栏目异常安静：不作为依据",
        "栏目读完了，但报告链接突然没有或远少于以往，或每个栏目页都是同一个页面（网站改版或软性拦截）",
    ),
}
# Why a complete read of a portal is quiet (``monitor.status.quiet``): told to the operator.
QUIET: dict[str, Term] = {
    "no_links": Term("栏目中突然没有任何报告链接", "以往的完整读取都有报告链接"),
    "far_fewer": Term("报告链接远少于以往", "不到以往通常数量的一半"),
    "one_page": Term("每个栏目页都是同一个页面", "多个栏目地址返回完全相同的内容，像是模板页或拦截页"),
}


def label(table: dict, code: object) -> str:  # noqa: ANN001
    """The Chinese word for a code; an unknown code is shown as itself (never hidden); None as ``—``."""
    term = table.get(code)  # type: ignore[call-overload]
    if term is not None:
        return term.label if isinstance(term, Term) else str(term)
    return "—" if code is None else str(code)


def explain(rule: str) -> str:
    """The plain-Chinese meaning of a rule id."""
    r = RULES.get(rule)
    return r.meaning if r else rule
