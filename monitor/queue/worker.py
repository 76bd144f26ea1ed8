"""``gkwatch worker``: run crawl and reading jobs from the shared job queue (PostgreSQL); start any number, on
any number of machines, each with a ``config.yaml`` naming the same database and archive.

A worker beats every ``queue.heartbeat_seconds``. Every worker also looks, as often, for jobs held by workers
silent for ``queue.stalled_after_seconds`` (killed, their machine lost) and puts them back in the queue, so
another worker runs them: a job is never lost with its worker, and — every job being idempotent — a job run
twice does its work once. SIGINT/SIGTERM stop the worker gracefully: no new job is taken, running jobs get
``SHUTDOWN_GRACE_SECONDS`` to finish, then they are stopped (a crawl closes its run as interrupted) and go back
to the queue.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
from collections.abc import Sequence

import procrastinate
from procrastinate.exceptions import ConnectorException, UniqueViolation

from domain.config import Config
from monitor.queue import QUEUES, QueueNotConfigured, require_queue
from monitor.queue.tables import ensure_schema
from monitor.queue.tasks import build_app
from storage.db import init_db, make_engine

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 30.0


async def retry_stalled_jobs(app: procrastinate.App, stalled_after: float) -> list[int]:
    """Put the running jobs of silent workers back in the queue; returns their ids.

    Several workers may do this at once: a job already put back is no longer ``doing`` and its second retry
    fails harmlessly. A stalled crawl whose portal has meanwhile got a new waiting job (the queueing lock
    allows one) is ended as failed instead: the waiting job does its work.
    """
    moved = []
    for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after):
        try:
            await app.job_manager.retry_job(job)
        except UniqueViolation:
            await app.job_manager.finish_job_by_id_async(
                job.id, status=procrastinate.jobs.Status.FAILED, delete_job=False
            )
            log.warning("job %s (%s) of a silent worker: a newer job replaces it", job.id, job.task_name)
            continue
        except ConnectorException:
            continue  # another worker put it back first
        moved.append(job.id)
        log.warning(
            "job %s %s of a worker silent for %.0f s: back in the queue",
            job.id,
            job.call_string,
            stalled_after,
        )
    return moved


async def _sweep(app: procrastinate.App, every: float, stalled_after: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await retry_stalled_jobs(app, stalled_after)
        except ConnectorException:
            log.warning("could not look for stalled jobs", exc_info=True)


async def run_worker(config: Config, queues: Sequence[str] = QUEUES, concurrency: int | None = None) -> None:
    """Run jobs until SIGINT/SIGTERM."""
    q = config.queue
    concurrency = concurrency or q.concurrency
    app = build_app(config, pool_size=concurrency + 3)
    name = f"{socket.gethostname()}:{os.getpid()}"
    async with app.open_async():
        sweeper = asyncio.create_task(_sweep(app, q.heartbeat_seconds, q.stalled_after_seconds))
        try:
            log.info("worker %s: queues %s, %d job(s) at a time", name, ", ".join(queues), concurrency)
            await app.run_worker_async(
                queues=list(queues),
                name=name,
                concurrency=concurrency,
                update_heartbeat_interval=q.heartbeat_seconds,
                stalled_worker_timeout=q.stalled_after_seconds,
                shutdown_graceful_timeout=SHUTDOWN_GRACE_SECONDS,
                install_signal_handlers=True,
            )
        finally:
            sweeper.cancel()


class _ShortLines(logging.Filter):
    """procrastinate logs each job with its arguments: a reading job's fifty sha256s are cut short."""

    LIMIT = 400

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("procrastinate"):
            msg = record.getMessage()
            if len(msg) > self.LIMIT:
                record.msg, record.args = msg[: self.LIMIT] + "…", ()
        return True


def run_worker_command(config: Config, queues: Sequence[str] = (), concurrency: int | None = None) -> int:
    """``gkwatch worker``: 0 after a clean stop, 2 when the configuration has no job queue."""
    try:
        require_queue(config)
    except QueueNotConfigured as e:
        print(f"gkwatch worker: {e}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_ShortLines())
    engine = make_engine(config.database_url)
    try:
        init_db(engine)
        ensure_schema(engine)
    finally:
        engine.dispose()
    try:
        asyncio.run(run_worker(config, queues or QUEUES, concurrency))
    except KeyboardInterrupt:
        return 130
    return 0
