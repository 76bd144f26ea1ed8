"""The status page under load: 100,000 agency-years stored, 20 concurrent clients on 127.0.0.1.

Measures p50 / p95 latency of ``/`` (default view, a filtered + sorted + paged view, a name search), an
agency page and ``/api/status``, against a plain static file served by the same uvicorn process in the same
run (the baseline: the bare cost of an HTTP round trip on this machine under this concurrency). Aim: p95 of
the pages under 200 ms.

The database is SQLite (the default deployment), filled directly with ``Agency``, ``Report`` and
``AgencyYearStatus`` rows (20,000 agencies × 5 years at full size). The server runs as a subprocess
(``uvicorn``, one worker), the clients are one ``httpx.AsyncClient`` in this process.

    .venv/bin/python bench/bench_web.py [--quick] [--n AGENCY_YEARS] [--requests R]
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as ``python bench/bench_web.py``

import httpx  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from bench.common import arguments  # noqa: E402
from storage.db import init_db, make_engine  # noqa: E402
from storage.models import Agency, AgencyYearStatus, Report  # noqa: E402

YEARS = (2021, 2022, 2023, 2024, 2025)
CONCURRENCY = 20
AGENCIES_PER_COUNTY = 60
PROVINCES = ("山东省", "湖南省", "广东省", "四川省", "河南省", "江苏省", "浙江省", "黑龙江省")
STATUS_WEIGHTS = (("on_time", 60), ("late", 15), ("missing", 15), ("unknown", 5), ("not_due", 5))
FINDINGS = ("s3.row_total", "s3.balance", "cell.blank", "s4.total", "history.carry_over")


def province_of(i: int) -> str:
    """~60 agencies per county, 10 counties per city, 4 cities per province: the shape of real registries."""
    return PROVINCES[(i // AGENCIES_PER_COUNTY // 10 // 4) % len(PROVINCES)]


def seed(db_url: str, agency_years: int, rng: random.Random) -> list[str]:
    """Fill the tables in bulk; return the agency ids."""
    engine = make_engine(db_url)
    init_db(engine)
    n_agencies = max(1, agency_years // len(YEARS))
    now = datetime.now(UTC)
    statuses, weights = zip(*STATUS_WEIGHTS, strict=True)
    agencies, reports, rows = [], [], []
    for i in range(n_agencies):
        county = i // AGENCIES_PER_COUNTY
        region = f"{province_of(i)}/第{county // 10}市/第{county}区"
        kind = ("department", "township", "government")[i % 3]
        aid = f"a{i:06d}"
        name = f"第{i % 211}区{('教育', '财政', '招商', '卫生', '交通')[i % 5]}局{i}"
        agencies.append(
            dict(
                id=aid,
                name=name,
                region=region,
                kind=kind,
                aliases=[],
                portal_id=None,
                source="config",
                active=True,
                registered_at=now,
                last_listed_at=now,
            )
        )
        for year in YEARS:
            status = rng.choices(statuses, weights)[0]
            due = date(year + 1, 3 if kind == "government" else 1, 31)
            published = due + timedelta(
                days=rng.randint(-40, -1) if status == "on_time" else rng.randint(1, 90)
            )
            has_report = status in ("on_time", "late")
            found = rng.sample(FINDINGS, rng.randint(0, 2)) if has_report else []
            url = f"http://www.example.gov.cn/{aid}/{year}.html"
            if has_report:
                reports.append(
                    dict(
                        url=url,
                        portal_id="p",
                        agency_id=aid,
                        year=year,
                        title=f"{name}{year}年报告",
                        published=published,
                        published_evidence="page_meta",
                        attachment_urls=[],
                        first_seen=now,
                        last_seen=now,
                    )
                )
            rows.append(
                dict(
                    agency_id=aid,
                    year=year,
                    agency=name,
                    region=region,
                    kind=kind,
                    status=status,
                    due=due,
                    due_reason="条例 art. 49",
                    published=published if has_report else None,
                    published_evidence="page_meta" if has_report else None,
                    first_seen=now if has_report else None,
                    inconsistent=(bool(found) if has_report else None),
                    findings=found,
                    report_url=url if has_report else None,
                    as_of=date.today(),
                    computed_at=now,
                )
            )
    with engine.begin() as conn:
        for table, data in ((Agency, agencies), (Report, reports), (AgencyYearStatus, rows)):
            for k in range(0, len(data), 5000):
                conn.execute(insert(table), data[k : k + 5000])
    engine.dispose()
    return [a["id"] for a in agencies]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVER = textwrap.dedent(
    """
    import sys, uvicorn
    sys.path.insert(0, {root!r})
    from domain.config import load_config
    from monitor.web import create_app
    uvicorn.run(create_app(load_config({config!r})), host="127.0.0.1", port={port}, log_level="warning",
                access_log=False, timeout_keep_alive=60)
    """
)


def start_server(config_path: Path, port: int) -> subprocess.Popen:
    code = SERVER.format(root=str(ROOT), config=str(config_path), port=port)
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/static/style.css", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
        if proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit("the web server did not start")


@dataclass
class Latency:
    case: str
    path: str
    samples: list[float]
    errors: int
    alone_ms: float = float("nan")  # median of sequential requests by one client: the server's own time

    def pct(self, q: float) -> float:
        s = sorted(self.samples)
        return s[min(len(s) - 1, int(q * len(s)))] * 1000 if s else float("nan")

    @property
    def p50(self) -> float:
        return statistics.median(self.samples) * 1000 if self.samples else float("nan")


async def load(base: str, case: str, paths: list[str], requests: int) -> Latency:
    """``requests`` GETs spread over ``CONCURRENCY`` workers, each cycling through ``paths``."""
    samples: list[float] = []
    errors = 0
    queue = iter(range(requests))
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:
        for p in paths[:3]:  # warm-up (caches, first connection)
            await client.get(p)
        alone = []
        for p in paths[:10]:
            t = time.perf_counter()
            await (await client.get(p)).aread()
            alone.append(time.perf_counter() - t)

        async def worker() -> None:
            nonlocal errors
            for i in queue:
                path = paths[i % len(paths)]
                t = time.perf_counter()
                try:
                    r = await client.get(path)
                    await r.aread()
                except httpx.TransportError:  # counted, not fatal: the table shows it
                    errors += 1
                    continue
                samples.append(time.perf_counter() - t)
                if r.status_code != 200:
                    errors += 1

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return Latency(case, paths[0], samples, errors, statistics.median(alone) * 1000)


def main() -> int:
    args = arguments(__doc__.splitlines()[0], full=100_000, quick=10_000)
    requests = 400 if not args.quick else 100
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        db = Path(tmp) / "web.db"
        t = time.perf_counter()
        ids = seed(f"sqlite:///{db}", args.n, rng)
        print(f"seeded {args.n:,} agency-years ({len(ids):,} agencies) in {time.perf_counter() - t:.1f} s")
        config = Path(tmp) / "config.yaml"
        config.write_text(
            f"database: {{url: 'sqlite:///{db}'}}\narchive: {{dir: '{tmp}/archive'}}\n"
            f"deadlines: {{first_year: {YEARS[0]}}}\nweb: {{secret_key: bench, page_size: 50}}\n",
            encoding="utf-8",
        )
        port = free_port()
        proc = start_server(config, port)
        base = f"http://127.0.0.1:{port}"
        sample_ids = rng.sample(ids, min(50, len(ids)))
        provinces = sorted({province_of(i) for i in range(len(ids))})
        api = f"/api/status?year={YEARS[-1]}"
        t = time.perf_counter()
        cold = httpx.get(base + api, timeout=600)
        cold_ms = (time.perf_counter() - t) * 1000
        print(f"{api}: first (uncached) request {cold_ms:.0f} ms, {len(cold.json()):,} rows, alone")
        cases = [
            ("static file (baseline)", ["/static/style.css"], requests),
            ("/ default view", ["/"], requests),
            (
                "/ province+status by date, p.2",
                [f"/?region={p}&status=on_time&sort=published&dir=desc&page=2" for p in provinces],
                requests,
            ),
            ("/ name search", [f"/?q=局{k}" for k in range(1, 60)], requests),
            ("/agency/{id}", [f"/agency/{a}" for a in sample_ids], requests),
            (api + " (cached)", [api], requests // 2),
        ]
        results = []
        try:
            for name, paths, n in cases:
                results.append(asyncio.run(load(base, name, paths, n)))
                results[-1].case = name
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    base_lat = results[0]
    head = (
        "case",
        "1 client ms",
        "requests",
        "p50 ms",
        "p95 ms",
        "p50 ratio",
        "p95 ratio",
        "errors",
        "p95<200ms",
    )
    table = [head]
    for r in results:
        ok = "" if r is base_lat else ("ok" if r.pct(0.95) < 200 else "SLOW")
        table.append(
            (
                r.case,
                f"{r.alone_ms:.1f}",
                str(len(r.samples)),
                f"{r.p50:.1f}",
                f"{r.pct(0.95):.1f}",
                f"{r.p50 / base_lat.p50:.1f}x",
                f"{r.pct(0.95) / base_lat.pct(0.95):.1f}x",
                str(r.errors),
                ok,
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    print(f"{CONCURRENCY} concurrent clients, {args.n:,} agency-years stored, SQLite, one uvicorn worker")
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
