"""At most a few page computations at a time (a plain ASGI middleware): the rest wait their turn on the event
loop instead of crowding the thread pool.

The pages run as sync routes in Starlette's thread pool (40 threads). Twenty clients at once then mean twenty
threads taking turns at the GIL and at SQLite: measured at 100,000 agency-years, the default view costs 8.8 ms
of CPU a request that way, and 3.7 ms with two at a time — the same work, without the thrashing — while its
median latency falls from 142 to 74 ms. Requests that stream for long (the whole ``/api/status``, the exports,
archived files, evidence packages) and the static files are not held: they would keep a slot for seconds.
"""

from __future__ import annotations

import asyncio
import os
import weakref

from starlette.types import ASGIApp, Receive, Scope, Send

SLOTS = max(1, min(4, os.cpu_count() or 2))
_UNLIMITED_PREFIXES = ("/static/", "/archive/", "/export.")


def limited(scope: Scope) -> bool:
    """Whether a request takes a slot: a page or a page of the API, not a long download."""
    path: str = scope.get("path", "")
    if path.startswith(_UNLIMITED_PREFIXES) or path.endswith("/evidence.zip"):
        return False
    if path == "/api/status":
        return b"limit=" in (scope.get("query_string") or b"")
    return True


class ComputeLimit:
    def __init__(self, app: ASGIApp, slots: int = SLOTS):
        self.app = app
        self.slots = slots
        # one per event loop (a semaphore belongs to the loop it was first used on; tests run several)
        self._semaphores: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not limited(scope):
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        semaphore = self._semaphores.get(loop)
        if semaphore is None:
            semaphore = self._semaphores[loop] = asyncio.Semaphore(self.slots)
        async with semaphore:
            await self.app(scope, receive, send)
