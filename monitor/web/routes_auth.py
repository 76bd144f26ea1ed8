"""``/login`` and ``/logout`` for operators (reading needs no login)."""

from __future__ import annotations

import math

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from monitor.web.auth import check_csrf, check_login, client_address, current_user, log_in, log_out
from monitor.web.state import state_of

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only a path on this site: ``//evil.example`` or ``https://…`` would be an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login")
def login_form(request: Request, next: str = "/"):  # noqa: ANN201, A002
    state = state_of(request)
    return state.render(request, "login.html", next=_safe_next(next), needs_csrf=True, error=None)


@router.post("/login")
def login(  # noqa: ANN201
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    csrf: str = Form(""),
    next: str = Form("/"),  # noqa: A002
):
    state = state_of(request)
    check_csrf(request, csrf)
    address = client_address(request, state.settings.trusted_proxies)
    wait = state.limiter.wait(username, address)
    if wait > 0:  # refused before the password is even tried: a guess during the wait tells nothing
        seconds = math.ceil(wait)
        response = _form_again(request, next, 429, f"登录失败次数过多，请 {seconds} 秒后再试。")
        response.headers["Retry-After"] = str(seconds)
        return response
    users = state.operator_hashes()  # the database's accounts (gkwatch user add; web.users seeds them)
    if not users or not check_login(users, username, password):
        state.limiter.fail(username, address)
        return _form_again(request, next, 401, "用户名或密码错误。")
    state.limiter.succeed(username, address)
    log_in(request, username)
    request.session["flash"] = f"已登录：{username}"
    return RedirectResponse(_safe_next(next), status_code=303)


def _form_again(request: Request, next_: str, status: int, error: str):  # noqa: ANN202
    return state_of(request).render(
        request, "login.html", status_code=status, next=_safe_next(next_), needs_csrf=True, error=error
    )


@router.get("/logout")
def logout_form(request: Request):  # noqa: ANN201
    state = state_of(request)
    if not current_user(request):
        return RedirectResponse("/", status_code=303)
    return state.render(request, "logout.html")


@router.post("/logout")
def logout(request: Request, csrf: str = Form("")) -> RedirectResponse:
    """Ends the session in the database: a copy of the cookie saved before acts as nobody afterwards."""
    check_csrf(request, csrf)
    log_out(request)
    return RedirectResponse("/", status_code=303)
