"""Crawl and reading jobs on a PostgreSQL job queue, for ``gkwatch worker`` processes on any number of machines.

Used only when ``database.url`` is PostgreSQL and ``queue.enabled`` is true (``queue_in_use``); on SQLite
everything runs as before (``gkwatch serve`` crawls in its own subprocesses). The engine is procrastinate
(tables ``procrastinate_*`` in gkwatch's own database: ``SELECT … FOR UPDATE SKIP LOCKED``, LISTEN/NOTIFY).

The jobs (``tasks``), each idempotent because a queue delivers at least once:

* **crawl** ``crawl_portal(portal_id, requested_at)`` — queue ``crawl``. One per due portal: its
  *queueing lock* ``crawl:<portal>`` allows one waiting job per portal, its *lock* ``site:<host>`` one running
  crawl per site across every worker (politeness holds across machines). It runs the portal stage in a child
  process (``monitor.queue.child``: Scrapy's reactor cannot restart, and the child dies with its worker), then
  looks at the portal's ``PortalRead``: a portal still held by a crawl elsewhere (``busy``) or a crawl that
  did not end (killed, timed out) is an error, retried with backoff. A job that finds its portal already read
  since it was requested (a retry after a worker died between the crawl and the acknowledgement) does not
  crawl again. It ends by deferring the reading of the portal's new documents and a settle job;
* **read** ``read_documents(shas, pass_id)`` — queue ``read``. A batch of documents read and stored
  (``crawler.reading.stage.read_batch``): a first sweep's documents, and ``gkwatch reparse`` batches
  (``pass_id``), are read by every worker that takes the ``read`` queue — OCR included where installed;
* **settle** ``settle()`` — queue ``crawl``, queueing lock and lock ``settle``: when no crawl or crawl-reading
  job is waiting or running any more, it reads what is still unread, runs ``gkwatch check`` once, queues and
  delivers the mail (digests only if no crawl job failed since the last check); while work remains it defers
  itself again. So crawl jobs finishing anywhere end in one check and one round of mail.

A worker that dies (SIGKILL, a machine lost) stops its heartbeat; every worker looks for jobs of workers silent
longer than ``queue.stalled_after_seconds`` and puts them back in the queue (``worker``). Its crawl child
receives SIGTERM when the worker dies and closes its run as interrupted, releasing the portal.

``gkwatch serve`` decides when (``schedule``: the dispatcher defers one crawl job per due portal instead of
crawling) and only one ``serve`` acts per database: the one holding a PostgreSQL advisory lock
(``leader``); the others stand by and take over when it is released or its holder dies.
"""

from __future__ import annotations

from sqlalchemy.engine import make_url

from domain.config import Config

QUEUE_CRAWL = "crawl"
QUEUE_READ = "read"
QUEUES = (QUEUE_CRAWL, QUEUE_READ)

CRAWL_TASK = "gkwatch.crawl_portal"
READ_TASK = "gkwatch.read_documents"
SETTLE_TASK = "gkwatch.settle"


def is_postgres(database_url: str) -> bool:
    return make_url(database_url).get_backend_name() == "postgresql"


def queue_in_use(config: Config) -> bool:
    """Whether crawls go through the shared job queue: PostgreSQL and ``queue.enabled``."""
    return config.queue.enabled and is_postgres(config.database_url)


class QueueNotConfigured(Exception):
    """A queue command on a configuration without the queue (SQLite, or ``queue.enabled`` false)."""


def require_queue(config: Config) -> None:
    if not config.queue.enabled:
        raise QueueNotConfigured("the job queue is off: set queue.enabled: true in config.yaml")
    if not is_postgres(config.database_url):
        raise QueueNotConfigured(
            "the job queue needs PostgreSQL: database.url is not a postgresql:// URL "
            "(on SQLite, gkwatch serve crawls by itself)"
        )
