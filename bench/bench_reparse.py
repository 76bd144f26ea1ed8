"""``gkwatch reparse`` over 10,000 archived HTML reports, against reading the same bytes in one process.

The archive holds what a crawl of a county portal leaves: report pages as portals publish them (a 2021-format
report inside a page's chrome, GBK or UTF-8, each agency's own figures), one version each, registered
agencies. ``reparse`` reads every document again in worker processes (one per core), compares each reading
with the stored one and attributes the reports whose reading changed — the first pass stores every reading,
a second finds nothing changed (both are printed). Baseline: ``read_bytes`` over the same bytes in this
process, no database — what reading alone costs on one core.

    .venv/bin/python bench/bench_reparse.py [--quick] [--n N]
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as ``python bench/bench_reparse.py``

from bench.common import Result, arguments, print_table  # noqa: E402
from crawler.reading.read import read_bytes  # noqa: E402
from crawler.reading.stage import reparse  # noqa: E402
from crawler.reading.workers import default_workers  # noqa: E402
from domain.config import AgencyConfig, Config, PortalConfig  # noqa: E402
from storage.archive import Archive  # noqa: E402
from storage.db import init_db, make_engine  # noqa: E402
from storage.models import Report, ReportVersion  # noqa: E402
from storage.registry import sync_registry  # noqa: E402
from testbed.render import ReportSpec, render_html  # noqa: E402
from testbed.synthetic import consistent_cells  # noqa: E402

PAGES = 200  # distinct renderings, repeated with other agencies' names (rendering is not what is measured)


def build(tmp: Path, n: int) -> tuple[Config, list[bytes]]:
    rng = random.Random(11)
    agencies = [AgencyConfig(id=f"a{i}", name=f"某县第{i}局", portal="p") for i in range(n)]
    config = Config(
        path=tmp / "config.yaml",
        database_url=f"sqlite:///{tmp / 'reparse.db'}",
        archive_dir=tmp / "archive",
        portals=[PortalConfig(id="p", name="某县人民政府", start_urls=["http://p.example/nb/"])],
        agencies=agencies,
    )
    engine = make_engine(config.database_url)
    init_db(engine)
    archive = Archive(config.archive_dir)
    bodies: list[bytes] = []
    now = datetime(2025, 2, 1, tzinfo=UTC)
    pages = [
        render_html(
            ReportSpec(template="2021", year=2024, agency="某县第{i}局", cells=consistent_cells("2021", rng)),
            encoding="gbk" if k % 3 == 0 else "utf-8",
            chrome=True,
        )
        for k in range(PAGES)
    ]
    from sqlmodel import Session

    with Session(engine) as s:
        sync_registry(s, config)
        for i in range(n):
            body = pages[i % PAGES].replace(b"{i}", str(i).encode())
            sha = archive.put(body)
            bodies.append(body)
            r = Report(url=f"http://p.example/nb/{i}.html", portal_id="p", first_seen=now, last_seen=now)
            s.add(r)
            s.flush()
            v = ReportVersion(report_id=r.id, sha256=sha, document_url=r.url, fetched_at=now)
            s.add(v)
            s.flush()
            r.current_version_id = v.id
        s.commit()
    engine.dispose()
    return config, bodies


def main() -> None:
    args = arguments(__doc__.splitlines()[0], full=10_000, quick=1_000)
    with tempfile.TemporaryDirectory(prefix="bench_reparse_") as tmp:
        config, bodies = build(Path(tmp), args.n)
        start = time.process_time()
        for i, body in enumerate(bodies):
            read_bytes(body, f"{i}.html")
        base = time.process_time() - start

        engine = make_engine(config.database_url)
        archive = Archive(config.archive_dir)
        results = []
        for label in ("first reparse (all readings new)", "second reparse (nothing changed)"):
            start = time.perf_counter()
            stats = reparse(engine, archive, config)
            took = time.perf_counter() - start
            note = f"{stats.new} new, {stats.changed} changed, {stats.attributed} attributed, {stats.unreadable} unreadable"
            results.append(Result(label, stats.documents, took, base, note=note))
        engine.dispose()
        print_table(results, baseline_name="read_bytes, 1 process")
        print(
            f"{default_workers()} worker process(es); the baseline is CPU time on one core — on N cores the "
            "reparse can beat it (ratio below 1) or, loaded with other work, fall behind"
        )


if __name__ == "__main__":
    main()
