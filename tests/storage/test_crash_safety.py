"""A half-written SQLite database loses nothing committed.

A real writer process (``crash_writer``, gkwatch's own engine settings: WAL, synchronous=NORMAL) is killed
with SIGKILL — in the middle of a large transaction, or after its commits with its WAL then cut short as a
torn write would leave it. On reopening, every committed transaction is there in full, the interrupted one
is not there at all, and SQLite's integrity check passes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from storage.db import init_db, make_engine, session_scope
from storage.models import CrawlProblem

ROOT = Path(__file__).resolve().parents[2]
ROWS = 20


def _fresh(tmp_path: Path) -> Path:
    path = tmp_path / "crash.db"
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    engine.dispose()
    return path


def _run_and_kill(path: Path, *args: str) -> list[str]:
    """Start the writer, read its lines until ``ready``, then SIGKILL it (no clean close, no checkpoint)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.storage.crash_writer", str(path), "--rows", str(ROWS), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    lines = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.strip())
            if line.strip() == "ready":
                break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert lines and lines[-1] == "ready", lines
    return lines


def _tags(path: Path) -> Counter:
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as c:
            assert c.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        with session_scope(engine) as s:
            return Counter(s.exec(select(CrawlProblem.portal_id)).all())
    finally:
        engine.dispose()


def test_writer_killed_mid_transaction_loses_nothing_committed(tmp_path):
    path = _fresh(tmp_path)
    lines = _run_and_kill(path, "--commits", "8", "--inflight", "15000")
    assert "inflight" in lines
    assert os.path.getsize(f"{path}-wal") > 0  # the reopen below really recovers from a WAL
    tags = _tags(path)
    assert tags == Counter({f"t{n}": ROWS for n in range(8)})  # all 8 commits, none of the open one


def test_torn_wal_keeps_every_complete_commit(tmp_path):
    path = _fresh(tmp_path)
    lines = _run_and_kill(path, "--commits", "10")
    wal_after = [int(x.split()[2]) for x in lines if x.startswith("committed")]
    assert len(wal_after) == 10 and wal_after == sorted(wal_after)
    wal = Path(f"{path}-wal")
    cut = (wal_after[8] + wal_after[9]) // 2  # in the middle of the last transaction's frames
    assert wal_after[8] < cut < wal_after[9]
    with wal.open("r+b") as f:
        f.truncate(cut)
    tags = _tags(path)
    assert tags == Counter({f"t{n}": ROWS for n in range(9)})  # the torn one is atomically absent


@pytest.mark.postgres
def test_postgres_rolls_back_a_killed_writer(pg_engine_factory):
    """On PostgreSQL the same guarantee comes from the server; checked once with a dropped connection."""
    _, engine = pg_engine_factory
    with session_scope(engine) as s:
        for row in s.exec(select(CrawlProblem)):
            s.delete(row)
    with session_scope(engine) as s:
        s.add(CrawlProblem(portal_id="kept", url="u", kind="unreachable"))
    conn = engine.raw_connection()
    cur = conn.cursor()
    cur.execute(
        "INSERT INTO crawlproblem (portal_id, url, kind, detail, at) VALUES ('lost','u','blocked','',now())"
    )
    conn.invalidate()  # the connection dies before COMMIT
    with session_scope(engine) as s:
        assert sorted(s.exec(select(CrawlProblem.portal_id)).all()) == ["kept"]
