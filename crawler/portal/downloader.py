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
