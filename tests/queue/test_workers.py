"""``gkwatch worker`` processes crawl the bundled sample portals from one PostgreSQL queue, the archive in an S3
bucket (a real S3 endpoint on loopback): the result equals a single-process ``gkwatch crawl``; a worker
killed with SIGKILL in the middle of a crawl loses nothing and duplicates nothing; two ``gkwatch serve`` on one
database schedule each portal once, and the standby takes over when the acting one dies.

Each test has a PostgreSQL schema of its own (other test runs share the server).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text

from domain.config import load_config
from storage.db import make_engine
from tests.integration.cli import ROOT, gkwatch
from tests.storage.backends import PG_URL, _pg_reachable

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.libreoffice,
    pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed"),
]

QUEUE = {
    "enabled": True,
    "heartbeat_seconds": 1,
    "stalled_after_seconds": 4,
    "settle_poll_seconds": 1,
    "standby_retry_seconds": 1,
    "retry_backoff_seconds": 1.5,
}
# when things happened and which run did them: the two crawls ran at different times, as different runs
VOLATILE = frozenset({"first_seen", "started_at", "finished_at", "at", "run_id"})


def _stable(value):  # noqa: ANN001, ANN202
    """A status row (its evidence included) without times and run ids."""
    if isinstance(value, dict):  # the order listing pages were fetched in is Scrapy's, not a result
        return {
            k: sorted(v) if k == "listing_urls" else _stable(v) for k, v in value.items() if k not in VOLATILE
        }
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


@pytest.fixture(scope="module")
def schemas() -> Iterator[Callable[[], str]]:
    """Make a fresh schema (a database URL searching it); every one is dropped at the end."""
    why = _pg_reachable(PG_URL)
    if why:
        pytest.skip(why)
    made: list[str] = []
    admin = make_engine(PG_URL)

    def new() -> str:
        schema = f"gkw_workers_{uuid.uuid4().hex[:10]}"
        with admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        made.append(schema)
        return f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"

    try:
        yield new
    finally:
        with admin.begin() as c:
            for schema in made:
                c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="module")
def sim():
    from testbed.simulator import SamplePortals

    with SamplePortals(faults=False) as portals:
        yield portals


@pytest.fixture(scope="module")
def baseline(sim, tmp_path_factory):
    """One ``gkwatch crawl`` in one process (SQLite, a local archive): what the workers must equal."""
    data = tmp_path_factory.mktemp("single")
    cfg = sim.write_config(data)
    crawl = gkwatch(cfg, "crawl", timeout=600)
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    return _snapshot(cfg)


def _write(sim, data: Path, url: str, s3: dict | None = None, **extra) -> Path:
    cfg = sim.config(data)
    cfg["database"]["url"] = url
    cfg["queue"] = dict(QUEUE)
    if s3:
        cfg["archive"] = {"dir": str(data / "unused-archive"), "s3": s3}
    cfg.update(extra)
    path = data / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _snapshot(cfg: Path) -> dict:
    """What a crawl concluded: the status table, the reports and their documents, the readings."""
    status = gkwatch(cfg, "status", "--format", "json")
    assert status.returncode == 0, status.stderr[-2000:]
    rows = [_stable(row) for row in json.loads(status.stdout)]
    engine = make_engine(load_config(cfg).database_url)
    try:
        with engine.connect() as c:
            reports = c.execute(
                text(
                    "SELECT r.url, r.agency_id, r.year, v.sha256 FROM report r "
                    "LEFT JOIN reportversion v ON v.id = r.current_version_id ORDER BY r.url"
                )
            ).all()
            versions = c.execute(text("SELECT count(*) FROM reportversion")).scalar_one()
            readings = c.execute(text("SELECT sha256, format, error FROM reading ORDER BY sha256")).all()
    finally:
        engine.dispose()
    return {
        "status": sorted(rows, key=lambda r: (r["agency_id"], r["year"])),
        "reports": [tuple(r) for r in reports],
        "versions": versions,
        "readings": [tuple(r) for r in readings],
    }


def _same(result: dict, baseline: dict) -> None:
    """``result == baseline``, the differing status rows named when not."""
    differ = [(a, b) for a, b in zip(result["status"], baseline["status"], strict=False) if a != b]
    assert not differ, "\n".join(
        f"{a['agency_id']} {a['year']}: "
        + ", ".join(f"{k}={a[k]!r} (single: {b.get(k)!r})" for k in a if a[k] != b.get(k))
        for a, b in differ[:10]
    )
    assert result == baseline


def _defer_all(cfg: Path) -> list[str]:
    from monitor.queue.tables import ensure_schema
    from monitor.queue.tasks import build_app, defer_crawls
    from storage.db import init_db

    config = load_config(cfg)
    engine = make_engine(config.database_url)
    init_db(engine)
    ensure_schema(engine)  # as the service's dispatcher does (a worker may not have made them yet)
    engine.dispose()

    async def go() -> list[str]:
        app = build_app(config, pool_size=2)
        async with app.open_async():
            return await defer_crawls(app, config, [p.id for p in config.portals])

    return asyncio.run(go())


class Workers:
    """``gkwatch worker`` processes, their output in files (shown when a test fails)."""

    def __init__(self, cfg: Path, logs: Path) -> None:
        self.cfg, self.logs = cfg, logs
        self.procs: list[subprocess.Popen] = []

    def start(self, n: int = 1) -> list[subprocess.Popen]:
        new = []
        for _ in range(n):
            log = (self.logs / f"worker-{len(self.procs)}.log").open("w")
            p = subprocess.Popen(
                [sys.executable, "-m", "monitor", "worker", "--config", str(self.cfg)],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self.procs.append(p)
            new.append(p)
        return new

    def tails(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted(self.logs.glob("worker-*.log"))
        )

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _jobs(url: str) -> list[tuple]:
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            return c.execute(
                text(
                    "SELECT task_name, status::text, args->>'portal_id', attempts FROM procrastinate_jobs ORDER BY id"
                )
            ).all()
    finally:
        engine.dispose()


def _settled(url: str) -> bool:
    """Every job ended, and a settle job checked after the last crawl."""
    jobs = _jobs(url)
    ended = jobs and all(status in ("succeeded", "failed") for _, status, _, _ in jobs)
    return (
        bool(ended)
        and any(t == "gkwatch.settle" and s == "succeeded" for t, s, _, _ in jobs)
        and _checked(url)
    )


def _checked(url: str) -> bool:
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            return c.execute(text("SELECT count(*) FROM agencyyearstatus")).scalar_one() > 0
    finally:
        engine.dispose()


def _wait(what: Callable[[], bool], timeout: float, why: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if what():
            return
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout:.0f} s\n{why()}")


def test_three_workers_equal_one_process_and_reparse_on_the_queue(
    sim, baseline, schemas, s3_config, tmp_path
):
    url = schemas()
    s3 = s3_config.model_dump(exclude_none=True)
    cfg = _write(sim, tmp_path, url, s3)
    workers = Workers(cfg, tmp_path)
    try:
        workers.start(3)
        assert sorted(_defer_all(cfg)) == sorted(p.id for p in sim.portals)
        assert _defer_all(cfg) == []  # one waiting job per portal: a second request is refused
        _wait(lambda: _settled(url), 400, workers.tails)
        jobs = _jobs(url)
        crawls = [portal for task, status, portal, _ in jobs if task == "gkwatch.crawl_portal"]
        assert sorted(crawls) == sorted(p.id for p in sim.portals)  # each portal crawled by one job
        assert all(status == "succeeded" for _, status, _, _ in jobs), jobs
        ran = [
            p for p in tmp_path.glob("worker-*.log") if "Starting job gkwatch.crawl_portal" in p.read_text()
        ]
        assert len(ran) >= 2, "the crawl jobs were not shared between the workers"
        result = _snapshot(cfg)
        _same(result, baseline)

        # every document is in the bucket, none in a local folder
        from storage.archive import S3Archive

        archive = S3Archive(load_config(cfg).archive_s3)
        assert all(archive.has(sha) for sha, _, _ in result["readings"])
        assert not (tmp_path / "unused-archive").exists()

        # gkwatch reparse: batches of reading jobs for the workers, then one check
        re = gkwatch(cfg, "reparse", timeout=600)
        assert re.returncode == 0, re.stderr[-3000:] + workers.tails()
        n = len(result["readings"])
        assert f"re-read {n} documents on the workers: 0 new or changed" in re.stderr
        engine = make_engine(url)
        with engine.connect() as c:  # the crawls' reading jobs, then the reparse's batches: all done
            reads = c.execute(
                text(
                    "SELECT args->>'pass_id' IS NOT NULL, status::text, jsonb_array_length(args->'shas') "
                    "FROM procrastinate_jobs WHERE task_name = 'gkwatch.read_documents'"
                )
            ).all()
        engine.dispose()
        assert {status for _, status, _ in reads} == {"succeeded"}
        assert sum(size for reparse, _, size in reads if reparse) == n  # every document, in batches
        assert sum(size for reparse, _, size in reads if not reparse) == n  # each read once after its crawl
        _same(_snapshot(cfg), baseline)
    finally:
        workers.stop()


def test_a_worker_killed_mid_crawl_loses_nothing_and_duplicates_nothing(
    sim, baseline, schemas, s3_config, tmp_path
):
    url = schemas()
    cfg = _write(sim, tmp_path, url, s3_config.model_dump(exclude_none=True))
    config = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    slow = config["portals"][0]["id"]
    config["portals"][0]["delay_seconds"] = 0.4  # its crawl takes a while: time to kill its worker
    cfg.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    engine = make_engine(url)
    workers = Workers(cfg, tmp_path)
    try:
        (first,) = workers.start(1)
        _defer_all(cfg)

        def fetching() -> bool:
            with engine.connect() as c:
                return (
                    c.execute(
                        text(
                            'SELECT count(*) FROM "fetch" f JOIN portalread r ON r.run_id = f.run_id '
                            "WHERE r.portal_id = :p"
                        ),
                        {"p": slow},
                    ).scalar_one()
                    >= 3
                )

        _wait(fetching, 120, workers.tails)
        os.kill(first.pid, signal.SIGKILL)  # the worker alone: its crawl child hears of it from the kernel
        first.wait(10)

        def interrupted() -> bool:
            with engine.connect() as c:
                return (
                    c.execute(
                        text(
                            "SELECT count(*) FROM portalread WHERE portal_id = :p AND end_reason = 'interrupted'"
                        ),
                        {"p": slow},
                    ).scalar_one()
                    == 1
                )

        _wait(interrupted, 60, workers.tails)  # the orphaned crawl closed its read itself
        workers.start(2)
        _wait(lambda: _settled(url), 400, workers.tails)
        jobs = _jobs(url)
        crawls = [
            (portal, status, attempts)
            for task, status, portal, attempts in jobs
            if task == "gkwatch.crawl_portal"
        ]
        assert sorted(p for p, _, _ in crawls) == sorted(
            p.id for p in sim.portals
        )  # still one job per portal
        assert all(status == "succeeded" for _, status, _ in crawls), crawls
        assert dict((p, a) for p, _, a in crawls)[slow] >= 1  # put back in the queue once its worker died
        assert any("back in the queue" in p.read_text() for p in tmp_path.glob("worker-*.log"))
        with engine.connect() as c:
            reads = c.execute(
                text("SELECT end_reason, complete FROM portalread WHERE portal_id = :p ORDER BY started_at"),
                {"p": slow},
            ).all()
            running = c.execute(text("SELECT count(*) FROM crawlrun WHERE status = 'running'")).scalar_one()
        assert [tuple(r) for r in reads] == [("interrupted", False), ("finished", True)]
        assert running == 0
        _same(_snapshot(cfg), baseline)  # nothing lost, nothing doubled
    finally:
        workers.stop()
        engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_services_on_one_database_schedule_each_portal_once(schemas, tmp_path):
    url = schemas()
    portals = [
        {
            "id": f"p{i}",
            "start_urls": [f"http://127.0.0.{40 + i}:9/list/"],
            "allowed_domains": [f"127.0.0.{40 + i}"],
        }
        for i in range(4)
    ]
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "database": {"url": url},
                "archive": {"dir": str(tmp_path / "archive")},
                "portals": portals,
                "queue": dict(QUEUE),
                "schedule": {"first_dispatch_seconds": 1},
            }
        ),
        encoding="utf-8",
    )
    services, logs = [], []
    try:
        for i in range(2):
            log = tmp_path / f"serve-{i}.log"
            logs.append(log)
            services.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "monitor",
                        "serve",
                        "--config",
                        str(cfg),
                        "--port",
                        str(_free_port()),
                    ],
                    cwd=ROOT,
                    stdout=log.open("w"),
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

        def tails() -> str:
            return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in logs)

        def crawl_jobs() -> list[str]:
            try:
                return [p for t, _, p, _ in _jobs(url) if t == "gkwatch.crawl_portal"]
            except Exception:  # noqa: BLE001 - the queue's tables are not there yet
                return []

        _wait(lambda: len(crawl_jobs()) >= 4, 90, tails)
        time.sleep(4)  # time for a second scheduler to dispatch too, if there were one
        assert sorted(crawl_jobs()) == ["p0", "p1", "p2", "p3"]
        acting = [i for i, log in enumerate(logs) if "acting scheduler" in log.read_text()]
        assert len(acting) == 1, tails()
        (leader,) = acting
        standby = 1 - leader
        assert "serving at" in logs[standby].read_text()  # the standby serves the web page all the same

        os.killpg(services[leader].pid, signal.SIGKILL)  # the acting service dies: its session ends
        services[leader].wait(10)
        _wait(lambda: "acting scheduler" in logs[standby].read_text(), 30, tails)
        time.sleep(3)  # it keeps the stored schedule: nothing is queued twice
        assert sorted(crawl_jobs()) == ["p0", "p1", "p2", "p3"]
    finally:
        for p in services:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in services:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
