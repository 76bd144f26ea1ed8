"""A database writer that the crash tests kill with SIGKILL (run as ``python -m tests.storage.crash_writer``).

It commits numbered transactions of ``rows`` rows each through gkwatch's own engine settings (WAL,
synchronous=NORMAL), printing ``committed N WAL_BYTES`` after each commit; with ``--inflight`` it then opens
one more, large transaction, prints ``inflight`` and waits to be killed before committing it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from sqlalchemy import insert

from storage.db import make_engine
from storage.models import CrawlProblem
from storage.types import utcnow


def rows(tag: str, n: int) -> list[dict]:
    return [
        {
            "portal_id": tag,
            "url": f"http://x.example/{i}",
            "kind": "unreachable",
            "detail": "x" * 200,
            "at": utcnow(),
        }
        for i in range(n)
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("--commits", type=int, default=10)
    ap.add_argument("--rows", type=int, default=20)
    ap.add_argument("--inflight", type=int, default=0, help="rows of a transaction left open when killed")
    a = ap.parse_args()
    engine = make_engine(f"sqlite:///{a.path}")
    wal = a.path + "-wal"
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_autocheckpoint=0")  # keep every commit in the WAL
        conn.commit()
        for n in range(a.commits):
            with conn.begin():
                conn.execute(insert(CrawlProblem), rows(f"t{n}", a.rows))
            print(f"committed {n} {os.path.getsize(wal)}", flush=True)
        if a.inflight:
            conn.begin()
            conn.execute(insert(CrawlProblem), rows("inflight", a.inflight))
            conn.exec_driver_sql("SELECT 1")
            print("inflight", flush=True)
        print("ready", flush=True)
        time.sleep(120)
    sys.exit(0)


if __name__ == "__main__":
    main()
