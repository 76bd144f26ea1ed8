"""What one web app holds (``WebState``), handed to every route through ``request.app.state.web``.

Routes read their state with ``state_of(request)`` and never import the app (``monitor.web.app`` builds the
state and the app from it) or the service (which hands the app its ``crawl_trigger``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.engine import Engine

from domain.clock import beijing_time
from domain.config import Config
from domain.text import safe_url
from monitor.status import wording
from monitor.web import labels
from monitor.web.accounts import operator_hashes
from monitor.web.auth import LoginLimiter, SessionStore, csrf_token, current_user
from monitor.web.display import urlencode_params
from monitor.web.freshness import Freshness, freshness
from monitor.web.queries import TTLCache
from monitor.web.settings import WebSettings
from monitor.web.summary import GENERATION_TTL, SummaryKeeper
from storage.archive import ArchiveStore

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
    env.filters["urlencode_params"] = urlencode_params
    env.filters["idpath"] = lambda agency_id: quote(str(agency_id), safe="")  # an id's "/" as %2F
    env.filters["pct"] = lambda x, digits=1: "—" if x is None else f"{x * 100:.{digits}f}%"
    env.globals["L"] = labels
    env.globals["label"] = labels.label
    env.globals["CORRECTION_KINDS"] = labels.CORRECTION_KINDS
    env.globals["W"] = wording
    return env


@dataclass
class WebState:
    config: Config
    settings: WebSettings
    engine: Engine
    archive: ArchiveStore  # the folder or the S3 bucket (storage.archive)
    env: Environment
    limiter: LoginLimiter
    sessions: SessionStore  # operators' logins, server-side (``WebSession``)
    stats_cache: TTLCache
    api_cache: TTLCache  # whole /api/status bodies (megabytes each): few entries
    page_cache: TTLCache  # rendered status pages of anonymous readers (tens of kilobytes each)
    # "crawl now" (of one portal, or all): True when a crawl was started, False when one is already running;
    # None: no service here
    crawl_trigger: Callable[..., bool] | None = None
    summary: SummaryKeeper | None = None  # the table's counts, per generation (monitor.web.summary)
    search: str = "like"  # the name search's index: fts5 | trgm | like (monitor.web.search)
    # a test mail to one address, sent now (handed in by the service, which may import the alerts); the
    # outcome in words
    test_mail: Callable[[str], str] | None = None
    _fresh: tuple | None = None  # (until, generation, Freshness)

    def operator_hashes(self) -> dict[str, str]:
        """Who may log in: the operators' accounts in the database (config.yaml's ``web.users`` seeds them)."""
        return operator_hashes(self.engine)

    def table_changed(self) -> None:
        """An operator's act rewrote rows of the table here: every reader sees it at the next request."""
        if self.summary is not None:
            self.summary.forget()
        self._fresh = None
        self.page_cache.clear()
        self.stats_cache.clear()
        self.api_cache.clear()

    def freshness(self) -> Freshness:
        """When data was last crawled and checked, and when the next crawl comes (every page shows it):
        looked up at most once a second, as the table's generation is (``monitor.web.summary``)."""
        checked = self.summary.get().generation if self.summary is not None else None
        now = time.monotonic()
        memo = self._fresh
        if memo is not None and memo[0] > now and memo[1] == checked:
            return memo[2]
        with self.engine.connect() as conn:
            fresh = freshness(conn, self.config, checked)
        self._fresh = (now + GENERATION_TTL, checked, fresh)
        return fresh

    def shared_page(self, request: Request, key: Any, render: Callable[[], HTMLResponse]) -> HTMLResponse:
        """``render()``, or for an anonymous reader the same page rendered for another within
        ``web.stats_cache_seconds``: they all see the same page for the same URL (no token, no name, no
        message), and it changes only on ``gkwatch check`` or an operator's act (which clears it). A crowd
        reading one view costs one rendering."""
        if current_user(request) is not None or "flash" in request.session:
            return render()
        return HTMLResponse(self.page_cache.get_or_compute(key, lambda: render().body))

    def render(self, request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        user = current_user(request)
        context.setdefault("user", user)
        # A CSRF token only where a form needs one: anonymous readers get no session cookie at all.
        if user or context.pop("needs_csrf", False):
            context["csrf"] = csrf_token(request)
        context["flash"] = request.session.pop("flash", None) if "flash" in request.session else None
        if "fresh" not in context:
            context["fresh"] = self.freshness()
        # as the browser sent it: "/agency/a%2Fb" must come back as such after login, not as "/agency/a/b"
        raw = request.scope.get("raw_path")
        context["request_path"] = raw.decode("latin-1") if raw else request.url.path
        html = self.env.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status_code)


def state_of(request: Request) -> WebState:
    return request.app.state.web
