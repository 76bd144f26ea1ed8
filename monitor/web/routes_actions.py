"""Operator actions: ``POST /actions/crawl`` and ``POST /agency/{id}/review`` (login + CSRF token)."""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Path, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from domain.clock import FIRST_DAY, FIRST_YEAR, LAST_DAY, LAST_YEAR
from domain.codes import RULES
from domain.text import safe_url
from monitor.status.check import recheck_agency
from monitor.web.audit import VERDICTS, record_correction, record_crawl_request, record_review
from monitor.web.auth import check_csrf, require_user
from monitor.web.labels import CORRECTION_KINDS
from monitor.web.paths import AGENCY
from monitor.web.state import state_of
from storage.db import session_scope
from storage.models import Agency, AgencyYearStatus

router = APIRouter()
log = logging.getLogger(__name__)


async def _trigger_crawl(trigger, portal: str | None = None) -> str:  # noqa: ANN001
    """Ask the service this app belongs to (``WebState.crawl_trigger``) to crawl now — every portal, or
    one — and say what happened."""
    if trigger is None:
        return "已记录请求（本进程没有运行调度服务）"
    try:
        result = await asyncio.to_thread(trigger, portal) if portal else await asyncio.to_thread(trigger)
    except Exception as e:  # the action is recorded either way; the operator sees why it failed
        log.exception("the crawl trigger failed")
        return f"启动失败：{type(e).__name__}"
    if result is False:
        return "未启动：已有抓取正在进行"
    return "已开始抓取"


@router.post("/actions/crawl")
async def start_crawl(request: Request, csrf: str = Form(""), portal: str = Form("")) -> RedirectResponse:
    """Crawl now: every portal, or the one named (``portal``); the crawl-runs page shows its progress."""
    user = require_user(request)
    check_csrf(request, csrf)
    state = state_of(request)
    portal = portal.strip()
    names = {p.id: p.name for p in state.config.portals}
    if portal and portal not in names:
        raise HTTPException(400, "没有这个网站（portal）。")
    outcome = await _trigger_crawl(state.crawl_trigger, portal or None)
    if portal:
        outcome = f"{names[portal]}：{outcome}"
    with session_scope(state.engine) as session:
        record_crawl_request(session, username=user, outcome=outcome)
    request.session["flash"] = f"抓取请求：{outcome}"
    return RedirectResponse("/runs" if portal else "/", status_code=303)


@router.post(AGENCY + "/review")
def review(  # noqa: ANN201
    request: Request,
    agency_id: str,
    year: int = Form(..., ge=FIRST_YEAR, le=LAST_YEAR),
    rule: str = Form(...),
    verdict: str = Form(...),
    note: str = Form(""),
    csrf: str = Form(""),
):
    user = require_user(request)
    check_csrf(request, csrf)
    state = state_of(request)
    if verdict not in VERDICTS:
        raise HTTPException(400, f"结论只能是 {', '.join(VERDICTS)}")
    if rule not in RULES:
        raise HTTPException(400, "没有这条规则。")
    if len(note) > 2000:
        raise HTTPException(400, "备注过长（最多 2000 字）。")
    with Session(state.engine) as s:
        known = s.get(Agency, agency_id) or s.get(AgencyYearStatus, (agency_id, year))
    if known is None:
        raise HTTPException(404, "没有这个机关或年度。")
    with session_scope(state.engine) as session:
        record_review(
            session,
            username=user,
            agency_id=agency_id,
            year=year,
            rule=rule,
            verdict=verdict,
            note=note.strip(),
        )
    _recheck(state, agency_id)
    request.session["flash"] = "已记录复核结论，该机关的结论已重新计算。"
    return RedirectResponse(f"/agency/{quote(agency_id, safe='')}#y{year}", status_code=303)


def _recheck(state, agency_id: str) -> None:  # noqa: ANN001
    """An operator's act takes effect at once: the agency's rows are judged again and stored."""
    recheck_agency(state.engine, state.config, agency_id)
    state.table_changed()


@router.post(AGENCY + "/{year}/correct")
def correct(  # noqa: ANN201
    request: Request,
    agency_id: str,
    year: Annotated[int, Path(ge=FIRST_YEAR, le=LAST_YEAR)],
    kind: str = Form(...),
    reason: str = Form(""),
    published: str = Form(""),
    report_url: str = Form(""),
    csrf: str = Form(""),
):
    """An operator corrects a verdict's facts, with a reason; audited; effective at once."""
    user = require_user(request)
    check_csrf(request, csrf)
    state = state_of(request)
    if kind not in CORRECTION_KINDS:
        raise HTTPException(400, f"更正类型只能是 {'、'.join(CORRECTION_KINDS.values())}")
    reason = reason.strip()
    if not reason or len(reason) > 2000:
        raise HTTPException(400, "请写明更正理由（最多 2000 字）。")
    day = _date_or_none(published)
    url = report_url.strip() or None
    if kind in ("date", "report") and day is None:
        raise HTTPException(400, "请填写正确的发布日期（YYYY-MM-DD）。")
    if kind in ("attribution", "report") and not safe_url(url):
        raise HTTPException(400, "请填写报告的网址（http 或 https）。")
    with Session(state.engine) as s:
        if s.get(Agency, agency_id) is None:
            raise HTTPException(404, "没有这个机关。")
    with session_scope(state.engine) as session:
        record_correction(
            session,
            username=user,
            agency_id=agency_id,
            year=year,
            kind=kind,
            reason=reason,
            published=day,
            report_url=url,
        )
    _recheck(state, agency_id)
    request.session["flash"] = "已记录更正，该机关的结论已重新计算。"
    return RedirectResponse(f"/agency/{quote(agency_id, safe='')}#y{year}", status_code=303)


def _date_or_none(text: str):  # noqa: ANN202
    try:
        day = date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        raise HTTPException(400, "日期应为 YYYY-MM-DD。") from None
    if day is not None and not FIRST_DAY <= day <= LAST_DAY:
        raise HTTPException(400, f"日期应在 {FIRST_DAY} 到 {LAST_DAY} 之间。")
    return day
