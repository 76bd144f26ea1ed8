"""Alert queueing over many agency-years: ``queue_alerts`` after ``gkwatch check``, as the scheduler runs it.

Cases, each on the same SQLite database of N ``AgencyYearStatus`` rows and 10 subscribers by province:

* ``first run`` — no ``AlertState`` yet: every problem is news, one long digest per subscriber;
* ``unchanged`` — the next run: nothing to say (the common case, every hour in the season);
* ``1% changed`` — a day's news.

Baseline: loading the same rows as ORM objects (``select(AgencyYearStatus)``), the least any comparison of
current statuses with stored state must do. Aim: every case under 10× the baseline.

    .venv/bin/python bench/bench_alerts.py [--quick] [--n AGENCY_YEARS]
"""

from __future__ import annotations

import random
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as ``python bench/bench_alerts.py``

from sqlalchemy import insert, update  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from bench.common import Result, arguments, print_table, seconds  # noqa: E402
from domain.config import Config, Subscriber  # noqa: E402
from monitor.alerts import queue_alerts  # noqa: E402
from storage.db import init_db, make_engine, session_scope  # noqa: E402
from storage.models import AgencyYearStatus  # noqa: E402

PROVINCES = (
    "山东省",
    "湖南省",
    "广东省",
    "四川省",
    "河南省",
    "江苏省",
    "浙江省",
    "黑龙江省",
    "云南省",
    "甘肃省",
)
YEARS = (2021, 2022, 2023, 2024, 2025)
STATUS_WEIGHTS = (("on_time", 60), ("late", 15), ("missing", 15), ("unknown", 5), ("not_due", 5))


def seed(engine, n: int, rng: random.Random) -> None:  # noqa: ANN001
    statuses, weights = zip(*STATUS_WEIGHTS, strict=True)
    now = datetime.now(UTC)
    rows = []
    for i in range(n):
        year = YEARS[i % len(YEARS)]
        status = rng.choices(statuses, weights)[0]
        rows.append(
            dict(
                agency_id=f"a{i // len(YEARS):06d}",
                year=year,
                agency=f"第{i % 211}区某局{i // len(YEARS)}",
                region=f"{PROVINCES[i % len(PROVINCES)]}/第{i % 37}市",
                kind="department",
                status=status,
                due=date(year + 1, 1, 31),
                due_reason="department",
                published=date(year + 1, 2, 3) if status == "late" else None,
                published_evidence="page_meta" if status == "late" else None,
                inconsistent=rng.random() < 0.1 if status in ("late", "on_time") else None,
                findings=(found := ["s3.row_total"] if rng.random() < 0.1 else []),
                details=[{"rule": r, "severity": "error", "message": "表三 总计不符"} for r in found],
                evidence={"published": {"date": "2026-02-03", "evidence": "page_meta"}}
                if status == "late"
                else {},
                report_url="http://example.gov.cn/r.html",
                computed_at=now,
            )
        )
    with engine.begin() as conn:
        for i in range(0, len(rows), 5000):
            conn.execute(insert(AgencyYearStatus), rows[i : i + 5000])


def main() -> None:
    args = arguments(__doc__.splitlines()[0], full=100_000, quick=5_000)
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        init_db(engine)
        seed(engine, args.n, rng)
        config = Config(path=Path(tmp) / "config.yaml")
        config.alerts.subscribers = [Subscriber(f"s{i}@example.org", [p]) for i, p in enumerate(PROVINCES)]

        def load() -> None:
            with Session(engine) as s:
                list(s.exec(select(AgencyYearStatus)))

        def queue() -> None:
            with session_scope(engine) as s:
                queue_alerts(s, config)

        baseline = seconds(load, repeat=3)
        results = [Result("first run", args.n, seconds(queue), baseline)]
        results.append(Result("unchanged", args.n, seconds(queue), baseline))
        with engine.begin() as conn:
            conn.execute(
                update(AgencyYearStatus)
                .where(AgencyYearStatus.status == "on_time")
                .where(AgencyYearStatus.agency_id <= f"a{args.n // 500:06d}")
                .values(inconsistent=True, findings=["s3.balance"])
            )
        results.append(Result("1% changed", args.n, seconds(queue), baseline))
        engine.dispose()
    print_table(results, baseline_name="load rows")


if __name__ == "__main__":
    main()
