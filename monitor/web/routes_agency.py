"""``GET /agency/{id}`` (one agency's evidence, year by year) and ``GET /archive/{sha256}`` (the archived
bytes, always as a download: crawled HTML must never render on this site's origin)."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import FileResponse, HTMLResponse, Response, StreamingResponse
from sqlmodel import Session

from domain.clock import FIRST_YEAR, LAST_YEAR
from monitor.web.agency_page import agency_page, archive_filename
from monitor.web.evidence import build_evidence_zip
from monitor.web.paths import AGENCY
from monitor.web.state import state_of
from storage.archive import ArchiveUnavailable

router = APIRouter()
_SHA256 = re.compile(r"[0-9a-f]{64}")


@router.get(AGENCY)  # one segment: an id's "/" comes as %2F (monitor.web.paths)
def agency(request: Request, agency_id: str):  # noqa: ANN201
    return _agency_page(request, agency_id, None)


@router.get(AGENCY + "/{year:int}")
def agency_year(  # noqa: ANN201
    request: Request, agency_id: str, year: Annotated[int, Path(ge=FIRST_YEAR, le=LAST_YEAR)]
):
    """One agency-year: its verdict, the evidence in full, the findings and the tables (mail links here)."""
    return _agency_page(request, agency_id, year)


def _agency_page(request: Request, agency_id: str, year: int | None) -> HTMLResponse:
    """Every year of an agency, or one (``year``), shared by anonymous readers (``WebState.shared_page``)."""
    state = state_of(request)

    def render() -> HTMLResponse:
        with Session(state.engine) as session:
            page = agency_page(session, state.archive, agency_id, year)
        if year is None and page is None:
            raise HTTPException(404, "没有这个机关。")
        if year is not None and (page is None or not page.years):
            raise HTTPException(404, "没有这个机关或年度的记录。")
        return state.render(request, "agency.html", a=page, agency_id=agency_id, single=year)

    return state.shared_page(request, ("agency", agency_id, year), render)


@router.get(AGENCY + "/{year}/evidence.zip")
def evidence_zip(
    request: Request, agency_id: str, year: Annotated[int, Path(ge=FIRST_YEAR, le=LAST_YEAR)]
) -> Response:
    """One agency-year's evidence as one file (``monitor.web.evidence``)."""
    state = state_of(request)
    with Session(state.engine) as session:
        data = build_evidence_zip(session, state.archive, agency_id, year)
    if data is None:
        raise HTTPException(404, "没有这个机关或年度的结论。")
    name = f"gkwatch-evidence-{year}-{quote(agency_id, safe='')[:80]}.zip"
    return Response(
        data,
        media_type="application/zip",
        headers={
            "Content-Disposition": f"attachment; filename=\"evidence-{year}.zip\"; filename*=UTF-8''{name}",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/archive/{sha256}")
def archived_copy(request: Request, sha256: str) -> Response:
    """A file of the folder archive as it is; an object of the S3 archive streamed through, never whole."""
    state = state_of(request)
    if not _SHA256.fullmatch(sha256):
        raise HTTPException(400, "存档编号应为 64 位十六进制 sha256。")
    path = state.archive.local_path(sha256)
    body = None
    if path is None:
        try:
            body = state.archive.stream(sha256)
        except FileNotFoundError:
            raise HTTPException(404, "存档中没有这份文件。") from None
        except ArchiveUnavailable:
            raise HTTPException(503, "存档暂时无法访问，请稍后再试。") from None
    with Session(state.engine) as session:
        name = archive_filename(session, sha256)
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=86400, immutable"}
    if body is not None:
        headers["Content-Disposition"] = f"attachment; filename*=utf-8''{quote(name)}"
        return StreamingResponse(body, media_type="application/octet-stream", headers=headers)
    return FileResponse(
        path,
        media_type="application/octet-stream",
        filename=name,
        content_disposition_type="attachment",
        headers=headers,
    )
