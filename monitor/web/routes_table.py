"""``GET /`` (the status table), ``GET /api/status`` and the CSV/XLSX exports — all over the same filters."""

from __future__ import annotations

import json
from datetime import date

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from sqlmodel import Session

from domain.codes import STATUSES
from monitor.status.table import status_objects
from monitor.web import queries
from monitor.web.auth import current_user
from monitor.web.display import row_view
from monitor.web.exports import csv_chunks, xlsx_bytes
from monitor.web.queries import BadFilter, StatusFilter
from monitor.web.state import state_of

router = APIRouter()


def _filter(request: Request) -> StatusFilter:
    state = state_of(request)
    default_year = None
    if "year" not in request.query_params:  # the page opens on the latest year stored
        with state.engine.connect() as conn:
            default_year = queries.latest_year(conn)
    try:
        return queries.parse_filter(
            request.query_params, default_year, state.settings.page_size, state.settings.max_page_size
        )
    except BadFilter as e:
        raise HTTPException(status_code=400, detail=str(e)) from None


@router.get("/")
def status_table(request: Request):  # noqa: ANN201
    state = state_of(request)
    if current_user(request) is None and "flash" not in request.session:
        # Every anonymous reader sees the same page for the same query (no token, no name, no message),
        # and the table changes only on ``gkwatch check``: the rendered page is kept as briefly as its
        # counts are, so a crowd reading the same view costs one rendering.
        body = state.page_cache.get_or_compute(
            ("index", request.url.query), lambda: _status_page(request).body
        )
        return HTMLResponse(body)
    return _status_page(request)


def _status_page(request: Request) -> HTMLResponse:
    state = state_of(request)
    f = _filter(request)
    with state.engine.connect() as conn:
        # Counts change only when ``gkwatch check`` rewrites the table: cached briefly, and their sum is the
        # page's total, so a page costs one indexed query for its rows.
        regions = state.stats_cache.get_or_compute(
            ("regions", f.cache_key()), lambda: queries.region_counts(conn, f)
        )
        years = state.stats_cache.get_or_compute(("years",), lambda: queries.years(conn))
        page = queries.page_rows(conn, f, total=sum(r.total for r in regions))
    if page.page > page.pages:
        raise HTTPException(404, f"共 {page.pages} 页，没有第 {page.page} 页")
    totals = {s: sum(r.counts.get(s, 0) for r in regions) for s in STATUSES}
    judged = totals["on_time"] + totals["late"] + totals["missing"]
    return state.render(
        request,
        "index.html",
        f=f,
        page=page,
        rows=[row_view(r) for r in page.rows],
        regions=regions[:20],
        more_regions=max(0, len(regions) - 20),
        totals=totals,
        on_time_rate=(totals["on_time"] / judged) if judged else None,
        years=years,
    )


@router.get("/api/status")
def api_status(request: Request, year: int | None = None, as_of: date | None = None) -> Response:
    """The rows of ``gkwatch status --format json`` (same year / as-of semantics).

    Computing them live reads every agency's facts, so the serialized answer is kept for
    ``web.stats_cache_seconds`` (like the page's counts): many clients polling cost one computation.
    """
    state = state_of(request)
    body = state.api_cache.get_or_compute((year, as_of), lambda: _status_json(state, year, as_of))
    return Response(body, media_type="application/json; charset=utf-8")


def _status_json(state, year: int | None, as_of: date | None) -> bytes:  # noqa: ANN001
    with Session(state.engine) as session:
        objects = status_objects(session, state.config, year=year, as_of=as_of)
    return json.dumps(objects, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _export_name(f: StatusFilter, ext: str) -> str:
    return f"gkwatch-status-{f.year if f.year is not None else 'all'}.{ext}"


@router.get("/export.csv")
def export_csv(request: Request) -> StreamingResponse:
    state = state_of(request)
    f = _filter(request)

    def chunks():  # noqa: ANN202
        with state.engine.connect() as conn:
            yield from csv_chunks(queries.all_rows(conn, f))

    return StreamingResponse(
        chunks(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_export_name(f, "csv")}"'},
    )


@router.get("/export.xlsx")
def export_xlsx(request: Request) -> Response:
    state = state_of(request)
    f = _filter(request)
    with state.engine.connect() as conn:
        data = xlsx_bytes(queries.all_rows(conn, f))
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{_export_name(f, "xlsx")}"'},
    )
