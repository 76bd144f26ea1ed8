"""Portals that go quiet: the pure judgement, the verdicts it keeps honest (unknown, never missing, until the
portal is read properly again), and the operator's notice (once per quiet streak)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from monitor.alerts import queue_operator_notices
from monitor.status import quiet
from monitor.status.check import compute_rows
from storage.db import session_scope
from storage.models import ListingSnapshot, Outbox
from tests.monitor.builders import make_config, portal_read, sh, sync

REGION = "山东省/淄博市/淄川区"
A1 = ("zc-zsj", "淄川区招商局", "department", REGION)
T0 = datetime(2021, 1, 1, tzinfo=UTC)


def shape(i: int, links: int, pages: int = 1, distinct: int = 1) -> quiet.ReadShape:
    return quiet.ReadShape(i, T0 + timedelta(days=i), links, pages, distinct)


def test_a_listing_that_used_to_show_links_and_shows_none_is_quiet():
    history = [shape(1, 10), shape(2, 12), shape(3, 0)]
    assert quiet.judge(history) == {3: ("no_links", 11)}  # the median of 10 and 12


def test_far_fewer_links_is_quiet_only_against_a_real_usual():
    assert quiet.judge([shape(1, 10), shape(2, 11), shape(3, 4)]) == {3: ("far_fewer", 10.5)}
    assert quiet.judge([shape(1, 10), shape(2, 11), shape(3, 6)]) == {}  # fewer, not far fewer
    assert quiet.judge([shape(1, 2), shape(2, 2), shape(3, 1)]) == {}  # 2 → 1 may be a real change
    assert quiet.judge([shape(1, 0), shape(2, 0)]) == {}  # never showed links: nothing went quiet
    assert quiet.judge([shape(1, 0)]) == {}  # a first read has no usual


def test_every_listing_page_one_body_is_quiet_even_without_history():
    assert quiet.judge([shape(1, 30, pages=3, distinct=1)]) == {1: ("one_page", None)}
    assert quiet.judge([shape(1, 30, pages=3, distinct=3), shape(2, 30, pages=2, distinct=1)]) == {}


def test_quiet_reads_never_become_the_usual():
    history = [shape(1, 10), *(shape(i, 0) for i in range(2, 9)), shape(9, 9)]
    found = quiet.judge(history)
    assert set(found) == set(range(2, 9))  # still quiet on the 8th day: the usual is still 10
    assert 9 not in found  # read properly again


def _setup(engine):
    cfg = make_config([A1], deadlines={"first_year": 2020})
    cfg.alerts.operator = "ops@example.org"
    sync(engine, cfg)
    links = [f"http://p1.example/other-{i}.html" for i in range(10)]  # other agencies' reports, not A1's
    for day in range(1, 6):  # the usual: ten report links, before the due date
        portal_read(engine, "p1", f"2021-01-{day:02d} 10:00", report_urls=links)
    return cfg, links


def _row(engine, cfg, as_of: date):
    with session_scope(engine) as s:
        return {(r.agency_id, r.year): r for r in compute_rows(s, cfg, as_of=as_of)}[("zc-zsj", 2020)]


def _notices(engine, cfg, at: str) -> list[str]:
    with session_scope(engine) as s:
        queue_operator_notices(s, cfg, now=sh(at))
    with session_scope(engine) as s:
        return [
            o.dedupe_key for o in s.exec(select(Outbox).where(Outbox.kind == "operator").order_by(Outbox.id))
        ]


def test_a_quiet_portal_leaves_its_agencies_unknown_and_tells_the_operator_once(engine):
    cfg, links = _setup(engine)
    quiet_run = portal_read(engine, "p1", "2021-02-02 10:00", report_urls=[])  # complete, after the due date
    row = _row(engine, cfg, date(2021, 2, 3))
    assert row.status == "unknown"  # without the quiet judgement this read would prove the report missing
    assert row.crawl_problem == "incomplete"
    assert row.evidence["last_read"]["run_id"] == quiet_run
    assert row.evidence["last_read"]["end_reason"] == "quiet"
    assert _notices(engine, cfg, "2021-02-02 12:00") == [f"quiet:p1:{quiet_run}"]
    with session_scope(engine) as s:
        (mail,) = s.exec(select(Outbox).where(Outbox.kind == "operator")).all()
    assert "栏目中突然没有任何报告链接" in mail.subject and "以往通常 10 个" in mail.body_text
    assert "无法判断" in mail.body_text and "http://p1.example/list.html" in mail.body_html

    portal_read(engine, "p1", "2021-02-03 10:00", report_urls=[])  # still quiet: the same streak
    assert _notices(engine, cfg, "2021-02-03 12:00") == [f"quiet:p1:{quiet_run}"]
    assert _row(engine, cfg, date(2021, 2, 4)).status == "unknown"

    proper = portal_read(engine, "p1", "2021-02-04 10:00", report_urls=links)  # read properly again
    row = _row(engine, cfg, date(2021, 2, 5))
    assert row.status == "missing" and row.evidence["absence"]["run_id"] == proper
    assert _notices(engine, cfg, "2021-02-04 12:00") == [f"quiet:p1:{quiet_run}"]  # nothing new

    again = portal_read(engine, "p1", "2021-02-06 10:00", report_urls=links[:3])  # far fewer: a new streak
    assert _notices(engine, cfg, "2021-02-06 12:00") == [f"quiet:p1:{quiet_run}", f"quiet:p1:{again}"]


def test_one_template_for_every_listing_page_is_quiet(engine):
    cfg, links = _setup(engine)
    run = portal_read(
        engine, "p1", "2021-02-02 10:00", url="http://p1.example/list_0.html", report_urls=links
    )
    with session_scope(
        engine
    ) as s:  # two more listing pages, and all three the same bytes (a soft block's page)
        for n in (1, 2):
            s.add(
                ListingSnapshot(
                    portal_id="p1",
                    url=f"http://p1.example/list_{n}.html",
                    fetched_at=sh("2021-02-02 10:00"),
                    report_urls=links,
                    run_id=run,
                )  # fmt: skip
            )
    with session_scope(engine) as s:
        for snap in s.exec(select(ListingSnapshot).where(ListingSnapshot.run_id == run)):
            snap.sha256 = "f" * 64
            s.add(snap)
    row = _row(engine, cfg, date(2021, 2, 3))
    assert row.status == "unknown" and row.evidence["last_read"]["end_reason"] == "quiet"
    with session_scope(engine) as s:
        queue_operator_notices(s, cfg, now=sh("2021-02-02 12:00"))
    with session_scope(engine) as s:
        (mail,) = s.exec(select(Outbox).where(Outbox.kind == "operator")).all()
    assert "每个栏目页都是同一个页面" in mail.subject


def test_a_portal_read_as_usual_is_judged_as_before(engine):
    cfg, links = _setup(engine)
    run = portal_read(engine, "p1", "2021-02-02 10:00", report_urls=links[:7])  # a little fewer: fine
    row = _row(engine, cfg, date(2021, 2, 3))
    assert row.status == "missing" and row.evidence["absence"]["run_id"] == run
    assert _notices(engine, cfg, "2021-02-02 12:00") == []
