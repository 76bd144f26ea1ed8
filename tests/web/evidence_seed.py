"""A database judged by the real ``gkwatch check``: every kind of verdict with the evidence ``verdict.py``
stores for it — what the evidence tests of the page, the exports, ``/api/status`` and the mail read.

Two portals (times in Asia/Shanghai):

* ``zb`` (淄博) was read completely on 2022-02-10 and 2022-04-05, each listing page archived:
  - 淄川区招商局 2021: PubDate ``2022-02-03`` → ``late`` (3 days), its report's 表四 does not add up
    (``s4.total`` error, with its numbers);
  - 淄川区教育局 2021: the page prints ``2022-01-20`` → ``on_time``; a cell printed ``——`` (a warning);
  - 淄川区人民政府 2021: no report in either read → ``missing`` (the 2022-04-05 read is the proof);
  - 张店区财政局 2021: no date anywhere, first seen 2022-03-01, absent from the 2022-02-10 read →
    ``late`` on ``listing_absent``;
  - 张店区教育局 2021: no date anywhere, first seen 2022-01-20 → ``on_time`` on ``first_seen``.
* ``hh`` (怀化) answered 403 on 2022-02-15 and was never read completely → 怀化市城管局 2021 ``unknown``.

Checked as of 2022-06-01. ``AS_OF`` and the expected verdicts are module constants the tests use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import delete, update
from sqlalchemy.engine import Engine

from domain.config import AgencyConfig, Config, PortalConfig, WebConfig
from monitor.status.check import run_check
from storage.archive import Archive
from storage.db import init_db, make_engine, session_scope
from storage.models import CrawlProblem, CrawlRun, ListingSnapshot, PortalRead
from tests.monitor.builders import portal_read, report, sh, version
from tests.web.seed import password_hash

AS_OF = date(2022, 6, 1)
EXPECTED = {
    ("zc-zsj", 2021): "late",
    ("zc-jyj", 2021): "on_time",
    ("zc-gov", 2021): "missing",
    ("zd-czj", 2021): "late",
    ("zd-jyj", 2021): "on_time",
    ("hh-cgj", 2021): "unknown",
}
LISTING_HTML = b"<html><body><ul><li><a href='/a.html'>report</a></li></ul></body></html>"


@dataclass
class Judged:
    config: Config
    engine: Engine
    archive: Archive
    runs: dict[str, int]


def config_for(root: Path) -> Config:
    agencies = [
        ("zc-zsj", "淄川区招商局", "department", "山东省/淄博市/淄川区", "zb", ["区招商局", "淄川招商"]),
        ("zc-jyj", "淄川区教育局", "department", "山东省/淄博市/淄川区", "zb", []),
        ("zc-gov", "淄川区人民政府", "government", "山东省/淄博市/淄川区", "zb", []),
        ("zd-czj", "张店区财政局", "department", "山东省/淄博市/张店区", "zb", []),
        ("zd-jyj", "张店区教育局", "department", "山东省/淄博市/张店区", "zb", []),
        ("hh-cgj", "怀化市城管局", "department", "湖南省/怀化市", "hh", []),
    ]
    cfg = Config(
        path=root / "config.yaml",
        database_url=f"sqlite:///{root / 'judged.db'}",
        archive_dir=root / "archive",
        web=WebConfig.model_validate(
            {"secret_key": "test-secret", "users": [{"username": "alice", "password_hash": password_hash()}]}
        ),
    )
    cfg.deadlines.first_year = 2021
    cfg.portals = [
        PortalConfig(id="zb", name="淄博市人民政府", start_urls=["http://zb.example/xxgk/"]),
        PortalConfig(id="hh", name="怀化市人民政府", start_urls=["http://hh.example/xxgk/"]),
    ]
    cfg.agencies = [
        AgencyConfig(id=i, name=n, kind=k, region=r, portal=p, aliases=al) for i, n, k, r, p, al in agencies
    ]
    cfg.alerts.base_url = "http://watch.example.org"
    cfg.alerts.contact = "监测组 watch@example.org"
    cfg.alerts.unsubscribe_secret = "unsubscribe-test-secret"
    return cfg


def build(root: Path) -> Judged:
    cfg = config_for(root)
    engine = make_engine(cfg.database_url)
    init_db(engine)
    archive = Archive(cfg.archive_dir)
    listing_sha = archive.put(LISTING_HTML)
    url = "http://zb.example/xxgk/list.html"
    zsj = "http://zb.example/zc-zsj/2021.html"
    jyj = "http://zb.example/zc-jyj/2021.html"
    zd_jyj = "http://zb.example/zd-jyj/2021.html"
    czj = "http://zb.example/zd-czj/2021.html"
    first = portal_read(engine, "zb", "2022-02-10 09:00", url, [zsj, jyj, zd_jyj])
    second = portal_read(engine, "zb", "2022-04-05 09:00", url, [zsj, jyj, zd_jyj, czj])
    blocked = _blocked(engine)
    with session_scope(engine) as s:
        s.execute(update(ListingSnapshot).values(sha256=listing_sha))
        for run, at, portal in (
            (first, "2022-02-10 09:00", "zb"),
            (second, "2022-04-05 09:00", "zb"),
            (blocked, "2022-02-15 08:00", "hh"),
        ):
            s.add(
                CrawlRun(
                    id=run, started_at=sh(at), finished_at=sh(at), status="finished", portal_ids=[portal]
                )
            )
    report(engine, "zc-zsj", 2021, published=date(2022, 2, 3), first_seen="2022-02-04 10:13", url=zsj, portal="zb",
           versions=[version(2021, broken=True)])  # fmt: skip
    report(engine, "zc-jyj", 2021, published=date(2022, 1, 20), evidence="page_text", first_seen="2022-01-21 08:00", portal="zb",
           url=jyj, versions=[version(2021, seed=3, notes={"s3.carried_over.natural_person": ("not_number", "填了「——」而不是数字")})])  # fmt: skip
    report(engine, "zd-czj", 2021, published=None, first_seen="2022-03-01 09:30", url=czj, portal="zb")
    report(engine, "zd-jyj", 2021, published=None, first_seen="2022-01-20 09:30", url=zd_jyj, portal="zb")
    run_check(engine, cfg, as_of=AS_OF)
    return Judged(cfg, engine, archive, {"first": first, "second": second, "blocked": blocked})


def _blocked(engine: Engine) -> int:
    """怀化's portal answered 403 to its listing: a problem, and that run's read incomplete."""
    run = portal_read(
        engine, "hh", "2022-02-15 08:00", "http://hh.example/xxgk/", [], complete=False, end_reason="blocked"
    )
    with session_scope(engine) as s:
        s.add(
            CrawlProblem(
                portal_id="hh", url="http://hh.example/xxgk/", kind="blocked", detail="HTTP 403", at=sh("2022-02-15 08:00"),
                run_id=run,
            )
        )  # fmt: skip
        s.execute(update(PortalRead).where(PortalRead.run_id == run).values(listing_pages=0))
        s.execute(delete(ListingSnapshot).where(ListingSnapshot.run_id == run))  # no page of it was read
    return run
