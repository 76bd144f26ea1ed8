"""``gkwatch check`` over 100,000 synthetic agency-years, against a bare SELECT of the same rows.

The database is what a season of crawling leaves: 20,000 agencies on 100 county portals, five report years
(2019–2023, as of 2024-06-01), about 90 % of agency-years with a report whose current version has a stored
reading — every cell with its printed text, ~1,200 characters of prose (a shared boilerplate opening plus the
agency's own words); 10 % of readings break a sum, 30 % of reports repeat last year's prose, 1 % copy
another agency's, 3 % have a second version, a few portals are unreadable. It is generated in a child
process (bulk INSERTs) so that the peak memory printed is the check's own.

Baseline: one SELECT joining every report to its current version's reading (cell values, remarks, prose),
iterated without keeping the rows — the least any check must read. Aim: the whole check — every reading
judged again by every rule, history findings, status rows, rewriting ``agencyyearstatus`` — under 30 s of
CPU on one core with bounded memory.

    .venv/bin/python bench/bench_check.py [--quick] [--n N]
"""

from __future__ import annotations

import multiprocessing
import random
import resource
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as ``python bench/bench_check.py``

from bench.common import Result, arguments, print_table, seconds  # noqa: E402
from domain.config import Config  # noqa: E402
from domain.template import cell_keys  # noqa: E402
from monitor.status.check import run_check  # noqa: E402
from storage.db import init_db, make_engine  # noqa: E402
from testbed.synthetic import consistent_cells  # noqa: E402

YEARS = range(2019, 2024)
AS_OF = date(2024, 6, 1)
PORTALS = 100
PROSE_CHARS = 1200
# frequent characters of these reports: real prose is skewed towards them (and sampling relies on it)
COMMON = (
    "的是在了和有为年公开作申中人不一政府信息工作本机关按照条例要求主动依请办理平台建设监督保障存问题改进情况"
)
BOILERPLATE = (
    "根据《中华人民共和国政府信息公开条例》和上级有关要求，现公布本机关政府信息公开工作年度报告。"
    "本报告由总体情况、主动公开政府信息情况、收到和处理政府信息公开申请情况、政府信息公开行政复议"
    "行政诉讼情况、存在的主要问题及改进情况、其他需要报告的事项六部分组成。"
)


def _vocabulary(rng: random.Random, size: int = 6000) -> list[str]:
    """Random two-to-four-character "words" (a third of their characters frequent ones), some ending a
    clause: prose made of them has real punctuation and numbers, and two agencies' texts share hardly any
    8-character run unless one copies the other."""
    words = []
    for _ in range(size):
        w = "".join(
            rng.choice(COMMON) if rng.random() < 0.35 else chr(0x4E00 + rng.randrange(20000))
            for _ in range(rng.randint(2, 4))
        )
        r = rng.random()
        words.append(
            w + "，" if r < 0.1 else w + "。" if r < 0.15 else w + f"{rng.randrange(500)}件" if r < 0.2 else w
        )
    return words


def _prose(rng: random.Random, vocab: list[str]) -> str:
    words = rng.choices(vocab, k=(PROSE_CHARS - len(BOILERPLATE)) // 3)
    return BOILERPLATE + "".join(words)


def _insert(conn: sqlite3.Connection, table: str, rows: list[dict]) -> None:
    if not rows:
        return
    cols = list(rows[0])
    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    conn.executemany(sql, [tuple(r[c] for c in cols) for r in rows])


def _ts(dt: datetime) -> str:
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


CARRIES = (
    0.85  # share of reports whose 上年结转 matches last year's 结转下年度 (the rest: history.carry_over)
)
_S3_COLUMNS = ("natural_person", "business", "research", "nonprofit", "legal_services", "other_org", "total")


def _carried_forward(template: str, values: str | list) -> list:
    import json

    vals = json.loads(values) if isinstance(values, str) else values
    index = {k: i for i, k in enumerate(cell_keys(template))}
    return [vals[index[f"s3.carried_forward.{c}"]] for c in _S3_COLUMNS]


def carry_over(template: str, values: list, last: list) -> None:
    """Make this year's 上年结转 last year's 结转下年度 and keep the year's own sums: what it carries in more,
    it carries forward more (or, where that would go below zero, it received less)."""
    index = {k: i for i, k in enumerate(cell_keys(template))}
    at = lambda row, col: index[f"s3.{row}.{col}"]  # noqa: E731
    for col, before in zip(_S3_COLUMNS[:-1], last[:-1], strict=True):
        delta = (before or 0) - (values[at("carried_over", col)] or 0)
        values[at("carried_over", col)] = before
        row = "carried_forward" if (values[at("carried_forward", col)] or 0) + delta >= 0 else "new_received"
        values[at(row, col)] = (values[at(row, col)] or 0) + (delta if row == "carried_forward" else -delta)
        if values[at(row, col)] < 0:  # no way to keep it whole: leave the year inconsistent (rarely)
            values[at(row, col)] = 0
    for row in ("new_received", "carried_over", "carried_forward"):
        values[at(row, "total")] = sum(values[at(row, c)] or 0 for c in _S3_COLUMNS[:-1])


def _reading_cells(template: str, cells: dict, rng: random.Random) -> tuple[str, str, str]:
    """A reading's cell columns (values, printed texts, remarks) for consistent cells: a county agency makes
    no 规章; a few cells printed blank for zero or with a unit, as real reports do."""
    import json

    keys = cell_keys(template)
    values = [cells.get(k) for k in keys]
    for i, k in enumerate(keys):
        if k.startswith("s2.regulations."):
            values[i] = 0
    raws = ["" if v is None else str(v) for v in values]
    marks = {}
    for i in rng.sample(range(len(keys)), 3):
        if values[i] == 0:
            raws[i], values[i] = "", None
            marks[keys[i]] = {"note": "blank", "detail": "空白"}
    return json.dumps(values), json.dumps(raws, ensure_ascii=False), json.dumps(marks, ensure_ascii=False)


def generate(path: str, agency_years: int, seed: int = 7) -> None:
    """Write the synthetic season (plain sqlite3 executemany: generation speed is not what is measured)."""
    import json

    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    engine.dispose()
    rng = random.Random(seed)
    n_agencies = max(1, agency_years // len(YEARS))
    vocab = _vocabulary(rng)
    cells_pool = {
        t: [_reading_cells(t, consistent_cells(t, rng), rng) for _ in range(50)] for t in ("2019", "2021")
    }
    now = _ts(datetime(2024, 5, 1, tzinfo=UTC))
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    agencies, snaps, problems = [], [], []
    for p in range(PORTALS):
        snaps.append(
            {
                "portal_id": f"p{p}",
                "url": f"http://p{p}.example/nb/",
                "fetched_at": now,
                "sha256": None,
                "report_urls": "[]",
            }
        )
        if p % 20 == 0:  # 5 % of portals unreadable since their last good read
            problems.append(
                {
                    "portal_id": f"p{p}",
                    "url": f"http://p{p}.example/",
                    "kind": "unreachable",
                    "detail": "",
                    "at": _ts(datetime(2024, 5, 2, tzinfo=UTC)),
                    "agency_id": None,
                    "run_id": None,
                }
            )
    for a in range(n_agencies):
        kind = ("department", "township", "government")[a % 3 if a % 10 == 0 else 0]
        agencies.append(
            {
                "id": f"ag{a}",
                "name": f"机关{a}",
                "aliases": "[]",
                "kind": kind,
                "region": f"某省/市{a % 13}/县{a % PORTALS}",
                "portal_id": f"p{a % PORTALS}",
                "source": "config",
                "active": 1,
                "registered_at": now,
                "last_listed_at": now,
            }
        )
    _insert(conn, "agency", agencies)
    _insert(conn, "listingsnapshot", snaps)
    _insert(conn, "crawlproblem", problems)

    reports, versions, readings = [], [], []
    carried: dict[int, list] = {}  # agency -> last year's 结转下年度 (the six columns and the total)
    rid = vid = 0
    prose_of: dict[tuple[int, int], str] = {}
    for a in range(n_agencies):
        for y in YEARS:
            if rng.random() < 0.1:
                continue  # no report: missing (or unknown on an unreadable portal)
            r = rng.random()
            if r < 0.3 and (a, y - 1) in prose_of:
                own = prose_of[(a, y - 1)]  # repeats last year's report
            elif 0.3 <= r < 0.31 and a > 0:
                own = prose_of.get((a - 1, y)) or prose_of.get((a - 1, y - 1)) or ""  # another agency's
            else:
                own = _prose(rng, vocab)
            prose_of[(a, y)] = own
            rid += 1
            published = date(y + 1, 1, 1) + timedelta(days=rng.randrange(0, 45))
            first_seen = datetime(published.year, published.month, published.day, 3, tzinfo=UTC)
            template = "2021" if y >= 2021 else "2019"
            n_versions = 2 if rng.random() < 0.03 else 1
            for k in range(n_versions):
                vid += 1
                values, raws, marks = rng.choice(cells_pool[template])
                last = carried.get(a) if y > YEARS.start and rng.random() < CARRIES else None
                if last is not None or rng.random() < 0.1:
                    values = json.loads(values)
                    if last is not None:  # this year's 上年结转 is last year's 结转下年度, as it should be
                        carry_over(template, values, last)
                    if rng.random() < 0.1:  # a report whose 表四 行政复议 does not add up
                        values[-11] = (values[-11] or 0) + 3
                    values = json.dumps(values)
                carried[a] = _carried_forward(template, values)
                versions.append(
                    {
                        "id": vid,
                        "report_id": rid,
                        "sha256": f"{rid}-{k}",
                        "fetch_id": None,
                        "document_url": None,
                        "fetched_at": _ts(first_seen + timedelta(days=30 * k)),
                    }
                )
                readings.append(
                    {
                        "sha256": f"{rid}-{k}",
                        "reader_version": "bench",
                        "read_at": now,
                        "filename": None,
                        "format": "html",
                        "template": template,
                        "year": y,
                        "year_source": "title",
                        "agency": f"机关{a}",
                        "title": f"机关{a}{y}年政府信息公开工作年度报告",
                        "cell_values": values,
                        "cell_raw": raws,
                        "cell_marks": marks,
                        "missing": "[]",
                        "sections": json.dumps(list("一二三四五六"), ensure_ascii=False),
                        "period": None,
                        "prose_years": json.dumps([y]),
                        "prose": own,
                        "notes": "[]",
                        "error": None,
                    }
                )
            has_date = rng.random() < 0.98
            reports.append(
                {
                    "id": rid,
                    "url": f"http://p{a % PORTALS}.example/{a}/{y}.html",
                    "portal_id": f"p{a % PORTALS}",
                    "agency_id": f"ag{a}",
                    "agency_name": f"机关{a}",
                    "year": y,
                    "title": None,
                    "listing_url": f"http://p{a % PORTALS}.example/nb/",
                    "attachment_urls": "[]",
                    "attributed_by": "title",
                    "year_source": "title",
                    "link_text": None,
                    "column": None,
                    "content_source": None,
                    "pub_meta": f"{published.isoformat()} 09:30" if has_date else None,
                    "pub_text": None,
                    "pub_header": None,
                    "listing_date": None,
                    "pub_history": "[]",
                    "first_seen": _ts(first_seen),
                    "last_seen": now,
                    "last_changed": None,
                    "current_version_id": vid,
                    "crawl_problem": None,
                }
            )
            if len(versions) >= 5000:
                _insert(conn, "report", reports)
                _insert(conn, "reportversion", versions)
                _insert(conn, "reading", readings)
                reports, versions, readings = [], [], []
    _insert(conn, "report", reports)
    _insert(conn, "reportversion", versions)
    _insert(conn, "reading", readings)
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def bare_select(path: str) -> int:
    conn = sqlite3.connect(path)
    n = 0
    for _ in conn.execute(
        "SELECT r.id, r.agency_id, r.year, r.url, r.pub_meta, r.first_seen, g.cell_values, g.cell_marks, g.prose "
        "FROM report r JOIN reportversion v ON v.id = r.current_version_id JOIN reading g ON g.sha256 = v.sha256"
    ):
        n += 1
    conn.close()
    return n


def main() -> None:
    args = arguments(__doc__.splitlines()[0], full=100_000, quick=10_000)
    with tempfile.TemporaryDirectory(prefix="bench_check_") as tmp:
        path = str(Path(tmp) / "bench.db")
        child = multiprocessing.get_context("spawn").Process(target=generate, args=(path, args.n))
        child.start()
        child.join()
        if child.exitcode != 0:
            raise SystemExit("generating the database failed")
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        base = seconds(lambda: bare_select(path))
        engine = make_engine(f"sqlite:///{path}")
        cfg = Config(path=Path(tmp) / "config.yaml", database_url=f"sqlite:///{path}")
        results: dict[str, object] = {}

        def check() -> None:
            results["r"] = run_check(engine, cfg, as_of=AS_OF, sync=False)

        cpu_start = time.process_time()
        took = seconds(check)
        cpu = time.process_time() - cpu_start
        engine.dispose()
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        r = results["r"]
        counts = " ".join(f"{k}={v}" for k, v in r.counts_by_status.items())  # type: ignore[attr-defined]
        n_rows = len(r.rows)  # type: ignore[attr-defined]
        print_table(
            [
                Result(
                    "check (agency-years)", n_rows, took, base, target_per_second=n_rows / 30.0, note=counts
                ),
            ],
            baseline_name="bare SELECT",
        )
        print(
            f"check: {took:.1f} s wall, {cpu:.1f} s CPU (one core; wall grows on a busy machine); "
            f"aim < 30 s CPU at 100,000 → {'ok' if cpu * 100_000 / max(n_rows, 1) < 30 else 'SLOW'}"
        )
        print(f"peak RSS {peak_mb:,.0f} MB (before the check {rss_before / 1024:,.0f} MB)")


if __name__ == "__main__":
    main()
