"""Which portals are finished, and whether their listing was read to the end: requests open per portal.

Scrapy knows when the whole crawl is idle, not when one portal is. Each request the spider makes gets a
ticket; the ticket is closed when its callback or errback has run to the end (having opened the tickets
of the requests it yielded), or when the scheduler drops the request as a duplicate. A portal whose
requests have started and whose tickets are all closed is done — what the progress display counts, and
when the portal's ``PortalRead`` is finished. Retries and redirects carry the request's meta, hence its
ticket: they do not end it early.

Listing requests (column pages, pagination, sub-columns, data proxies) are marked as such, and the
portal's ``ReadProgress`` counts what became of them: read fine, failed (and how the first one failed),
cut by a bound. A portal's read is complete only when it is done, no listing page failed, no bound was
reached, and the crawl was not stopped first.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from storage.types import utcnow

TICKET = "gkwatch_ticket"
PORTAL = "gkwatch_portal"
LISTING = "gkwatch_listing"

# How the listing's first page failing is told (a listing that failed later on is ``listing_failed``).
FIRST_PAGE_REASONS = ("unreachable", "blocked", "robots")


@dataclass
class ReadProgress:
    """One portal's read in this run, as the spider saw it."""

    started_at: datetime = field(default_factory=utcnow)
    pages: int = 0  # pages asked for (links followed: listing pages, report pages, attachments)
    listing_requests: int = 0
    listing_pages: int = 0  # listing pages fetched and read
    failed_pages: int = 0  # listing pages that could not be fetched or read
    first_failure: str | None = None  # the problem kind of the first failed listing page
    report_links: int = 0  # report links the listing pages showed
    limits: dict[str, str] = field(default_factory=dict)  # bound → where it was reached
    items: int = 0  # items the portal's callbacks yielded (the store writes the read after them)
    done: bool = False

    def outcome(self, *, interrupted: bool = False) -> tuple[bool, str]:
        """(complete, end_reason) of the read."""
        if interrupted or not self.done:
            return False, "interrupted"
        if self.limits:
            return False, "limit"
        if self.failed_pages:
            if self.listing_pages == 0 and self.first_failure in FIRST_PAGE_REASONS:
                return False, self.first_failure
            return False, "listing_failed"
        if self.listing_pages == 0:  # nothing read as a listing (cannot happen when a start page was read)
            return False, "listing_failed"
        return True, "finished"


class PortalTracker:
    def __init__(self, on_done: Callable[[str], None] | None = None) -> None:
        self._open: dict[str, set[int]] = {}
        self._numbers = itertools.count(1)
        self.reads: dict[str, ReadProgress] = {}
        self.on_done = on_done  # called once per portal, when its last request has ended

    def progress(self, portal_id: str) -> ReadProgress:
        read = self.reads.get(portal_id)
        if read is None:
            read = self.reads[portal_id] = ReadProgress()
        return read

    def open(self, portal_id: str, meta: dict, *, listing: bool = False) -> None:
        """Give a new request (by its meta) a ticket of its portal."""
        ticket = next(self._numbers)
        meta[TICKET] = ticket
        read = self.progress(portal_id)
        read.pages += 1
        if listing:
            meta[LISTING] = True
            read.listing_requests += 1
        self._open.setdefault(portal_id, set()).add(ticket)

    def close(self, meta: dict | None) -> None:
        if not meta or TICKET not in meta:
            return
        portal_id = meta.get(PORTAL)
        tickets = self._open.get(portal_id)
        if tickets is None:
            return
        tickets.discard(meta[TICKET])
        read = self.reads.get(portal_id)
        if not tickets and read is not None and not read.done:
            read.done = True
            if self.on_done is not None:
                self.on_done(portal_id)

    def request_dropped(self, request, spider=None) -> None:  # noqa: ANN001 (signal handler)
        self.close(request.meta)

    # --- what became of the listing ---

    def listing_read(self, portal_id: str, report_links: int) -> None:
        read = self.progress(portal_id)
        read.listing_pages += 1
        read.report_links += report_links

    def listing_failed(self, portal_id: str, kind: str) -> None:
        read = self.progress(portal_id)
        read.failed_pages += 1
        read.first_failure = read.first_failure or kind

    def limit(self, portal_id: str, bound: str, where: str) -> bool:
        """Record a bound reached; True the first time for this portal and bound (record it then)."""
        limits = self.progress(portal_id).limits
        if bound in limits:
            return False
        limits[bound] = where
        return True

    @property
    def started(self) -> int:
        return len(self._open)

    def done(self) -> set[str]:
        """Portals with requests made and none still open."""
        return {p for p, tickets in self._open.items() if not tickets}

    def unfinished(self) -> list[str]:
        """Portals begun whose requests have not all ended (the crawl stopped before them)."""
        return [p for p, read in self.reads.items() if not read.done]


def closes_ticket(callback: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    """Wrap a spider callback (response) or errback (failure): count the items it yields for its portal,
    and close the request's ticket when it ends."""

    @functools.wraps(callback)
    def wrapper(self, arg, *args, **kwargs):  # noqa: ANN001, ANN202
        request = getattr(arg, "request", None)
        read = self.tracker.reads.get(request.meta.get(PORTAL)) if request is not None else None
        try:
            for out in callback(self, arg, *args, **kwargs):
                if read is not None and not hasattr(out, "callback"):  # an item, not a Request
                    read.items += 1
                yield out
        finally:
            if request is not None:
                self.tracker.close(request.meta)

    return wrapper
