"""``gkwatch check``: statuses on the deadline edges, unknown vs missing, as-of, findings, registry changes."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from domain.config import DeadlinesConfig
from monitor.status.check import compute_rows, run_check, summary_lines
from monitor.status.table import status_objects, stored_objects
from storage.db import session_scope
from storage.models import AgencyYearStatus
from tests.monitor.builders import dismiss, make_config, portal_read, problem, report, sync, version

REGION = "山东省/淄博市/淄川区"
A1 = ("zc-zsj", "淄川区招商局", "department", REGION)
G1 = ("zc-gov", "淄川区人民政府", "government", REGION)
T1 = ("zc-town", "般阳路街道办事处", "township", REGION)


def setup(engine, agencies=(A1,), deadlines=None, read_at="2021-02-05 10:00"):
    cfg = make_config(list(agencies), deadlines=deadlines if deadlines is not None else {"first_year": 2020})
    sync(engine, cfg)
    if read_at:
        portal_read(engine, "p1", read_at)
    return cfg


def rows_of(engine, cfg, as_of, year=None):
    with session_scope(engine) as s:
        return {(r.agency_id, r.year): r for r in compute_rows(s, cfg, as_of=as_of, year=year)}


def one(engine, cfg, as_of, agency="zc-zsj", year=2020):
    return rows_of(engine, cfg, as_of)[(agency, year)]


def test_published_on_the_due_day_is_on_time_and_the_next_day_late(engine):
    cfg = setup(engine, agencies=(A1, T1))
    report(engine, "zc-zsj", 2020, published=date(2021, 1, 31))
    report(engine, "zc-town", 2020, published=date(2021, 2, 1))
    rows = rows_of(engine, cfg, date(2021, 3, 1))
    assert rows[("zc-zsj", 2020)].status == "on_time"
    assert rows[("zc-zsj", 2020)].due == date(2021, 1, 31)
    assert rows[("zc-town", 2020)].status == "late"
    assert rows[("zc-town", 2020)].published == date(2021, 2, 1)
    assert rows[("zc-town", 2020)].to_contract()["published_evidence"] == "page_meta"


def test_first_seen_edge_is_judged_on_the_shanghai_calendar(engine):
    """23:59 on 31 January in Shanghai is 15:59 UTC; 00:00 on 1 February is 16:00 UTC the same UTC day.

    An undated report seen by the due date was on time; one first seen after it is not thereby late: with
    no read of the listing after the due date that lacked it, it is ``undated`` (never counted late)."""
    cfg = setup(engine, agencies=(A1, T1), read_at=None)
    report(engine, "zc-zsj", 2020, published=None, first_seen="2021-01-31 23:59")
    report(engine, "zc-town", 2020, published=None, first_seen="2021-02-01 00:00")
    rows = rows_of(engine, cfg, date(2021, 2, 10))
    assert (rows[("zc-zsj", 2020)].status, rows[("zc-zsj", 2020)].published) == ("on_time", date(2021, 1, 31))
    assert rows[("zc-zsj", 2020)].published_evidence == "first_seen"
    assert (rows[("zc-town", 2020)].status, rows[("zc-town", 2020)].published) == ("undated", None)
    assert rows[("zc-town", 2020)].days_late is None


def test_late_from_first_sight_only_with_a_complete_read_that_lacked_it(engine):
    cfg = setup(engine, agencies=(A1, T1), read_at=None)
    run = portal_read(engine, "p1", "2021-02-02 08:00")  # read completely after the due date: no report
    report(engine, "zc-zsj", 2020, published=None, first_seen="2021-02-03 09:00")  # then it appeared
    report(engine, "zc-town", 2020, published=None, first_seen="2021-02-02 07:00")  # before that read
    rows = rows_of(engine, cfg, date(2021, 2, 10))
    late = rows[("zc-zsj", 2020)]
    assert (late.status, late.published, late.published_evidence) == (
        "late",
        date(2021, 2, 3),
        "listing_absent",
    )
    assert late.days_late == 3 and late.evidence["absence"]["run_id"] == run
    assert late.evidence["absence"]["complete"] is True
    # the town's report was first seen after the due date, before any complete read: nothing proven
    assert rows[("zc-town", 2020)].status == "undated"


def test_due_day_itself_is_still_open_then_missing_once_a_complete_read_shows_nothing(engine):
    cfg = setup(engine, read_at=None)
    assert one(engine, cfg, date(2021, 1, 31)).status == "not_due"
    portal_read(engine, "p1", "2021-01-31 20:00")  # complete, but on the due day: proves nothing yet
    assert one(engine, cfg, date(2021, 2, 1)).status == "unknown"
    run = portal_read(engine, "p1", "2021-02-01 08:00")
    row = one(engine, cfg, date(2021, 2, 1))
    assert row.status == "missing" and row.evidence["absence"]["run_id"] == run


def test_government_reports_are_due_31_march(engine):
    cfg = setup(engine, agencies=(A1, G1))
    rows = rows_of(engine, cfg, date(2021, 3, 31))
    assert rows[("zc-gov", 2020)].status == "not_due"
    assert rows[("zc-gov", 2020)].due == date(2021, 3, 31)
    assert rows[("zc-zsj", 2020)].status == "missing"
    assert one(engine, cfg, date(2021, 4, 1), agency="zc-gov").status == "unknown"  # no read after 31 March
    portal_read(engine, "p1", "2021-04-01 08:00")
    assert one(engine, cfg, date(2021, 4, 1), agency="zc-gov").status == "missing"


def test_local_override_and_its_reason(engine):
    huaihua = ("hh-jyj", "怀化市教育局", "department", "湖南省/怀化市")
    deadlines = {
        "first_year": 2021,
        "overrides": [
            {
                "region": "湖南省/怀化市",
                "year": 2021,
                "kind": "department",
                "due": "2022-01-28",
                "reason": "怀化 local notice",
            }
        ],
    }
    cfg = setup(engine, agencies=(A1, huaihua), deadlines=deadlines)
    report(engine, "hh-jyj", 2021, published=date(2022, 1, 29))
    report(engine, "zc-zsj", 2021, published=date(2022, 1, 29))
    rows = rows_of(engine, cfg, date(2022, 3, 1))
    assert rows[("hh-jyj", 2021)].status == "late"
    assert rows[("hh-jyj", 2021)].due_reason == "怀化 local notice"
    assert rows[("zc-zsj", 2021)].status == "on_time"  # the default 31 January elsewhere


def test_leap_day_override(engine):
    deadlines = {
        "first_year": 2020,
        "overrides": [{"kind": "department", "due": "02-29", "reason": "leap rule"}],
    }
    cfg = setup(engine, deadlines=deadlines)
    # report year 2023 -> due 2024-02-29 (leap); report year 2020 -> 2021-02-28
    rows = rows_of(engine, cfg, date(2024, 2, 29))
    assert rows[("zc-zsj", 2023)].due == date(2024, 2, 29)
    assert rows[("zc-zsj", 2023)].status == "not_due"
    assert rows[("zc-zsj", 2020)].due == date(2021, 2, 28)
    portal_read(engine, "p1", "2024-03-01 08:00")
    assert one(engine, cfg, date(2024, 3, 1), year=2023).status == "missing"


def test_unknown_when_the_portal_could_not_be_read(engine):
    cfg = setup(engine, read_at=None)
    assert one(engine, cfg, date(2021, 3, 1)).status == "unknown"  # never read: no proof of absence
    portal_read(engine, "p1", "2021-02-10 09:00")
    assert one(engine, cfg, date(2021, 3, 1)).status == "missing"
    problem(engine, "p1", "2021-02-11 09:00", kind="blocked")
    row = one(engine, cfg, date(2021, 3, 1))
    assert (row.status, row.crawl_problem) == ("unknown", "blocked")
    assert row.to_contract()["crawl_problem"] == "blocked"
    portal_read(engine, "p1", "2021-02-12 09:00")
    assert one(engine, cfg, date(2021, 3, 1)).status == "missing"


def test_a_report_is_credited_only_from_its_date(engine):
    cfg = setup(engine, read_at="2021-02-01 08:00")
    report(engine, "zc-zsj", 2020, published=date(2021, 2, 3))
    row = one(engine, cfg, date(2021, 2, 2))
    assert (row.status, row.report_url, row.published) == ("missing", None, None)
    assert one(engine, cfg, date(2021, 2, 3)).status == "late"


def test_the_earliest_dated_report_is_chosen(engine):
    cfg = setup(engine)
    report(engine, "zc-zsj", 2020, published=date(2021, 2, 5), url="http://p1.example/late.html")
    report(engine, "zc-zsj", 2020, published=date(2021, 1, 20), url="http://p1.example/early.html")
    row = one(engine, cfg, date(2021, 3, 1))
    assert (row.status, row.report_url) == ("on_time", "http://p1.example/early.html")


def test_findings_inconsistent_and_dismissals(engine):
    cfg = setup(engine, agencies=(A1, T1, G1))
    report(engine, "zc-zsj", 2020, published=date(2021, 1, 5), versions=[version(2020, broken=True)])
    report(engine, "zc-town", 2020, published=date(2021, 1, 5), versions=[version(2020, error="unreadable")])
    report(engine, "zc-gov", 2020, published=date(2021, 1, 5))
    rows = rows_of(engine, cfg, date(2021, 6, 1))
    assert (rows[("zc-zsj", 2020)].inconsistent, rows[("zc-zsj", 2020)].findings) == (True, ["s4.total"])
    assert rows[("zc-town", 2020)].inconsistent is None  # not parsed: unknown, never "consistent"
    assert (rows[("zc-gov", 2020)].inconsistent, rows[("zc-gov", 2020)].findings) == (False, [])
    dismiss(engine, "zc-zsj", 2020, "s4.total")
    row = one(engine, cfg, date(2021, 6, 1))
    assert (row.inconsistent, row.findings) == (False, [])


def test_which_years_are_judged(engine):
    cfg = setup(engine, deadlines={})
    # nothing stored: only the latest year that can exist
    assert sorted(rows_of(engine, cfg, date(2023, 5, 1))) == [("zc-zsj", 2022)]
    report(engine, "zc-zsj", 2020, published=date(2021, 1, 5))
    assert sorted(y for _, y in rows_of(engine, cfg, date(2023, 5, 1))) == [2020, 2021, 2022]
    assert sorted(rows_of(engine, cfg, date(2023, 5, 1), year=2021)) == [("zc-zsj", 2021)]
    assert rows_of(engine, cfg, date(2023, 5, 1), year=2023) == {}  # cannot exist yet
    cfg.deadlines = DeadlinesConfig(first_year=2022)
    assert sorted(y for _, y in rows_of(engine, cfg, date(2023, 5, 1))) == [2022]


def test_run_check_writes_the_table_and_notices_agencies_gone(engine):
    cfg = setup(engine, agencies=(A1, T1))
    report(engine, "zc-zsj", 2020, published=date(2021, 1, 5), versions=[version(2020, broken=True)])
    first = run_check(engine, cfg, as_of=date(2021, 3, 1))
    assert first.counts_by_status["on_time"] == 1 and first.counts_by_status["missing"] == 1
    assert first.deactivated_agencies == []
    cfg.agencies = [a for a in cfg.agencies if a.id != "zc-town"]
    second = run_check(engine, cfg, as_of=date(2021, 3, 1))
    assert second.deactivated_agencies == ["zc-town"]
    assert [(r.agency_id, r.year) for r in second.rows] == [("zc-zsj", 2020)]
    with session_scope(engine) as s:
        stored = s.exec(select(AgencyYearStatus)).all()
    assert [(x.agency_id, x.year, x.status, x.inconsistent, x.findings) for x in stored] == [
        ("zc-zsj", 2020, "on_time", True, ["s4.total"])
    ]
    assert stored[0].as_of == date(2021, 3, 1) and stored[0].due == date(2021, 1, 31)


def test_stored_objects_equal_the_live_computation(engine):
    cfg = setup(engine, agencies=(A1, T1, G1))
    report(engine, "zc-zsj", 2020, published=date(2021, 2, 2), versions=[version(2020, broken=True)])
    report(engine, "zc-gov", 2020, published=None, first_seen="2021-03-05 10:00")
    run_check(engine, cfg, as_of=date(2021, 6, 1))
    with session_scope(engine) as s:
        live = status_objects(s, cfg, as_of=date(2021, 6, 1))
        stored = stored_objects(s)
        only_2020 = stored_objects(s, year=2020)
    assert stored == live and len(live) == 3
    assert [o["status"] for o in live] == ["on_time", "late", "missing"]  # 政府, 招商局, 街道 by name
    assert only_2020 == stored
    with session_scope(engine) as s:
        assert stored_objects(s, year=2019) == []


def test_summary_names_agencies_gone_from_the_registry(engine):
    cfg = setup(engine, agencies=(A1, T1))
    cfg.agencies = cfg.agencies[:1]
    lines = summary_lines(run_check(engine, cfg, as_of=date(2021, 3, 1)))
    assert lines[0].startswith("gkwatch check as of 2021-03-01: 1 agency-years")
    assert "missing 1" in lines[1]
    assert lines[-1] == "  1 agencies gone from the registry: zc-town"


def test_the_stored_table_answers_only_while_it_is_current(engine):
    """``status_objects`` reads the last check's table only when recomputing would give the same rows."""
    from monitor.status.table import stored_rows_current

    cfg = setup(engine, agencies=(A1, T1))
    report(engine, "zc-zsj", 2020, published=date(2021, 1, 20), versions=[version(2020, broken=True)])
    as_of = date(2021, 6, 1)
    run_check(engine, cfg, as_of=as_of)
    with session_scope(engine) as s:
        assert stored_rows_current(s, cfg, as_of)
        assert not stored_rows_current(s, cfg, date(2021, 6, 2))  # another day: judged live
        assert status_objects(s, cfg, as_of=as_of) == [
            {**r.to_contract(), "evidence": r.evidence}
            for r in sorted(
                compute_rows(s, cfg, as_of=as_of), key=lambda r: (r.region, r.agency, r.agency_id, r.year)
            )
        ]

    # A changed deadline in the config makes the table stale at once.
    moved = make_config(
        [A1, T1],
        deadlines={
            "first_year": 2020,
            "overrides": [{"region": REGION, "kind": "department", "due": "01-15", "reason": "local"}],
        },
    )
    with session_scope(engine) as s:
        assert not stored_rows_current(s, moved, as_of)
        dues = {o["agency_id"]: o["due"] for o in status_objects(s, moved, as_of=as_of)}
        assert dues == {"zc-zsj": "2021-01-15", "zc-town": "2021-01-31"}  # a department rule only

    # A reviewer's verdict after the check: the live answer drops the dismissed finding.
    dismiss(engine, "zc-zsj", 2020, "s4.total")
    with session_scope(engine) as s:
        assert not stored_rows_current(s, cfg, as_of)
        row = next(o for o in status_objects(s, cfg, as_of=as_of) if o["agency_id"] == "zc-zsj")
    assert row["findings"] == [] and row["inconsistent"] is False


def test_a_report_re_uploaded_with_a_new_date_keeps_its_first(engine):
    """Published 20 January, re-uploaded 15 February with a new PubDate: the first credible date decides, and
    both dates are shown."""
    from storage.models import Report

    cfg = setup(engine)
    rid = report(engine, "zc-zsj", 2020, published=date(2021, 2, 15), first_seen="2021-01-20 12:00")
    with session_scope(engine) as s:
        r = s.get(Report, rid)
        r.pub_history = [
            {"pub_meta": "2021-01-20 09:30", "pub_text": None, "listing_date": None, "pub_header": None,
             "seen": "2021-01-20T04:00:00+00:00"},
            {"pub_meta": "2021-02-15", "pub_text": None, "listing_date": None, "pub_header": None,
             "seen": "2021-02-16T04:00:00+00:00"},
        ]  # fmt: skip
        s.add(r)
    row = one(engine, cfg, date(2021, 3, 1))
    assert (row.status, row.published, row.published_evidence) == ("on_time", date(2021, 1, 20), "page_meta")
    quotes = {p["quote"] for p in row.evidence["published"]["printed"]}
    assert quotes == {"2021-01-20 09:30", "2021-02-15"}


def test_the_date_beside_the_link_is_the_listings_own_evidence(engine):
    from storage.models import Report

    cfg = setup(engine)
    rid = report(engine, "zc-zsj", 2020, published=None, first_seen="2021-02-20 12:00")
    with session_scope(engine) as s:
        r = s.get(Report, rid)
        r.listing_date, r.listing_url = "[2021-01-25]", "http://p1.example/list.html"
        s.add(r)
    row = one(engine, cfg, date(2021, 3, 1))
    assert (row.status, row.published, row.published_evidence) == (
        "on_time",
        date(2021, 1, 25),
        "listing_date",
    )
    assert row.evidence["published"]["source"] == "http://p1.example/list.html"
