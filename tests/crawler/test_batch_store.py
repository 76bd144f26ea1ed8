"""Storing a batch of items in one transaction: the same rows as one at a time, nothing twice, and one bad
item losing only itself."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from sqlmodel import Session, select

from crawler.portal.items import Fetched, ListingItem, ProblemItem, ReportItem
from crawler.portal.pipelines import ReportStore, StorePipeline
from crawler.reading.stage import read_pending
from domain.config import AgencyConfig, Config, PortalConfig
from storage.archive import Archive
from storage.db import init_db, make_engine
from storage.models import CrawlProblem, Fetch, ListingSnapshot, Portal, Report, ReportVersion
from testbed.render import ReportSpec, render_docx, render_html
from testbed.synthetic import consistent_cells
from tests.storage.backends import _truncate_all, pg_engine_factory  # noqa: F401 (a fixture)

BASE = "http://127.0.0.2:8080/zwgk/zfxxgknb/"
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _config(tmp_path) -> Config:  # noqa: ANN001
    return Config(
        path=tmp_path / "config.yaml",
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        archive_dir=tmp_path / "archive",
        portals=[PortalConfig(id="zichuan", name="淄川区人民政府", start_urls=[BASE + "index.html"])],
        agencies=[AgencyConfig(id="zc-zsj", name="淄川区招商局", aliases=["区招商局"], portal="zichuan")],
    )


def _store(cfg: Config, run_id: int) -> ReportStore:
    engine = make_engine(cfg.database_url)
    init_db(engine)
    with Session(engine) as s:  # the registry sync would have made the portal row
        if s.get(Portal, "zichuan") is None:
            s.add(Portal(id="zichuan", name="淄川区人民政府"))
            s.commit()
    return ReportStore(engine, Archive(cfg.archive_dir), cfg, run_id=run_id)


@pytest.fixture
def cfg(tmp_path):
    return _config(tmp_path)


def _fetched(url: str, body: bytes, **headers: str) -> Fetched:
    return Fetched(
        url=url, final_url=url, status=200, headers={"Content-Type": "text/html", **headers}, body=body
    )


def _spec(seed: int) -> ReportSpec:
    cells = consistent_cells("2021", random.Random(seed))
    return ReportSpec(template="2021", year=2024, agency="淄川区招商局", cells=cells)


def _entries(store: ReportStore, seed: int = 1) -> list:
    """A listing, a problem, a report page holding its tables, and a report whose document is a docx."""
    listing = _fetched(BASE + "index.html", "<html>列表</html>".encode())
    page_body = render_html(_spec(seed), encoding="gbk", chrome=True, meta={"PubDate": "2025-01-20 09:30"})
    page = _fetched(BASE + "202501/t20250120_1.html", page_body)
    att_page = _fetched(BASE + "202501/t20250120_2.html", b"<html><body>page</body></html>")
    att = _fetched(BASE + "202501/P0201.docx", render_docx(_spec(seed + 1)))
    items = [
        ListingItem("zichuan", listing, [page.url, att_page.url, page.url], "trs"),
        ProblemItem("zichuan", "blocked", BASE + "x.html", "HTTP 403"),
        ReportItem(
            portal_id="zichuan", url=page.url, title="淄川区招商局2024年政府信息公开工作年度报告",
            pub_meta="2025-01-20 09:30", page=page, document=page,
        ),
        ReportItem(
            portal_id="zichuan", url=att_page.url, title="区招商局2024年政府信息公开工作年度报告",
            page=att_page, document=att, attachment_urls=[att.url],
        ),
    ]  # fmt: skip
    return items


def _read(store: ReportStore):  # noqa: ANN202
    """The reading stage after the crawl, in this process: documents read, reports attributed."""
    return read_pending(store.engine, store.archive, store.config, processes=0, seen_since=EPOCH)


def _snapshot(store: ReportStore) -> dict:
    with Session(store.engine) as s:
        reports = s.exec(select(Report).order_by(Report.url)).all()
        return {
            "reports": [(r.url, r.agency_id, r.year, r.pub_meta, r.current_version_id) for r in reports],
            "versions": len(s.exec(select(ReportVersion)).all()),
            "fetches": len(s.exec(select(Fetch)).all()),
            "snapshots": [x.report_urls for x in s.exec(select(ListingSnapshot))],
            "problems": [(p.kind, p.run_id) for p in s.exec(select(CrawlProblem))],
            "platform": s.get(Portal, "zichuan").platform,
        }


def test_a_batch_stores_what_items_one_by_one_store(tmp_path):
    batched = _store(_config(tmp_path / "a"), run_id=1)
    batched.store_batch(_entries(batched))
    single = _store(_config(tmp_path / "b"), run_id=1)
    for item in _entries(single):
        single.store(item)
    assert _snapshot(batched) == _snapshot(single)
    assert _read(batched).new == _read(single).new == 2
    a, b = _snapshot(batched), _snapshot(single)
    assert a == b
    assert [r[1:3] for r in a["reports"]] == [("zc-zsj", 2024), ("zc-zsj", 2024)]
    assert a["versions"] == 2 and a["fetches"] == 4  # listing, page (its own document), page, attachment
    assert a["snapshots"] == [[BASE + "202501/t20250120_1.html", BASE + "202501/t20250120_2.html"]]
    assert a["problems"] == [("blocked", 1)] and a["platform"] == "trs"
    assert batched.counts == single.counts
    assert batched.counts["reports_new"] == 2 and batched.counts["attachments"] == 1


def test_a_rerun_reads_nothing_and_adds_no_report_or_version(cfg):
    first = _store(cfg, run_id=1)
    first.store_batch(_entries(first))
    assert _read(first).new == 2
    again = _store(cfg, run_id=2)  # a new crawl: what is known comes from the database
    again.store_batch(_entries(again))
    assert _read(again).documents == 0
    snap = _snapshot(again)
    assert len(snap["reports"]) == 2 and snap["versions"] == 2
    assert snap["fetches"] == 8  # each run's evidence is kept
    assert again.counts["reports_new"] == 0 and again.counts["reports_changed"] == 0
    with Session(again.engine) as s:
        assert all(r.last_seen > r.first_seen for r in s.exec(select(Report)))


def test_new_bytes_in_a_batch_make_a_new_version_and_are_known_after(cfg):
    store = _store(cfg, run_id=1)
    store.store_batch(_entries(store, seed=1))
    assert _read(store).new == 2
    store.store_batch(_entries(store, seed=5))  # other cells: both documents differ
    assert store.counts["reports_changed"] == 2 and store.counts["versions_new"] == 4
    assert _read(store).new == 2 and _read(store).documents == 0
    with Session(store.engine) as s:
        assert all(r.last_changed is not None for r in s.exec(select(Report)))


def test_a_bad_item_loses_only_itself(cfg):
    store = _store(cfg, run_id=1)
    pipeline = StorePipeline(SimpleNamespace(settings={}))
    pipeline.store = store
    entries = _entries(store)
    bad = ProblemItem(None, "blocked", BASE + "y.html", "no portal: violates NOT NULL")  # type: ignore[arg-type]
    pipeline._write([*entries[:2], bad, *entries[2:]])
    snap = _snapshot(store)
    assert len(snap["reports"]) == 2 and snap["problems"] == [("blocked", 1)]
    assert snap["fetches"] == 4  # nothing of the failed batch attempt was kept twice


@pytest.mark.postgres
def test_batches_on_postgresql(tmp_path, pg_engine_factory):  # noqa: F811 (the imported fixture)
    """The same statements (multi-row INSERT … RETURNING, executemany UPDATE) on PostgreSQL."""
    url, engine = pg_engine_factory
    _truncate_all(engine)
    cfg = _config(tmp_path)
    cfg.database_url = url
    first = _store(cfg, run_id=1)
    first.store_batch(_entries(first))
    assert _read(first).new == 2
    again = _store(cfg, run_id=2)
    again.store_batch(_entries(again))
    assert _read(again).documents == 0
    snap = _snapshot(again)
    assert [r[1:3] for r in snap["reports"]] == [("zc-zsj", 2024), ("zc-zsj", 2024)]
    assert snap["versions"] == 2 and snap["fetches"] == 8 and snap["platform"] == "trs"
