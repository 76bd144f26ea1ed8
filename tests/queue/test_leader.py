"""One acting scheduler per database: the session-level advisory lock of ``monitor.queue.leader``."""

from __future__ import annotations

import asyncio

import psycopg

from monitor.queue.leader import SchedulerLock
from monitor.queue.tables import conninfo


def test_one_holder_at_a_time_and_the_lock_follows_the_session(pg_schema_url):
    async def scenario() -> None:
        first, second = SchedulerLock(pg_schema_url), SchedulerLock(pg_schema_url)
        assert await first.acquire()
        assert not await second.acquire()  # stands by
        assert await first.held()
        await first.release()
        assert await second.acquire()  # released: the standby takes over
        assert not await first.acquire()
        # the holder's session ends without a word (its process killed, its machine lost)
        pid = second.conn.info.backend_pid
        async with await psycopg.AsyncConnection.connect(conninfo(pg_schema_url), autocommit=True) as admin:
            await admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        assert not await second.held()  # it notices and stops acting …
        assert await first.acquire()  # … and the other takes over
        await first.release()
        await second.release()

    asyncio.run(scenario())


def test_the_lock_is_per_database_schema(pg_schema_url):
    """Unrelated gkwatch databases (here: the default schema) on one server do not share the lock."""
    from tests.storage.backends import PG_URL

    async def scenario() -> None:
        here, elsewhere = SchedulerLock(pg_schema_url), SchedulerLock(PG_URL)
        assert await here.acquire()
        assert await elsewhere.acquire()
        assert await here.key() != await elsewhere.key()
        await here.release()
        await elsewhere.release()

    asyncio.run(scenario())
