"""A portal read's verdict (complete or why not), dead runs told from anywhere, portal locks, and the small
rules the spider decides by (a URL in the portal, a known URL due again)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from crawler.portal.settings import domain_names, url_in_domains
from crawler.portal.spiders.portal import revalidation_due
from crawler.portal.tracking import PortalTracker
from storage.crawl_state import (
    STALE_AFTER,
    acquire_portal_locks,
    beat,
    complete_read,
    crawls_in_progress,
    listing_snapshots,
    mark_dead_runs,
    run_is_dead,
)
from storage.db import init_db, make_engine
from storage.models import CrawlRun, ListingSnapshot, PortalLock, PortalRead
from storage.types import utcnow


@pytest.fixture
def engine(tmp_path):
    e = make_engine(f"sqlite:///{tmp_path / 'gkwatch.db'}")
    init_db(e)
    yield e
    e.dispose()


def _tracker_with(portal: str = "p"):  # noqa: ANN202
    t = PortalTracker()
    meta: dict = {"gkwatch_portal": portal}
    t.open(portal, meta, listing=True)
    return t, meta


def test_a_read_is_complete_only_when_every_listing_page_was_read_and_nothing_cut_it():
    t, meta = _tracker_with()
    t.listing_read("p", 3)
    t.close(meta)
    assert t.reads["p"].outcome() == (True, "finished")
    assert t.reads["p"].outcome(interrupted=True) == (False, "interrupted")

    t, meta = _tracker_with()
    t.listing_read("p", 3)
    assert t.reads["p"].outcome() == (False, "interrupted")  # a request still open: not done

    t, meta = _tracker_with()
    t.listing_read("p", 3)
    assert t.limit("p", "max_listing_pages_per_portal", "u") and not t.limit(
        "p", "max_listing_pages_per_portal", "v"
    )
    t.close(meta)
    assert t.reads["p"].outcome() == (False, "limit")

    t, meta = _tracker_with()
    t.listing_failed("p", "blocked")
    t.close(meta)
    assert t.reads["p"].outcome() == (False, "blocked")  # nothing read at all: how the first page failed

    t, meta = _tracker_with()
    t.listing_read("p", 3)
    t.listing_failed("p", "unreachable")  # pagination broken half-way
    t.close(meta)
    assert t.reads["p"].outcome() == (False, "listing_failed")


def test_a_portal_is_done_once_when_its_last_request_ends():
    ended = []
    t = PortalTracker(on_done=ended.append)
    a, b = {"gkwatch_portal": "p"}, {"gkwatch_portal": "p"}
    t.open("p", a, listing=True)
    t.open("p", b)
    t.close(a)
    assert ended == [] and t.unfinished() == ["p"]
    t.close(b)
    t.close(b)
    assert ended == ["p"] and t.unfinished() == []
    assert (t.reads["p"].pages, t.reads["p"].listing_requests) == (2, 1)


def test_same_host_on_a_port_is_in_the_portal_and_other_hosts_are_not():
    domains = ["127.0.0.1"]
    assert url_in_domains("http://127.0.0.1:8080/b.html", domains)
    assert url_in_domains("http://www.zichuan.gov.cn/a", ["zichuan.gov.cn"])
    assert not url_in_domains("http://127.0.0.99:9/x", domains)
    assert not url_in_domains("http://evilzichuan.gov.cn/a", ["zichuan.gov.cn"])
    # an entry naming a port holds that port only
    assert url_in_domains("http://host:8080/a", ["host:8080"]) and not url_in_domains(
        "http://host:9090/a", ["host:8080"]
    )
    assert url_in_domains("http://host/a", ["host:80"])
    assert domain_names(["host:8080", "a.gov.cn"]) == ["host", "a.gov.cn"]


def test_known_urls_come_due_between_half_and_all_of_the_cadence():
    now = utcnow()
    urls = [f"http://p/t{i}.html" for i in range(200)]
    assert all(revalidation_due(u, now - timedelta(days=7), 7, now) for u in urls)
    assert not any(revalidation_due(u, now - timedelta(days=3.4), 7, now) for u in urls)
    due = sum(revalidation_due(u, now - timedelta(days=5), 7, now) for u in urls)
    assert 0 < due < len(urls)  # spread: not all on the same day
    assert revalidation_due(urls[0], now, 0, now) and revalidation_due(urls[0], None, 7, now)


def test_a_run_whose_heartbeat_stopped_is_dead_from_any_host(engine):
    now = utcnow()
    with Session(engine) as s:
        quiet = CrawlRun(host="elsewhere", pid=1, heartbeat_at=now - STALE_AFTER - timedelta(seconds=1))
        alive = CrawlRun(host="elsewhere", pid=1, heartbeat_at=now - timedelta(seconds=30))
        s.add_all([quiet, alive])
        s.commit()
        assert run_is_dead(quiet, now) and not run_is_dead(alive, now)
        assert crawls_in_progress(s, now) == [alive.id]
        s.add(PortalRead(run_id=quiet.id, portal_id="p", started_at=now))  # begun, never ended
        s.commit()
        assert mark_dead_runs(s, now) == [quiet.id]
        s.commit()
        read = s.exec(select(PortalRead)).one()
        assert (read.complete, read.end_reason) == (False, "interrupted") and read.finished_at is not None
        assert s.get(CrawlRun, quiet.id).status == "interrupted"
        alive_id = alive.id
    beat(engine, alive_id, now + STALE_AFTER)
    with Session(engine) as s:
        assert crawls_in_progress(s, now + STALE_AFTER + timedelta(seconds=1)) == [alive_id]


def test_one_run_per_portal_and_a_dead_holder_is_taken_over(engine):
    now = utcnow()
    with Session(engine) as s:
        first, second, third = (
            CrawlRun(heartbeat_at=now),
            CrawlRun(heartbeat_at=now),
            CrawlRun(heartbeat_at=now),
        )
        s.add_all([first, second, third])
        s.flush()
        assert acquire_portal_locks(s, first.id, ["a", "b"], now) == {}
        assert acquire_portal_locks(s, second.id, ["b", "c"], now) == {"b": first.id}
        # the first run dies (its heartbeat stops, on another machine): its lock is taken over
        first.host, first.heartbeat_at = "elsewhere", now - STALE_AFTER * 2
        s.execute(PortalLock.__table__.update().where(PortalLock.run_id == first.id).values(
            host="elsewhere", heartbeat_at=now - STALE_AFTER * 2))  # fmt: skip
        assert acquire_portal_locks(s, third.id, ["a", "b", "c"], now) == {"c": second.id}
        holders = {lock.portal_id: lock.run_id for lock in s.exec(select(PortalLock))}
        assert holders == {"a": third.id, "b": third.id, "c": second.id}


def test_was_the_listing_read_completely_after_a_time_and_by_which_run(engine):
    now = utcnow()
    due = now - timedelta(days=2)
    with Session(engine) as s:
        for run_id, started, complete in ((1, due - timedelta(hours=1), True), (2, due + timedelta(hours=1), False),
                                          (3, due + timedelta(hours=5), True)):  # fmt: skip
            s.add(PortalRead(run_id=run_id, portal_id="p", started_at=started, finished_at=started + timedelta(minutes=5),
                             complete=complete, listing_pages=2, end_reason="finished" if complete else "limit"))  # fmt: skip
            s.add(
                ListingSnapshot(
                    portal_id="p", url="http://p/nb/", fetched_at=started, report_urls=[], run_id=run_id
                )
            )
        s.commit()
        read = complete_read(s, "p", due)
        assert read is not None and read.run_id == 3  # run 1 began before the due date, run 2 was cut short
        assert [snap.run_id for snap in listing_snapshots(s, read)] == [3]
        assert complete_read(s, "p", now) is None


def test_a_listing_is_read_up_to_its_breadth_bound_and_says_it_was_cut():
    from crawler.portal.platforms import get_platform
    from crawler.portal.platforms.base import parse_listing_html

    items = "".join(f'<li><a href="./t20250101_{i}.html">第{i}局2024年度报告</a></li>' for i in range(50))
    page = f"<html><body><ul>{items}</ul><script>createPageHTML(100000, 0, 'index', 'html');</script></body></html>"
    trs = get_platform("trs")
    whole = trs.listing("http://p/nb/index.html", page)
    cut = trs.listing("http://p/nb/index.html", page + " ", max_links=20)
    assert len(whole.reports) == 50 and not whole.truncated and len(whole.pages) == 99_999
    assert len(cut.reports) == 20 and cut.truncated and len(cut.pages) == 20  # a runaway page count, cut too
    many = "".join(f'<li><a href="./t20250101_{i}.html">第{i}局2024年度报告</a></li>' for i in range(30_000))
    big = f"<html><body><ul>{many}</ul></body></html>"  # > 1 M characters: parsed in steps, up to the bound
    assert len(big) > 1_000_000
    tree = parse_listing_html(big, 20)
    assert 21 <= len(tree.xpath("//a")) < 10_000  # the chunk holding the 21st link, not the whole page
    assert trs.listing("http://p/nb/index.html", big, 20).truncated


def test_the_date_beside_a_link_in_its_own_cell_and_a_bare_time_line_are_read():
    from crawler.portal.platforms import get_platform
    from crawler.portal.platforms.base import read_article

    page = (
        "<html><body><div class='list'>"
        "<dl><dd><a href='./202202/t20220208_80613.htm'>平潭综合实验区2021年度政府信息公开工作年度报告</a></dd>"
        "<dd>2022-02-08</dd></dl>"
        "<dl><dd><a href='./202103/t20210305_80595.htm'>平潭综合实验区2020年度政府信息公开工作年度报告</a></dd>"
        "<dd>2021-03-05</dd></dl></div></body></html>"
    )
    listing = get_platform("trs").listing("http://p/nb/", page)
    assert [r.date_text for r in listing.reports] == ["2022-02-08", "2021-03-05"]
    article = read_article("http://p/a.htm", "<html><body><span>时间：2022-02-08 16:34</span></body></html>")
    assert article.pub_text == "2022-02-08"  # the date (the time is in the PubDate meta)
