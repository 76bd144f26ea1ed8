"""Crawler-problem notices for the operator, kept apart from subscriber mail.

A portal that could not be read is the crawler's trouble, not the agency's (its agency-years show
``unknown``), so it is the operator (``alerts.operator``) who hears about it — and only after
``alerts.problem_threshold`` consecutive failed crawls, because one timeout is noise.

A crawl run *failed for a portal* when the run failed as a whole, or when it recorded a blocking problem
(unreachable, blocked, robots) for the portal and read none of its listing pages during the run. A run with
an empty ``portal_ids`` covered every configured portal. The notice is sent once per streak: its dedupe key
names the streak's first failed run, so later failures in the same streak find it already queued, and a new
streak after a good crawl gets a new notice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from domain import codes
from domain.clock import beijing_time
from domain.codes import BLOCKING_PROBLEMS
from domain.config import Config
from domain.text import clean_text, h, link_html
from monitor.alerts.outbox import enqueue
from monitor.alerts.quiet_notice import queue_quiet_notices
from monitor.status.wording import problem_text
from storage.models import CrawlProblem, CrawlRun, ListingSnapshot
from storage.types import utcnow

log = logging.getLogger(__name__)

RECENT_RUNS = 200  # enough history to measure any sensible threshold
PROBLEMS_SHOWN = 20


@dataclass
class Streak:
    portal_id: str
    runs: list[CrawlRun]  # newest first, all failed for this portal
    problems: list[CrawlProblem]


def _run_failed_for(session: Session, run: CrawlRun, portal_id: str) -> tuple[bool, list[CrawlProblem]]:
    problems = list(
        session.exec(
            select(CrawlProblem)
            .where(CrawlProblem.run_id == run.id)
            .where(CrawlProblem.portal_id == portal_id)
            .where(col(CrawlProblem.kind).in_(BLOCKING_PROBLEMS))
        )
    )
    if run.status == "failed":
        return True, problems
    if not problems:
        return False, problems
    end = run.finished_at or utcnow()
    read = session.exec(
        select(ListingSnapshot.id)
        .where(ListingSnapshot.portal_id == portal_id)
        .where(ListingSnapshot.fetched_at >= run.started_at)
        .where(ListingSnapshot.fetched_at <= end)
        .limit(1)
    ).first()
    return read is None, problems


def current_streak(session: Session, portal_id: str) -> Streak:
    """The unbroken run of failed crawls of a portal, ending with its latest finished crawl."""
    runs = session.exec(
        select(CrawlRun)
        .where(CrawlRun.status != "running")
        .order_by(col(CrawlRun.started_at).desc(), col(CrawlRun.id).desc())
        .limit(RECENT_RUNS)
    )
    streak = Streak(portal_id, [], [])
    for run in runs:
        if run.portal_ids and portal_id not in run.portal_ids:
            continue
        failed, problems = _run_failed_for(session, run, portal_id)
        if not failed:
            break
        streak.runs.append(run)
        streak.problems.extend(problems)
    return streak


def render_operator(config: Config, streak: Streak) -> tuple[str, str, str]:
    """Subject, plain text and HTML of one notice — in Chinese throughout: each problem's kind by its label
    and what the request got in words (``monitor.status.wording.problem_text``), never a raw English error."""
    portal = next((p for p in config.portals if p.id == streak.portal_id), None)
    name = portal.name if portal else streak.portal_id
    n = len(streak.runs)
    subject = f"gkwatch 运维：网站 {clean_text(name, max_len=60)} 已连续 {n} 次抓取失败"
    # the operator reads Beijing time everywhere else (web page, digests): not UTC here either
    since = beijing_time(streak.runs[-1].started_at)
    unknown = codes.label(codes.STATUS, "unknown")
    base = config.alerts.base_url.rstrip("/")
    intro = f"网站 {clean_text(name)}（{clean_text(streak.portal_id)}）自 {since}起连续 {n} 次抓取失败。"
    meaning = (
        f"在恢复之前，该网站所属机关的年度报告状态显示为“{unknown}”（不归咎于机关），不会作出“未发布”的结论。"
    )
    lines = [intro, meaning, "", "最近的问题："]
    items = []
    for p in streak.problems[:PROBLEMS_SHOWN]:
        said = problem_text(p.kind, p.detail)
        when = beijing_time(p.at, suffix=False)
        lines.append(f"  - {when} {said}：{clean_text(p.url, max_len=500)}")
        items.append(
            f'<li style="margin:4px 0;">{h(when)} {h(said)}：'
            f'<span style="overflow-wrap:anywhere;word-break:break-all;">{link_html(p.url)}</span></li>'
        )
    if len(streak.problems) > PROBLEMS_SHOWN:
        lines.append(f"  ……另有 {len(streak.problems) - PROBLEMS_SHOWN} 条")
    if not streak.problems:
        lines.append("  （整次抓取失败，未记录具体网址：请查看服务日志）")
        items.append("<li>（整次抓取失败，未记录具体网址：请查看服务日志）</li>")
    what = "请检查该网站是否改版、是否屏蔽了抓取，或暂时无法访问；可在“抓取记录”页面单独重新抓取该网站。"
    runs_url = f"{base}/runs"
    lines += ["", what, f"抓取记录：{runs_url}", "", "此邮件由 gkwatch 自动发送，每次连续失败只发送一次。"]
    html = (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        '<body style="margin:0;background:#f6f7f9;color:#1d2329;font:15px/1.6 sans-serif;">'
        '<div style="max-width:640px;margin:0 auto;padding:12px;">'
        f"<p><strong>{h(intro)}</strong></p><p>{h(meaning)}</p><p>最近的问题：</p>"
        f'<ul style="padding-left:18px;">{"".join(items)}</ul><p>{h(what)}<br>{link_html(runs_url, "抓取记录")}</p>'
        f'<p style="color:#5f6b76;font-size:13px;">{h(lines[-1])}</p></div></body></html>'
    )
    return subject, "\n".join(lines) + "\n", html


def queue_operator_notices(session: Session, config: Config, *, now: datetime | None = None) -> int:
    """Queue one notice per portal whose failure streak just reached the threshold; returns how many."""
    operator = config.alerts.operator
    if not operator:
        log.debug("alerts.operator is not set: crawler problems are not mailed")
        return 0
    threshold = max(1, config.alerts.problem_threshold)
    queued = 0
    for portal in config.portals:
        streak = current_streak(session, portal.id)
        if len(streak.runs) < threshold:
            continue
        subject, text, html = render_operator(config, streak)
        row = enqueue(
            session,
            dedupe_key=f"operator:{portal.id}:{streak.runs[-1].id}",
            recipient=operator,
            kind="operator",
            subject=subject,
            body_text=text,
            body_html=html,
            from_addr=config.alerts.smtp.from_addr,
            now=now,
        )
        queued += row is not None
    queued += queue_quiet_notices(session, config, now=now)  # portals that went quiet (monitor.status.quiet)
    session.flush()
    return queued
