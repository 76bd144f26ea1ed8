"""The scheduler's work, for real: ``gkwatch check`` / ``crawl`` as child processes, then mail over SMTP."""
# ruff: noqa: F811  (pytest fixtures imported from alerts_fixtures are parameters here)

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from sqlmodel import select

from domain.config import load_config
from monitor import scheduler as sch
from storage.db import init_db, make_engine, session_scope
from storage.models import CrawlRun, ListingSnapshot, Outbox, PortalRead
from storage.types import utcnow
from tests.monitor.alerts_fixtures import free_port, smtp_server  # noqa: F401


def write_config(tmp_path: Path, smtp_port: int, portal_url: str) -> Path:
    path = tmp_path / "config.yaml"
    raw = {
        "database": {"url": "sqlite:///gk.db"},
        "archive": {"dir": "archive"},
        "portals": [
            {
                "id": "p1",
                "name": "测试区人民政府",
                "start_urls": [portal_url],
                "allowed_domains": ["127.0.0.1"],
            }
        ],
        "agencies": [
            {
                "id": "a1",
                "name": "测试区招商局",
                "kind": "department",
                "region": "山东省/淄博市",
                "portal": "p1",
            }
        ],
        "deadlines": {"first_year": 2023},
        "crawl": {"delay_seconds": 0, "obey_robots": False, "retries": 0, "timeout_seconds": 5},
        "alerts": {
            "smtp": {"host": "127.0.0.1", "port": smtp_port, "from": "gkwatch@example.org"},
            "subscribers": [
                {"email": "sd@example.org", "regions": ["山东省"]},
                {"email": "gd@example.org", "regions": ["广东省"]},
            ],
            "operator": "ops@example.org",
            "problem_threshold": 1,
        },
    }
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.slow
def test_check_cycle_mails_news_once(tmp_path, smtp_server):
    path = write_config(tmp_path, smtp_server.port, "http://127.0.0.1:9/")
    config = load_config(path)
    engine = make_engine(config.database_url)
    init_db(engine)
    with session_scope(
        engine
    ) as s:  # the portal was read completely and showed no report: the years are missing
        s.add(ListingSnapshot(portal_id="p1", url="http://127.0.0.1:9/", fetched_at=utcnow(), run_id=1))
        s.add(PortalRead(run_id=1, portal_id="p1", started_at=utcnow(), finished_at=utcnow(), complete=True))
    engine.dispose()

    first = asyncio.run(sch.run_cycle(str(path), crawl=False))
    assert first["check"] == 0
    assert (first["digests"], first["sent"], first["failed"]) == (1, 1, 0)
    assert [m.rcpt_tos for m in smtp_server.received] == [["sd@example.org"]]
    body = smtp_server.received[0].part("plain")
    assert "测试区招商局" in body and "未发布" in body and "2023 年度报告" in body

    second = asyncio.run(sch.run_cycle(str(path), crawl=False))
    assert (second["digests"], second["sent"]) == (0, 0)
    assert len(smtp_server.received) == 1


@pytest.mark.slow
def test_dispatch_crawls_an_unreachable_portal_and_tells_the_operator(tmp_path, smtp_server):
    dead = f"http://127.0.0.1:{free_port()}/list/"  # nothing listens there
    path = write_config(tmp_path, smtp_server.port, dead)
    out = asyncio.run(sch.dispatch(str(path)))
    assert out is not None and out["crawl"] == 0 and "check" not in out  # the crawl read and checked itself
    engine = make_engine(load_config(path).database_url)
    with session_scope(engine) as s:
        runs = s.exec(select(CrawlRun)).all()
        kinds = {o.kind: o.recipient for o in s.exec(select(Outbox))}
    engine.dispose()
    assert len(runs) == 1
    assert kinds == {"operator": "ops@example.org"}  # unknown statuses are not the subscribers' news
    assert [m.rcpt_tos for m in smtp_server.received] == [["ops@example.org"]]
    # the crawl just ran: the next dispatch the same day only re-checks if needed, it does not crawl again
    again = asyncio.run(sch.dispatch(str(path)))
    assert again is None
