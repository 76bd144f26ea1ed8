"""One acting scheduler per database: a session-level PostgreSQL advisory lock.

Several ``gkwatch serve`` may run on one database (for the web page on several machines, or a spare). The one
holding the lock acts (its APScheduler dispatches and delivers mail); the others stand by, asking for the lock
every ``queue.standby_retry_seconds``. The lock belongs to one database session: it is released when its
holder stops, and by PostgreSQL itself when the holder's connection ends — a process killed, a machine lost
(TCP keepalives make the server notice a silent peer within about a minute) — so a standby takes over.
The holder checks its session every few seconds and stops acting the moment it is gone.

The key is derived from the database and schema, so that unrelated gkwatch databases (or test schemas) on
one server do not share it.
"""

from __future__ import annotations

import asyncio
import logging

import psycopg

from monitor.queue.tables import conninfo, lock_key

log = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 10.0
# the server drops a silent holder's session (and so its lock) after idle + interval × count seconds
KEEPALIVE = {"tcp_keepalives_idle": 30, "tcp_keepalives_interval": 10, "tcp_keepalives_count": 3}


class SchedulerLock:
    """``await lock.acquire()`` → True when this process is now the acting scheduler; ``held()`` while it
    is; ``release()`` to give it up."""

    def __init__(self, database_url: str, name: str = "scheduler") -> None:
        self.conninfo = conninfo(database_url)
        self.name = name
        self.conn: psycopg.AsyncConnection | None = None
        self.holding = False

    async def _connect(self) -> psycopg.AsyncConnection:
        conn = await psycopg.AsyncConnection.connect(
            self.conninfo,
            autocommit=True,
            application_name=f"gkwatch serve ({self.name} lock)",
            keepalives=1,
            keepalives_idle=30,
            keepalives_interval=10,
            keepalives_count=3,
            connect_timeout=10,
        )
        for setting, value in KEEPALIVE.items():
            await conn.execute(f"SET {setting} = {int(value)}")
        return conn

    async def key(self) -> int:
        assert self.conn is not None
        cur = await self.conn.execute("SELECT current_database(), current_schema()")
        database, schema = await cur.fetchone()
        return lock_key(f"gkwatch {self.name}: {database}.{schema}")

    async def acquire(self) -> bool:
        """Try once, without waiting."""
        try:
            if self.conn is None or self.conn.closed:
                self.conn = await asyncio.wait_for(self._connect(), CHECK_TIMEOUT_SECONDS)
            cur = await asyncio.wait_for(
                self.conn.execute("SELECT pg_try_advisory_lock(%s)", (await self.key(),)),
                CHECK_TIMEOUT_SECONDS,
            )
            self.holding = bool((await cur.fetchone())[0])
        except (psycopg.Error, OSError, TimeoutError) as e:
            log.warning("cannot reach the database for the %s lock: %s", self.name, e)
            await self._drop()
        return self.holding

    async def held(self) -> bool:
        """Whether the session holding the lock is still alive (then it still holds the lock)."""
        if not self.holding or self.conn is None or self.conn.closed:
            self.holding = False
            return False
        try:
            await asyncio.wait_for(self.conn.execute("SELECT 1"), CHECK_TIMEOUT_SECONDS)
        except (psycopg.Error, OSError, TimeoutError):
            await self._drop()
        return self.holding

    async def release(self) -> None:
        await self._drop()

    async def _drop(self) -> None:
        """Close the session: PostgreSQL releases every lock it held."""
        self.holding = False
        conn, self.conn = self.conn, None
        if conn is not None and not conn.closed:
            try:
                await asyncio.wait_for(conn.close(), CHECK_TIMEOUT_SECONDS)
            except (psycopg.Error, OSError, TimeoutError):
                pass
