"""``/api/status``, the HTML table, CSV, XLSX and the page's "JSON" link: the same filters give the same rows
in the same order; the API streams, and pages with ``limit`` / ``cursor`` and a ``Link: rel="next"``."""

from __future__ import annotations

import csv
import io
import random
import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import insert
from sqlmodel import Session

from monitor.status.table import stored_objects
from monitor.web import create_app
from storage.models import Agency, AgencyYearStatus
from tests.web.seed import seed

STATUSES = ("on_time", "late", "missing", "unknown", "not_due", "undated")
N_AGENCIES = 700


@pytest.fixture(scope="module")
def big(tmp_path_factory):  # noqa: ANN001, ANN201
    """The small seed plus 700 agencies × 3 years of varied rows (nulls in every sortable column)."""
    s = seed(tmp_path_factory.mktemp("api"))
    rng = random.Random(11)
    now = datetime(2023, 5, 1, tzinfo=UTC)
    agencies, rows = [], []
    for i in range(N_AGENCIES):
        region = f"{rng.choice(['河北省', '河南省'])}/第{i % 7}市/第{i % 23}区"
        agencies.append(
            dict(id=f"b{i:04d}", name=f"第{i % 23}区{rng.choice(['教育', '财政'])}局{i}", aliases=[f"别名{i}"],
                 kind=rng.choice(["department", "township", "government"]), region=region, portal_id=None,
                 source="config", active=True, registered_at=now, last_listed_at=now)
        )  # fmt: skip
        for year in (2020, 2021, 2022):
            status = rng.choice(STATUSES)
            has = status in ("on_time", "late", "undated")
            due = date(year + 1, 1, 31)
            published = {"on_time": due - timedelta(days=rng.randint(0, 30)),
                         "late": due + timedelta(days=rng.randint(1, 60))}.get(status)  # fmt: skip
            rows.append(
                dict(agency_id=f"b{i:04d}", year=year, agency=agencies[-1]["name"], region=region,
                     kind=agencies[-1]["kind"], status=status, due=due, due_reason="x", published=published,
                     published_evidence="page_meta" if published else None,
                     days_late=(published - due).days if status == "late" else None,
                     first_seen=now - timedelta(days=rng.randint(0, 900)) if has else None,
                     inconsistent=rng.choice([True, False]) if has else None,
                     findings=["s4.total"] if has and rng.random() < 0.3 else [], details=[],
                     evidence={"published": {"quote": f"第{i}号"}} if has else {},
                     as_of=date(2023, 5, 1), computed_at=now)
            )  # fmt: skip
    with s.engine.begin() as conn:
        conn.execute(insert(Agency), agencies)
        conn.execute(insert(AgencyYearStatus), rows)
    return s


@pytest.fixture(scope="module")
def client(big) -> TestClient:  # noqa: ANN001
    return TestClient(create_app(big.config, engine=big.engine))


def page_keys(html: str) -> list[tuple[str, int]]:
    return [
        (a, int(y))
        for a, y in re.findall(
            r'class="name"><a href="/agency/([^"]+)">.*?class="year">(\d+)</a>', html, re.S
        )
    ]


def all_page_keys(client: TestClient, params: dict) -> list[tuple[str, int]]:
    out, page = [], 1
    while True:
        r = client.get("/", params={**params, "page": page, "per_page": 500})
        if r.status_code == 404 or not page_keys(r.text):
            return out
        out += page_keys(r.text)
        if 'rel="next"' not in r.text:
            return out
        page += 1


def walk(client: TestClient, url: str, params: dict) -> list[dict]:
    """Every page of the API, following its Link headers."""
    out: list[dict] = []
    r = client.get(url, params=params)
    while True:
        assert r.status_code == 200, r.text
        out += r.json()
        link = r.headers.get("link")
        if not link:
            return out
        m = re.fullmatch(r'<(/api/status\?[^>]+)>; rel="next"', link)
        assert m, link
        r = client.get(m[1])


FILTERS = [
    {"year": "2021"},
    {"year": "all", "region": "第3区"},  # a name, any level
    {"year": "2022", "region": "河北省", "status": "late"},
    {"year": "2021", "inconsistent": "yes", "sort": "published", "dir": "desc"},
    {"year": "all", "q": "财政局1", "sort": "first_seen"},
    {"year": "2020", "kind": "township", "sort": "inconsistent", "dir": "desc"},
    {"year": "2022", "q": "别名12"},  # an alias
    {"year": "2021", "sort": "due", "dir": "desc", "status": "missing"},
]


@pytest.mark.parametrize("params", FILTERS)
def test_every_format_gives_the_same_rows_in_the_same_order(client, params):
    html = all_page_keys(client, params)
    api = [(o["agency_id"], o["year"]) for o in client.get("/api/status", params=params).json()]
    paged = [(o["agency_id"], o["year"]) for o in walk(client, "/api/status", {**params, "limit": 37})]
    text = client.get("/export.csv", params=params).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))[1:]
    csv_keys = [(r[0], int(r[4])) for r in rows]
    ws = load_workbook(io.BytesIO(client.get("/export.xlsx", params=params).content), read_only=True).active
    xlsx = [(r[0], r[4]) for r in list(ws.values)[1:]]
    assert html, params  # every filter here matches something
    assert api == html == paged == csv_keys == xlsx
    assert len(set(api)) == len(api)  # keyset pages: nothing twice, nothing skipped


def test_the_pages_json_link_honours_the_filters(client):
    html = client.get("/", params={"region": "河南省", "status": "on_time", "sort": "published"}).text
    href = re.search(r'<a href="(/api/status\?[^"]+)" class="json">JSON</a>', html)[1].replace("&amp;", "&")
    query = urlsplit(href).query
    assert "region=" in query and "status=on_time" in query and "year=" in query and "sort=published" in query
    api = client.get(href).json()
    assert (
        api
        and {o["status"] for o in api} == {"on_time"}
        and all(o["region"].startswith("河南省") for o in api)
    )
    assert [(o["agency_id"], o["year"]) for o in api] == page_keys(
        client.get(
            "/", params={"region": "河南省", "status": "on_time", "sort": "published", "per_page": 500}
        ).text
    )[: len(api)]


def test_unpaged_api_streams_in_chunks(client):
    with client.stream("GET", "/api/status", params={"year": "all"}) as r:
        assert r.status_code == 200 and "content-length" not in r.headers
        chunks = [c for c in r.iter_raw() if c]
    assert len(chunks) > 3  # written while read, a few hundred rows a chunk
    objects = __import__("json").loads(b"".join(chunks))
    assert len(objects) == 10 + N_AGENCIES * 3


def test_api_rows_are_the_stored_objects(client, big):
    with Session(big.engine) as s:
        expected = stored_objects(s)
    assert client.get("/api/status").json() == expected  # every year, the contract's keys, evidence as stored


def test_bad_paging_is_refused(client):
    assert client.get("/api/status", params={"limit": 0}).status_code == 400
    assert client.get("/api/status", params={"limit": 10**6}).status_code == 400
    assert client.get("/api/status", params={"cursor": "abc"}).status_code == 400  # no limit
    bad = client.get("/api/status", params={"limit": 5, "cursor": "not-a-cursor"})
    assert bad.status_code == 400 and "cursor" in bad.json()["error"]
    first = client.get("/api/status", params={"limit": 5})
    cursor = re.search(r"cursor=([^&>]+)", first.headers["link"])[1]
    other = client.get("/api/status", params={"limit": 5, "cursor": cursor, "sort": "published"})
    assert other.status_code == 400  # a cursor of another order


def test_live_as_of_pages_too(client):
    """Another day than the table's: computed live, filtered and paged the same way."""
    whole = client.get("/api/status", params={"year": 2021, "as_of": "2022-06-01"}).json()
    paged = walk(client, "/api/status", {"year": 2021, "as_of": "2022-06-01", "limit": 3})
    assert whole == paged and len(whole) > 3


def test_pages_take_a_slot_long_downloads_do_not():
    from monitor.web.limits import limited

    def scope(path: str, query: bytes = b"") -> dict:
        return {"type": "http", "path": path, "query_string": query}

    assert limited(scope("/")) and limited(scope("/agency/a")) and limited(scope("/rankings"))
    assert limited(scope("/api/status", b"year=2021&limit=100"))
    for path in (
        "/api/status",
        "/export.csv",
        "/export.xlsx",
        "/static/style.css",
        "/archive/ab",
        "/agency/a/2021/evidence.zip",
    ):
        assert not limited(scope(path)), path


def test_many_clients_at_once_all_get_their_page(big):
    """Twenty clients on a real server: every page answers, in order, while slots are taken in turn."""
    import asyncio

    import httpx

    from tests.web.server import serve_in_thread

    async def crowd(base: str) -> list[int]:
        async with httpx.AsyncClient(base_url=base, timeout=60) as c:
            paths = [
                "/",
                "/?year=all&page=3",
                "/api/status?limit=20",
                "/rankings",
                "/agency/b0001",
                "/static/style.css",
            ]
            return [
                r.status_code
                for r in await asyncio.gather(*(c.get(paths[i % len(paths)]) for i in range(60)))
            ]

    with serve_in_thread(create_app(big.config, engine=big.engine)) as url:
        assert asyncio.run(crowd(url)) == [200] * 60
