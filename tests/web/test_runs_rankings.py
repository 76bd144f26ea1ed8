"""Freshness on every page, the crawl-runs page with its per-portal recrawl, and the rankings."""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from domain.config import ScheduleSettings
from monitor import scheduler
from monitor.web import create_app
from monitor.web.freshness import next_crawl
from monitor.web.routes_runs import ranking
from monitor.web.summary import build, generation
from storage.db import session_scope
from storage.models import CrawlProblem, CrawlRun, Fetch, ListingSnapshot, PortalRead, Report, ReportVersion
from tests.web.conftest import login
from tests.web.evidence_seed import build as build_judged


@pytest.mark.parametrize("seed", range(6))
def test_next_crawl_is_the_schedulers_rule(seed):
    """The time the page announces is the first at which ``scheduler.crawl_due`` says yes."""
    rng = random.Random(seed)
    s = ScheduleSettings(season_every_days=rng.choice([1, 2]), off_season_every_days=rng.choice([3, 7]),
                         hour=rng.randint(0, 23))  # fmt: skip
    for _ in range(40):
        now = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 60 * 24 * 365))
        last = now - timedelta(minutes=rng.randint(0, 60 * 24 * 12))
        at = next_crawl(last, s, now)
        assert at >= now
        assert scheduler.crawl_due(at, last, s), (last, now, at)
        if at > now:  # not due a minute before
            assert not scheduler.crawl_due(at - timedelta(minutes=1), last, s), (last, now, at)
    assert next_crawl(None, s, now) == now  # never crawled: now


@pytest.fixture(scope="module")
def judged(tmp_path_factory):  # noqa: ANN001, ANN201
    j = build_judged(tmp_path_factory.mktemp("runs"))
    run = _a_crawl_run(j.engine)
    j.runs["crawl"] = run
    return j


def _a_crawl_run(engine) -> int:  # noqa: ANN001
    """A run of both portals: 淄博 read to the end with 3 listing pages, a new report and a changed one;
    怀化 blocked (two problems); finished 95 seconds after it began."""
    t0 = datetime(2022, 5, 1, 2, 0, tzinfo=UTC)
    with session_scope(engine) as s:
        run = CrawlRun(
            started_at=t0, finished_at=t0 + timedelta(seconds=95), status="finished", portal_ids=["zb", "hh"]
        )
        s.add(run)
        s.flush()
        s.add(PortalRead(run_id=run.id, portal_id="zb", started_at=t0, finished_at=t0 + timedelta(seconds=60),
                         complete=True, listing_pages=3, report_links=5, end_reason="finished"))  # fmt: skip
        s.add(PortalRead(run_id=run.id, portal_id="hh", started_at=t0, finished_at=t0 + timedelta(seconds=5),
                         complete=False, end_reason="blocked"))  # fmt: skip
        for n in range(3):
            s.add(
                ListingSnapshot(
                    portal_id="zb", url=f"http://zb.example/list_{n}.html", fetched_at=t0, run_id=run.id
                )
            )
        for k in ("blocked", "blocked"):
            s.add(
                CrawlProblem(
                    run_id=run.id, portal_id="hh", url="http://hh.example/", kind=k, detail="HTTP 403", at=t0
                )
            )
        s.add(
            Fetch(
                url="http://zb.example/x.html", sha256="0" * 64, run_id=run.id, portal_id="zb", fetched_at=t0
            )
        )
        new = Report(url="http://zb.example/new.html", portal_id="zb", first_seen=t0 + timedelta(seconds=30),
                     last_seen=t0 + timedelta(seconds=30))  # fmt: skip
        old = s.exec(
            __import__("sqlmodel").select(Report).where(Report.url == "http://zb.example/zc-zsj/2021.html")
        ).one()
        s.add(new)
        s.add(ReportVersion(report_id=old.id, sha256="changed", fetched_at=t0 + timedelta(seconds=40)))
        return run.id


@pytest.fixture(scope="module")
def client(judged) -> TestClient:  # noqa: ANN001
    return TestClient(create_app(judged.config, engine=judged.engine))


@pytest.mark.parametrize(
    "path", ["/", "/agency/zc-zsj", "/agency/zc-zsj/2021", "/rankings", "/runs", "/login"]
)
def test_freshness_on_every_page(client, path):
    html = client.get(path).text
    fresh = re.search(r'<p class="fresh".*?</p>', html, re.S)
    assert fresh, path
    text = re.sub(r"<[^>]+>|\s+", " ", fresh[0])
    assert "最近抓取：2022-05-01 10:00（北京时间）" in text  # the latest run, Beijing time
    assert re.search(r"最近检查：\d{4}-\d\d-\d\d \d\d:\d\d（北京时间）", text)
    assert "下次抓取：约 " in text


def test_runs_page_per_run_and_portal(client, judged):
    html = client.get("/runs").text
    run = re.search(
        rf'<section class="card run run-finished" id="run{judged.runs["crawl"]}">.*?</section>', html, re.S
    )[0]
    rows = {
        m[0]: m[1] for m in re.findall(r'<tr>\s*<td data-label="网站"><bdi>(.*?)</bdi>(.*?)</tr>', run, re.S)
    }
    zb, hh = rows["淄博市人民政府"], rows["怀化市人民政府"]
    assert "已读完" in zb and '<td data-label="栏目页">3' in zb and '<td data-label="新报告">1</td>' in zb
    assert '<td data-label="有变动">1</td>' in zb and '<td data-label="用时">60 秒</td>' in zb
    assert "抓取被拦截 2" in hh and '<td data-label="栏目">' in hh and "已读完" not in hh
    assert "用时 1.6 分钟" in run
    assert 'http-equiv="refresh"' not in html  # nothing running: no refresh


def test_recrawl_one_portal(judged):
    """An operator's per-portal button reaches the service's trigger with the portal's id; the run page
    refreshes itself while a run is going."""
    calls: list[tuple] = []

    def trigger(*args: str) -> bool:
        calls.append(args)
        return True

    app = create_app(judged.config, engine=judged.engine, crawl_trigger=trigger)
    c = TestClient(app)
    assert c.post("/actions/crawl", data={"portal": "zb"}).status_code in (401, 403)  # not logged in
    login(c)
    page = c.get("/runs").text
    token = re.search(r'name="csrf" value="([^"]+)"', page)[1]
    assert 'name="portal" value="zb"' in page and 'name="portal" value="hh"' in page
    r = c.post("/actions/crawl", data={"csrf": token, "portal": "zb"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/runs"
    assert calls == [("zb",)]
    assert "抓取请求：淄博市人民政府：已开始抓取" in c.get("/runs").text
    assert c.post("/actions/crawl", data={"csrf": token, "portal": "nope"}).status_code == 400
    with session_scope(judged.engine) as s:
        s.add(CrawlRun(started_at=datetime.now(UTC), status="running", portal_ids=["zb"]))
    page = c.get("/runs").text
    assert '<meta http-equiv="refresh" content="5">' in page and "正在抓取" in page


def test_rankings_rates_and_year_over_year(judged):
    with judged.engine.connect() as conn:
        summary = build(conn, generation(conn))
    ranked, total = ranking(summary, 2021, 2, None, "on_time")
    assert total == len(ranked) == 2
    by = {r.rc.region: r for r in ranked}
    # 淄博市: zsj late, jyj on time, gov missing, 张店 czj late, 张店 jyj on time → 2 of 5 on time
    assert by["山东省/淄博市"].rc.judged == 5 and by["山东省/淄博市"].value == pytest.approx(2 / 5)
    assert by["湖南省/怀化市"].value is None  # only unknown: nothing to rate, ranked last
    assert ranked[-1].rc.region == "湖南省/怀化市"
    assert by["山东省/淄博市"].rc.inconsistent_rate == pytest.approx(1 / 4)  # 1 of 4 published
    counties, _ = ranking(summary, 2021, 3, ["山东省/淄博市"], "missing")
    assert ranking(summary, 2021, 3, ["山东省/淄博市"], "missing", limit=1)[0] == counties[:1]
    assert [r.rc.label for r in counties] == ["张店区", "淄川区"]  # fewer missing ranks first


def test_rankings_page_chart_and_table(client):
    html = client.get("/rankings", params={"year": 2021, "depth": 2}).text
    assert "地区排名：按时率（2021 年度报告）" in html
    assert '<svg class="rankchart"' in html and "<script" not in html
    assert re.search(r"<rect class=\"val m-on_time\"[^>]+width=\"224.0\"", html)  # 40 % of 560 px
    assert "40.0%" in html and "样本少" in html
    assert client.get("/rankings", params={"by": "x"}).status_code == 400
    assert client.get("/rankings", params={"region": "没有这里"}).status_code == 404
    assert client.get("/rankings", params={"region": "淄博市", "by": "inconsistent"}).status_code == 200


def test_rankings_year_over_year(tmp_path):
    """Two years of one region: the change in percentage points, and the history table."""
    j = build_judged(tmp_path)
    with session_scope(j.engine) as s:
        from storage.models import AgencyYearStatus

        for row in s.exec(__import__("sqlmodel").select(AgencyYearStatus)).all():
            copy = AgencyYearStatus(**{**row.model_dump(), "year": 2020, "status": "on_time",
                                       "due": date(2021, 1, 31), "computed_at": row.computed_at})  # fmt: skip
            s.add(copy)
    c = TestClient(create_app(j.config, engine=j.engine))
    html = c.get("/rankings", params={"year": 2021, "depth": 2}).text
    row = re.search(
        r"<tr>\s*<td data-label=\"名次\">\d+</td>\s*<td data-label=\"地区\"><a[^>]*><bdi>山东省/淄博市</bdi>.*?</tr>",
        html,
        re.S,
    )[0]
    assert "100.0%" in row and "-60.0 个百分点" in row  # 2020: all on time; 2021: 40 %
    assert "<h2>历年按时率</h2>" in html


def test_the_service_queues_a_crawl_of_one_portal(tmp_path):
    """``Service.trigger_crawl_now("zb")`` (what the per-portal button calls): one job, crawling that portal."""
    import asyncio

    import yaml

    from domain.config import load_config
    from monitor.service import Service

    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "database": {"url": f"sqlite:///{tmp_path / 'gk.db'}"},
                "portals": [{"id": "zb", "start_urls": ["http://zb.example/"]}],
            }
        ),
        encoding="utf-8",
    )
    config = load_config(path)

    async def press() -> tuple:
        service = Service(config)
        service.start(paused=True)  # the job is queued, not run
        try:
            answers = (service.trigger_crawl_now("zb"), service.trigger_crawl_now())
            job = service.scheduler.get_job(scheduler.CRAWL_NOW_JOB, jobstore="memory")
            return answers, job.kwargs
        finally:
            service.stop()
            await asyncio.sleep(0)

    answers, kwargs = asyncio.run(press())
    assert answers == (True, False)  # a second press while one waits is refused
    assert kwargs == {"crawl": True, "portal_ids": ["zb"]}


def test_a_cycle_of_one_portal_crawls_only_it(tmp_path, monkeypatch):
    import asyncio

    import yaml

    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump({"database": {"url": f"sqlite:///{tmp_path / 'gk.db'}"}}), encoding="utf-8"
    )
    calls: list[list[str]] = []

    async def fake_gkwatch(args: list[str], timeout_s: float) -> int:
        calls.append(args)
        return 0

    monkeypatch.setattr(scheduler, "run_gkwatch", fake_gkwatch)
    monkeypatch.setattr(scheduler, "queue_and_deliver", lambda *a, **k: {})
    asyncio.run(scheduler.run_cycle(str(path), True, portal_ids=["zb"]))
    assert calls == [["crawl", "--config", str(path), "--portal", "zb"]]
