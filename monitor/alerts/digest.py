"""The subscriber digest: one mail per subscriber per run, listing only what changed in their regions.

``queue_alerts`` is the entry point (called after ``gkwatch check``): it finds the changes
(``monitor.alerts.changes``), writes one outbox row per subscriber whose regions have any, and one per
Apprise channel (all regions), in the same transaction as the ``AlertState`` update. Subscribers are the
database's (``storage.subscriptions``; config.yaml's ``alerts.subscribers`` seeds them).

The dedupe key of a digest is a hash of its recipient and of each change *including the state it changed
from* (that state's ``notified_at``): two runs racing on the same changes produce the same key, and the
unique constraint lets only one commit; a later, genuinely new change of the same kind has a different
``since`` and a new key.

The state advances even for changes no subscriber's regions cover (or when nobody subscribes): a
subscriber added later hears of later changes, not of a backlog.

Every item says what changed and the evidence for it, with the numbers, in the same words as the web page
and the exports (``monitor.status.wording``); links the agency-year's page and its evidence file; and the
mail ends with what a reader can do (the 条例's channels), the contact and a signed unsubscribe link. The
HTML reads on a phone (one column, long URLs wrap). Crawled text is cleaned and escaped (``domain.text``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import tuple_
from sqlmodel import Session, select

from domain.config import Config
from domain.regions import region_has_prefix
from domain.text import clean_text, h, safe_url
from monitor.alerts.changes import CHANGE_LABELS, Change, detect_and_record, load_current
from monitor.alerts.channels import url_key
from monitor.alerts.outbox import enqueue
from monitor.alerts.text import agency_year_url, evidence_url, evidence_zip_url, unsubscribe_url
from monitor.status import wording
from monitor.status.verdict import StatusRow
from storage.models import AgencyYearStatus
from storage.subscriptions import active_subscribers, unsubscribe_secret
from storage.types import utcnow

log = logging.getLogger(__name__)

MAX_ITEMS = 300  # a first digest can be long; beyond this the mail points to the web page
FIRST_NOTE = "以下各项是 gkwatch 首次向您报告的当前问题（不一定是新近发生的）。此后只在情况变化时来信。"
WHAT_YOU_CAN_DO = (
    "您可以做什么：行政机关未按时发布政府信息公开工作年度报告（《政府信息公开条例》第四十九条），"
    "或报告内容不准确的，可以向该机关的上一级行政机关或者政府信息公开工作主管部门投诉、举报"
    "（《条例》第五十一条），也可以提请政府信息公开工作主管部门督促整改（《条例》第四十七条）。"
    "投诉时请附上本邮件所列的证据包（其中有存档原件、栏目页快照和 sha256 校验值）。"
)
COLORS = {
    "late": "#a85400",
    "missing": "#c62828",
    "inconsistent": "#c62828",
    "changed": "#5f6670",
    "corrected": "#2e7d32",
}


def wants(regions: list[str] | tuple[str, ...], region: str) -> bool:
    """A subscriber with no regions gets everything; otherwise a whole-segment prefix must match."""
    return not regions or any(region_has_prefix(region, p) for p in regions)


# --- what each item says --------------------------------------------------------------------------------


def _row(c: Change, extra: Mapping[tuple[str, int], dict[str, Any]]) -> dict[str, Any]:
    """The agency-year as ``monitor.status.wording`` reads it (details and evidence from the table)."""
    cur = c.current
    more = extra.get((cur.agency_id, cur.year), {})
    return {
        "status": cur.status,
        "due": cur.due,
        "published": cur.published,
        "published_evidence": cur.published_evidence,
        "first_seen": more.get("first_seen"),
        "crawl_problem": more.get("crawl_problem"),
        "evidence": more.get("evidence") or {},
        "details": more.get("details") or [],
        "inconsistent": cur.inconsistent,
        "findings": list(cur.findings),
    }


def what_changed(c: Change, row: Mapping[str, Any]) -> str:
    """The change in one sentence, with its numbers."""
    if c.kind == "corrected":
        now = wording.verdict_sentence(row)
        consistent = "；数据未发现错误" if row.get("inconsistent") is False else ""
        return f"更正：此前告知的问题经核实不成立。现在的结论是 {now}{consistent}"
    if c.kind == "inconsistent":
        c_ = wording.consistency(row.get("inconsistent"), row.get("details") or row.get("findings") or [])
        return f"报告的数字不成立：{c_.text}"
    if c.kind == "changed":
        return "报告在发布后内容有变动（各版本均已存档，可在证据包中比对）"
    return wording.verdict_sentence(row)


def item_lines(c: Change, row: Mapping[str, Any]) -> list[str]:
    """The evidence (for a verdict) or the findings with their numbers (for a report that does not add up)."""
    if c.kind == "inconsistent":
        return wording.findings_text(row.get("details"), row.get("findings") or [])[:12]
    if c.kind == "changed":
        return []
    return wording.evidence_lines(row)


def item_pairs(c: Change, row: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``item_lines`` with each finding's rule id (shown small in the HTML; the text leaves it out)."""
    if c.kind == "inconsistent":
        return wording.finding_lines(row.get("details"), row.get("findings") or [])[:12]
    return [(x, "") for x in item_lines(c, row)]


def _title(c: Change) -> str:
    cur = c.current
    return f"【{CHANGE_LABELS[c.kind]}】{cur.agency}（{cur.region or '未注明地区'}）{cur.year} 年度报告"


def subject_for(changes: list[Change]) -> str:
    """Counts by kind; with a single item, its agency too (cleaned: a header never gets crawled CR/LF)."""
    if len(changes) == 1:
        c = changes[0]
        return f"gkwatch 提醒：{clean_text(c.current.agency, max_len=60)} {c.current.year} 年度报告{CHANGE_LABELS[c.kind]}"
    counts = [(label, sum(1 for c in changes if c.kind == k)) for k, label in CHANGE_LABELS.items()]
    parts = "，".join(f"{label} {n}" for label, n in counts if n)
    return f"gkwatch 提醒：{len(changes)} 项变化（{parts}）"


def _footer_lines(config: Config, unsubscribe: str | None) -> list[str]:
    base = config.alerts.base_url.rstrip("/")
    lines = [WHAT_YOU_CAN_DO, "", f"全部情况：{base}/    地区排名：{base}/rankings"]
    if config.alerts.contact:
        lines.append(f"联系我们：{clean_text(config.alerts.contact)}")
    if unsubscribe:
        lines.append(f"退订：{unsubscribe}")
    lines.append("此邮件由 gkwatch 自动发送。")
    return lines


def render_text(
    changes: list[Change],
    config: Config,
    first: bool,
    extra: Mapping[tuple[str, int], dict[str, Any]] | None = None,
    unsubscribe: str | None = None,
) -> str:
    base = config.alerts.base_url
    extra = extra or {}
    lines = ["政府信息公开工作年度报告监测提醒", ""]
    if first:
        lines += [FIRST_NOTE, ""]
    for c in changes[:MAX_ITEMS]:
        row = _row(c, extra)
        cur = c.current
        lines.append(clean_text(_title(c), max_len=300))
        lines.append(f"  {clean_text(what_changed(c, row), max_len=1000)}")
        lines += [f"  - {clean_text(x, max_len=1000)}" for x in item_lines(c, row)]
        lines.append(f"  详情：{agency_year_url(base, cur.agency_id, cur.year)}")
        lines.append(f"  证据包：{evidence_zip_url(base, cur.agency_id, cur.year)}")
        if cur.report_url:
            lines.append(f"  报告原文：{clean_text(cur.report_url, max_len=2000)}")
        lines.append("")
    if len(changes) > MAX_ITEMS:
        lines += [f"……另有 {len(changes) - MAX_ITEMS} 项，请见 {base.rstrip('/')}/", ""]
    lines += _footer_lines(config, unsubscribe)
    return "\n".join(lines) + "\n"


_CSS_BODY = (
    "margin:0;padding:0;background:#f6f7f9;color:#1d2329;"
    "font:15px/1.6 'Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif;"
)
_CSS_LINK = "color:#0b5cad;overflow-wrap:anywhere;word-break:break-all;"


def _a(url: str, label: str) -> str:
    good = safe_url(url)
    if good is None:
        return h(label)
    return f'<a href="{h(good, max_len=2000)}" style="{_CSS_LINK}">{h(label, max_len=2000)}</a>'


def render_html(
    changes: list[Change],
    config: Config,
    first: bool,
    extra: Mapping[tuple[str, int], dict[str, Any]] | None = None,
    unsubscribe: str | None = None,
) -> str:
    """One column, max 640 px, cards; every value escaped; long URLs wrap (a phone's screen)."""
    base = config.alerts.base_url
    extra = extra or {}
    parts = [
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>gkwatch 提醒</title></head><body style="{_CSS_BODY}">'
        '<div style="max-width:640px;margin:0 auto;padding:12px;">'
        '<h1 style="font-size:20px;margin:8px 0 12px;">政府信息公开工作年度报告监测提醒</h1>'
    ]
    if first:
        parts.append(f'<p style="color:#5f6b76;">{h(FIRST_NOTE)}</p>')
    for c in changes[:MAX_ITEMS]:
        row = _row(c, extra)
        cur = c.current
        color = COLORS.get(c.kind, "#5f6670")
        lines = "".join(
            f'<li style="margin:4px 0;">{h(x, max_len=1000)}'
            + (f' <code style="font-size:11px;color:#5f6b76;">{h(rule)}</code>' if rule else "")
            + "</li>"
            for x, rule in item_pairs(c, row)
        )
        report = (
            f'<div style="font-size:13px;">报告原文：{_a(cur.report_url, cur.report_url)}</div>'
            if cur.report_url
            else ""
        )
        parts.append(
            '<div style="background:#fff;border:1px solid #d9dee3;border-left:5px solid '
            f'{color};border-radius:8px;padding:10px 12px;margin:0 0 12px;">'
            f'<div><span style="display:inline-block;background:{color};color:#fff;border-radius:999px;'
            f'padding:0 8px;font-size:13px;">{h(CHANGE_LABELS[c.kind])}</span></div>'
            f'<div style="font-weight:700;margin:6px 0 4px;">{h(cur.agency, max_len=200)} · {cur.year} 年度报告</div>'
            f'<div style="color:#5f6b76;font-size:13px;">{h(cur.region or "未注明地区")}</div>'
            f'<p style="margin:6px 0;">{h(what_changed(c, row), max_len=1000)}</p>'
            + (
                f'<ul style="margin:4px 0 8px;padding-left:18px;font-size:14px;">{lines}</ul>'
                if lines
                else ""
            )
            + f'<div style="font-size:14px;">{_a(agency_year_url(base, cur.agency_id, cur.year), "查看本年度详情与证据")}'
            f" · {_a(evidence_zip_url(base, cur.agency_id, cur.year), '下载证据包')}</div>"
            + report
            + "</div>"
        )
    if len(changes) > MAX_ITEMS:
        parts.append(f"<p>……另有 {len(changes) - MAX_ITEMS} 项，请见 {_a(base, base)}。</p>")
    foot = [
        f'<p style="background:#eef4fb;border-radius:8px;padding:10px 12px;">{h(WHAT_YOU_CAN_DO, max_len=2000)}</p>',
        f'<p style="font-size:13px;color:#5f6b76;">全部情况：{_a(base, base)} · {_a(base.rstrip("/") + "/rankings", "地区排名")}',
    ]
    if config.alerts.contact:
        foot.append(f"<br>联系我们：{h(config.alerts.contact)}")
    if unsubscribe:
        foot.append(f"<br>{_a(unsubscribe, '退订此类邮件')}")
    foot.append("<br>此邮件由 gkwatch 自动发送。</p></div></body></html>")
    parts += foot
    return "".join(parts)


def dedupe_key(recipient: str, changes: list[Change]) -> str:
    digest = hashlib.sha256("\n".join([recipient, *(c.identity for c in changes)]).encode("utf-8"))
    return f"digest:{digest.hexdigest()}"


def evidence_of(
    session: Session, changes: list[Change], rows: list[StatusRow] | None
) -> dict[tuple[str, int], dict[str, Any]]:
    """Details and evidence of the changed agency-years only (the rows given, else the table)."""
    keys = {(c.current.agency_id, c.current.year) for c in changes}
    out: dict[tuple[str, int], dict[str, Any]] = {}
    if rows is not None:
        for r in rows:
            if (r.agency_id, r.year) in keys:
                out[(r.agency_id, r.year)] = {
                    "details": r.details,
                    "evidence": r.evidence,
                    "first_seen": r.first_seen,
                    "crawl_problem": r.crawl_problem,
                }
        return out
    t = AgencyYearStatus
    wanted = sorted(keys)
    for i in range(0, len(wanted), 500):
        batch = wanted[i : i + 500]
        for aid, year, details, evidence, first, problem in session.exec(
            select(t.agency_id, t.year, t.details, t.evidence, t.first_seen, t.crawl_problem).where(
                tuple_(t.agency_id, t.year).in_(batch)
            )
        ):
            out[(aid, year)] = {
                "details": details,
                "evidence": evidence,
                "first_seen": first,
                "crawl_problem": problem,
            }
    return out


def queue_alerts(
    session: Session, config: Config, rows: list[StatusRow] | None = None, *, now: datetime | None = None
) -> int:
    """Queue one digest per subscriber (and Apprise channel) with news; returns how many were queued.

    The caller commits (``session_scope``): the outbox rows and the ``AlertState`` update go together.
    """
    now = now or utcnow()
    changes = detect_and_record(session, load_current(session, rows), now)
    if not changes:
        return 0
    alerts = config.alerts
    extra = evidence_of(session, changes, rows)
    secret = unsubscribe_secret(config)
    queued = 0
    targets: list[tuple[str, str, tuple[str, ...]]] = [
        ("email", s.email, s.regions) for s in active_subscribers(session, config)
    ]
    targets += [("apprise", url_key(u), ()) for u in alerts.apprise_urls]
    for channel, recipient, regions in targets:
        mine = [c for c in changes if wants(regions, c.current.region)]
        if not mine:
            continue
        first = all(c.first_report for c in mine)
        leave = unsubscribe_url(alerts.base_url, secret, recipient) if channel == "email" and secret else None
        row = enqueue(
            session,
            dedupe_key=dedupe_key(f"{channel}:{recipient}", mine),
            channel=channel,
            recipient=recipient,
            subject=subject_for(mine),
            body_text=render_text(mine, config, first, extra, leave),
            body_html=render_html(mine, config, first, extra, leave) if channel == "email" else None,
            from_addr=alerts.smtp.from_addr,
            now=now,
        )
        queued += row is not None
    session.flush()
    log.info("alerts: %d changes, %d messages queued", len(changes), queued)
    return queued


__all__ = ["evidence_url", "queue_alerts", "render_html", "render_text", "subject_for", "wants"]
