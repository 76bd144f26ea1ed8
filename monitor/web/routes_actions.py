"""Operator actions: ``POST /actions/crawl`` and ``POST /agency/{id}/review`` (login + CSRF token)."""

from __future__ import annotations

import importlib
import inspect
import logging
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from domain.codes import RULES
from monitor.web.app import state_of
from monitor.web.audit import VERDICTS, record_crawl_request, record_review
from monitor.web.auth import check_csrf, require_user
from storage.db import session_scope
from storage.models import Agency, AgencyYearStatus

router = APIRouter()
log = logging.getLogger(__name__)


async def _trigger_crawl(config) -> str:  # noqa: ANN001
    """Ask the running service (``monitor.service.trigger_crawl_now``) to crawl now; say what happened.

    ``trigger_crawl_now`` answers True (started) or False (a crawl is already running, or no service runs
    in this process); an older or missing module leaves the request recorded only.
    """
    try:
        service = importlib.import_module("monitor.service")
    except ImportError:
        return "已记录请求（本进程没有调度器）"
    trigger = getattr(service, "trigger_crawl_now", None)
    if trigger is None:
        return "已记录请求（本进程没有调度器）"
    try:
        result = trigger(config)
        if inspect.isawaitable(result):
            result = await result
    except Exception as e:  # the action is recorded either way; the operator sees why it failed
        log.exception("trigger_crawl_now failed")
        return f"启动失败：{type(e).__name__}: {e}"[:500]
    if result is False:
        return "未启动：已有抓取正在进行，或本进程没有运行调度服务"
    return "已开始抓取"


@router.post("/actions/crawl")
async def start_crawl(request: Request, csrf: str = Form("")) -> RedirectResponse:
    user = require_user(request)
    check_csrf(request, csrf)
    state = state_of(request)
    outcome = await _trigger_crawl(state.config)
    with session_scope(state.engine) as session:
        record_crawl_request(session, username=user, outcome=outcome)
    request.session["flash"] = f"抓取请求：{outcome}"
    return RedirectResponse("/", status_code=303)


@router.post("/agency/{agency_id}/review")
def review(  # noqa: ANN201
    request: Request,
    agency_id: str,
    year: int = Form(...),
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
    request.session["flash"] = "已记录复核结论（下次“检查”时生效）。"
    return RedirectResponse(f"/agency/{quote(agency_id, safe='')}#y{year}", status_code=303)
