"""Which portals are finished: requests still open per portal.

Scrapy knows when the whole crawl is idle, not when one portal is. Each request the spider makes gets a
ticket; the ticket is closed when its callback or errback has run to the end (having opened the tickets
of the requests it yielded), or when the scheduler drops the request as a duplicate. A portal whose
requests have started and whose tickets are all closed is done — what the progress display counts.
Retries and redirects carry the request's meta, hence its ticket: they do not end it early.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator
from typing import Any

TICKET = "gkwatch_ticket"
PORTAL = "gkwatch_portal"


class PortalTracker:
    def __init__(self) -> None:
        self._open: dict[str, set[int]] = {}
        self._numbers = itertools.count(1)

    def open(self, portal_id: str, meta: dict) -> None:
        """Give a new request (by its meta) a ticket of its portal."""
        ticket = next(self._numbers)
        meta[TICKET] = ticket
        self._open.setdefault(portal_id, set()).add(ticket)

    def close(self, meta: dict | None) -> None:
        if not meta or TICKET not in meta:
            return
        self._open.get(meta.get(PORTAL), set()).discard(meta[TICKET])

    def request_dropped(self, request, spider=None) -> None:  # noqa: ANN001 (signal handler)
        self.close(request.meta)

    @property
    def started(self) -> int:
        return len(self._open)

    def done(self) -> set[str]:
        """Portals with requests made and none still open."""
        return {p for p, tickets in self._open.items() if not tickets}


def closes_ticket(callback: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    """Wrap a spider callback (response) or errback (failure): close the request's ticket when it ends."""

    @functools.wraps(callback)
    def wrapper(self, arg, *args, **kwargs):  # noqa: ANN001, ANN202
        request = getattr(arg, "request", None)
        try:
            yield from callback(self, arg, *args, **kwargs)
        finally:
            if request is not None:
                self.tracker.close(request.meta)

    return wrapper
