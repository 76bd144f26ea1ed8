"""``create_app(config)``: the FastAPI application of the status page.

One ``WebState`` per app (engine, archive, settings, template environment, login limiter, counts cache),
kept on ``app.state.web`` so that tests and benchmarks can run several apps side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from domain.config import Config
from monitor.web import labels
from monitor.web.auth import LoginLimiter, csrf_token, current_user
from monitor.web.queries import TTLCache, ensure_indexes
from monitor.web.security import SecurityHeaders
from monitor.web.settings import WebSettings, web_settings
from monitor.web.urls import safe_url
from storage.archive import Archive
from storage.db import init_db, make_engine

HERE = Path(__file__).resolve().parent
SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai_time(value: datetime | None) -> str:
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") + "（北京时间）"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(("html",), default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["safe_url"] = safe_url
    env.filters["shanghai"] = shanghai_time
    env.filters["urlencode_params"] = urlencode
    env.globals["L"] = labels
    env.globals["label"] = labels.label
    return env


@dataclass
class WebState:
    config: Config
    settings: WebSettings
    engine: Engine
    archive: Archive
    env: Environment
    limiter: LoginLimiter
    stats_cache: TTLCache
    api_cache: TTLCache  # whole /api/status bodies (megabytes each): few entries
    page_cache: TTLCache  # rendered status pages of anonymous readers (tens of kilobytes each)

    def render(self, request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        user = current_user(request)
        context.setdefault("user", user)
        # A CSRF token only where a form needs one: anonymous readers get no session cookie at all.
        if user or context.pop("needs_csrf", False):
            context["csrf"] = csrf_token(request)
        context["flash"] = request.session.pop("flash", None) if "flash" in request.session else None
        context["request_path"] = request.url.path
        html = self.env.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status_code)


def state_of(request: Request) -> WebState:
    return request.app.state.web


def create_app(config: Config, engine: Engine | None = None) -> FastAPI:
    """The web app over the configured database (tables and the page's indexes are created if missing)."""
    settings = web_settings(config)
    engine = engine or make_engine(config.database_url)
    init_db(engine)
    ensure_indexes(engine)
    state = WebState(
        config=config,
        settings=settings,
        engine=engine,
        archive=Archive(config.archive_dir),
        env=_environment(),
        limiter=LoginLimiter(settings.login_max_failures, settings.login_window_seconds),
        stats_cache=TTLCache(settings.stats_cache_seconds),
        api_cache=TTLCache(settings.stats_cache_seconds, max_entries=8),
        page_cache=TTLCache(settings.stats_cache_seconds, max_entries=128),
    )
    app = FastAPI(title="gkwatch", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.web = state

    from monitor.web import routes_actions, routes_agency, routes_auth, routes_table

    for module in (routes_table, routes_agency, routes_auth, routes_actions):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    # Starlette's class, so that unknown routes (404) and wrong methods (405) get the page too.
    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):  # noqa: ANN202
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        message = exc.detail if exc.status_code != 404 or exc.detail != "Not Found" else "没有这个页面。"
        return state.render(request, "error.html", status_code=exc.status_code, message=message)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError):  # noqa: ANN202
        where = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()
        )
        return await _http_error(request, HTTPException(400, "请求参数有误：" + where))

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="gkwatch_session",
        same_site="lax",
        https_only=settings.https_only,
        max_age=12 * 3600,
    )
    app.add_middleware(SecurityHeaders)
    return app
