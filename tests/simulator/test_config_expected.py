"""The written config loads with gkwatch's own loader; ``expected`` follows the deadline rules and the
scenario hooks."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from domain.config import load_config
from monitor.status.deadlines import DeadlineEngine
from testbed.simulator import SamplePortals
from testbed.simulator.content import report_spec
from testbed.simulator.scenario import AGENCIES
from tests.simulator.conftest import fetch

AS_OF = date(2026, 11, 27)


def test_config_loads_and_points_at_the_running_portals(sim, tmp_path):
    path = sim.write_config(tmp_path, delay_seconds=0.25)
    cfg = load_config(path)
    assert cfg.database_url == f"sqlite:///{(tmp_path / 'gkwatch.db').resolve()}"
    assert cfg.archive_dir == (tmp_path / "archive").resolve()
    assert cfg.crawl.delay_seconds == 0.25 and cfg.crawl.obey_robots is True
    assert cfg.crawl.timeout_seconds < sim.slow_seconds  # the slow page must time out
    assert {p.id for p in cfg.portals} == {p.id for p in sim.portals}
    for p in cfg.portals:
        host = sim.scenario.portal(p.id).host
        assert p.allowed_domains == [host]
        assert all(u.startswith(f"http://{host}:") for u in p.start_urls)
        assert fetch(p.start_urls[0]).status in (200, 403)
    assert len(cfg.agencies) >= 15
    zsj = next(a for a in cfg.agencies if a.id == "zichuan-zsj")
    assert zsj.aliases == ["区招商局"] and zsj.region == "山东省/淄博市/淄川区" and zsj.portal == "zichuan"
    assert {a.kind for a in cfg.agencies} == {"department", "township", "government"}
    assert [s.regions for s in cfg.alerts.subscribers] == [["山东省"], ["湖南省/怀化市"]]
    assert cfg.alerts.smtp.host == "127.0.0.1"


def test_local_deadline_override_reaches_the_engine(sim, tmp_path):
    engine = DeadlineEngine.from_config(load_config(sim.write_config(tmp_path)))
    assert engine.deadline("department", "湖南省/怀化市/鹤城区", 2024).due == date(2025, 1, 28)
    assert engine.deadline("department", "湖南省/怀化市/鹤城区", 2025).due == date(2026, 1, 31)
    assert engine.deadline("government", "山东省/淄博市/淄川区", 2024).due == date(2025, 3, 31)
    # the report dated 29 January is late only because of the local notice
    assert sim.expected(AS_OF)[("hecheng-fgj", 2024)].status == "late"


def test_expected_covers_every_agency_year_with_every_status(sim):
    exp = sim.expected(AS_OF, crawl_day=AS_OF)
    assert set(exp) == {(a.id, y) for a in sim.scenario.agencies for y in sim.scenario.years}
    assert {e.status for e in exp.values()} == {"on_time", "late", "undated", "missing", "unknown"}
    assert {e.crawl_problem for e in exp.values()} == {None, "blocked", "robots", "parse_failed"}
    assert {e.published_evidence for e in exp.values()} == {
        None,
        "page_meta",
        "page_text",
        "listing_date",
        "http_header",
    }
    # undated reports: one crawl after the due date proves nothing (undated); one before it, on time
    undated = {k for k, e in exp.items() if e.status == "undated"}
    assert undated
    early = sim.expected(AS_OF, crawl_day=date(2026, 3, 1))  # a crawl before the governments' 31 March
    assert {(early[k].status, early[k].published_evidence) for k in undated} == {("on_time", "first_seen")}
    ruled = set().union(*(e.rules for e in exp.values()))
    assert {
        "s3.row_total",
        "cell.not_number",
        "template.outdated",
        "history.carry_over",
        "copy.previous_year",
    } <= ruled
    assert exp[("zichuan-gov", 2025)].status == "late"  # a government past 31 March
    assert exp[("zichuan-slj", 2024)].status == "on_time"  # on the due day itself
    assert (exp[("hecheng-gov", 2025)].status, exp[("hecheng-gov", 2025)].published) == (
        "undated",
        None,
    )  # no date, seen late
    assert exp[("zichuan-jyj", 2024)].inconsistent is True


def test_expected_as_of_an_earlier_day():
    with SamplePortals(prepare=False) as fresh:
        exp = fresh.expected(date(2026, 1, 25), crawl_day=date(2026, 11, 27))
    assert exp[("zichuan-zsj", 2025)].status == "not_due"
    assert exp[("zichuan-czj", 2025)].status == "not_due"  # not yet published, not yet due
    assert exp[("hecheng-gov", 2025)].status == "not_due"
    assert exp[("zichuan-czj", 2024)].status == "missing"


def test_hooks_change_what_is_served_and_expected():
    with SamplePortals(prepare=False) as fresh:
        site = fresh.sites["zichuan"]
        r = fresh.report_entry("zichuan-hsz", 2024)
        url = fresh.base_url("zichuan") + site.article_path(r)
        before, cells_before = fetch(url).body, report_spec(fresh.scenario, r).cells
        fresh.edit_report("zichuan-hsz", 2024)
        after = fetch(url).body
        assert after != before and "更正" in after.decode("gbk")
        assert report_spec(fresh.scenario, r).cells == cells_before  # a wording change, same figures

        assert fresh.expected(AS_OF)[("zichuan-czj", 2024)].status == "missing"
        fresh.publish_backdated("zichuan-czj", 2024, date(2025, 1, 30))
        e = fresh.expected(AS_OF)[("zichuan-czj", 2024)]
        assert (e.status, e.published, e.published_evidence) == ("on_time", date(2025, 1, 30), "page_meta")
        new = fresh.report_entry("zichuan-czj", 2024)
        listing = fetch(fresh.base_url("zichuan") + "/zwgk/zfxxgknb/nd2024/index.html").body.decode("gbk")
        assert site.article_path(new).rsplit("/", 1)[-1] in listing
        assert fetch(fresh.base_url("zichuan") + site.article_path(new)).status == 200

        fresh.set_portal_state("zichuan", "down")
        e = fresh.expected(AS_OF)
        assert (
            e[("zichuan-zsj", 2024)].status == "unknown"
            and e[("zichuan-zsj", 2024)].crawl_problem == "unreachable"
        )


def test_report_urls_and_discovered(sim):
    page, document = sim.report_urls("zichuan-zsj", 2024)
    assert page.endswith(".html") and document.endswith(".docx") and page != document
    assert fetch(document).status == 200
    page, document = sim.report_urls("hecheng-fgj", 2025)  # linked straight from the listing
    assert page == document and document.endswith(".docx")
    assert sim.report_urls("zichuan-czj", 2024) is None
    [(name, year, url)] = sim.discovered()
    assert (name, year) == ("淄川区融媒体中心", 2024)
    assert name in fetch(url).body.decode("gbk")


def test_backdated_report_on_a_generic_portal_is_dated_beside_its_link():
    with SamplePortals(prepare=False) as fresh:
        fresh.publish_backdated("hecheng-wjj", 2025, date(2026, 1, 20))
        e = fresh.expected(AS_OF)[("hecheng-wjj", 2025)]
        assert (e.status, e.published_evidence) == ("on_time", "listing_date")
        listing = fetch(fresh.base_url("hecheng") + "/xxgk/zfxxgknb/szbm/index.shtml").body.decode()
        assert "鹤城区卫生健康局2025年政府信息公开工作年度报告" in listing and "2026-01-20" in listing


def test_fewer_years_drop_history_findings_that_need_last_year():
    with SamplePortals(years=(2024,), prepare=False) as fresh:
        exp = fresh.expected(AS_OF)
    assert set(exp) == {(a.id, 2024) for a in AGENCIES if a.portal in {p.id for p in fresh.portals}}
    hsz = exp[("zichuan-hsz", 2024)]  # its carry-over defect has no 2023 report to disagree with
    assert hsz.rules == frozenset() and hsz.inconsistent is False
    assert exp[("zichuan-jyj", 2024)].rules == {"s3.row_total"}


def test_backdated_report_fits_between_its_neighbours():
    from monitor.judgement.history import history_findings
    from monitor.judgement.report import parse_bytes

    with SamplePortals(prepare=False) as fresh:
        site = fresh.sites["linzi"]
        later = fresh.report_entry("linzi-sjj", 2024)
        before = fetch(fresh.base_url("linzi") + site.article_path(later)).body
        fresh.publish_backdated("linzi-sjj", 2023, date(2024, 1, 31))
        assert fetch(fresh.base_url("linzi") + site.article_path(later)).body == before  # untouched
        years = {}
        for y in (2023, 2024):
            r = fresh.report_entry("linzi-sjj", y)
            years[y] = parse_bytes(fetch(fresh.base_url("linzi") + site.article_path(r)).body, "a.html")
        assert years[2023].error is None and not [f for f in years[2023].findings if f["severity"] == "error"]
        assert history_findings(years[2024], years[2023]) == []


def test_the_evidence_cases_are_served_and_expected():
    """``cases=True``: pages that fail after being listed, a listing that breaks, dates that cannot be true,
    a moving deadline extension, and the hooks ``reveal`` and ``reupload``."""
    with SamplePortals(cases=True, prepare=False) as fresh:
        today = date(2026, 12, 1)
        exp = fresh.expected(today, crawl_day=today)
        assert (exp[("huachuan-sfj", 2025)].status, exp[("huachuan-sfj", 2025)].crawl_problem) == (
            "unknown",
            "blocked",
        )
        assert exp[("huachuan-nyj", 2025)].crawl_problem == "unreachable"
        assert exp[("huachuan-rsj", 2025)].status == "missing"
        assert {exp[(a, 2025)].status for a in ("huachuan-scj", "huachuan-zjj")} == {"undated"}
        assert {exp[("huanan-hnz", y)].status for y in fresh.scenario.years} == {"unknown"}
        assert exp[("huanan-gov", 2025)].status == "on_time"
        mzj = exp[("huanan-mzj", 2025)]  # its extended due date lies a month after the crawl
        assert (mzj.status, mzj.published, mzj.published_evidence) == ("not_due", today, "first_seen")
        sfj_page = fresh.report_urls("huachuan-sfj", 2025)[0]
        assert fetch(sfj_page).status == 403
        assert fetch(fresh.report_urls("huachuan-nyj", 2025)[0]).status == 404
        first = fetch(fresh.start_urls("huanan")[0]).body.decode()
        assert "下一页" in first and fetch(fresh.base_url("huanan") + "/xxgk/ndbg/list_2.html").status == 500

        assert exp[("huachuan-yjj", 2025)].status == "missing"
        fresh.reveal("huachuan-yjj", 2025)
        page = fresh.report_urls("huachuan-yjj", 2025)[0]
        assert page.rsplit("/", 1)[-1] in fetch(fresh.start_urls("huachuan")[0]).body.decode() or any(
            page.rsplit("/", 1)[-1]
            in fetch(fresh.base_url("huachuan") + f"/xxgk/ndbg/list_{n}.html").body.decode()
            for n in range(2, 8)
        )
        wlj = fresh.report_urls("huachuan-wlj", 2025)[0]
        assert "2026-01-25" in fetch(wlj).body.decode()
        fresh.reupload("huachuan-wlj", 2025, datetime(2026, 3, 10, 9, 0))
        assert "2026-03-10" in fetch(wlj).body.decode() and fresh.report_urls("huachuan-wlj", 2025)[0] == wlj
        later = fresh.expected_after_hooks(today - timedelta(days=3), today, crawl_day=today)
        yjj, kept = later[("huachuan-yjj", 2025)], later[("huachuan-wlj", 2025)]
        assert (yjj.status, yjj.published, yjj.published_evidence) == ("late", today, "listing_absent")
        assert (kept.status, kept.published) == ("on_time", date(2026, 1, 25))
        assert (
            fresh.expected(today, crawl_day=today)[("huachuan-wlj", 2025)].status == "late"
        )  # seen only now
