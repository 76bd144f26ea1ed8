"""``create_app(config, crawl_trigger=…)``: the FastAPI application of the status page.

The app is handed everything it needs (Datasette's way): one ``WebState`` per app (engine, archive,
settings, template environment, login limiter, caches, and the service's ``crawl_trigger``), kept on
``app.state.web``. Routes read it from there and never import the app or the service, so tests and
benchmarks can run several apps side by side.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from domain.config import Config
from monitor.web import (
    routes_actions,
    routes_agency,
    routes_auth,
    routes_people,
    routes_runs,
    routes_table,
)
from monitor.web.accounts import seed_accounts
from monitor.web.auth import LoginLimiter, SessionStore
from monitor.web.limits import ComputeLimit
from monitor.web.paths import AgencyPaths
from monitor.web.queries import TTLCache, ensure_indexes
from monitor.web.security import SecurityHeaders
from monitor.web.settings import web_settings
from monitor.web.state import HERE, WebState, environment
from monitor.web.summary import SummaryKeeper
from storage.archive import open_archive
from storage.db import init_db, make_engine


def create_app(
    config: Config, engine: Engine | None = None, *, crawl_trigger: Callable[[], bool] | None = None
) -> FastAPI:
    """The web app over the configured database (tables and the page's indexes are created if missing)."""
    settings = web_settings(config)
    engine = engine or make_engine(config.database_url)
    init_db(engine)
    search_method = ensure_indexes(engine)
    seed_accounts(engine, config)
    state = WebState(
        config=config,
        settings=settings,
        engine=engine,
        archive=open_archive(config),
        env=environment(),
        limiter=LoginLimiter(settings.login_max_failures, settings.login_window_seconds),
        sessions=SessionStore(
            engine,
            idle=timedelta(minutes=settings.session_idle_minutes),
            max_age=timedelta(hours=settings.session_max_hours),
        ),
        stats_cache=TTLCache(settings.stats_cache_seconds),
        api_cache=TTLCache(settings.stats_cache_seconds, max_entries=256),  # pages of /api/status
        page_cache=TTLCache(settings.stats_cache_seconds, max_entries=256),
        crawl_trigger=crawl_trigger,
        summary=SummaryKeeper(engine),
        search=search_method,
    )
    app = FastAPI(title="gkwatch", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.web = state

    for module in (routes_table, routes_agency, routes_auth, routes_actions, routes_runs, routes_people):
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

    # The cookie carries the session token and the CSRF token; who is logged in is the database's answer
    # (``monitor.web.auth.SessionStore``). It lives no longer than a session may.
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="gkwatch_session",
        same_site="lax",
        https_only=secure_cookies(config, settings.https_only),
        max_age=max(1, int(settings.session_max_hours * 3600)),
    )
    app.add_middleware(AgencyPaths)  # /agency/{id}/…: an id's "/" (%2F) stays in its segment
    app.add_middleware(ComputeLimit)  # a few pages computed at a time (monitor.web.limits)
    app.add_middleware(SecurityHeaders)
    return app


def secure_cookies(config: Config, https_only: bool) -> bool:
    """``Secure`` cookies when the site is served over HTTPS: ``web.https_only``, or a public URL
    (``alerts.base_url``, where mail links point) that is https."""
    return https_only or urlsplit(str(config.alerts.base_url)).scheme.lower() == "https"
