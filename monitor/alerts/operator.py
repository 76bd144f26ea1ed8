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

from domain.clock import SHANGHAI
from domain.codes import BLOCKING_PROBLEMS
from domain.config import Config
from domain.text import clean_text, h, link_html
from monitor.alerts.outbox import enqueue
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
    """Subject, plain text and HTML of one notice."""
    portal = next((p for p in config.portals if p.id == streak.portal_id), None)
    name = portal.name if portal else streak.portal_id
    n = len(streak.runs)
    subject = f"gkwatch 运维：门户 {clean_text(name, max_len=60)} 已连续 {n} 次抓取失败"
    # the operator reads Beijing time everywhere else (web page, digests): not UTC here either
    since = streak.runs[-1].started_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") + "（北京时间）"
    lines = [
        f"门户 {clean_text(name)}（{clean_text(streak.portal_id)}）自 {since}起连续 {n} 次抓取失败。",
        "在恢复之前，其机关的年度报告状态显示为“unknown”（不归咎于机关）。",
        "",
        "最近的问题：",
    ]
    items = []
    for p in streak.problems[:PROBLEMS_SHOWN]:
        lines.append(f"  - [{clean_text(p.kind)}] {clean_text(p.url, max_len=500)} {clean_text(p.detail)}")
        items.append(f"<li>[{h(p.kind)}] {link_html(p.url)} {h(p.detail)}</li>")
    if len(streak.problems) > PROBLEMS_SHOWN:
        lines.append(f"  ……另有 {len(streak.problems) - PROBLEMS_SHOWN} 条")
    if not streak.problems:
        lines.append("  （整次抓取失败，未记录具体网址）")
    lines += ["", "此邮件由 gkwatch 自动发送，只在每次连续失败时发送一次。"]
    html = (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"></head><body>'
        f"<p>{h(lines[0])}</p><p>{h(lines[1])}</p><ul>{''.join(items)}</ul>"
        f"<p>{h(lines[-1])}</p></body></html>"
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
    session.flush()
    return queued
