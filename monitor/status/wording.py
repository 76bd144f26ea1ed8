"""What a verdict says in plain Chinese, with its numbers — the one wording of the page, the exports, the mail
and ``gkwatch status``.

Codes get their labels from ``domain.codes``; this module turns a status row's facts into sentences a
watchdog can quote: the consistency of a report (``一致`` only when nothing was found; ``不一致`` only for an
error-severity finding), each finding with its numbers, the due date's reason, and the evidence of the
verdict — the portal's own words for the date, the complete listing read that proves a report absent, the
failed request behind ``unknown``, operators' corrections. English stays only in rule ids.

Rows are mappings (a ``StatusRow`` turned dict, a stored row, a contract object with ``evidence``): dates may
be ``date`` objects or ISO strings, instants ``datetime`` objects or ISO strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from domain import codes
from domain.clock import beijing_time
from monitor.status.deadlines import DEFAULTS

# --- small conversions ----------------------------------------------------------------------------------


def instant(value: Any) -> datetime | None:
    """A stored instant (datetime or ISO text) as a datetime; None for nothing or nonsense."""
    if value is None or isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def day(value: Any) -> date | None:
    """A calendar date (date or ISO text)."""
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def bj(value: Any, *, suffix: bool = True) -> str:
    """An instant in Beijing time: ``2022-02-04 10:13（北京时间）``."""
    return beijing_time(instant(value), suffix=suffix)


def _num(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return f"{v:g}" if isinstance(v, float) else str(v)


# --- the due date's reason ------------------------------------------------------------------------------

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


# --- consistency and findings ---------------------------------------------------------------------------


def severity_of(rule: str, detail: Mapping[str, Any] | None = None) -> str:
    if detail and detail.get("severity"):
        return str(detail["severity"])
    r = codes.RULES.get(rule)
    return r.severity if r else "warning"


@dataclass(frozen=True)
class Consistency:
    css: str  # good | warn | bad | unknown
    label: str  # 一致 | 未发现错误 | 不一致 | 未解析
    note: str  # "2 项错误，1 项待核实" (empty when nothing was found)

    @property
    def text(self) -> str:
        return f"{self.label}（{self.note}）" if self.note else self.label


def consistency(inconsistent: bool | None, findings: Iterable[Any] = ()) -> Consistency:
    """The report's consistency in words. ``一致`` only when nothing at all was found; with warnings only it
    is ``未发现错误`` (never ``一致`` beside a count of problems); ``不一致`` only for an error-severity finding
    (``inconsistent`` is true exactly then: ``monitor.judgement.findings.is_inconsistent``)."""
    errors = others = 0
    for f in findings:
        rule = f.get("rule") if isinstance(f, Mapping) else f
        sev = severity_of(str(rule), f if isinstance(f, Mapping) else None)
        if sev == "error":
            errors += 1
        else:
            others += 1
    parts = [f"{errors} 项错误" if errors else "", f"{others} 项待核实" if others else ""]
    note = "，".join(p for p in parts if p)
    if inconsistent is None:
        return Consistency("unknown", codes.label(codes.INCONSISTENT, None), note)
    if inconsistent and (errors or not (errors or others)):  # a row from before warnings stood apart: its
        # findings are the proof, and without an error-severity one it is not called 不一致
        return Consistency("bad", codes.label(codes.INCONSISTENT, True), note)
    if others or errors:
        return Consistency("warn", "未发现错误", note)
    return Consistency("good", codes.label(codes.INCONSISTENT, False), "")


def finding_text(detail: Mapping[str, Any]) -> str:
    """One finding as a sentence: what the rule means, then the report's own numbers (its message)."""
    rule = str(detail.get("rule"))
    meaning = codes.explain(rule)
    if rule == "reading.unsure" and detail.get("data", {}).get("rule_of"):
        meaning = f"{meaning}（{codes.explain(str(detail['data']['rule_of']))}）"
    message = str(detail.get("message") or "").strip()
    return f"{meaning}：{message}" if message else meaning


def finding_lines(
    details: Iterable[Mapping[str, Any]] | None, rules: Iterable[str] = ()
) -> list[tuple[str, str]]:
    """(sentence, rule id) of every finding of a row, errors first; a rule id without a stored detail by
    its meaning alone. The sentence starts with the severity: ``【错误】…``."""
    out: list[tuple[int, str, str]] = []
    seen: set[str] = set()
    for d in details or ():
        rule = str(d.get("rule"))
        seen.add(rule)
        sev = severity_of(rule, d)
        text = f"【{codes.label(codes.SEVERITY, sev)}】{finding_text(d)}"
        out.append((codes.SEVERITY_ORDER.get(sev, 9), text, rule))
    for rule in rules:
        if rule not in seen:
            sev = severity_of(rule)
            text = f"【{codes.label(codes.SEVERITY, sev)}】{codes.explain(rule)}"
            out.append((codes.SEVERITY_ORDER.get(sev, 9), text, rule))
            seen.add(rule)
    return [(text, rule) for _, text, rule in sorted(out, key=lambda x: x[0])]


def findings_text(details: Iterable[Mapping[str, Any]] | None, rules: Iterable[str] = ()) -> list[str]:
    """Every finding of a row as a sentence, errors first (``finding_lines`` without the rule ids)."""
    return [text for text, _ in finding_lines(details, rules)]


# --- the crawler's trouble in words ---------------------------------------------------------------------

_HTTP_REASON = {
    400: "请求有误",
    401: "需要登录",
    403: "禁止访问",
    404: "页面不存在",
    410: "页面已删除",
    429: "请求过于频繁，被限流",
    500: "服务器内部错误",
    502: "网关错误",
    503: "服务暂时不可用",
    504: "网关超时",
}
_PATTERNS: tuple[tuple[re.Pattern[str], Any], ...] = (
    (
        re.compile(r"HTTP (\d{3})(?: after retries)?(?: from \S+)?", re.I),
        lambda m: (
            f"服务器返回 HTTP {m[1]}"
            + (f"（{_HTTP_REASON[int(m[1])]}）" if int(m[1]) in _HTTP_REASON else "")
            + ("，重试后仍失败" if "retries" in m[0] else "")
        ),
    ),
    (
        re.compile(r"crawl\.(\w+) = (\d+) reached", re.I),
        lambda m: f"达到抓取上限（crawl.{m[1]} = {m[2]}），之后的链接未跟进",
    ),
    (re.compile(r"refresh loop", re.I), lambda m: "页面跳转形成循环"),
    (re.compile(r"forwards .*outside the portal", re.I), lambda m: "页面跳转到门户以外的网址"),
    (re.compile(r"outside allowed_domains|offsite", re.I), lambda m: "链接指向允许抓取的域名之外"),
    (re.compile(r"larger than|max size|size cap", re.I), lambda m: "文件超过大小上限，未下载"),
    (re.compile(r"robots", re.I), lambda m: "robots.txt 不允许抓取"),
    (re.compile(r"time(?:d)? ?out|TimeoutError|TCPTimedOut", re.I), lambda m: "连接超时"),
    (re.compile(r"DNSLookup|Name or service not known|getaddrinfo", re.I), lambda m: "域名解析失败"),
    (re.compile(r"ConnectionRefused|Connection refused", re.I), lambda m: "连接被拒绝"),
    (
        re.compile(r"ConnectionLost|ResponseNeverReceived|ConnectionDone|reset by peer", re.I),
        lambda m: "连接中断，未收到完整响应",
    ),
    (re.compile(r"SSL|certificate|TLS", re.I), lambda m: "加密连接（HTTPS 证书）出错"),
    (re.compile(r"captcha|验证|verification|blocked", re.I), lambda m: "网站返回拦截或验证码页面"),
    (re.compile(r"interrupted|SIGTERM|terminated", re.I), lambda m: "抓取被中断"),
)


def problem_text(kind: str | None, detail: str | None = None) -> str:
    """A crawl problem in Chinese: its kind's label, and what the request got (never the raw English)."""
    label = codes.label(codes.PROBLEM, kind) if kind else ""
    said = ""
    text = (detail or "").strip()
    if text:
        if re.search(r"[\u4e00-\u9fff]", text) and not re.search(r"[A-Za-z]{4,}", text):
            said = text  # already Chinese
        else:
            for pattern, words in _PATTERNS:
                m = pattern.search(text)
                if m:
                    said = words(m)
                    break
            else:
                said = "请求失败（其他网络错误）"
    if label and said and not said.startswith(label):
        return f"{label}：{said}"
    return said or label


# --- the evidence of a verdict --------------------------------------------------------------------------


def _read_line(read: Mapping[str, Any], *, lacked: str) -> str:
    pages = read.get("listing_pages")
    when = bj(read.get("started_at"))
    run = read.get("run_id")
    return (
        f"{when}完整读取了该网站的年度报告栏目（第 {run} 次抓取，共 {pages} 页栏目页，"
        f"{read.get('report_links', 0)} 个报告链接），其中{lacked}"
    )


def _printed_lines(published: Mapping[str, Any]) -> list[str]:
    """The dates the portal printed that were set aside, and why (shown, never used)."""
    out = []
    for p in published.get("printed") or ():
        if p.get("set_aside"):
            where = codes.label(codes.EVIDENCE, p.get("evidence"))
            out.append(f"{where}「{p.get('quote')}」未采用：{p['set_aside']}")
    return out


def published_lines(row: Mapping[str, Any]) -> list[str]:
    """How the publication date was established (or why it could not be)."""
    ev = row.get("evidence") or {}
    pub = ev.get("published") or {}
    kind = row.get("published_evidence")
    date_ = day(row.get("published"))
    due = day(row.get("due"))
    first_seen = row.get("first_seen") or pub.get("first_seen")
    lines: list[str] = []
    if kind in ("page_meta", "page_text", "listing_date", "http_header"):
        where = codes.label(codes.EVIDENCE, kind)
        quote = pub.get("quote")
        src = pub.get("source")
        said = f"「{quote}」" if quote else ""
        lines.append(f"发布日期 {date_}，依据{where}{said}" + (f"（{src}）" if src else ""))
    elif kind == "first_seen":
        lines.append(
            f"网站未注明发布日期；本系统于 {bj(first_seen)}首次发现该报告，不晚于截止日 {due}，计为按时"
        )
    elif kind == "listing_absent":
        absence = ev.get("absence") or {}
        line = f"网站未注明发布日期；截止日 {due} 之后，"
        if absence:
            line += _read_line(absence, lacked="没有该报告")
        else:
            line += "完整读取的栏目页中没有该报告"
        lines.append(line + f"；本系统于 {bj(first_seen)}才首次发现，按此计为逾期")
    elif kind == "operator":
        lines.append(f"发布日期 {date_}，依据操作员更正（见下）")
    elif row.get("status") == "undated":
        lines.append(
            f"报告已发布，但网站未注明日期；本系统于 {bj(first_seen)}首次发现，晚于截止日 {due}，"
            "又没有截止日后完整读取栏目而不见该报告的记录，无法证明是否按时：不计为逾期"
        )
    lines += _printed_lines(pub)
    return lines


def evidence_lines(row: Mapping[str, Any]) -> list[str]:
    """The facts that prove the verdict of one agency-year, each a sentence a watchdog can quote."""
    ev = row.get("evidence") or {}
    status = row.get("status")
    due = day(row.get("due"))
    lines: list[str] = []
    if ev.get("published") or row.get("published_evidence"):
        lines += published_lines(row)
    if status == "missing":
        proof = ev.get("absence") or {}
        if proof:
            lines.append(f"截止日 {due} 之后，" + _read_line(proof, lacked="没有该机关该年度的报告"))
        n = ev.get("complete_reads_after_due")
        if n and n > 1:
            lines.append(f"截止日后共 {n} 次完整读取栏目，均没有该报告")
    if status == "unknown":
        problem = ev.get("problem")
        if problem:
            lines.append(
                f"无法判断：{problem_text(problem.get('kind'), problem.get('detail'))}"
                f"（{problem.get('url')}，{bj(problem.get('at'))}）"
            )
        last = ev.get("last_read")
        if last and not last.get("complete"):
            reason = codes.label(codes.END_REASON, last.get("end_reason") or "interrupted")
            lines.append(
                f"最近一次读取栏目（第 {last.get('run_id')} 次抓取，{bj(last.get('started_at'))}）未读完：{reason}"
                f"，已读 {last.get('listing_pages', 0)} 页"
            )
        done = ev.get("last_complete_read")
        if done:
            lines.append(
                f"此前 {bj(done.get('started_at'))}完整读取栏目时没有该报告，但之后的读取未完成，不能据此认定未发布"
            )
        if not (problem or last or done):
            lines.append("截止日后尚未完整读取过该网站的年度报告栏目，不能认定未发布")
    for other in ev.get("other_reports") or ():
        pub = other.get("published")
        lines.append(f"同年度另有报告：{other.get('report_url')}" + (f"（发布日期 {pub}）" if pub else ""))
    for c in ev.get("corrections") or ():
        what = codes.label(codes.CORRECTION, c.get("kind"))
        facts = "，".join(
            x
            for x in (
                c.get("published") and f"发布日期 {c['published']}",
                c.get("report_url") and f"报告 {c['report_url']}",
            )
            if x
        )
        lines.append(
            f"操作员更正（{what}{'：' + facts if facts else ''}），理由：{c.get('reason')}"
            f"（{c.get('by')}，{bj(c.get('at'))}）"
        )
    return lines


def evidence_summary(row: Mapping[str, Any]) -> str:
    """The evidence as one paragraph (an export cell)."""
    return "；".join(evidence_lines(row))


def verdict_sentence(row: Mapping[str, Any]) -> str:
    """The verdict in one sentence: ``逾期发布：截止日 2022-01-31，发布日期 2022-02-03（逾期 3 天）``."""
    status = row.get("status")
    label = codes.label(codes.STATUS, status)
    due = day(row.get("due"))
    pub = day(row.get("published"))
    if status == "late" and pub and due:
        return f"{label}：截止日 {due}，发布日期 {pub}（逾期 {(pub - due).days} 天）"
    if status == "on_time" and pub:
        return f"{label}：截止日 {due}，发布日期 {pub}"
    if status == "missing":
        return f"{label}：截止日 {due} 已过，该机关的年度报告栏目中没有这一年度的报告"
    if status == "unknown":
        problem = row.get("crawl_problem")
        return (
            f"{label}：网站未能完整读取"
            + (f"（{codes.label(codes.PROBLEM, problem)}）" if problem else "")
            + "，不归咎于该机关"
        )
    if status == "undated":
        return f"{label}：网站未注明日期，无法证明是否在截止日 {due} 前发布"
    if status == "not_due":
        return f"{label}：截止日 {due}"
    return label
