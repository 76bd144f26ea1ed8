"""Agency ids in URLs: ``/agency/{id}/…`` where the id may hold "/" (and "?", "#", "%" …).

An id is one path segment, percent-encoded (``quote(id, safe="")``: "/" as ``%2F``), in every link — the
page, the templates' ``idpath`` filter, the mail (``monitor.alerts.text.evidence_url``). The server
decodes the path before routing, which would turn ``/agency/a%2F2021`` into ``/agency/a/2021`` — the
2021 page of agency ``a``. So ``AgencyPaths`` re-reads such requests from the raw path, segment by
segment, and keeps the id's own "/" and "%" escaped in the routed path; the ``agency`` convertor
(``{agency_id:agency}``, one segment) unescapes them. Routes under ``/agency/`` are written with
``AGENCY`` and never depend on their order.

Ids that are exactly "." or ".." no URL can carry (browsers resolve them as dot segments, encoded or
not): the configuration refuses them (``domain.config.AgencyConfig``).
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from starlette.convertors import Convertor, register_url_convertor
from starlette.types import ASGIApp, Receive, Scope, Send

AGENCY = "/agency/{agency_id:agency}"  # the agency page; its sub-pages are AGENCY + "/…"
_PREFIX = b"/agency/"


def _escape(agency_id: str) -> str:
    return agency_id.replace("%", "%25").replace("/", "%2F")


def _unescape(segment: str) -> str:
    return segment.replace("%2F", "/").replace("%25", "%")


class AgencyIdConvertor(Convertor[str]):
    """One routed segment (as ``AgencyPaths`` leaves it) ⇄ the agency id."""

    regex = "[^/]+"

    def convert(self, value: str) -> str:
        return _unescape(value)

    def to_string(self, value: str) -> str:
        return quote(str(value), safe="")


register_url_convertor("agency", AgencyIdConvertor())


def routed_path(raw_path: bytes) -> str:
    """The path to route for a raw ``/agency/…`` path: each segment decoded, the id's "/" kept escaped."""
    segments = raw_path[len(_PREFIX) :].split(b"/")
    decoded = [unquote(s.decode("latin-1"), encoding="utf-8", errors="replace") for s in segments]
    return "/agency/" + "/".join([_escape(decoded[0]), *decoded[1:]])


class AgencyPaths:
    """ASGI middleware: route ``/agency/…`` requests by their raw path (see the module docstring)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("raw_path") if scope["type"] == "http" else None
        if raw and raw.startswith(_PREFIX) and not scope.get("root_path"):
            scope = {**scope, "path": routed_path(raw.split(b"?", 1)[0])}
        await self.app(scope, receive, send)
