"""``create_app(config, crawl_trigger=…)``: the FastAPI application of the status page.

The app is handed everything it needs (Datasette's way): one ``WebState`` per app (engine, archive,
settings, template environment, login limiter, caches, and the service's ``crawl_trigger``), kept on
``app.state.web``. Routes read it from there and never import the app or the service, so tests and
benchmarks can run several apps side by side.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from domain.config import Config
from monitor.web import routes_actions, routes_agency, routes_auth, routes_table
from monitor.web.auth import LoginLimiter
from monitor.web.queries import TTLCache, ensure_indexes
from monitor.web.security import SecurityHeaders
from monitor.web.settings import web_settings
from monitor.web.state import HERE, WebState, environment
from storage.archive import Archive
from storage.db import init_db, make_engine


def create_app(
    config: Config, engine: Engine | None = None, *, crawl_trigger: Callable[[], bool] | None = None
) -> FastAPI:
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
        env=environment(),
        limiter=LoginLimiter(settings.login_max_failures, settings.login_window_seconds),
        stats_cache=TTLCache(settings.stats_cache_seconds),
        api_cache=TTLCache(settings.stats_cache_seconds, max_entries=8),
        page_cache=TTLCache(settings.stats_cache_seconds, max_entries=128),
        crawl_trigger=crawl_trigger,
    )
    app = FastAPI(title="gkwatch", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.web = state

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
