"""The status page under load: 100,000 (and 500,000) agency-years stored, 20 concurrent clients on 127.0.0.1.

Each case is measured against a plain static file served by the same uvicorn process in the same run (the
baseline: an HTTP round trip through the same middleware on this machine under this concurrency), and
twice: with the web caches on (``web.stats_cache_seconds: 30`` — the rendered page, the counts and the
API pages kept briefly: mostly **hits**) and off (``0``: every request computed — **misses**). The table's
per-generation summary (``monitor.web.summary``, rebuilt only when ``gkwatch check`` rewrites the table)
is not a response cache and is in use either way; its build time is reported on its own. Every case runs
in three rounds interleaved with the static file, and its ratio is the median of the rounds' ratios: on a
shared 2-core machine the same page's cost drifts by a third within minutes, and a baseline measured minutes
apart from the case would carry that drift into the ratio.

Cases: the table's default view; a filtered, date-sorted second page; a name search (the FTS5 index);
an agency page (five years, each with its reading's tables and findings); the rankings; ``/api/status``
one page at a time (``limit=100``, then following ``Link: rel="next"``). The whole ``/api/status`` (every
row, streamed) is measured apart: rows per second, and the server's peak memory before and after it.

The database is SQLite (the default deployment), filled directly with the tables ``gkwatch check`` writes:
``Agency`` (with aliases), ``AgencyYearStatus`` with realistic evidence and findings, ``Report``, and for the
agencies the agency-page case visits their versions and readings. The server runs as a subprocess
(``uvicorn``, one worker), the clients are one ``httpx.AsyncClient`` in this process.

    .venv/bin/python bench/bench_web.py [--quick] [--n AGENCY_YEARS] [--requests R]
"""

from __future__ import annotations

import argparse
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

from crawler.reading.model import CellReading  # noqa: E402
from crawler.reading.model import Reading as Read  # noqa: E402
from monitor.judgement import judge  # noqa: E402
from storage.db import init_db, make_engine  # noqa: E402
from storage.models import Agency, AgencyYearStatus, Reading, Report, ReportVersion  # noqa: E402
from testbed.synthetic import consistent_cells  # noqa: E402

YEARS = (2021, 2022, 2023, 2024, 2025)
CONCURRENCY = 20
ROUNDS = 3  # every case measured three times, interleaved with the static file
AGENCIES_PER_COUNTY = 60
PROVINCES = ("山东省", "湖南省", "广东省", "四川省", "河南省", "江苏省", "浙江省", "黑龙江省")
STATUS_WEIGHTS = (
    ("on_time", 58),
    ("late", 14),
    ("undated", 3),
    ("missing", 15),
    ("unknown", 5),
    ("not_due", 5),
)
BUREAUS = ("教育", "财政", "招商", "卫生健康", "交通运输", "自然资源", "生态环境", "住房城乡建设")
VISITED = 50  # agencies the agency-page case visits (their readings are stored)


def province_of(i: int) -> str:
    """~60 agencies per county, 10 counties per city, 4 cities per province: the shape of real registries."""
    return PROVINCES[(i // AGENCIES_PER_COUNTY // 10 // 4) % len(PROVINCES)]


def name_of(i: int) -> str:
    return f"第{i // AGENCIES_PER_COUNTY}区{BUREAUS[i % len(BUREAUS)]}局{i}"


def _evidence(status: str, due: date, published: date | None, url: str, now: datetime, run: int) -> dict:
    """What ``gkwatch check`` stores beside a verdict, of a realistic size."""
    read = {
        "run_id": run,
        "started_at": (now - timedelta(days=3)).isoformat(),
        "finished_at": (now - timedelta(days=3, minutes=-40)).isoformat(),
        "complete": True,
        "listing_pages": 12,
        "failed_pages": 0,
        "report_links": 240,
        "end_reason": "finished",
        "listing_urls": [f"http://www.example.gov.cn/xxgk/nb/index_{k}.html" for k in range(3)],
    }
    if status == "missing":
        return {"absence": read, "complete_reads_after_due": 2}
    if status == "unknown":
        problem = {"kind": "blocked", "url": url, "detail": "HTTP 403", "at": now.isoformat()}
        return {"last_read": {**read, "complete": False, "end_reason": "blocked"}, "problem": problem}
    if status == "not_due":
        return {}
    quote = f"{published.isoformat()} 09:00:00" if published else None
    return {
        "published": {
            "date": published.isoformat() if published else None,
            "evidence": "page_meta" if published else None,
            "quote": quote,
            "source": url,
            "printed": [
                {
                    "evidence": "page_meta",
                    "quote": quote,
                    "date": published.isoformat() if published else None,
                    "source": url,
                    "set_aside": None,
                }
            ],  # fmt: skip
            "first_seen": now.isoformat(),
            "report_url": url,
        }
    }


def _details(rng: random.Random) -> list[dict]:
    """Zero to two findings with their numbers, as the rules write them."""
    out = []
    if rng.random() < 0.25:
        t, s = rng.randint(10, 200), rng.randint(10, 200)
        out.append({"rule": "s3.row_total", "severity": "error", "cells": ["s3.granted.natural_person", "s3.granted.total"],
                    "message": f"（一）予以公开：总计 {t}，而六类申请人之和为 {s}", "data": {"total": t, "sum": s}})  # fmt: skip
    if rng.random() < 0.25:
        out.append({"rule": "cell.not_number", "severity": "warning", "cells": ["s3.carried_over.business"],
                    "message": "二、上年结转政府信息公开申请数量：商业企业（填了「——」而不是数字）"})  # fmt: skip
    return out


def seed(db_url: str, agency_years: int, rng: random.Random) -> tuple[list[str], list[str]]:
    """Fill the tables in bulk; return the agency ids, and those whose readings are stored."""
    engine = make_engine(db_url)
    init_db(engine)
    n_agencies = max(1, agency_years // len(YEARS))
    now = datetime.now(UTC)
    weights = dict(STATUS_WEIGHTS)
    ids = [f"a{i:06d}" for i in range(n_agencies)]
    visited = set(rng.sample(ids, min(VISITED, len(ids))))
    batch_a, batch_r, batch_s = [], [], []
    readings: list[tuple[str, int, str, str, datetime]] = []  # (agency, year, url, template, first_seen)

    def flush(final: bool = False) -> None:
        if len(batch_s) < 20_000 and not final:
            return
        with engine.begin() as conn:
            for table, data in ((Agency, batch_a), (Report, batch_r), (AgencyYearStatus, batch_s)):
                if data:
                    conn.execute(insert(table), data)
        batch_a.clear()
        batch_r.clear()
        batch_s.clear()

    for i, aid in enumerate(ids):
        county = i // AGENCIES_PER_COUNTY
        region = f"{province_of(i)}/第{county // 10}市/第{county}区"
        kind = ("department", "township", "government")[i % 3]
        name = name_of(i)
        batch_a.append(dict(id=aid, name=name, region=region, kind=kind, aliases=[f"{BUREAUS[i % len(BUREAUS)]}局{i}"],
                            portal_id=None, source="config", active=True, registered_at=now, last_listed_at=now))  # fmt: skip
        for year in YEARS:
            status = rng.choices(list(weights), list(weights.values()))[0]
            due = date(year + 1, 3 if kind == "government" else 1, 31)
            published = {"on_time": due - timedelta(days=rng.randint(0, 40)),
                         "late": due + timedelta(days=rng.randint(1, 90))}.get(status)  # fmt: skip
            has_report = status in ("on_time", "late", "undated")
            url = f"http://www.example.gov.cn/{aid}/{year}.html"
            details = _details(rng) if has_report else []
            if has_report:
                batch_r.append(dict(url=url, portal_id="p", agency_id=aid, year=year, title=f"{name}{year}年政府信息公开工作年度报告",
                                    pub_meta=f"{published} 09:00:00" if published else None, attachment_urls=[], pub_history=[],
                                    first_seen=now, last_seen=now))  # fmt: skip
                if aid in visited:
                    readings.append((aid, year, url, "2021", now))
            batch_s.append(
                dict(agency_id=aid, year=year, agency=name, region=region, kind=kind, status=status, due=due,
                     due_reason="department, 条例 art. 49", published=published,
                     published_evidence="page_meta" if published else ("first_seen" if status == "undated" else None),
                     days_late=(published - due).days if status == "late" else None,
                     first_seen=now if has_report else None,
                     inconsistent=any(d["severity"] == "error" for d in details) if has_report else None,
                     findings=sorted({d["rule"] for d in details}), details=details,
                     evidence=_evidence(status, due, published, url, now, 7), report_url=url if has_report else None,
                     crawl_problem="blocked" if status == "unknown" else None, as_of=date.today(), computed_at=now)
            )  # fmt: skip
        flush()
    flush(final=True)
    _store_readings(engine, readings, rng)
    engine.dispose()
    return ids, sorted(visited)


def _store_readings(engine, readings: list, rng: random.Random) -> None:  # noqa: ANN001
    """The visited agencies' reports get a version and a reading (the agency page shows their tables), and
    their status rows that version and its findings."""
    from sqlalchemy import select, update

    with engine.begin() as conn:
        urls = {
            u: rid
            for rid, u in conn.execute(
                select(Report.id, Report.url).where(Report.url.in_([r[2] for r in readings]))
            )
        }
        for aid, year, url, template, seen in readings:
            cells = consistent_cells(template, random.Random(rng.random()))
            cells["s4.review.total"] = (cells.get("s4.review.total") or 0) + 3  # one error to mark
            sha = f"{aid}-{year}".ljust(64, "0")[:64]
            read = Read(format="html", template=template, year=year, title=url,
                        cells={k: CellReading(v, str(v)) for k, v in cells.items()})  # fmt: skip
            conn.execute(insert(Reading), [read.to_row(sha, seen)])
            vid = conn.execute(
                insert(ReportVersion).values(report_id=urls[url], sha256=sha, fetched_at=seen)
            ).inserted_primary_key[0]
            details = judge(read)
            conn.execute(
                update(AgencyYearStatus)
                .where(AgencyYearStatus.agency_id == aid, AgencyYearStatus.year == year)
                .values(version_id=vid, report_id=urls[url], details=details, findings=sorted({d["rule"] for d in details}),
                        inconsistent=any(d["severity"] == "error" for d in details))
            )  # fmt: skip


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
    deadline = time.monotonic() + 300
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


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used: what a request costs the server, whatever else
    the machine is doing (latency on a shared machine also counts the other processes' turns)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Latency:
    case: str
    samples: list[float]
    errors: int
    alone_ms: float = float("nan")  # median of sequential requests by one client: the server's own time
    cpu_ms: float = float("nan")  # the server's CPU time per request under the load
    ratio: float = float("nan")  # p50 ÷ the static file's p50: the median over the interleaved rounds
    cpu_ratio: float = float("nan")  # the same for the server's CPU time per request

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
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=300) as client:
        for p in paths[:2]:  # warm-up (first connection; with caches on, the first computation)
            await client.get(p)
        alone = []
        for p in paths[2:12] or paths[:10]:
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
    return Latency(case, samples, errors, statistics.median(alone) * 1000)


def api_pages(base: str, year: int, n: int) -> list[str]:
    """The first ``n`` pages of /api/status?limit=100, each URL as the previous page's Link header gives it."""
    out = [f"/api/status?year={year}&limit=100"]
    with httpx.Client(base_url=base, timeout=120) as c:
        while len(out) < n:
            link = c.get(out[-1]).headers.get("link", "")
            if not link:
                break
            out.append(link[1 : link.index(">")])
    return out


def cases(base: str, ids: list[str], visited: list[str], rng: random.Random, requests: int) -> list[tuple]:
    provinces = sorted({province_of(i) for i in range(len(ids))})
    statuses = ("on_time", "late", "missing")
    latest = YEARS[-1]
    filtered = [
        f"/?region={p}&status={s}&sort=published&dir=desc&page=2" for p in provinces for s in statuses
    ]
    searches = [f"/?q={BUREAUS[k % len(BUREAUS)]}局{rng.randrange(100, 999)}" for k in range(200)]
    agencies = [f"/agency/{a}" for a in visited]
    rankings = [f"/rankings?year={y}&depth={d}" for y in YEARS[:-1] for d in (1, 2, 3)]
    rankings += [f"/rankings?year={YEARS[-2]}&region={p}&by=missing" for p in provinces]
    return [
        ("static file (baseline)", ["/static/style.css"], requests),
        ("table: default view", ["/", f"/?year={latest}", f"/?year={latest}&page=2"], requests),
        ("table: province+status, by date, p.2", filtered, requests),
        ("table: name search (FTS5)", searches, requests),
        ("agency page (5 years, tables)", agencies, requests),
        ("rankings", rankings, requests),
        ("/api/status?limit=100 (cursor pages)", api_pages(base, latest, 40), requests),
    ]


def run_server(
    config: Path, ids: list[str], visited: list[str], requests: int, label: str
) -> tuple[list, dict]:
    port = free_port()
    proc = start_server(config, port)
    base = f"http://127.0.0.1:{port}"
    facts: dict = {}
    try:
        t = time.perf_counter()
        httpx.get(base + "/", timeout=600)  # the first page builds the summary of the table's generation
        facts["first_page_ms"] = (time.perf_counter() - t) * 1000
        rounds: dict[str, list[Latency]] = {}
        measured = cases(base, ids, visited, random.Random(3), requests)
        for _ in range(ROUNDS):  # interleaved: a slower spell of the machine touches every case alike
            for name, paths, n in measured:
                before = cpu_seconds(proc.pid)
                r = asyncio.run(load(base, name, paths, max(CONCURRENCY, n // ROUNDS)))
                r.cpu_ms = (cpu_seconds(proc.pid) - before) * 1000 / (len(r.samples) + len(paths[:12]))
                rounds.setdefault(name, []).append(r)
        results = [merge(name, rs, rounds[measured[0][0]]) for name, rs in rounds.items()]
        before = peak_rss_mb(proc.pid)
        t = time.perf_counter()
        rows = size = 0
        with httpx.stream("GET", base + "/api/status", timeout=1200) as r:
            for chunk in r.iter_raw():
                size += len(chunk)
        facts["stream_s"] = time.perf_counter() - t
        facts["stream_mb"] = size / 1e6
        facts["rss_before"], facts["rss_after"] = before, peak_rss_mb(proc.pid)
        rows = len(ids) * len(YEARS)
        facts["stream_rows_per_s"] = rows / facts["stream_s"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(f"\n{label}:")
    print_table(results)
    return results, facts


def merge(case: str, rounds: list[Latency], baseline: list[Latency]) -> Latency:
    """A case's rounds as one: every sample, and the ratio as the median of each round's p50 over the
    static file's p50 in the same round (as bench_parse takes per-page ratios: drift cancels out)."""
    return Latency(
        case,
        [x for r in rounds for x in r.samples],
        sum(r.errors for r in rounds),
        statistics.median(r.alone_ms for r in rounds),
        statistics.mean(r.cpu_ms for r in rounds),
        statistics.median(r.p50 / b.p50 for r, b in zip(rounds, baseline, strict=True)),
        statistics.median(r.cpu_ms / b.cpu_ms for r, b in zip(rounds, baseline, strict=True)),
    )


def print_table(results: list[Latency]) -> None:
    base = results[0]
    head = ("case", "1 client ms", "requests", "p50 ms", "p95 ms", "p50 ratio", "p95 ratio", "server CPU ms/req",
            "CPU ratio", "errors", "≤3x")  # fmt: skip
    rows = [head]
    for r in results:
        ratio = r.ratio
        ok = "" if r is base else ("ok" if ratio <= 3 else "SLOW")
        rows.append((r.case, f"{r.alone_ms:.1f}", str(len(r.samples)), f"{r.p50:.1f}", f"{r.pct(0.95):.1f}",
                     f"{ratio:.1f}x", f"{r.pct(0.95) / base.pct(0.95):.1f}x", f"{r.cpu_ms:.2f}",
                     f"{r.cpu_ratio:.1f}x", str(r.errors), ok))  # fmt: skip
    widths = [max(_width(row[i]) for row in rows) for i in range(len(head))]
    for row in rows:
        print("  ".join(c + " " * (w - _width(c)) for c, w in zip(row, widths, strict=True)).rstrip())


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="10,000 agency-years, 100 requests a case")
    p.add_argument("--n", type=int, default=None, help="agency-years (default 100,000)")
    p.add_argument("--requests", type=int, default=None, help="requests per case (default 400)")
    p.add_argument(
        "--keep", type=Path, default=None, help="keep the database in this folder (reused if there)"
    )
    args = p.parse_args()
    n = args.n or (10_000 if args.quick else 100_000)
    requests = args.requests or (100 if args.quick else 400)
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        db = folder / f"web-{n}.db"
        t = time.perf_counter()
        if not db.exists():  # seeded under another name first: an interrupted seed is never reused
            partial = db.with_suffix(".partial")
            partial.unlink(missing_ok=True)
            ids, visited = seed(f"sqlite:///{partial}", n, rng)
            (folder / f"web-{n}.visited").write_text("\n".join(visited))
            partial.rename(db)
            print(f"seeded {n:,} agency-years ({len(ids):,} agencies) in {time.perf_counter() - t:.1f} s, "
                  f"{db.stat().st_size / 1e6:.0f} MB")  # fmt: skip
        else:
            n_agencies = max(1, n // len(YEARS))
            ids, visited = (
                [f"a{i:06d}" for i in range(n_agencies)],
                (folder / f"web-{n}.visited").read_text().split(),
            )
            print(f"reusing {db} ({n:,} agency-years)")
        configs = {}
        for label, seconds in (("hits", 30), ("misses", 0)):
            path = folder / f"config-{label}.yaml"
            path.write_text(
                f"database: {{url: 'sqlite:///{db}'}}\narchive: {{dir: '{folder}/archive'}}\n"
                f"deadlines: {{first_year: {YEARS[0]}}}\nweb: {{secret_key: bench, page_size: 50, "
                f"stats_cache_seconds: {seconds}}}\n",
                encoding="utf-8",
            )
            configs[label] = path
        print(f"{CONCURRENCY} concurrent clients, {n:,} agency-years stored, SQLite, one uvicorn worker; "
              "ratio = p50 of the case ÷ p50 of the static file, same server, same run")  # fmt: skip
        errors = 0
        for label, title in (("misses", "caches OFF — every request a miss (stats_cache_seconds: 0)"),
                             ("hits", "caches ON (stats_cache_seconds: 30) — mostly hits")):  # fmt: skip
            results, facts = run_server(configs[label], ids, visited, requests, title)
            errors += sum(r.errors for r in results)
            print(f"  first page after start (builds the table's summary): {facts['first_page_ms']:.0f} ms")
            print(f"  whole /api/status, streamed: {facts['stream_mb']:.1f} MB in {facts['stream_s']:.1f} s "
                  f"({facts['stream_rows_per_s']:,.0f} rows/s); server peak RSS {facts['rss_before']:.0f} MiB "
                  f"before, {facts['rss_after']:.0f} MiB after")  # fmt: skip
    return 1 if errors else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
