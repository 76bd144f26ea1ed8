"""``gkwatch reparse`` on the job queue: the archived documents read again by every worker, in batches.

The pass is the reading stage's (``ReadingPass``: its scope, when it began, how far it got), so an interrupted
reparse resumes as it does on one machine — documents re-read since the pass began are skipped, and so are
those whose batch is still in the queue. The command waits for its batches (progress on a terminal), ends the
pass and checks, as ``gkwatch reparse`` always does. Stopping the command stops nothing on the workers: its
batches are read all the same, and the next check judges them.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from crawler.reading.stage import open_reparse_pass
from domain.config import Config
from monitor.queue.tables import ensure_schema, live_workers, pass_jobs_left, reading_in_queue
from monitor.queue.tasks import build_app, defer_reads
from storage.db import init_db, make_engine
from storage.models import ReadingPass
from storage.types import utcnow

PASS = ReadingPass.__table__
POLL_SECONDS = 1.0
NO_WORKER_HINT_SECONDS = 30.0


def plan(engine: Engine, portal_ids: list[str], since: date | None) -> tuple[int, list[str], bool]:
    """The pass (new, or the unfinished one of the same scope) and the documents still to read in it."""
    pass_id, jobs, resumed = open_reparse_pass(engine, portal_ids, since)
    queued = reading_in_queue(engine, pass_id)
    return pass_id, [j.sha256 for j in jobs if j.sha256 not in queued], resumed


def _finish(engine: Engine, pass_id: int) -> tuple[int, int]:
    with engine.begin() as conn:
        conn.execute(update(PASS).where(PASS.c.id == pass_id).values(finished_at=utcnow()))
        row = conn.execute(select(PASS.c.documents, PASS.c.changed).where(PASS.c.id == pass_id)).one()
    return row.documents, row.changed


def _wait(engine: Engine, config: Config, pass_id: int, total: int) -> None:
    tty = sys.stderr.isatty()
    started = time.monotonic()
    hinted = False
    while (left := pass_jobs_left(engine, pass_id)) > 0:
        if tty:
            sys.stderr.write(f"\r\x1b[Kre-reading on the workers: {total - left}/{total} batches")
            sys.stderr.flush()
        if not hinted and time.monotonic() - started > NO_WORKER_HINT_SECONDS:
            if live_workers(engine, config.queue.stalled_after_seconds) == 0:
                print("\nno gkwatch worker is running: start one (gkwatch worker)", file=sys.stderr)
            hinted = True
        time.sleep(POLL_SECONDS)
    if tty:
        sys.stderr.write(f"\r\x1b[Kre-reading on the workers: {total}/{total} batches\n")


def reparse_on_queue(config: Config, portal_ids: list[str], since: date | None) -> int:
    """Defer the pass's batches, wait for the workers, end the pass, check; 0 when done."""
    from monitor.status.check import run_check, summary_lines

    engine = make_engine(config.database_url)
    try:
        init_db(engine)
        ensure_schema(engine)
        pass_id, shas, resumed = plan(engine, portal_ids, since)
        if resumed:
            print(f"resuming an interrupted reparse: {len(shas)} documents left", file=sys.stderr)

        async def defer() -> int:
            app = build_app(config, pool_size=2)
            async with app.open_async():
                return await defer_reads(app, shas, config.queue.read_batch_documents, pass_id)

        batches = asyncio.run(defer())
        print(f"reading: {len(shas)} documents in {batches} batches on the job queue", file=sys.stderr)
        _wait(engine, config, pass_id, batches)
        documents, changed = _finish(engine, pass_id)
        print(
            f"reading: re-read {documents} documents on the workers: {changed} new or changed",
            file=sys.stderr,
        )
        result = run_check(engine, config)
    finally:
        engine.dispose()
    for line in summary_lines(result):
        print(line, file=sys.stderr)
    return 0
