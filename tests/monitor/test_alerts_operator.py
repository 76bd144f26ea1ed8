"""Operator notices: after N consecutive failed crawls of a portal, once per streak, apart from digests."""
# ruff: noqa: F811  (pytest fixtures imported from alerts_fixtures are parameters here)

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from monitor.alerts import deliver_outbox, queue_operator_notices
from storage.db import session_scope
from storage.models import CrawlProblem, CrawlRun, ListingSnapshot, Outbox
from tests.monitor.alerts_fixtures import make_config, pg_engine, pg_url, smtp_server, sqlite_engine  # noqa: F401

T0 = datetime(2023, 2, 1, tzinfo=UTC)


class Runs:
    """Crawl runs one day apart; each either reads the portal or fails to."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.n = 0

    def crawl(self, ok: bool, portal: str = "zichuan", *, whole_run_failed: bool = False) -> None:
        start = T0 + timedelta(days=self.n)
        self.n += 1
        with session_scope(self.engine) as s:
            run = CrawlRun(
                started_at=start,
                finished_at=start + timedelta(minutes=10),
                portal_ids=[],
                status="failed" if whole_run_failed else "finished",
            )
            s.add(run)
            s.flush()
            if ok:
                s.add(
                    ListingSnapshot(
                        portal_id=portal, url="http://127.0.0.1/list", fetched_at=start + timedelta(minutes=1)
                    )
                )
            elif not whole_run_failed:
                s.add(
                    CrawlProblem(
                        run_id=run.id,
                        portal_id=portal,
                        url="http://127.0.0.1/list",
                        kind="unreachable",
                        detail="Connection refused\r\nBcc: x@evil.example",
                        at=start + timedelta(minutes=2),
                    )
                )
            # the other portal is always fine: its notices must not appear
            s.add(
                ListingSnapshot(
                    portal_id="huaihua", url="http://127.0.0.2/list", fetched_at=start + timedelta(minutes=3)
                )
            )

    def notices(self) -> int:
        with session_scope(self.engine) as s:
            return queue_operator_notices(s, self.cfg, now=T0 + timedelta(days=self.n))


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_operator_notice_after_n_consecutive_failures_once_per_streak(
    tmp_path, smtp_server, backend, request
):
    engine = request.getfixturevalue("sqlite_engine" if backend == "sqlite" else "pg_engine")
    cfg = make_config(tmp_path, smtp_server.port, operator="ops@example.org", problem_threshold=3)
    runs = Runs(engine)
    runs.cfg = cfg
    runs.crawl(ok=True)
    runs.crawl(ok=False)
    assert runs.notices() == 0
    runs.crawl(ok=False)
    assert runs.notices() == 0
    runs.crawl(ok=False, whole_run_failed=True)
    assert runs.notices() == 1  # third consecutive failure
    runs.crawl(ok=False)
    assert runs.notices() == 0  # same streak: told once
    runs.crawl(ok=True)  # recovers
    assert runs.notices() == 0
    for _ in range(3):
        runs.crawl(ok=False)
    assert runs.notices() == 1  # a new streak: a new notice

    assert deliver_outbox(engine, cfg, now=T0 + timedelta(days=30)).sent == 2
    got = smtp_server.received
    assert [r.rcpt_tos for r in got] == [["ops@example.org"], ["ops@example.org"]]
    first = got[0]
    assert "淄川区人民政府" in first.message["Subject"] and "连续 3 次" in first.message["Subject"]
    assert "怀化" not in first.part("plain")
    assert "连接被拒绝" in first.part("plain")  # what the request got, in Chinese …
    assert "Connection refused" not in first.part("plain") and "refused" not in first.part("html")  # … only
    assert re.search(r"自 2023-02-0\d 08:00（北京时间）起", first.part("plain"))  # runs start 00:00 UTC
    assert "bcc" not in {k.lower() for k in first.message.keys()}
    with session_scope(engine) as s:
        kinds = {r.kind for r in s.exec(select(Outbox))}
    assert kinds == {"operator"}  # nothing went to subscribers


def test_no_operator_address_no_notice(tmp_path, sqlite_engine):
    cfg = make_config(tmp_path, 1, problem_threshold=1)
    runs = Runs(sqlite_engine)
    runs.cfg = cfg
    runs.crawl(ok=False)
    assert runs.notices() == 0
