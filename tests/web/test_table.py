"""The status table, its filters, sorting, paging, the JSON API and the exports (TestClient over SQLite)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import inspect, text
from sqlmodel import Session

from monitor.web import create_app
from tests.web.seed import FORMULA, HOSTILE, RTL, Seeded, seed


# These tests only read: one database and one app for the module.
@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Seeded:  # noqa: ANN001
    return seed(tmp_path_factory.mktemp("web"))


@pytest.fixture(scope="module")
def client(seeded: Seeded) -> TestClient:
    return TestClient(create_app(seeded.config, engine=seeded.engine))


def agency_ids(html: str) -> list[str]:
    """The agency ids linked from the table's rows, in order."""
    return re.findall(r'<td data-label="机关" class="name"><a href="/agency/([^"]+)"', html)


def test_table_shows_latest_year_by_default_with_counts(client):
    r = client.get("/")
    assert r.status_code == 200
    ids = agency_ids(r.text)
    assert "zichuan-zsj" in ids and "zichuan-gov" in ids
    assert len(ids) == 10 - 1  # 2021 rows only: the 2020 row is another year
    assert re.search(r'id="total-count">9<', r.text)
    assert "2021 年度报告" in r.text
    # default order: region, then agency
    assert ids.index("jinan-town") < ids.index("zichuan-gov")


def test_hostile_names_are_escaped_and_isolated(client):
    r = client.get("/")
    assert HOSTILE not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert f"<bdi>{RTL}</bdi>" in r.text  # RTL override cannot flip the rest of the row
    assert 'href="javascript:' not in r.text  # a crawled javascript: URL is not linked


def test_security_headers(client):
    r = client.get("/")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "same-origin"
    assert "set-cookie" not in r.headers  # anonymous readers get no session


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"region": "山东省/淄博市"}, {"zichuan-zsj", "zichuan-gov", "zhangdian-jyj"}),
        ({"region": "山东省/淄博"}, set()),  # whole path segments only
        ({"region": "山东省/淄博市/淄川区/"}, {"zichuan-zsj", "zichuan-gov"}),
        ({"kind": "government"}, {"zichuan-gov"}),
        ({"status": "late"}, {"zichuan-zsj", "hostile"}),
        ({"inconsistent": "yes"}, {"zichuan-zsj", "hostile"}),
        ({"inconsistent": "no"}, {"zichuan-gov"}),
        ({"q": "淄川"}, {"zichuan-zsj", "zichuan-gov"}),
        ({"q": "%"}, {"percent"}),  # a typed wildcard is a literal character
        ({"q": "_"}, {"percent"}),
        ({"year": "2020"}, {"zichuan-zsj"}),
        ({"status": "missing", "region": "湖南省"}, {"rtl", "formula"}),
    ],
)
def test_filters(client, params, expected):
    r = client.get("/", params=params)
    assert r.status_code == 200
    assert set(agency_ids(r.text)) == expected


def test_year_all_shows_every_year(client):
    ids = agency_ids(client.get("/", params={"year": "all"}).text)
    assert ids.count("zichuan-zsj") == 2


def test_sort_by_published_desc_and_asc(client):
    desc = agency_ids(client.get("/", params={"sort": "published", "dir": "desc", "status": "late"}).text)
    assert desc == ["hostile", "zichuan-zsj"]  # 2022-02-20 before 2022-02-03
    asc = agency_ids(client.get("/", params={"sort": "published", "dir": "asc", "status": "late"}).text)
    assert asc == ["zichuan-zsj", "hostile"]


def test_pagination(client):
    first = client.get("/", params={"per_page": "4"})
    second = client.get("/", params={"per_page": "4", "page": "2"})
    third = client.get("/", params={"per_page": "4", "page": "3"})
    a, b, c = agency_ids(first.text), agency_ids(second.text), agency_ids(third.text)
    assert (len(a), len(b), len(c)) == (4, 4, 1)
    assert not set(a) & set(b) and not set(b) & set(c)
    assert "第 2 / 3 页" in second.text
    assert 'rel="next" href="/?year=2021&amp;page=3&amp;per_page=4"' in second.text
    assert client.get("/", params={"per_page": "4", "page": "9"}).status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"status": "late' OR '1'='1"},
        {"year": "2021 OR 1=1"},
        {"sort": "agency; DROP TABLE agencyyearstatus"},
        {"sort": "(SELECT 1)"},
        {"dir": "desc; --"},
        {"kind": "x"},
        {"inconsistent": "1"},
        {"page": "-1"},
        {"per_page": "100000"},
    ],
)
def test_bad_filters_are_refused_clearly(client, seeded, params):
    r = client.get("/", params=params)
    assert r.status_code == 400
    assert "请求未能完成" in r.text
    assert inspect(seeded.engine).has_table("agencyyearstatus")


def test_sql_in_search_is_just_text(client, seeded):
    for q in ("' OR 1=1 --", "x'); DROP TABLE agencyyearstatus; --", '" OR ""="'):
        r = client.get("/", params={"q": q})
        assert r.status_code == 200
        assert agency_ids(r.text) == []
    with seeded.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM agencyyearstatus")).scalar() == 10


def test_region_chart_counts_and_rate(client):
    r = client.get("/", params={"region": "山东省"})
    # one level below 山东省: 淄博市 (3 rows: 1 late, 1 on_time, 1 missing), 济南市 (1 unknown), 淄博市2 (1)
    assert re.search(r"<bdi>淄博市</bdi></a>.*?3 条，按时率 33%", r.text, re.S)
    assert re.search(r"<bdi>济南市</bdi></a>.*?1 条</span>", r.text, re.S)  # unknown only: no rate
    assert '<rect class="s-late"' in r.text


def test_api_status_matches_the_cli_rows(client, seeded):
    r = client.get("/api/status", params={"year": 2021, "as_of": "2022-06-01"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    objects = r.json()
    try:
        from monitor.status.table import status_objects
    except ImportError:
        status_objects = None
    if status_objects is not None:
        with Session(seeded.engine) as s:
            expected = status_objects(s, seeded.config, year=2021, as_of=date(2022, 6, 1))
        assert objects == json.loads(json.dumps(expected, ensure_ascii=False))
    else:
        assert {o["agency_id"] for o in objects} == set(agency_ids(client.get("/").text))
    for o in objects:
        assert list(o)[:5] == ["agency_id", "agency", "region", "year", "status"]
        assert o["year"] == 2021


def test_api_status_bad_date_is_400_json(client):
    r = client.get("/api/status", params={"as_of": "yesterday"})
    assert r.status_code == 400
    assert "error" in r.json()


def test_export_csv_has_bom_filters_and_no_formulas(client):
    r = client.get("/export.csv", params={"region": "湖南省"})
    assert r.status_code == 200
    assert r.content.startswith(b"\xef\xbb\xbf")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert {row["机关编号"] for row in rows} == {"huaihua-cz", "hostile", "rtl", "formula"}
    formula = next(row for row in rows if row["机关编号"] == "formula")
    assert formula["机关"] == "'" + FORMULA  # a spreadsheet will not evaluate it
    hostile = next(row for row in rows if row["机关编号"] == "hostile")
    assert hostile["机关"] == HOSTILE and hostile["规则编号"] == "s4.total"
    assert hostile["数据一致性"].startswith("不一致") and hostile["截止日"] == "2022-01-31"
    assert hostile["状态"] == "逾期发布" and hostile["类型"] == "部门"


def test_export_xlsx_opens_and_matches_filters(client):
    r = client.get("/export.xlsx", params={"status": "late"})
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content), read_only=True).active
    rows = list(ws.values)
    header, body = rows[0], rows[1:]
    assert header[0] == "机关编号"
    assert sorted(r[0] for r in body) == ["hostile", "zichuan-zsj"]
    i = header.index("发布日期")
    assert {r[i].date() for r in body} == {date(2022, 2, 3), date(2022, 2, 20)}  # real dates


def test_static_css_is_served(client):
    r = client.get("/static/style.css")
    assert r.status_code == 200 and "@media" in r.text


def test_empty_database_gives_an_empty_page(tmp_path):
    from domain.config import Config

    config = Config(
        path=tmp_path / "c.yaml", database_url=f"sqlite:///{tmp_path / 'e.db'}", archive_dir=tmp_path
    )
    c = TestClient(create_app(config))
    r = c.get("/")
    assert r.status_code == 200 and "没有符合全部条件的记录" in r.text and "尚无检查结果" in r.text
    assert c.get("/api/status").json() == []
    assert c.get("/api/status", params={"limit": 10}).json() == []
    assert c.get("/export.csv").content.decode("utf-8-sig").splitlines()[0].startswith("机关编号,机关,地区")
