"""``/login`` and ``/logout`` for operators (reading needs no login)."""

from __future__ import annotations

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse

from monitor.web.auth import check_csrf, check_login, current_user
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
    client = "ip:" + (request.client.host if request.client else "?")
    user_key = "user:" + username
    if state.limiter.blocked(client, user_key):
        raise HTTPException(429, "登录失败次数过多，请稍后再试。")
    if not state.settings.users or not check_login(state.settings.users, username, password):
        state.limiter.fail(client, user_key)
        return state.render(
            request,
            "login.html",
            status_code=401,
            next=_safe_next(next),
            needs_csrf=True,
            error="用户名或密码错误。",
        )
    state.limiter.clear(user_key)
    request.session.clear()  # a fresh session (and CSRF token) on login: no fixation
    request.session["user"] = username
    request.session["flash"] = f"已登录：{username}"
    return RedirectResponse(_safe_next(next), status_code=303)


@router.get("/logout")
def logout_form(request: Request):  # noqa: ANN201
    state = state_of(request)
    if not current_user(request):
        return RedirectResponse("/", status_code=303)
    return state.render(request, "logout.html")


@router.post("/logout")
def logout(request: Request, csrf: str = Form("")) -> RedirectResponse:
    check_csrf(request, csrf)
    request.session.clear()
    return RedirectResponse("/", status_code=303)
