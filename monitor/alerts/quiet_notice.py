"""The operator hears of a portal that went quiet (``monitor.status.quiet``) — before any agency of it could be
judged ``missing`` on such a read (none ever is: a quiet read counts as incomplete, so its agencies stay
``unknown``).

One notice per quiet streak: its dedupe key names the streak's first quiet read, so the daily crawls of a
portal that stays quiet find it already queued, and a portal that goes quiet again after a proper read gets a
new one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from domain import codes
from domain.clock import beijing_time
from domain.config import Config
from domain.text import clean_text, h, link_html
from monitor.alerts.outbox import enqueue
from monitor.status import quiet
from monitor.status.facts import listing_urls, portal_reads, read_shapes
from storage.types import utcnow

log = logging.getLogger(__name__)

URLS_SHOWN = 5


@dataclass(frozen=True)
class QuietPortal:
    portal_id: str
    reason: str  # one of quiet.REASONS
    links: int  # report links of the latest read
    usual: float | None  # what its proper reads showed
    since: quiet.ReadShape  # the streak's first quiet read
    latest_run: int
    listing_urls: tuple[str, ...]


def quiet_portals(session: Session, config: Config, now: datetime | None = None) -> list[QuietPortal]:
    """The configured portals whose latest read is quiet, with the streak it belongs to."""
    now = now or utcnow()
    reads = portal_reads(session, now)
    found: list[QuietPortal] = []
    for portal in config.portals:
        pr = reads.get(portal.id)
        latest = pr.latest_before(now) if pr else None
        if latest is None or latest.end_reason != "quiet":
            continue
        shapes = read_shapes(session, now, {portal.id: [latest]})[portal.id]
        judged = quiet.judge(shapes.values())
        if latest.run_id not in judged:  # judged on fewer reads here than by the check: leave it to the next
            continue
        ordered = sorted(shapes.values(), key=lambda r: (r.started_at, r.run_id))
        streak: list[quiet.ReadShape] = []
        for r in ordered:  # the quiet reads after the last proper one
            streak = [*streak, r] if r.run_id in judged else []
        reason, usual = judged[latest.run_id]
        urls = listing_urls(session, [(latest.run_id, portal.id)]).get((latest.run_id, portal.id), ())
        found.append(
            QuietPortal(portal.id, reason, latest.report_links, usual, streak[0], latest.run_id, urls)
        )
    return found


def render_quiet(config: Config, q: QuietPortal) -> tuple[str, str, str]:
    """Subject, plain text and HTML of one notice."""
    portal = next((p for p in config.portals if p.id == q.portal_id), None)
    name = portal.name if portal else q.portal_id
    what = codes.label(codes.QUIET, q.reason)
    subject = f"gkwatch 运维：门户 {clean_text(name, max_len=60)} 的栏目异常（{what}）"
    usual = f"，以往通常 {q.usual:g} 个" if q.usual is not None else ""
    lines = [
        f"门户 {clean_text(name)}（{clean_text(q.portal_id)}）自 {beijing_time(q.since.started_at)}"
        f"起的抓取中：{what}（最近一次读到 {q.links} 个报告链接{usual}）。",
        "这样的读取不作为“未发布”的依据：在该门户被正常读取之前，其机关的状态显示为“无法判断”（unknown），"
        "不归咎于机关。",
        "可能的原因：网站改版（栏目地址变了）、软性拦截（每个请求都返回同一个模板页）、栏目页出错。"
        "请打开下面的栏目页核对，必要时更新 config.yaml 中该门户的 start_urls。",
        "",
        "最近一次读取的栏目页：",
    ]
    shown = q.listing_urls[:URLS_SHOWN]
    lines += [f"  - {clean_text(u, max_len=500)}" for u in shown] or ["  （没有栏目页快照）"]
    lines += ["", "此邮件由 gkwatch 自动发送，每次异常只发送一次。"]
    items = "".join(f"<li>{link_html(u)}</li>" for u in shown)
    html = (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"></head><body>'
        + "".join(f"<p>{h(line)}</p>" for line in lines[:3])
        + f"<p>{h(lines[4])}</p><ul>{items}</ul><p>{h(lines[-1])}</p></body></html>"
    )
    return subject, "\n".join(lines) + "\n", html


def queue_quiet_notices(session: Session, config: Config, *, now: datetime | None = None) -> int:
    """Queue one notice per quiet streak; returns how many were new."""
    operator = config.alerts.operator
    if not operator:
        return 0
    queued = 0
    for q in quiet_portals(session, config, now):
        subject, text, html = render_quiet(config, q)
        row = enqueue(
            session,
            dedupe_key=f"quiet:{q.portal_id}:{q.since.run_id}",
            recipient=operator,
            kind="operator",
            subject=subject,
            body_text=text,
            body_html=html,
            from_addr=config.alerts.smtp.from_addr,
            now=now,
        )
        if row is not None:
            log.warning("portal %s went quiet (%s): operator notified", q.portal_id, q.reason)
        queued += row is not None
    return queued
