"""``GET /agency/{id}`` (one agency's evidence, year by year) and ``GET /archive/{sha256}`` (the archived
bytes, always as a download: crawled HTML must never render on this site's origin)."""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response
from sqlmodel import Session

from monitor.web.agency_page import agency_page, archive_filename
from monitor.web.evidence import build_evidence_zip
from monitor.web.state import state_of

router = APIRouter()
_SHA256 = re.compile(r"[0-9a-f]{64}")


@router.get("/agency/{agency_id}")
def agency(request: Request, agency_id: str):  # noqa: ANN201
    state = state_of(request)
    with Session(state.engine) as session:
        page = agency_page(session, state.archive, agency_id)
    if page is None:
        raise HTTPException(404, "没有这个机关。")
    return state.render(request, "agency.html", a=page, agency_id=agency_id)


@router.get("/agency/{agency_id}/{year}/evidence.zip")
def evidence_zip(request: Request, agency_id: str, year: int) -> Response:
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
def archived_copy(request: Request, sha256: str) -> FileResponse:
    state = state_of(request)
    if not _SHA256.fullmatch(sha256):
        raise HTTPException(400, "存档编号应为 64 位十六进制 sha256。")
    path = state.archive.path_for(sha256)
    if not path.is_file():
        raise HTTPException(404, "存档中没有这份文件。")
    with Session(state.engine) as session:
        name = archive_filename(session, sha256)
    return FileResponse(
        path,
        media_type="application/octet-stream",
        filename=name,
        content_disposition_type="attachment",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=86400, immutable"},
    )
