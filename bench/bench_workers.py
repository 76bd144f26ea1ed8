"""Crawl workers on the shared job queue: 1 vs 2 vs 4 ``gkwatch worker`` processes, and the queue's own cost.

Sample portals (TRS-shaped: a listing page, report articles holding their tables) are served on loopback
addresses, one per portal, each with a polite delay of 0.2 s between requests to it — crawling is then bound by
politeness, not by the CPU, and each worker adds a site crawled at once: the wall time should fall nearly as
1/N. Measured, each on a fresh PostgreSQL schema (a first crawl of every portal each time):

* **bare** — the baseline: the crawl job's own child process (``python -m monitor.queue.child``, the portal
  stage of one portal) run for each portal one after the other, no queue;
* **N workers** — ``gkwatch worker`` × N (one job at a time each), every portal deferred as one crawl job;
  the time until the last crawl job ended (the reading jobs they queue run after; the time until the
  final check is printed beside it).

The queue's overhead per job is (1 worker − bare) / portals: deferring, fetching the job, the heartbeat, the
look at the portal's read afterwards, queueing its reading — everything but the crawl itself.

    .venv/bin/python bench/bench_workers.py [--quick] [--n PORTALS]

PostgreSQL: ``GKWATCH_TEST_PG`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``), a schema of its
own per case, dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as ``python bench/bench_workers.py``

import yaml  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench.common import Result, arguments, print_table  # noqa: E402
from storage.db import init_db, make_engine  # noqa: E402
from testbed.render import ReportSpec, render_html  # noqa: E402
from testbed.synthetic import consistent_cells  # noqa: E402

PG_URL = os.environ.get("GKWATCH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DELAY = 0.2  # seconds between two requests to one site
REPORTS = 12  # report pages per portal (one listing page): 14 requests with robots.txt
NB = "/zwgk/zfxxgknb/"
WORKERS = (1, 2, 4)
# every job ended, and the last settle job did the check (not just waited)
SETTLED = (
    "SELECT NOT EXISTS (SELECT 1 FROM procrastinate_jobs WHERE status IN ('todo', 'doing')) "
    "AND EXISTS (SELECT 1 FROM procrastinate_jobs WHERE task_name = 'gkwatch.settle' AND status = 'succeeded')"
)


def build_site(portal: int) -> dict[str, bytes]:
    rng = random.Random(portal)
    pages = {"/robots.txt": b"User-agent: *\nAllow: /\n"}
    items = []
    for n in range(REPORTS):
        agency = f"第{portal}县第{n}局"
        spec = ReportSpec(template="2021", year=2024, agency=agency, cells=consistent_cells("2021", rng))
        href = f"202501/t20250120_{portal:03d}{n:04d}.html"
        meta = {"PubDate": "2025-01-20 09:30", "ContentSource": agency, "ArticleTitle": spec.full_title}
        pages[NB + href] = render_html(spec, encoding="gbk", chrome=True, meta=meta)
        items.append(
            f'<li><a href="./{href}" title="{spec.full_title}">{spec.full_title}</a><span>2025-01-20</span></li>'
        )
    html = (
        '<html><head><meta charset="gbk"><title>政府信息公开年报</title></head><body><ul>'
        + "".join(items)
        + '</ul><script>createPageHTML(1, 0, "index", "html");</script></body></html>'
    )
    pages[NB + "index.html"] = html.encode("gb18030")
    return pages


def serve(host: str, pages: dict[str, bytes]) -> ThreadingHTTPServer:
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *a) -> None:  # noqa: ANN002
            pass

        def do_GET(self) -> None:  # noqa: N802
            body = pages.get(self.path.split("?")[0])
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "text/plain" if self.path.endswith(".txt") else "text/html")
            body = body if body is not None else b"not found"
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer((host, 0), H)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Case:
    """A fresh schema and a config.yaml pointing at it (and at the running sites)."""

    def __init__(self, work: Path, starts: list[str], hosts: list[str]) -> None:
        self.schema = f"gkw_bench_{uuid.uuid4().hex[:10]}"
        self.admin = make_engine(PG_URL)
        with self.admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        self.url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{self.schema}"
        self.work = work
        work.mkdir(parents=True, exist_ok=True)
        cfg = {
            "database": {"url": self.url},
            "archive": {"dir": str(work / "archive")},
            "crawl": {"delay_seconds": DELAY, "obey_robots": True, "log_level": "WARNING"},
            "portals": [
                {"id": f"p{i}", "name": f"第{i}县人民政府", "start_urls": [u], "allowed_domains": [h]}
                for i, (u, h) in enumerate(zip(starts, hosts, strict=True))
            ],
            "queue": {
                "enabled": True,
                "heartbeat_seconds": 2,
                "stalled_after_seconds": 10,
                "settle_poll_seconds": 1,
            },
        }
        self.config = work / "config.yaml"
        self.config.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
        self.engine = make_engine(self.url)
        init_db(self.engine)
        from monitor.queue.tables import ensure_schema

        ensure_schema(self.engine)

    def scalar(self, sql: str) -> int:
        with self.engine.connect() as c:
            return c.execute(text(sql)).scalar_one()

    def close(self) -> None:
        self.engine.dispose()
        with self.admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
        self.admin.dispose()


def bare(case: Case, portals: int) -> float:
    """The crawl job's child process for each portal in turn: the work without the queue."""
    # warm the disk cache with the crawl's imports first: the queue cases, run later, find it warm too
    subprocess.run([sys.executable, "-c", "import crawler.portal.run"], cwd=ROOT, check=True)
    start = time.perf_counter()
    for i in range(portals):
        out = subprocess.run(
            [sys.executable, "-m", "monitor.queue.child", "--config", str(case.config), "--portal", f"p{i}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            raise SystemExit(f"crawl of p{i} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return time.perf_counter() - start


def queued(case: Case, portals: int, n: int) -> tuple[float, float]:
    """N workers crawl every portal from the queue: seconds until the last crawl job, and until the check."""
    from domain.config import load_config
    from monitor.queue.tasks import build_app, defer_crawls

    config = load_config(case.config)
    logs = [(case.work / f"worker-{i}.log").open("w") for i in range(n)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "monitor", "worker", "--config", str(case.config), "--concurrency", "1"],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for log in logs
    ]
    try:
        deadline = time.monotonic() + 120
        while case.scalar("SELECT count(*) FROM procrastinate_workers") < n:  # every worker ready
            if time.monotonic() > deadline:
                raise SystemExit(
                    "the workers did not start:\n" + (case.work / "worker-0.log").read_text()[-3000:]
                )
            time.sleep(0.2)

        async def defer() -> None:
            app = build_app(config, pool_size=2)
            async with app.open_async():
                await defer_crawls(app, config, [p.id for p in config.portals])

        start = time.perf_counter()
        asyncio.run(defer())
        crawled = None
        while True:
            left = case.scalar(
                "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing') "
                "AND task_name = 'gkwatch.crawl_portal'"
            )
            if left == 0 and crawled is None:
                crawled = time.perf_counter() - start
            if crawled is not None and case.scalar(SETTLED):
                break  # the settle job checked and mailed: the whole cycle is done
            if case.scalar("SELECT count(*) FROM procrastinate_jobs WHERE status = 'failed'"):
                raise SystemExit("a job failed:\n" + (case.work / "worker-0.log").read_text()[-3000:])
            time.sleep(0.1)
        done = case.scalar("SELECT count(DISTINCT portal_id) FROM portalread WHERE complete")
        if done != portals:
            raise SystemExit(f"{done} of {portals} portals read completely")
        return crawled, time.perf_counter() - start
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(60)
        for log in logs:
            log.close()


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # a timeout's SIGTERM still stops the workers
    args = arguments("crawl workers on the job queue: 1 vs 2 vs 4 workers", full=30, quick=8)
    hosts = [f"127.0.0.{60 + i}" for i in range(args.n)]
    servers = [serve(h, build_site(i)) for i, h in enumerate(hosts)]
    starts = [f"http://{h}:{s.server_address[1]}{NB}index.html" for h, s in zip(hosts, servers, strict=True)]
    requests = REPORTS + 2
    print(
        f"{args.n} portals × {requests} requests, {DELAY:g} s between requests to one site "
        f"(≥ {requests * DELAY:.1f} s of politeness per portal)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        case = Case(Path(tmp) / "bare", starts, hosts)
        try:
            bare_s = bare(case, args.n)
        finally:
            case.close()
        timings: dict[int, tuple[float, float]] = {}
        for n in WORKERS:
            case = Case(Path(tmp) / f"w{n}", starts, hosts)
            try:
                timings[n] = queued(case, args.n, n)
            finally:
                case.close()
    for s in servers:
        s.shutdown()
    one = timings[1][0]
    results = [Result("bare: child processes one by one", args.n, bare_s, bare_s, note="no queue")]
    for n in WORKERS:
        crawl_s, all_s = timings[n]
        results.append(
            Result(
                f"{n} worker{'s' if n > 1 else ''}",
                args.n,
                crawl_s,
                bare_s,
                note=f"speed-up {one / crawl_s:.2f}x of 1 worker (ideal {n}x); to the final check {all_s:.1f} s",
            )
        )
    print_table(results, baseline_name="bare")
    print(
        f"wall time: bare {bare_s:.1f} s; "
        + ", ".join(f"{n} worker(s) {t[0]:.1f} s" for n, t in timings.items())
    )
    overhead = (one - bare_s) / args.n
    print(
        f"queue overhead per job: {overhead * 1000:+.0f} ms against the bare child process "
        f"({bare_s / args.n:.2f} s per portal bare, {one / args.n:.2f} s through the queue)"
    )


if __name__ == "__main__":
    main()
