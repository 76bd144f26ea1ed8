"""``GET /`` (the status table), ``GET /api/status`` and the CSV/XLSX exports — the same filters, the same
rows, the same order (``monitor.web.queries``).

``/api/status`` streams: without ``limit`` the JSON array goes out as rows are read (never the whole body in
memory); with ``limit`` it is one page, and a ``Link: <…>; rel="next"`` header (with its ``cursor``) while
more remain. Rows come from the table ``gkwatch check`` wrote — the page's rows — with their evidence passed
through as stored; ``as_of`` another day than the table's computes the rows of that day live
(``monitor.status.table.status_rows``), as ``gkwatch status --as-of`` does.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import orjson
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from sqlmodel import Session

from domain.clock import FIRST_DAY, LAST_DAY
from domain.codes import STATUSES
from domain.regions import region_has_prefix
from monitor.status.table import contract_object, status_rows, stored_rows_current
from monitor.web import labels as L
from monitor.web import queries, search
from monitor.web.auth import current_user
from monitor.web.display import regions_html, rows_html
from monitor.web.exports import csv_chunks, xlsx_bytes
from monitor.web.queries import BadFilter, C, Scope, StatusFilter
from monitor.web.state import state_of

router = APIRouter()
MAX_LIMIT = 10_000  # rows in one page of /api/status
SORT_WORDS = {
    "region": "地区",
    "agency": "机关名称",
    "status": "状态",
    "due": "截止日",
    "published": "发布日期",
    "first_seen": "首次发现",
    "inconsistent": "数据一致性",
    "year": "年度",
    "kind": "类型",
}


def _filter(request: Request, default_year: int | None) -> StatusFilter:
    state = state_of(request)
    try:
        return queries.parse_filter(
            request.query_params, default_year, state.settings.page_size, state.settings.max_page_size
        )
    except BadFilter as e:
        raise HTTPException(status_code=400, detail=str(e)) from None


def _page_filter(request: Request) -> tuple[StatusFilter, Scope, Any]:
    """The page's filter (the latest year by default), what it means, and the table's summary."""
    state = state_of(request)
    summary = state.summary.get()
    f = _filter(request, summary.latest_year)
    return f, queries.scope_of(f, summary, state.search), summary


@router.get("/")
def status_table(request: Request):  # noqa: ANN201
    return state_of(request).shared_page(request, ("index", request.url.query), lambda: _status_page(request))


def filter_words(f: StatusFilter) -> dict[str, str]:
    """Each condition in force, in words (the empty page says which one excluded what)."""
    return {
        "region": f"地区「{f.region}」",
        "kind": f"类型「{L.label(L.KIND, f.kind)}」",
        "status": f"状态「{L.label(L.STATUS, f.status)}」",
        "inconsistent": "数据一致性「"
        + {"yes": "不一致", "no": "一致", "unknown": "未解析"}.get(f.inconsistent, f.inconsistent)
        + "」",
        "year": f"年度「{f.year}」",
        "q": f"名称或别名含「{f.q}」",
    }


def _status_page(request: Request) -> HTMLResponse:
    state = state_of(request)
    f, scope, summary = _page_filter(request)
    with state.engine.connect() as conn:
        regions = queries.region_counts(conn, f, scope, summary)
        total = sum(r.total for r in regions)
        page = queries.page_rows(conn, f, scope, total=total)
        hints = queries.empty_hints(conn, f, scope, summary, filter_words(f)) if total == 0 else []
    if page.page > page.pages:
        raise HTTPException(404, f"共 {page.pages} 页，没有第 {page.page} 页")
    totals = {s: sum(r.counts.get(s, 0) for r in regions) for s in STATUSES}
    judged = totals["on_time"] + totals["late"] + totals["missing"]
    return state.render(
        request,
        "index.html",
        f=f,
        scope=scope,
        page=page,
        rows_html=rows_html(page.rows),
        regions=regions[:20],
        regions_html=regions_html(regions[:20], f.query_params(page=1)),
        more_regions=max(0, len(regions) - 20),
        totals=totals,
        on_time_rate=(totals["on_time"] / judged) if judged else None,
        years=summary.years,
        hints=hints,
        sort_words=SORT_WORDS,
        api_params=f.query_params(page=1, per_page=f.default_per_page),
    )


# --- /api/status ------------------------------------------------------------------------------------------

# the contract's keys in its order, the JSON columns as the text stored (passed through undecoded)
API_COLUMNS = (
    C.agency_id,
    C.agency,
    C.region,
    C.year,
    C.status,
    C.due,
    C.published,
    C.published_evidence,
    C.days_late,
    C.first_seen,
    C.inconsistent,
    queries.raw_json(C.findings),
    C.report_url,
    C.crawl_problem,
    queries.raw_json(C.evidence),
)
_HEAD = ("agency_id", "agency", "region", "year", "status")


def _iso(v: Any) -> Any:
    return v.isoformat() if isinstance(v, date | datetime) else v


_STDLIB_DUMPS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_iso).encode


def _dumps(obj: dict[str, Any]) -> str:
    """Compact JSON, dates as ISO 8601: orjson (a quarter of an API page's time went to the standard
    library's encoder), the standard library for what orjson refuses (integers beyond 64 bits)."""
    try:
        return orjson.dumps(obj).decode()
    except TypeError:
        return _STDLIB_DUMPS(obj)


def _api_json(r: dict[str, Any]) -> str:
    """One stored row as the contract's status object, its findings and evidence spliced in as stored."""
    head = _dumps(
        {
            "agency_id": r["agency_id"],
            "agency": r["agency"],
            "region": r["region"],
            "year": r["year"],
            "status": r["status"],
            "due": r["due"],
            "published": r["published"],
            "published_evidence": r["published_evidence"],
            "days_late": r["days_late"],
            "first_seen": r["first_seen"],
            "inconsistent": r["inconsistent"],
        }
    )
    tail = _dumps({"report_url": r["report_url"], "crawl_problem": r["crawl_problem"]})
    return f'{head[:-1]},"findings":{r["findings"] or "[]"},{tail[1:-1]},"evidence":{r["evidence"] or "{}"}}}'


def _api_columns(f: StatusFilter) -> tuple:
    """The API's columns, plus the sort column where the cursor needs it and the object lacks it."""
    names = {c.name for c in API_COLUMNS}
    extra = tuple(queries.SORTABLE[n] for n in {f.sort} if n not in names)
    return API_COLUMNS + extra


@router.get("/api/status")
def api_status(
    request: Request, as_of: str | None = None, limit: str | None = None, cursor: str | None = None
) -> Response:
    """The status objects of ``gkwatch status --format json`` for the page's filters (every year unless
    ``year`` is given): streamed whole, or a page at a time with ``limit`` and ``cursor``.

    ``year`` within 2000–2100 and ``as_of`` within 2000-01-01 – 2100-12-31 (``domain.clock``), else 400:
    a day near ``date.max`` would overflow the deadline arithmetic, a year near 2**63 the database's integer.
    """
    state = state_of(request)
    day = _api_day(as_of)
    n = _limit(limit)
    if cursor is not None and (n is None or len(cursor) > 4000):
        raise HTTPException(400, "cursor 只能与 limit 一起使用")
    f = _filter(request, None)
    summary = state.summary.get()
    scope = queries.scope_of(f, summary, state.search)
    if day is not None and not _stored_answers(state, day):
        return _live(request, f, scope, day, n, cursor)
    if n is None:
        return StreamingResponse(_stream(state, f, scope), media_type="application/json; charset=utf-8")

    def page() -> tuple[bytes, str | None]:
        with state.engine.connect() as conn:
            try:
                rows, after = queries.api_page(conn, f, scope, n, cursor, _api_columns(f))
            except BadFilter as e:
                raise HTTPException(400, str(e)) from None
        return ("[" + ",".join(_api_json(r) for r in rows) + "]").encode("utf-8"), after

    key = ("api", request.url.query)
    body, after = page() if current_user(request) else state.api_cache.get_or_compute(key, page)
    return _paged(request, body, after)


def _paged(request: Request, body: bytes, after: str | None) -> Response:
    headers = {}
    if after is not None:
        nxt = request.url.include_query_params(cursor=after)
        headers["Link"] = f'<{nxt.path}?{nxt.query}>; rel="next"'
    return Response(body, media_type="application/json; charset=utf-8", headers=headers)


def _limit(raw: str | None) -> int | None:
    if raw is None or not raw.strip():
        return None
    try:
        return queries._int(raw.strip(), "limit", 1, MAX_LIMIT)
    except BadFilter as e:
        raise HTTPException(400, str(e)) from None


def _stream(state, f: StatusFilter, scope: Scope) -> Iterator[bytes]:  # noqa: ANN001
    """The JSON array, a few hundred rows a chunk, while the rows are read."""
    with state.engine.connect() as conn:
        yield b"["
        batch: list[str] = []
        first = True
        for r in queries.api_stream(conn, f, scope, API_COLUMNS):
            batch.append(_api_json(r))
            if len(batch) >= 500:
                yield (("" if first else ",") + ",".join(batch)).encode("utf-8")
                first, batch = False, []
        if batch:
            yield (("" if first else ",") + ",".join(batch)).encode("utf-8")
        yield b"]"


def _stored_answers(state, day: date) -> bool:  # noqa: ANN001
    """Whether the stored table is the answer for ``as_of = day`` (judged that day, nothing stored since)."""
    with Session(state.engine) as session:
        return stored_rows_current(session, state.config, day)


def _api_day(raw: str | None) -> date | None:
    if raw is None or not raw.strip():
        return None
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        raise HTTPException(400, f"as_of 应为 YYYY-MM-DD 格式的日期，收到的是 {raw[:40]!r}") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise HTTPException(400, f"as_of 应在 {FIRST_DAY} 到 {LAST_DAY} 之间")
    return day


def _live(
    request: Request, f: StatusFilter, scope: Scope, day: date, n: int | None, cursor: str | None
) -> Response:
    """Another day than the table's: the rows of that day computed live, filtered and ordered as the stored
    ones are (the same keys, the same cursor)."""
    state = state_of(request)
    with Session(state.engine) as session:
        rows = status_rows(session, state.config, year=f.year, as_of=day)
        ids = (
            set(session.connection().execute(search.agency_ids(f.q, scope.search)).scalars()) if f.q else None
        )
    rows = sorted((r for r in rows if _keeps(f, scope, ids, r)), key=functools.cmp_to_key(_comparer(f)))
    if cursor:
        try:
            position = queries.decode_cursor(f, cursor)
        except BadFilter as e:
            raise HTTPException(400, str(e)) from None
        cmp = _comparer(f)
        rows = [r for r in rows if cmp(r, position) > 0]
    after = None
    if n is not None and len(rows) > n:
        rows = rows[:n]
        after = queries.encode_cursor(f, rows[-1])
    body = json.dumps([contract_object(r) for r in rows], ensure_ascii=False, separators=(",", ":"))
    return _paged(request, body.encode("utf-8"), after)


def _keeps(f: StatusFilter, scope: Scope, ids: set[str] | None, r: dict[str, Any]) -> bool:
    if scope.regions is not None and not any(region_has_prefix(r["region"], p) for p in scope.regions):
        return False
    if f.kind and r.get("kind") != f.kind:
        return False
    if f.status and r["status"] != f.status:
        return False
    if f.inconsistent and r["inconsistent"] is not queries.INCONSISTENT_CHOICES[f.inconsistent]:
        return False
    return ids is None or r["agency_id"] in ids


def _comparer(f: StatusFilter):  # noqa: ANN202
    """The SQL order in Python: a row (dict) or a cursor position (list of the order's values)."""
    keys = queries.order_keys(f)

    def values(x: Any) -> list[Any]:
        if isinstance(x, list):
            return x
        out = []
        for _, _, name in keys:
            if name == "_null":
                out.append(1 if x.get(f.sort) is None else 0)
            else:
                v = x.get(name)
                out.append(v.isoformat() if isinstance(v, date | datetime) else v)
        return out

    def cmp(a: Any, b: Any) -> int:
        for (_, desc, _), x, y in zip(keys, values(a), values(b), strict=True):
            x = _iso(x)
            y = _iso(y)
            if x == y or x is None or y is None:
                continue
            c = (x > y) - (x < y)
            return -c if desc else c
        return 0

    return cmp


# --- exports ------------------------------------------------------------------------------------------------


def _export_name(f: StatusFilter, ext: str) -> str:
    return f"gkwatch-status-{f.year if f.year is not None else 'all'}.{ext}"


@router.get("/export.csv")
def export_csv(request: Request) -> StreamingResponse:
    state = state_of(request)
    f, scope, _ = _page_filter(request)

    def chunks():  # noqa: ANN202
        with state.engine.connect() as conn:
            yield from csv_chunks(queries.all_rows(conn, f, scope))

    return StreamingResponse(
        chunks(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_export_name(f, "csv")}"'},
    )


@router.get("/export.xlsx")
def export_xlsx(request: Request) -> Response:
    state = state_of(request)
    f, scope, _ = _page_filter(request)
    with state.engine.connect() as conn:
        data = xlsx_bytes(queries.all_rows(conn, f, scope))
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{_export_name(f, "xlsx")}"'},
    )
