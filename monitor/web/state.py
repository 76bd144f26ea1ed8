"""What one web app holds (``WebState``), handed to every route through ``request.app.state.web``.

Routes read their state with ``state_of(request)`` and never import the app (``monitor.web.app`` builds the
state and the app from it) or the service (which hands the app its ``crawl_trigger``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.engine import Engine

from domain.clock import beijing_time
from domain.config import Config
from domain.text import safe_url
from monitor.web import labels
from monitor.web.auth import LoginLimiter, csrf_token, current_user
from monitor.web.queries import TTLCache
from monitor.web.settings import WebSettings
from storage.archive import Archive

HERE = Path(__file__).resolve().parent


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(("html",), default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["safe_url"] = safe_url
    env.filters["shanghai"] = beijing_time
    env.filters["urlencode_params"] = urlencode
    env.globals["L"] = labels
    env.globals["label"] = labels.label
    env.globals["CORRECTION_KINDS"] = labels.CORRECTION_KINDS
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
    # "crawl now": True when a crawl was started, False when one is already running; None: no service here
    crawl_trigger: Callable[[], bool] | None = None

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
