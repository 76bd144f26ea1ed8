"""Region by any prefix or name, search by name and alias (an index, kept by triggers), empty results that
explain themselves, the phone's sort control — and the summary's counts equal to a GROUP BY of the table."""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from monitor.web import create_app
from monitor.web.queries import StatusFilter, count_rows, match_of, scope_of
from monitor.web.search import indexed
from monitor.web.summary import build, generation
from storage.db import session_scope
from storage.models import Agency, AgencyYearStatus
from tests.web.seed import Seeded, seed


@pytest.fixture
def app_client(tmp_path) -> tuple[Seeded, TestClient]:  # noqa: ANN001
    s = seed(tmp_path)
    return s, TestClient(create_app(s.config, engine=s.engine))


def ids(html: str) -> set[str]:
    return set(re.findall(r'class="name"><a href="/agency/([^"]+)"', html))


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("淄博市", {"zichuan-zsj", "zichuan-gov", "zhangdian-jyj"}),  # a city by its name
        ("淄川区", {"zichuan-zsj", "zichuan-gov"}),  # a county by its name
        ("淄博市/淄川区", {"zichuan-zsj", "zichuan-gov"}),  # the end of a path
        ("山东省/淄博市", {"zichuan-zsj", "zichuan-gov", "zhangdian-jyj"}),  # a full prefix
        ("怀化市", {"huaihua-cz", "hostile", "rtl", "formula"}),  # its own bureau and its county's
        ("淄博", set()),  # whole segments only
    ],
)
def test_region_by_any_prefix_or_name(app_client, region, expected):
    _, client = app_client
    assert ids(client.get("/", params={"region": region}).text) == expected


def test_an_unknown_region_says_so(app_client):
    _, client = app_client
    html = client.get("/", params={"region": "不存在区"}).text
    assert "没有名为「<bdi>不存在区</bdi>」的地区" in html
    assert "去掉 地区「不存在区」" in html


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("淄川招商", {"zichuan-zsj"}),  # an alias, four characters: the trigram index
        ("区招商局", {"zichuan-zsj"}),  # an alias that is also part of the name
        ("招商", {"zichuan-zsj"}),  # two characters: the index's own text, scanned
        ("教育局", {"zhangdian-jyj"}),
        ("不存在的机关", set()),
    ],
)
def test_search_by_name_and_alias(app_client, q, expected):
    _, client = app_client
    assert ids(client.get("/", params={"q": q}).text) == expected


def test_the_index_follows_the_registry(app_client):
    """Agencies added, renamed or removed after the app started (another process's check) are found as
    they are now: the triggers keep the index."""
    s, client = app_client
    now = datetime(2023, 1, 1, tzinfo=UTC)
    with session_scope(s.engine) as db:
        db.add(Agency(id="new-1", name="周村区审计局", aliases=["周村审计"], region="山东省/淄博市/周村区"))
        db.add(
            AgencyYearStatus(agency_id="new-1", year=2021, agency="周村区审计局", region="山东省/淄博市/周村区",
                             status="missing", due=date(2022, 1, 31), computed_at=now)
        )  # fmt: skip
        renamed = db.get(Agency, "zhangdian-jyj")
        renamed.name = "张店区教体局"
        db.add(renamed)
    assert ids(client.get("/", params={"q": "周村审计"}).text) == {"new-1"}
    assert ids(client.get("/", params={"q": "教育局"}).text) == set()  # the old name is gone from the index
    with session_scope(s.engine) as db:
        db.delete(db.get(Agency, "new-1"))
    with s.engine.connect() as conn:
        assert indexed(conn) == conn.execute(select(func.count()).select_from(Agency)).scalar()


def test_an_empty_result_explains_itself(app_client):
    _, client = app_client
    html = client.get("/", params={"status": "late", "inconsistent": "no"}).text
    assert "没有符合全部条件的记录" in html
    hints = dict(re.findall(r"<li>去掉 (.*?)：<a href=\"([^\"]+)\">", html))
    assert set(hints) == {"状态「逾期发布」", "数据一致性「一致」"}
    # each link drops its condition and shows the rows it promised
    promised = dict(re.findall(r"<li>去掉 (.*?)：<a href=\"[^\"]+\">有 (\d+) 条</a>", html))
    for what, href in hints.items():
        page = client.get(href.replace("&amp;", "&")).text
        assert f'id="total-count">{promised[what]}<' in page
    assert "“不一致”只指" not in html
    assert "“不一致”只指" in client.get("/", params={"inconsistent": "yes", "kind": "government"}).text


def test_phone_users_can_sort(app_client):
    """The column headers are hidden on a phone: the form has the sort and its direction."""
    _, client = app_client
    html = client.get("/", params={"sort": "published", "dir": "desc"}).text
    assert '<option value="published" selected>发布日期</option>' in html
    assert '<option value="desc" selected>降序</option>' in html


def test_summary_counts_equal_the_table(tmp_path):
    """The in-memory counts of one generation against COUNT(*) of the same filters, at random."""
    s = seed(tmp_path)
    rng = random.Random(5)
    with s.engine.connect() as conn:
        summary = build(conn, generation(conn))
        regions = ["", "山东省", "淄博市", "淄川区", "湖南省/怀化市", "鹤城区", "山东省/淄博市2"]
        for _ in range(200):
            f = StatusFilter(
                region=rng.choice(regions),
                kind=rng.choice(["", "department", "government", "township"]),
                year=rng.choice([None, 2020, 2021]),
                status=rng.choice(["", "late", "missing", "on_time", "unknown", "not_due"]),
                inconsistent=rng.choice(["", "yes", "no", "unknown"]),
            )
            scope = scope_of(f, summary, "like")
            want = count_rows(conn, f, scope)
            regions_counted = summary.region_counts(f.year, scope.regions, match_of(f))
            assert sum(r.total for r in regions_counted) == want, f
            assert summary.total(f.year, scope.regions, match_of(f)) == want, f
