"""CMS families of government portals; ``detect`` picks the one a page belongs to."""

from __future__ import annotations

from crawler.portal.platforms.base import Article, Link, Listing, Platform
from crawler.portal.platforms.generic import Generic
from crawler.portal.platforms.hanweb import Hanweb
from crawler.portal.platforms.trs import TRS

# Most specific first: the generic reader accepts every page.
PLATFORMS: dict[str, Platform] = {p.name: p for p in (Hanweb(), TRS(), Generic())}


def detect(url: str, text: str) -> Platform:
    """The family a page belongs to, from its markup and URL."""
    for p in PLATFORMS.values():
        if p.detect(url, text):
            return p
    return PLATFORMS["generic"]


def get_platform(name: str) -> Platform:
    try:
        return PLATFORMS[name]
    except KeyError:
        raise ValueError(f"unknown platform {name!r}; known: {', '.join(PLATFORMS)}") from None


__all__ = ["Article", "Link", "Listing", "Platform", "PLATFORMS", "detect", "get_platform"]
