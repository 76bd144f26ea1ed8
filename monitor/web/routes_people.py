"""Subscribers on a page (operators: ``GET/POST /subscribers``, a test mail to any of them) and the signed
unsubscribe link of every digest (``GET/POST /unsubscribe?token=…``, anyone holding the link).

Subscribers live in the database (``storage.subscriptions``; config.yaml's ``alerts.subscribers`` seeds it).
Sending a test mail is the alerts' work, which the web may not import: the service hands the app a
``test_mail`` callable (``WebState.test_mail``); an app without one says so.
"""

from __future__ import annotations

import asyncio
import logging

from email_validator import EmailNotValidError, validate_email
from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlmodel import select

from domain.regions import segments
from monitor.web.auth import check_csrf, require_user
from monitor.web.state import state_of
from storage.db import session_scope
from storage.models import Subscription
from storage.subscriptions import (
    add_subscriber,
    seed_subscriptions,
    token_email,
    unsubscribe,
    unsubscribe_secret,
)

router = APIRouter()
log = logging.getLogger(__name__)


def _email(raw: str) -> str:
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise HTTPException(400, f"邮箱地址无效：{raw[:80]}") from None


def _regions(raw: str) -> list[str]:
    """One region prefix per line (or separated by commas / 、); whole path segments."""
    parts = [p for line in raw.replace("，", ",").replace("、", ",").splitlines() for p in line.split(",")]
    out = ["/".join(segments(p)) for p in parts if segments(p)]
    if len(out) > 50 or any(len(r) > 200 for r in out):
        raise HTTPException(400, "地区太多或太长（最多 50 个，每个 200 字以内）。")
    return out


@router.get("/subscribers")
def subscribers(request: Request):  # noqa: ANN201
    require_user(request)
    state = state_of(request)
    with session_scope(state.engine) as s:
        seed_subscriptions(s, state.config)
        rows = list(s.exec(select(Subscription).order_by(Subscription.active.desc(), Subscription.email)))
        for r in rows:
            s.expunge(r)
    return state.render(request, "subscribers.html", rows=rows, can_test=state.test_mail is not None)


@router.post("/subscribers")
def add(request: Request, email: str = Form(...), regions: str = Form(""), csrf: str = Form("")):  # noqa: ANN201
    user = require_user(request)
    check_csrf(request, csrf)
    state = state_of(request)
    address, wanted = _email(email), _regions(regions)
    with session_scope(state.engine) as s:
        add_subscriber(s, address, wanted, user)
    request.session["flash"] = f"已订阅：{address}（{('、'.join(wanted)) or '全部地区'}）"
    return RedirectResponse("/subscribers", status_code=303)


@router.post("/subscribers/remove")
def remove(request: Request, email: str = Form(...), csrf: str = Form("")):  # noqa: ANN201
    require_user(request)
    check_csrf(request, csrf)
    state = state_of(request)
    with session_scope(state.engine) as s:
        done = unsubscribe(s, email)
    request.session["flash"] = f"已取消订阅：{email}" if done else f"{email} 没有在订阅。"
    return RedirectResponse("/subscribers", status_code=303)


@router.post("/subscribers/test")
async def test_send(request: Request, email: str = Form(...), csrf: str = Form("")):  # noqa: ANN201
    """A test mail to one subscriber now, through the outbox and SMTP as every digest goes."""
    require_user(request)
    check_csrf(request, csrf)
    state = state_of(request)
    address = _email(email)
    if state.test_mail is None:
        outcome = "未发送：本进程没有连接发信服务（请在 gkwatch serve 中使用）"
    else:
        try:
            outcome = await asyncio.to_thread(state.test_mail, address)
        except Exception:  # the operator sees that it failed; the log has why
            log.exception("test mail to %s failed", address)
            outcome = "发送失败（详见服务日志）"
    request.session["flash"] = f"测试邮件 → {address}：{outcome}"
    return RedirectResponse("/subscribers", status_code=303)


def _token_address(request: Request, token: str) -> str:
    state = state_of(request)
    secret = unsubscribe_secret(state.config)
    email = token_email(secret, token) if secret and len(token) <= 1000 else None
    if email is None:
        raise HTTPException(400, "退订链接无效或已损坏：请使用邮件中的完整链接。")
    return email


@router.get("/unsubscribe")
def unsubscribe_form(request: Request, token: str = ""):  # noqa: ANN201
    """A confirmation page (a mail scanner that follows the link unsubscribes nobody)."""
    email = _token_address(request, token)
    state = state_of(request)
    return state.render(request, "unsubscribe.html", email=email, token=token, done=False, needs_csrf=True)


@router.post("/unsubscribe")
def unsubscribe_now(request: Request, token: str = Form(""), csrf: str = Form("")):  # noqa: ANN201
    check_csrf(request, csrf)
    email = _token_address(request, token)
    state = state_of(request)
    with session_scope(state.engine) as s:
        unsubscribe(s, email)
    return state.render(request, "unsubscribe.html", email=email, token=token, done=True)
