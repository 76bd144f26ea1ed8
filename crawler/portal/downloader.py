"""Scrapy's downloader, with "one request at a time per site" made to hold.

Scrapy 2.19 pops requests off a site's slot queue while ``slot.free_transfer_slots()`` says there is
room, scheduling each download as a coroutine; the coroutine marks its request as transferring only when
it starts, a loop iteration later. So the loop finds room for every queued request: with no delay
configured, a site with ``CONCURRENT_REQUESTS_PER_DOMAIN = 1`` got a listing's six report links at once
(``tests/integration/test_politeness.py`` measures it on the wire). Here a request counts as transferring
the moment it leaves the queue; the download's own bookkeeping then finds it there and clears it as usual.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from scrapy.core.downloader import Downloader, Slot
from scrapy.exceptions import IgnoreRequest
from twisted.python.failure import Failure


class CrawlStopped(IgnoreRequest):
    """The crawl was stopped (SIGTERM, Ctrl-C) before this request was sent: dropped, not a site's fault."""


class StartingQueue(deque):
    """A slot's queue whose ``popleft`` (the downloader starting a request) marks it as transferring."""

    def __init__(self, slot: Slot, items=()):  # noqa: ANN001
        super().__init__(items)
        self.slot = slot

    def popleft(self) -> Any:
        request, deferred = super().popleft()
        self.slot.transferring.add(request)
        return request, deferred


class PoliteDownloader(Downloader):
    def _get_slot(self, request, spider=None):  # noqa: ANN001, ANN202
        key, slot = super()._get_slot(request)
        if not isinstance(slot.queue, StartingQueue):
            slot.queue = StartingQueue(slot, slot.queue)
        return key, slot

    def drop_queued(self) -> int:
        """Drop every request waiting in a site's queue (not yet sent): the crawl is being stopped.

        Scrapy's graceful stop waits for everything the downloader holds, and with one request at a time
        per site and a delay, that can be minutes; the scheduler's SIGTERM would turn into its SIGKILL.
        Transfers already under way finish; each dropped request reaches its errback as ``CrawlStopped``.
        """
        dropped = 0
        for slot in self.slots.values():
            while slot.queue:
                request, deferred = deque.popleft(slot.queue)  # not StartingQueue's: it is not sent
                deferred.errback(Failure(CrawlStopped(f"crawl stopped before {request.url} was requested")))
                dropped += 1
        return dropped
