"""``gkwatch crawl`` as a subprocess against small portals on loopback: what lands in the database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from sqlmodel import Session, func, select

from storage.db import make_engine
from storage.models import CrawlProblem, CrawlRun, ListingSnapshot, Report, ReportVersion
from tests.integration.cli import ROOT, gkwatch
from tests.integration.portals import LocalPortals

pytestmark = pytest.mark.slow


def crawl(config: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return gkwatch(config, "crawl", *args, timeout=timeout)


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    data = tmp_path_factory.mktemp("crawl")
    with LocalPortals() as tp:
        cfg = tp.write_config(data)
        first = crawl(cfg, "--portal", "blocked", "--portal", "robots", "--portal", "faults")
        yield tp, data, first


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (from /proc: children of children included)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie waits for init to reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _db(data: Path):
    return make_engine(f"sqlite:///{data / 'gkwatch.db'}")


def test_crawl_exits_zero_and_summarizes(crawled):
    _, _, first = crawled
    assert first.returncode == 0, first.stderr[-3000:]
    assert "crawl finished: 3 portal(s)" in first.stderr
    assert "reports new: " in first.stderr and "blocked 1" in first.stderr
    assert "portals not read: blocked (blocked), robots (robots)" in first.stderr
    assert "progress: portals done 3/3" in first.stderr


def test_problems_are_recorded_by_kind(crawled):
    tp, data, _ = crawled
    with Session(_db(data)) as s:
        probs = s.exec(select(CrawlProblem)).all()
        reps = {r.url: r for r in s.exec(select(Report).where(Report.portal_id == "faults"))}
    kinds = {(p.portal_id, p.kind) for p in probs}
    assert ("blocked", "blocked") in kinds
    assert ("robots", "robots") in kinds
    by_url = {p.url: p for p in probs if p.portal_id == "faults"}
    u = tp.fault_urls
    for key in ("超时局", "重置局", "截断局", "外跳局", "故障局"):
        assert by_url[u[key]].kind == "unreachable", (key, by_url.get(u[key]))
        assert reps[u[key]].crawl_problem == "unreachable"  # the report the listing showed is kept
    assert "allowed_domains" in by_url[u["外跳局"]].detail
    assert "HTTP 500" in by_url[u["故障局"]].detail
    # a document over crawl.max_document_bytes: a bound reached, on that report only
    huge = by_url[u["巨大局"]]
    assert huge.kind == "limit" and "crawl.max_document_bytes = 2000000" in huge.detail
    assert reps[u["巨大局"]].crawl_problem == "limit"
    assert not any(p.portal_id == "zichuan" for p in probs)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killed_midway_then_rerun_finishes_without_duplicates(tmp_path, sig):
    with LocalPortals(slow_seconds=0.2) as tp:
        cfg = tp.write_config(tmp_path)
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "crawl", "--config", str(cfg), "--portal", "zichuan"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        engine = _db(tmp_path)
        deadline = time.monotonic() + 60
        stored = 0
        while time.monotonic() < deadline and stored < 1:
            time.sleep(0.2)
            try:
                with Session(engine) as s:
                    stored = s.exec(select(func.count()).select_from(Report)).one()
            except Exception:  # the crawl has not created the tables yet
                stored = 0
        helpers = descendants(proc.pid)  # the parser's worker processes
        os.kill(proc.pid, sig)
        proc.wait(timeout=30)
        gone_by = time.monotonic() + 10
        while time.monotonic() < gone_by and any(_running(p) for p in helpers):
            time.sleep(0.2)
        assert not [p for p in helpers if _running(p)], "worker processes outlived the crawl"
        with Session(engine) as s:
            partial = s.exec(select(func.count()).select_from(Report)).one()
        assert partial >= 1
        if sig == signal.SIGKILL:
            assert partial < 5  # killed for real mid-way (SIGTERM lets Scrapy finish what is in flight)
        done = crawl(cfg, "--portal", "zichuan")
        assert done.returncode == 0, done.stderr[-3000:]
        with Session(engine) as s:
            urls = s.exec(select(Report.url)).all()
            runs = s.exec(select(CrawlRun).order_by(CrawlRun.id)).all()
            nversions = s.exec(select(func.count()).select_from(ReportVersion)).one()
        assert len(urls) == len(set(urls)) == 5
        assert nversions == 5
        assert runs[-1].status == "finished"
        assert runs[0].status == "interrupted"  # SIGTERM: said so on the way out; SIGKILL: found dead later


def test_robots_per_portal_override_is_obeyed_and_logged(tmp_path):
    with LocalPortals() as tp:
        cfg = tp.config(tmp_path)
        cfg["crawl"]["obey_robots"] = False
        robots = next(p for p in cfg["portals"] if p["id"] == "robots")
        robots["obey_robots"] = True  # this portal only: obey
        other = {**robots, "id": "robots-ignored", "obey_robots": None}
        other["start_urls"] = [robots["start_urls"][0] + "?column=2"]  # the same site, another page
        cfg["portals"].append(other)
        cfg["portals"] = [p for p in cfg["portals"] if p["id"].startswith("robots")]
        cfg["agencies"] = []
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
        done = crawl(path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "portal robots overrides crawl.obey_robots" in done.stderr
    with Session(_db(tmp_path)) as s:
        probs = s.exec(select(CrawlProblem)).all()
        snaps = s.exec(select(ListingSnapshot)).all()
    assert [(p.portal_id, p.kind) for p in probs] == [("robots", "robots")]
    assert [snap.portal_id for snap in snaps] == ["robots-ignored"]


def test_scrapy_crawl_command_runs_the_same_spider(tmp_path):
    with LocalPortals() as tp:
        cfg = tp.write_config(tmp_path)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "scrapy",
                "crawl",
                "portal",
                "-a",
                f"config={cfg}",
                "-a",
                "portals=zichuan",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        user_agents = set(tp.trs.user_agents)
    assert done.returncode == 0, done.stderr[-3000:]
    # config.yaml's crawl settings hold under `scrapy crawl` too: its contact, its timeout, its delay
    assert len(user_agents) == 1 and "ops@example.org" in user_agents.pop()
    assert "'DOWNLOAD_TIMEOUT': 1.5" in done.stderr and "'DOWNLOAD_DELAY_JITTER': 0" in done.stderr
    extensions = done.stderr.split("Enabled extensions:", 1)[1].split("]", 1)[0]
    assert "CoreStats" in extensions  # the list was read …
    assert "telnet" not in extensions.lower() and "remote_control" not in extensions  # … and no console in it
    with Session(_db(tmp_path)) as s:
        (run,) = s.exec(select(CrawlRun)).all()
        assert (run.status, run.portal_ids) == ("finished", ["zichuan"])
        assert run.stats["reports_new"] == 5
        assert len(s.exec(select(Report)).all()) == 5
