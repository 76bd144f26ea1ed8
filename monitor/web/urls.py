"""Crawled URLs are untrusted: only http(s) may become a link."""

from __future__ import annotations

from urllib.parse import urlsplit


def safe_url(url: str | None) -> str | None:
    """A crawled URL fit for an ``href``: http(s) only (``javascript:``, ``data:`` and friends are dropped)."""
    if not url:
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in ("http", "https") else None
