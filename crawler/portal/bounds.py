"""The bounds of one crawl of one portal, and the knobs of an incremental sweep, from ``crawl:`` in config.

A crawler trap (pagination that branches, a page of 100,000 report links, a redirect chain) must end, and
end visibly: every bound reached is a recorded crawl problem of kind ``limit`` and leaves that portal's
read incomplete (``PortalRead.end_reason = "limit"``), so that no ``missing`` verdict rests on it.

* ``max_pages_per_portal`` — links followed (listing pages, report pages, attachments) per portal;
* ``max_requests_per_portal`` — HTTP requests sent per portal, retries and redirects included;
* ``max_listing_pages_per_portal`` — listing pages (columns, pagination, sub-columns) per portal;
* ``max_links_per_listing_page`` — links read from one listing page (the rest are not even extracted);
* ``max_document_bytes`` — bytes of one response (older name: ``max_attachment_bytes``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULTS: dict[str, Any] = {
    "max_pages_per_portal": 3000,
    "max_requests_per_portal": 6000,
    "max_listing_pages_per_portal": 500,
    "max_links_per_listing_page": 1000,
    "max_document_bytes": 50 * 1024 * 1024,
    "revalidate_known_after_days": 7.0,
    "concurrent_sites": 16,
}


def crawl_value(crawl: Any, key: str) -> Any:
    """``crawl.<key>`` of the typed config, its default where the config has none."""
    value = getattr(crawl, key, None)
    if value is None and key == "max_document_bytes":
        value = getattr(crawl, "max_attachment_bytes", None)
    return DEFAULTS[key] if value is None else value


@dataclass(frozen=True)
class Bounds:
    max_pages_per_portal: int = DEFAULTS["max_pages_per_portal"]
    max_requests_per_portal: int = DEFAULTS["max_requests_per_portal"]
    max_listing_pages_per_portal: int = DEFAULTS["max_listing_pages_per_portal"]
    max_links_per_listing_page: int = DEFAULTS["max_links_per_listing_page"]
    max_document_bytes: int = DEFAULTS["max_document_bytes"]

    @classmethod
    def from_config(cls, crawl: Any) -> Bounds:
        return cls(**{k: int(crawl_value(crawl, k)) for k in cls.__dataclass_fields__})

    def describe(self, bound: str) -> str:
        """ "crawl.max_pages_per_portal = 3000": the bound as its config key and value."""
        return f"crawl.{bound} = {getattr(self, bound)}"
