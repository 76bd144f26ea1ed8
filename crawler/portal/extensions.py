"""AutoThrottle that never goes below a portal's own configured delay.

Scrapy's AutoThrottle adapts each site's delay to its latency, but its floor is the global
``DOWNLOAD_DELAY``: a portal configured with ``delay_seconds: 3`` (a ``DOWNLOAD_SLOTS`` entry) would be
walked down towards the global 1 s after a few fast responses. Politeness promised per portal must hold,
so the slot's configured delay is the floor here; above it, AutoThrottle backs off as usual.
"""

from __future__ import annotations

from scrapy.extensions.throttle import AutoThrottle


class PortalAutoThrottle(AutoThrottle):
    def __init__(self, crawler):  # noqa: ANN001
        super().__init__(crawler)
        self.floors: dict[str, float] = {
            key: float(slot["delay"])
            for key, slot in crawler.settings.getdict("DOWNLOAD_SLOTS").items()
            if isinstance(slot, dict) and slot.get("delay") is not None
        }

    def _response_downloaded(self, response, request, spider=None) -> None:  # noqa: ANN001
        super()._response_downloaded(response, request, spider)
        key, slot = self._get_slot(request, spider)
        floor = self.floors.get(key or "")
        if slot is not None and floor is not None and slot.delay < floor:
            slot.delay = floor
