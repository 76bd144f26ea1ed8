"""Crawled text is untrusted: one place that makes it safe to show, in a header, a page or a link.

Agency names, titles, URLs and error details come from government portals we do not control. They may
hold CR/LF (a header injection if they reached a mail header), HTML (``<script>``), or invisible Unicode
that reorders what a reader sees (bidi overrides such as U+202E). Headers get one clean line; HTML gets
escaped text; a link gets an ``href`` only when it is plain http(s).
"""

from __future__ import annotations

import html
import re
import unicodedata
from urllib.parse import urlsplit

# C0/C1 controls, and the format characters that reorder or hide text (bidi embeddings/overrides/isolates,
# zero-width joiners, the BOM). Ordinary CJK text has none of them.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x85\x0b\x0c]+")
_PLAIN_URL = re.compile(r"^https?://[^\s<>\"']+$", re.IGNORECASE)


def clean_text(value: object, *, max_len: int = 500) -> str:
    """One line of display text: no line breaks, no controls, no bidi tricks, bounded length."""
    s = unicodedata.normalize("NFC", "" if value is None else str(value))
    s = _LINE_BREAKS.sub(" ", s)
    s = _UNSAFE.sub("", s).strip()
    return s if len(s) <= max_len else s[: max_len - 1] + "…"


def header_value(value: object, *, max_len: int = 200) -> str:
    """A mail header value: ``clean_text`` already removes CR/LF, so nothing can start a new header."""
    return clean_text(value, max_len=max_len)


def h(value: object, *, max_len: int = 500) -> str:
    """Escaped HTML text (quotes too, so it is also safe inside an attribute)."""
    return html.escape(clean_text(value, max_len=max_len), quote=True)


def safe_url(value: object) -> str | None:
    """A crawled URL fit for an ``href``: plain http(s) only (``javascript:``, ``data:`` … give None)."""
    s = clean_text(value, max_len=2000)
    return s if s and _PLAIN_URL.match(s) else None


def link_html(url: object, label: object | None = None) -> str:
    """An ``<a>`` for a safe URL; the escaped text alone otherwise."""
    good = safe_url(url)
    text = h(label if label is not None else url)
    if good is None:
        return text
    return f'<a href="{html.escape(good, quote=True)}">{text}</a>'


def host_of(url: str) -> str:
    """The host name of a URL, lower-case ("" when there is none or the URL is malformed)."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""
