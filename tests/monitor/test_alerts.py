"""Alert mail end to end: DB states built with the models, a real SMTP server (aiosmtpd) on 127.0.0.1."""
# ruff: noqa: F811  (pytest fixtures imported from alerts_fixtures are parameters here)

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from domain.config import Subscriber
from monitor.alerts import deliver_outbox, queue_alerts
from monitor.alerts.changes import Current, changes_of
from monitor.alerts.outbox import claim_due
from storage.db import session_scope
from storage.models import AgencyYearStatus, AlertState, Outbox, Report
from tests.monitor.alerts_fixtures import (  # noqa: F401  (fixtures)
    SmtpServer,
    make_config,
    pg_engine,
    pg_url,
    smtp_down,
    smtp_server,
    sqlite_engine,
    status_row,
)

NOW = datetime(2023, 3, 1, 2, 0, tzinfo=UTC)


def seed_states(engine) -> None:
    with session_scope(engine) as s:
        s.add(
            status_row(
                "zc-zsj",
                "淄川区招商局",
                "山东省/淄博市/淄川区",
                "late",
                published=date(2023, 2, 3),
                report_url="http://www.zichuan.gov.cn/r/2022.html",
            )
        )
        s.add(
            status_row(
                "zc-jyj", "淄川区教育局", "山东省/淄博市/淄川区", "on_time", published=date(2023, 1, 20)
            )
        )
        s.add(status_row("hh-cgj", "怀化市城管局", "湖南省/怀化市", "missing", inconsistent=None))
        s.add(status_row("hh-x", "怀化市区某局", "湖南省/怀化市区", "unknown", inconsistent=None))


def by_recipient(received) -> dict[str, list]:
    out: dict[str, list] = {}
    for r in received:
        for to in r.rcpt_tos:
            out.setdefault(to, []).append(r)
    return out


def test_digest_reaches_the_right_subscriber(tmp_path, sqlite_engine, smtp_server):
    cfg = make_config(tmp_path, smtp_server.port)
    seed_states(sqlite_engine)
    with session_scope(sqlite_engine) as s:
        assert queue_alerts(s, cfg, now=NOW) == 3
    result = deliver_outbox(sqlite_engine, cfg, now=NOW)
    assert (result.sent, result.failed) == (3, 0)

    mail = by_recipient(smtp_server.received)
    assert set(mail) == {"sd@example.org", "hn@example.org", "all@example.org"}
    assert all(len(v) == 1 for v in mail.values())
    sd = mail["sd@example.org"][0]
    sd_text, sd_html = sd.part("plain"), sd.part("html")
    assert "淄川区招商局" in sd_text and "逾期发布" in sd_text and "2023-02-03" in sd_text
    assert "怀化" not in sd_text  # region filter
    assert "淄川区教育局" not in sd_text  # on time: no news
    assert "http://watch.example.org/agency/zc-zsj" in sd_text
    assert 'href="http://watch.example.org/agency/zc-zsj/2022"' in sd_html  # the agency-year's page
    assert 'href="http://watch.example.org/agency/zc-zsj/2022/evidence.zip"' in sd_html
    assert 'href="http://www.zichuan.gov.cn/r/2022.html"' in sd_html
    assert "首次" in sd_text  # the first digest says it lists the current state, not only news
    assert sd.message["Subject"] == "gkwatch 提醒：淄川区招商局 2022 年度报告逾期发布"
    assert sd.message.get_content_type() == "multipart/alternative"

    hn = mail["hn@example.org"][0].part("plain")
    # 湖南省/怀化市 covers 湖南省/怀化市 but not 湖南省/怀化市区; an unknown status is never the agency's news
    assert "怀化市城管局" in hn and "未发布" in hn and "怀化市区某局" not in hn and "淄川" not in hn
    everything = mail["all@example.org"][0]
    assert "淄川区招商局" in everything.part("plain") and "怀化市城管局" in everything.part("plain")
    assert "2 项变化" in everything.message["Subject"]


def test_unchanged_second_run_is_silent_and_only_news_follows(tmp_path, sqlite_engine):
    cfg = make_config(tmp_path, 1)
    seed_states(sqlite_engine)
    with session_scope(sqlite_engine) as s:
        assert queue_alerts(s, cfg, now=NOW) == 3
    with session_scope(sqlite_engine) as s:
        assert queue_alerts(s, cfg, now=NOW + timedelta(days=1)) == 0
    # the on-time report becomes inconsistent: news for the Shandong subscriber and the catch-all one
    with session_scope(sqlite_engine) as s:
        row = s.get(AgencyYearStatus, ("zc-jyj", 2022))
        row.inconsistent, row.findings = True, ["s3.row_total"]
        s.add(row)
    with session_scope(sqlite_engine) as s:
        assert queue_alerts(s, cfg, now=NOW + timedelta(days=2)) == 2
        newest = s.exec(
            select(Outbox).where(Outbox.recipient == "sd@example.org").order_by(Outbox.id.desc())
        ).first()
    assert "淄川区教育局" in newest.body_text and "数据不一致" in newest.body_text
    assert "总计" in newest.body_text and "六类申请人之和" in newest.body_text  # the rule, in Chinese …
    assert "s3.row_total" not in newest.body_text  # … the text has no rule ids; the HTML shows them small
    assert '<code style="font-size:11px;color:#5f6b76;">s3.row_total</code>' in newest.body_html
    assert "淄川区招商局" not in newest.body_text  # already told
    assert "首次" not in newest.body_text


def test_rows_passed_in_and_changed_after_publication(tmp_path, sqlite_engine):
    cfg = make_config(tmp_path, 1, subscribers=[Subscriber("x@example.org")])
    with session_scope(sqlite_engine) as s:
        s.add(Report(id=7, url="http://a.gov.cn/r.html", portal_id="zichuan", current_version_id=1))

    def row(version: int):  # noqa: ANN202 - the check's row names the version it judged
        return status_row(
            "zc-zsj",
            "淄川区招商局",
            "山东省",
            "on_time",
            report_id=7,
            published=date(2023, 1, 5),
            version_id=version,
        )

    with session_scope(sqlite_engine) as s:
        assert queue_alerts(s, cfg, [row(1)], now=NOW) == 0  # on time and consistent: remembered, not mailed
        assert s.get(AlertState, ("zc-zsj", 2022)).version_id == 1
    with session_scope(sqlite_engine) as s:
        assert queue_alerts(s, cfg, [row(2)], now=NOW + timedelta(days=1)) == 1
        msg = s.exec(select(Outbox)).one()
    assert "发布后被修改" in msg.subject


def test_a_flaky_portal_does_not_reannounce_missing_reports(tmp_path, sqlite_engine):
    cfg = make_config(tmp_path, 1)
    seed_states(sqlite_engine)
    with session_scope(sqlite_engine) as s:
        assert queue_alerts(s, cfg, now=NOW) == 3

    def set_status(status: str, inconsistent: bool | None) -> None:
        with session_scope(sqlite_engine) as s:
            row = s.get(AgencyYearStatus, ("hh-cgj", 2022))
            row.status, row.inconsistent = status, inconsistent
            s.add(row)

    set_status("unknown", None)  # the portal could not be read for a while
    with session_scope(sqlite_engine) as s:
        assert queue_alerts(s, cfg, now=NOW + timedelta(days=1)) == 0
    set_status("missing", None)  # readable again, still no report: not news
    with session_scope(sqlite_engine) as s:
        assert queue_alerts(s, cfg, now=NOW + timedelta(days=2)) == 0
        assert s.get(AlertState, ("hh-cgj", 2022)).status == "missing"


def test_change_rules_are_pure():
    cur = Current(
        "a",
        2022,
        "机关",
        "山东省",
        "late",
        date(2023, 1, 31),
        date(2023, 2, 2),
        "page_meta",
        True,
        ("s3.balance",),
        None,
        5,
    )
    assert [c.kind for c in changes_of(cur, None)] == ["late", "inconsistent"]
    same = AlertState(
        agency_id="a", year=2022, status="late", inconsistent=True, version_id=5, notified_at=NOW
    )
    assert changes_of(cur, same) == []
    was_missing = AlertState(
        agency_id="a", year=2022, status="missing", inconsistent=None, version_id=None, notified_at=NOW
    )
    assert [c.kind for c in changes_of(cur, was_missing)] == ["late", "inconsistent"]
    edited = AlertState(
        agency_id="a", year=2022, status="late", inconsistent=True, version_id=4, notified_at=NOW
    )
    assert [c.kind for c in changes_of(cur, edited)] == ["changed"]


def test_smtp_down_then_up_delivers_exactly_once(tmp_path, sqlite_engine, smtp_down):
    cfg = make_config(tmp_path, smtp_down.port)
    seed_states(sqlite_engine)
    with session_scope(sqlite_engine) as s:
        assert queue_alerts(s, cfg, now=NOW) == 3
        ids = {r.dedupe_key: r.message_id for r in s.exec(select(Outbox))}

    down = deliver_outbox(sqlite_engine, cfg, now=NOW)
    assert (down.sent, down.failed) == (0, 3)
    with session_scope(sqlite_engine) as s:
        rows = s.exec(select(Outbox)).all()
    assert all(r.attempts == 1 and r.sent_at is None and r.last_error for r in rows)
    assert all(r.next_attempt_at > NOW for r in rows)  # backoff
    assert deliver_outbox(sqlite_engine, cfg, now=NOW).claimed == 0  # not due yet

    smtp_down.start()
    later = NOW + timedelta(minutes=5)
    up = deliver_outbox(sqlite_engine, cfg, now=later)
    assert (up.sent, up.failed) == (3, 0)
    assert deliver_outbox(sqlite_engine, cfg, now=later + timedelta(days=2)).claimed == 0
    assert len(smtp_down.received) == 3
    assert sorted(r.rcpt_tos[0] for r in smtp_down.received) == [
        "all@example.org",
        "hn@example.org",
        "sd@example.org",
    ]
    # the Message-ID fixed at queue time is the one sent, so a receiver could drop a duplicate
    assert {r.message["Message-ID"] for r in smtp_down.received} == set(ids.values())


def test_a_claimed_row_is_not_claimed_twice(tmp_path, sqlite_engine):
    cfg = make_config(tmp_path, 1)
    seed_states(sqlite_engine)
    with session_scope(sqlite_engine) as s:
        queue_alerts(s, cfg, now=NOW)
    first = claim_due(sqlite_engine, NOW, 2)
    second = claim_due(sqlite_engine, NOW, 10)
    assert len(first) == 2 and len(second) == 1
    assert not {r.id for r in first} & {r.id for r in second}
    # a claim held by a worker that died expires and the row becomes due again
    assert len(claim_due(sqlite_engine, NOW + timedelta(hours=1), 10)) == 3


def test_hostile_agency_name_cannot_inject_headers(tmp_path, sqlite_engine, smtp_server):
    cfg = make_config(tmp_path, smtp_server.port)
    hostile = "坏机关\r\nBcc: victim@evil.example\r\nX-Injected: yes\n<script>alert(1)</script>\u202eevil"
    with session_scope(sqlite_engine) as s:
        s.add(
            status_row(
                "evil",
                hostile,
                "山东省/淄博市",
                "late",
                published=date(2023, 2, 9),
                report_url='javascript:alert("x")',
            )
        )
    with session_scope(sqlite_engine) as s:
        assert queue_alerts(s, cfg, now=NOW) == 2
    assert deliver_outbox(sqlite_engine, cfg, now=NOW).sent == 2

    for got in smtp_server.received:
        assert len(got.rcpt_tos) == 1 and "victim@evil.example" not in got.rcpt_tos
        keys = {k.lower() for k in got.message.keys()}
        assert "bcc" not in keys and "x-injected" not in keys
        subject = got.message["Subject"]
        assert "坏机关" in subject and "\n" not in subject and "\r" not in subject and "\u202e" not in subject
        html = got.part("html")
        assert "<script>" not in html and "&lt;script&gt;" in html
        assert 'href="javascript' not in html
        assert "\u202e" not in html and "\u202e" not in got.part("plain")


@pytest.mark.postgres
def test_postgres_digest_and_retry(tmp_path, pg_engine, smtp_down):
    cfg = make_config(tmp_path, smtp_down.port)
    seed_states(pg_engine)
    with session_scope(pg_engine) as s:
        assert queue_alerts(s, cfg, now=NOW) == 3
    with session_scope(pg_engine) as s:
        assert queue_alerts(s, cfg, now=NOW) == 0
    assert deliver_outbox(pg_engine, cfg, now=NOW).failed == 3
    smtp_down.start()
    assert deliver_outbox(pg_engine, cfg, now=NOW + timedelta(hours=1)).sent == 3
    assert deliver_outbox(pg_engine, cfg, now=NOW + timedelta(days=1)).claimed == 0
    assert len(smtp_down.received) == 3
    assert "淄川区招商局" in by_recipient(smtp_down.received)["sd@example.org"][0].part("plain")


def test_apprise_channel_without_apprise_keeps_the_message(tmp_path, sqlite_engine, smtp_server):
    try:
        import apprise  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("Apprise is installed here; this test checks the message when it is not")
    cfg = make_config(tmp_path, smtp_server.port, apprise_urls=["json://127.0.0.1:9/hook?token=secret"])
    seed_states(sqlite_engine)
    with session_scope(sqlite_engine) as s:
        assert queue_alerts(s, cfg, now=NOW) == 4  # three subscribers and the Apprise channel (all regions)
    result = deliver_outbox(sqlite_engine, cfg, now=NOW)
    assert (result.sent, result.failed) == (3, 1)  # mail still goes out
    with session_scope(sqlite_engine) as s:
        row = s.exec(select(Outbox).where(Outbox.channel == "apprise")).one()
    assert row.sent_at is None and row.attempts == 1 and "Apprise is not installed" in row.last_error
    assert "secret" not in row.recipient  # the URL's token is not stored
    assert "淄川区招商局" in row.body_text and "怀化市城管局" in row.body_text


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS", "ignore::DeprecationWarning")
def test_smtp_login(tmp_path, sqlite_engine):
    server = SmtpServer(logins={"gk": "right"})
    server.start()
    try:
        cfg = make_config(tmp_path, server.port)
        cfg.alerts.smtp.username, cfg.alerts.smtp.password = "gk", "wrong"
        cfg.alerts.smtp.timeout_seconds = 2  # after refusing PLAIN, aiosmtpd stalls smtplib's LOGIN fallback
        seed_states(sqlite_engine)
        with session_scope(sqlite_engine) as s:
            assert queue_alerts(s, cfg, now=NOW) == 3
        refused = deliver_outbox(sqlite_engine, cfg, now=NOW)
        assert (refused.sent, refused.failed) == (0, 3) and not server.received
        cfg.alerts.smtp.password = "right"
        assert deliver_outbox(sqlite_engine, cfg, now=NOW + timedelta(hours=1)).sent == 3
        assert len(server.received) == 3
    finally:
        server.stop()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_concurrent_workers_send_each_message_once(tmp_path, smtp_server, backend, request):
    engine = request.getfixturevalue("sqlite_engine" if backend == "sqlite" else "pg_engine")
    subscribers = [Subscriber(f"s{i}@example.org") for i in range(24)]
    cfg = make_config(tmp_path, smtp_server.port, subscribers=subscribers)
    seed_states(engine)
    with session_scope(engine) as s:
        assert queue_alerts(s, cfg, now=NOW) == 24
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: deliver_outbox(engine, cfg, now=NOW, max_batch=5), range(8)))
    assert sum(r.sent for r in results) == 24 and sum(r.failed for r in results) == 0
    ids = [r.message["Message-ID"] for r in smtp_server.received]
    assert len(ids) == 24 and len(set(ids)) == 24


def test_an_accusation_proven_wrong_is_corrected_by_mail(tmp_path, sqlite_engine):
    """Told "未发布"; a later complete crawl finds the report dated before the deadline: 更正."""
    cfg = make_config(tmp_path, 1, subscribers=[Subscriber("x@example.org")])
    missing = status_row("zc-zsj", "淄川区招商局", "山东省", "missing")
    found = status_row(
        "zc-zsj", "淄川区招商局", "山东省", "on_time", published=date(2023, 1, 20), version_id=3
    )
    with session_scope(sqlite_engine) as s:
        assert queue_alerts(s, cfg, [missing], now=NOW) == 1
    with session_scope(sqlite_engine) as s:
        assert queue_alerts(s, cfg, [found], now=NOW + timedelta(days=1)) == 1
        correction = s.exec(select(Outbox).order_by(Outbox.id.desc())).first()
    assert "更正" in correction.subject and "更正" in correction.body_text
    assert "按时发布" in correction.body_text and "2023-01-20" in correction.body_text
    with session_scope(sqlite_engine) as s:  # said once
        assert queue_alerts(s, cfg, [found], now=NOW + timedelta(days=2)) == 0
