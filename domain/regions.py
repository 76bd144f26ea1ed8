"""Regions are paths of whole segments: ``山东省/淄博市/淄川区``."""

from __future__ import annotations


def segments(region: str | None) -> list[str]:
    return [s for s in (region or "").strip("/").split("/") if s]


def region_has_prefix(region: str, prefix: str) -> bool:
    """Prefix by whole path segments: ``a/b`` covers ``a/b`` and ``a/b/c``, not ``a/bc``."""
    if not prefix:
        return True
    p = segments(prefix)
    return segments(region)[: len(p)] == p
