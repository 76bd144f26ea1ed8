"""The fault suite of the portal stage: crawler traps, hostile redirects, racing crawls, stopped crawls.

Every test runs the real portal stage (``python -m crawler.portal``, a subprocess) against the hostile
server of ``testbed.simulator.hostile`` on 127.0.0.1 (a port in every URL) and asserts what the database
holds afterwards: each portal's ``PortalRead``, the recorded problems, the reports. docs/faults.md lists
each fault with its bound or behaviour and its test here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text
from sqlmodel import Session, func, select

from storage.crawl_state import crawls_in_progress, mark_dead_runs
from storage.db import make_engine
from storage.models import (
    CrawlProblem,
    CrawlRun,
    Fetch,
    ListingSnapshot,
    PortalLock,
    PortalRead,
    Report,
    ReportVersion,
)
from testbed.simulator.hostile import OFFSITE, HostileSite
from tests.integration.cli import ROOT

pytestmark = pytest.mark.slow

# The portal stage, reporting its own peak memory (ru_maxrss, KB) on its last stdout line.
WITH_RSS = (
    "import json, resource, sys\n"
    "from crawler.portal.__main__ import main\n"
    "rc = main(sys.argv[1:])\n"
    "print(json.dumps({'rc': rc, 'maxrss_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))\n"
    "sys.exit(rc)\n"
)


def write_config(data: Path, portals: list[dict], db_url: str | None = None, **crawl) -> Path:
    data.mkdir(parents=True, exist_ok=True)
    cfg = {
        "database": {"url": db_url or f"sqlite:///{data / 'gkwatch.db'}"},
        "archive": {"dir": str(data / "archive")},
        "crawl": {"delay_seconds": 0, "timeout_seconds": 5, "retries": 1, "log_level": "WARNING", **crawl},
        "portals": portals,
    }
    path = data / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


def portal_stage(config: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", WITH_RSS, "--config", str(config), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def peak_mb(done: subprocess.CompletedProcess) -> float:
    return json.loads(done.stdout.strip().splitlines()[-1])["maxrss_kb"] / 1024


def engine_of(data: Path):  # noqa: ANN201
    return make_engine(f"sqlite:///{data / 'gkwatch.db'}")


def reads_of(engine, portal_id: str) -> list[PortalRead]:  # noqa: ANN001
    with Session(engine) as s:
        return list(
            s.exec(select(PortalRead).where(PortalRead.portal_id == portal_id).order_by(PortalRead.id))
        )


def problems_of(engine, portal_id: str) -> list[CrawlProblem]:  # noqa: ANN001
    with Session(engine) as s:
        return list(s.exec(select(CrawlProblem).where(CrawlProblem.portal_id == portal_id)))


@pytest.fixture(scope="module")
def site():
    with HostileSite(slow_seconds=0.4) as s:
        yield s


# --- traps: bounded, and the bound recorded ---------------------------------------------------------------


def test_branching_pagination_trap_ends_at_the_bound_with_a_limit_problem(site, tmp_path):
    cfg = write_config(tmp_path, site.portals("trap"), max_listing_pages_per_portal=40)
    done = portal_stage(cfg, timeout=90)
    assert done.returncode == 0, done.stderr[-3000:]
    engine = engine_of(tmp_path)
    (read,) = reads_of(engine, "trap")
    assert (read.complete, read.end_reason) == (False, "limit")
    assert 1 <= read.listing_pages <= 40
    (limit,) = [p for p in problems_of(engine, "trap") if p.kind == "limit"]
    assert "crawl.max_listing_pages_per_portal = 40" in limit.detail and "/trap/index.html?p=" in limit.url
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(ListingSnapshot)).one() == read.listing_pages
    assert "listings NOT read completely (no missing verdict rests on them): trap (limit)" in done.stderr


def test_a_page_of_100000_report_links_is_cut_at_the_breadth_bound(site, tmp_path):
    cfg = write_config(tmp_path, site.portals("bomb"), max_links_per_listing_page=300)
    before = sum(n for path, n in site.hits.items() if path.startswith("/bomb/t"))
    done = portal_stage(cfg, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    asked = sum(n for path, n in site.hits.items() if path.startswith("/bomb/t")) - before
    assert 0 < asked <= 300
    engine = engine_of(tmp_path)
    (read,) = reads_of(engine, "bomb")
    assert (read.complete, read.end_reason) == (False, "limit") and read.report_links <= 300
    (limit,) = [p for p in problems_of(engine, "bomb") if p.kind == "limit"]
    assert "crawl.max_links_per_listing_page = 300" in limit.detail
    # memory: the page's own bytes and text, not a tree of 100,000 links nor 100,000 queued requests
    small = portal_stage(write_config(tmp_path / "small", site.portals("port")))
    rss, base = peak_mb(done), peak_mb(small)
    print(
        f"link bomb ({site.bomb_bytes / 1e6:.1f} MB page): peak RSS {rss:.0f} MB, a small crawl {base:.0f} MB"
    )
    assert rss - base < 60, f"peak RSS {rss:.0f} MB against {base:.0f} MB"


# --- hostile redirects and refreshes: followed where they stay, recorded where they do not ----------------


@pytest.fixture(scope="module")
def hostile_crawl(site, tmp_path_factory):
    data = tmp_path_factory.mktemp("hostile")
    portals = site.portals("loop", "refresh", "refresh_start", "port", "retry", "bigpage")
    cfg = write_config(data, portals, max_requests_per_portal=15, max_document_bytes=200_000, retries=2)
    done = portal_stage(cfg, timeout=120)
    return data, done


def test_the_hostile_crawl_finishes(hostile_crawl):
    _, done = hostile_crawl
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr


def test_a_302_to_itself_is_recorded_with_its_url(site, hostile_crawl):
    data, _ = hostile_crawl
    engine = engine_of(data)
    url = f"{site.base}/loop/t20250120_1.html"
    (problem,) = problems_of(engine, "loop")
    assert (problem.kind, problem.url) == ("unreachable", url) and "redirect loop" in problem.detail
    with Session(engine) as s:
        report = s.exec(select(Report).where(Report.url == url)).one()
    assert (
        report.crawl_problem == "unreachable" and report.link_text == "循环局2024年政府信息公开工作年度报告"
    )
    (read,) = reads_of(engine, "loop")
    assert read.complete  # the listing was read to its end: the trouble is that one report's


def test_a_meta_refresh_off_site_is_recorded_with_where_it_pointed(site, hostile_crawl):
    data, _ = hostile_crawl
    engine = engine_of(data)
    shell = f"{site.base}/refresh/t20250120_2.html"
    by_url = {p.url: p for p in problems_of(engine, "refresh")}
    assert by_url[shell].kind == "unreachable" and OFFSITE in by_url[shell].detail
    with Session(engine) as s:
        reports = {r.url: r for r in s.exec(select(Report).where(Report.portal_id == "refresh"))}
    assert reports[shell].crawl_problem == "unreachable" and reports[shell].current_version_id is None
    assert reports[shell].link_text == "跳转局2024年政府信息公开工作年度报告"  # names whose status is unknown
    fine = reports[f"{site.base}/refresh/t20250120_3.html"]
    assert fine.crawl_problem is None and fine.current_version_id is not None
    # a column page that forwards off the portal: the listing could not be read
    (start,) = problems_of(engine, "refresh_start")
    assert start.kind == "unreachable" and OFFSITE in start.detail
    (read,) = reads_of(engine, "refresh_start")
    assert (read.complete, read.end_reason, read.failed_pages) == (False, "unreachable", 1)


def test_a_same_host_redirect_on_a_port_is_followed(site, hostile_crawl):
    data, _ = hostile_crawl
    engine = engine_of(data)
    assert problems_of(engine, "port") == []
    with Session(engine) as s:
        report = s.exec(select(Report).where(Report.url == f"{site.base}/port/a")).one()
        version = s.get(ReportVersion, report.current_version_id)
    assert report.crawl_problem is None and version.document_url == f"{site.base}/port/b.html"
    (read,) = reads_of(engine, "port")
    assert (read.complete, read.end_reason, read.listing_pages, read.report_links) == (True, "finished", 1, 1)


def test_requests_per_portal_are_bounded_retries_included(site, hostile_crawl):
    data, _ = hostile_crawl
    engine = engine_of(data)
    (read,) = reads_of(engine, "retry")
    assert (read.complete, read.end_reason) == (False, "limit")
    limits = [p for p in problems_of(engine, "retry") if p.kind == "limit"]
    assert len(limits) == 1 and "crawl.max_requests_per_portal = 15" in limits[0].detail
    sent = sum(n for path, n in site.hits.items() if path.startswith("/retry/"))
    assert sent <= 15  # 1 listing page + 20 links × 3 tries would be 61


def test_a_listing_page_over_the_size_cap_leaves_the_listing_incomplete(hostile_crawl):
    data, _ = hostile_crawl
    engine = engine_of(data)
    (read,) = reads_of(engine, "bigpage")
    assert (read.complete, read.end_reason, read.listing_pages) == (False, "limit", 0)
    (limit,) = problems_of(engine, "bigpage")
    assert limit.kind == "limit" and "crawl.max_document_bytes = 200000" in limit.detail


# --- racing crawls ----------------------------------------------------------------------------------------


def _race(site: HostileSite, data: Path, db_url: str | None, n: int = 4) -> list[subprocess.CompletedProcess]:
    cfg = write_config(data, site.portals("slow", "port"), db_url=db_url)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "crawler.portal", "--config", str(cfg)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=180)
        out.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
    return out


def _check_race(done: list[subprocess.CompletedProcess], engine) -> None:  # noqa: ANN001
    for d in done:
        assert d.returncode == 0, d.stderr[-3000:]
        assert "Traceback" not in d.stderr and "UNIQUE constraint" not in d.stderr
    with Session(engine) as s:
        runs = s.exec(select(CrawlRun)).all()
        reads = s.exec(select(PortalRead)).all()
        locks = s.exec(select(PortalLock)).all()
        fetched = set(s.exec(select(Fetch.run_id, Fetch.portal_id).distinct()).all())
    assert len(runs) == len(done) and {r.status for r in runs} == {"finished"}
    assert locks == []  # every run released its locks
    skipped = {(r.run_id, r.portal_id) for r in reads if r.end_reason == "busy"}
    assert not skipped & fetched  # a run that found a portal busy fetched nothing of it
    for portal in ("slow", "port"):
        crawled = sorted(
            (
                (r.started_at, r.finished_at)
                for r in reads
                if r.portal_id == portal and r.end_reason != "busy"
            ),
        )
        assert crawled and all(r.complete for r in reads if r.portal_id == portal and r.end_reason != "busy")
        # one crawl of a portal at a time: the reads that were not skipped never overlap
        for (_, end), (start, _) in zip(crawled, crawled[1:], strict=False):
            assert end <= start, crawled
    assert any(r.end_reason == "busy" for r in reads if r.portal_id == "slow")  # someone waited its turn


def test_crawls_started_together_on_a_fresh_sqlite_database(site, tmp_path):
    done = _race(site, tmp_path, None)
    _check_race(done, engine_of(tmp_path))


@pytest.mark.postgres
def test_crawls_started_together_on_a_fresh_postgres_schema(site, tmp_path):
    from tests.storage.backends import PG_URL, _pg_reachable

    why = _pg_reachable(PG_URL)
    if why:
        pytest.skip(why)
    schema = f"gkw_race_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    try:
        done = _race(site, tmp_path, url)
        engine = make_engine(url)
        _check_race(done, engine)
        engine.dispose()
    finally:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# --- stopped crawls ---------------------------------------------------------------------------------------


def _start_and_wait_for_a_listing(cfg: Path, engine, argv: list[str]) -> subprocess.Popen:  # noqa: ANN001
    proc = subprocess.Popen(
        argv + ["--config", str(cfg)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.2)
        try:
            with Session(engine) as s:
                if s.exec(select(func.count()).select_from(ListingSnapshot)).one():
                    return proc
        except Exception:  # noqa: BLE001 - the crawl has not made the tables yet
            continue
    proc.kill()
    raise AssertionError("the crawl stored no listing page within 60 s")


def test_sigterm_mid_crawl_leaves_the_listing_incomplete_and_exits_nonzero(site, tmp_path):
    cfg = write_config(tmp_path, site.portals("slow"))
    engine = engine_of(tmp_path)
    proc = _start_and_wait_for_a_listing(cfg, engine, [sys.executable, "-m", "monitor", "crawl"])
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "crawl interrupted" in stderr and "crawl finished" not in stderr
    assert "slow (interrupted)" in stderr
    (read,) = reads_of(engine, "slow")
    assert (read.complete, read.end_reason) == (False, "interrupted") and read.finished_at is not None
    with Session(engine) as s:
        (run,) = s.exec(select(CrawlRun)).all()
        assert run.status == "interrupted" and s.exec(select(PortalLock)).all() == []


def test_sigkill_mid_crawl_is_a_dead_run_anyone_can_tell(site, tmp_path):
    cfg = write_config(tmp_path, site.portals("slow"))
    engine = engine_of(tmp_path)
    proc = _start_and_wait_for_a_listing(cfg, engine, [sys.executable, "-m", "crawler.portal"])
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    (read,) = reads_of(engine, "slow")
    assert read.finished_at is None and not read.complete  # begun, never ended: not a complete read
    with Session(engine) as s:
        (run,) = s.exec(select(CrawlRun)).all()
        run_id = run.id
        assert run.status == "running" and run.heartbeat_at is not None
        assert crawls_in_progress(s) == []  # its process is gone: nobody waits for it
        assert mark_dead_runs(s) == [run_id]
        s.commit()
    (read,) = reads_of(engine, "slow")
    assert (read.complete, read.end_reason) == (False, "interrupted")
    with Session(engine) as s:
        assert s.get(CrawlRun, run_id).status == "interrupted"
        assert s.exec(select(PortalLock)).all() == []
    again = portal_stage(cfg)
    assert again.returncode == 0, again.stderr[-3000:]
    assert reads_of(engine, "slow")[-1].complete


# --- incremental sweeps -----------------------------------------------------------------------------------


def test_known_reports_are_revalidated_with_conditional_requests(site, tmp_path):
    cfg = write_config(tmp_path, site.portals("etag"), revalidate_known_after_days=0)
    engine = engine_of(tmp_path)
    assert portal_stage(cfg).returncode == 0
    with Session(engine) as s:
        seen = {r.url: r.last_seen for r in s.exec(select(Report))}
        versions = s.exec(select(func.count()).select_from(ReportVersion)).one()
    assert len(seen) == 2 and versions == 2
    before = sum(site.conditional.values())
    again = portal_stage(cfg)
    assert again.returncode == 0, again.stderr[-3000:]
    assert sum(site.conditional.values()) - before == 3  # both pages and the attachment: 304
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(ReportVersion)).one() == versions  # no new bodies
        not_modified = s.exec(select(Fetch).where(Fetch.http_status == 304)).all()
        reports = s.exec(select(Report)).all()
    assert len(not_modified) == 3 and all(f.size == 0 and f.sha256 for f in not_modified)
    assert all(r.last_seen > seen[r.url] for r in reports)  # still there, seen now
    assert "unchanged (304 to a conditional request): 3" in again.stderr
    # within the cadence, known reports are not asked at all; the listing always is
    slow_cfg = write_config(tmp_path, site.portals("etag"), revalidate_known_after_days=7)
    hits = dict(site.hits)
    third = portal_stage(slow_cfg)
    assert third.returncode == 0
    assert site.hits["/etag/index.html"] == hits["/etag/index.html"] + 1
    assert site.hits["/etag/t20250120_5.html"] == hits["/etag/t20250120_5.html"]
    assert "known, confirmed recently: not asked again: 2" in third.stderr
    (last,) = reads_of(engine, "etag")[-1:]
    assert last.complete and last.report_links == 2


def test_the_same_bytes_again_are_not_read_again_and_new_bytes_are(site, tmp_path):
    """A server without validators: a known page that comes back byte for byte is confirmed, not read; one
    that changed is read and becomes a new version."""
    cfg = write_config(tmp_path, site.portals("port"), revalidate_known_after_days=0)
    engine = engine_of(tmp_path)
    assert portal_stage(cfg).returncode == 0
    again = portal_stage(cfg)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "unchanged (the same bytes as last time): 1" in again.stderr
    with Session(engine) as s:
        (report,) = s.exec(select(Report)).all()
        fetches = s.exec(select(Fetch).where(Fetch.url == report.url).order_by(Fetch.id)).all()
        assert s.exec(select(func.count()).select_from(ReportVersion)).one() == 1
    assert [f.http_status for f in fetches] == [200, 200] and fetches[0].sha256 == fetches[1].sha256
    assert fetches[1].size == fetches[0].size > 0
    original = site.routes["/port/b.html"]
    from testbed.simulator.hostile import _report, page

    site.routes["/port/b.html"] = page(_report("端口县端口局", 99))  # the portal corrects its report
    try:
        third = portal_stage(cfg)
    finally:
        site.routes["/port/b.html"] = original
    assert third.returncode == 0 and "reports changed: 1" in third.stderr
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(ReportVersion)).one() == 2
        assert s.exec(select(Report)).one().last_changed is not None
