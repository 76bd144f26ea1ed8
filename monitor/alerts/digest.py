"""The subscriber digest: one mail per subscriber per run, listing only what changed in their regions.

``queue_alerts`` is the entry point (called after ``gkwatch check``): it finds the changes
(``monitor.alerts.changes``), writes one outbox row per subscriber whose regions have any, and one per
Apprise channel (all regions), in the same transaction as the ``AlertState`` update.

The dedupe key of a digest is a hash of its recipient and of each change *including the state it changed
from* (that state's ``notified_at``): two runs racing on the same changes produce the same key, and the
unique constraint lets only one commit; a later, genuinely new change of the same kind has a different
``since`` and a new key.

The state advances even for changes no subscriber's regions cover (or when nobody subscribes): a
subscriber added later hears of later changes, not of a backlog.

Text is Chinese; every item names the agency, region and year, says what happened, links the evidence
page (``{alerts.base_url}/agency/{id}``) and the report itself. Crawled text is cleaned and escaped
(``domain.text``).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from sqlmodel import Session

from domain import codes
from domain.codes import explain
from domain.config import Config
from domain.regions import region_has_prefix
from domain.text import clean_text, h, link_html
from monitor.alerts.changes import CHANGE_LABELS, Change, detect_and_record, load_current
from monitor.alerts.channels import url_key
from monitor.alerts.outbox import enqueue
from monitor.alerts.text import evidence_url
from monitor.status.verdict import StatusRow
from storage.types import utcnow

log = logging.getLogger(__name__)

MAX_ITEMS = 300  # a first digest can be long; beyond this the mail points to the web page
FIRST_NOTE = "以下各项是 gkwatch 首次向您报告的当前问题（不一定是新近发生的）。此后只在情况变化时来信。"


def wants(regions: list[str], region: str) -> bool:
    """A subscriber with no regions gets everything; otherwise a whole-segment prefix must match."""
    return not regions or any(region_has_prefix(region, p) for p in regions)


def _what(c: Change) -> str:
    cur = c.current
    due = cur.due.isoformat() if cur.due else "?"
    if c.kind == "missing":
        return f"截止日 {due} 已过，门户上未找到该年度报告"
    if c.kind == "late":
        pub = cur.published.isoformat() if cur.published else "?"
        how = codes.label(codes.EVIDENCE, cur.published_evidence)
        return f"应于 {due} 前发布，实际发布日期 {pub}（依据：{how}）"
    if c.kind == "inconsistent":
        return "报告数据不一致"
    if c.kind == "corrected":
        now = codes.label(codes.STATUS, cur.status)
        pub = f"，发布日期 {cur.published.isoformat()}" if cur.published else ""
        consistent = "，数据未发现错误" if cur.inconsistent is False else ""
        return f"更正：此前告知的问题经核实不成立。现在的结论：{now}{pub}{consistent}"
    return "报告在发布后内容有变动（各版本均已存档）"


def _findings(c: Change) -> list[str]:
    if c.kind != "inconsistent":
        return []
    return [f"{rule}：{explain(rule)}" for rule in c.current.findings]


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


def render_text(changes: list[Change], base_url: str, first: bool) -> str:
    lines = ["政府信息公开工作年度报告监测提醒", ""]
    if first:
        lines += [FIRST_NOTE, ""]
    for c in changes[:MAX_ITEMS]:
        lines.append(clean_text(_title(c), max_len=300))
        lines.append(f"  {clean_text(_what(c))}")
        lines += [f"  - {clean_text(f)}" for f in _findings(c)]
        lines.append(f"  证据：{evidence_url(base_url, c.current.agency_id)}")
        if c.current.report_url:
            lines.append(f"  报告：{clean_text(c.current.report_url, max_len=2000)}")
        lines.append("")
    if len(changes) > MAX_ITEMS:
        lines += [f"……另有 {len(changes) - MAX_ITEMS} 项，请见 {base_url.rstrip('/')}/", ""]
    lines.append(f"全部情况：{base_url.rstrip('/')}/")
    lines.append("此邮件由 gkwatch 自动发送。")
    return "\n".join(lines) + "\n"


def render_html(changes: list[Change], base_url: str, first: bool) -> str:
    parts = [
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>gkwatch 提醒</title></head><body>',
        "<h1>政府信息公开工作年度报告监测提醒</h1>",
    ]
    if first:
        parts.append(f"<p><em>{h(FIRST_NOTE)}</em></p>")
    parts.append("<ul>")
    for c in changes[:MAX_ITEMS]:
        findings = "".join(f"<li>{h(f)}</li>" for f in _findings(c))
        report = (
            f"<br>报告：{link_html(c.current.report_url, c.current.report_url)}"
            if c.current.report_url
            else ""
        )
        parts.append(
            f"<li><strong>{h(_title(c), max_len=300)}</strong><br>{h(_what(c))}"
            + (f"<ul>{findings}</ul>" if findings else "")
            + f"<br>{link_html(evidence_url(base_url, c.current.agency_id), '查看证据')}{report}</li>"
        )
    parts.append("</ul>")
    if len(changes) > MAX_ITEMS:
        parts.append(f"<p>……另有 {len(changes) - MAX_ITEMS} 项，请见 {link_html(base_url, base_url)}。</p>")
    parts.append(
        f"<p>全部情况：{link_html(base_url, base_url)}<br>此邮件由 gkwatch 自动发送。</p></body></html>"
    )
    return "".join(parts)


def dedupe_key(recipient: str, changes: list[Change]) -> str:
    digest = hashlib.sha256("\n".join([recipient, *(c.identity for c in changes)]).encode("utf-8"))
    return f"digest:{digest.hexdigest()}"


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
    queued = 0
    targets: list[tuple[str, str, list[str]]] = [("email", s.email, s.regions) for s in alerts.subscribers]
    targets += [("apprise", url_key(u), []) for u in alerts.apprise_urls]
    for channel, recipient, regions in targets:
        mine = [c for c in changes if wants(regions, c.current.region)]
        if not mine:
            continue
        first = all(c.first_report for c in mine)
        row = enqueue(
            session,
            dedupe_key=dedupe_key(f"{channel}:{recipient}", mine),
            channel=channel,
            recipient=recipient,
            subject=subject_for(mine),
            body_text=render_text(mine, alerts.base_url, first),
            body_html=render_html(mine, alerts.base_url, first) if channel == "email" else None,
            from_addr=alerts.smtp.from_addr,
            now=now,
        )
        queued += row is not None
    session.flush()
    log.info("alerts: %d changes, %d messages queued", len(changes), queued)
    return queued
