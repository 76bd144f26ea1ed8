"""The charset of a page, decided once for the crawler and the HTML reader alike.

Chinese portals serve GBK pages labelled UTF-8 and the reverse, declare GB2312 for text that holds characters
outside it, and now and then cut a character in half. So the bytes decide, in this order:

1. a byte-order mark;
2. strict UTF-8 — valid UTF-8 with non-ASCII bytes is UTF-8 (GBK text almost never is), whatever is declared;
3. the charsets the page declares (``<meta charset>``, ``<meta http-equiv>``, the XML declaration — found by
   beautifulsoup4's ``EncodingDetector``), then the HTTP header's, then one named outside the page (a MIME
   part's): each only if the bytes decode with it;
4. bs4's sniffing (``charset_normalizer`` through ``EncodingDetector``), then GB18030;
5. where nothing decodes cleanly, the candidate that needs the fewest replacement characters, if they are few
   (a page with ten bad bytes still reads, and says so).

On top of bs4: GB2312/GBK (and their aliases) are widened to GB18030, their superset — a page that declares
GB2312 routinely prints characters only GBK or GB18030 has. A single-byte Western charset (latin-1,
windows-1252) decodes any bytes at all, so it is used only when no multi-byte charset fits even with a few
replacements: on these portals such a declaration on GB18030 bytes is a CMS default, not the truth.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field

from bs4.dammit import EncodingDetector

# Names of the GB2312/GBK family (as declared, and as Python's codec registry names them).
GB_FAMILY = frozenset(
    {
        "gb2312",
        "gbk",
        "x-gbk",
        "gb_2312",
        "gb_2312-80",
        "gb2312-80",
        "gb2312-1980",
        "csgb2312",
        "cp936",
        "ms936",
        "windows-936",
        "euc-cn",
        "euccn",
        "chinese",
        "iso-ir-58",
        "gb18030",
    }
)
# Codecs that decode any byte string: never evidence on their own.
_SINGLE_BYTE_ANYTHING = frozenset({"latin_1", "iso8859-1", "cp1252", "ascii"})
# At most this share of characters (and at least this many) may be replaced before the bytes count as
# being in no known charset at all.
MAX_REPLACED_SHARE = 0.01
MIN_REPLACED_ALLOWED = 32


class UnknownCharset(ValueError):
    """The bytes decode in no candidate charset without replacing too much of them."""


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # the Python codec name used: "utf-8", "gb18030", "utf-16" …
    source: str  # bom | utf-8 | declared | header | outside | sniffed | fallback
    declared: str | None = None  # the charset the page itself declares, as written (lower case)
    replaced: int = 0  # characters replaced (U+FFFD) because no charset decoded every byte
    notes: list[str] = field(default_factory=list)


def widen(name: str | None) -> str | None:
    """The codec to decode a declared charset with: GB2312/GBK → GB18030; None for an unknown name."""
    if not name:
        return None
    n = name.strip().strip("\"'").lower()
    if n in GB_FAMILY:
        return "gb18030"
    try:
        codec = codecs.lookup(n).name
    except LookupError:
        return None
    return "gb18030" if codec in GB_FAMILY else codec


def declared_charset(data: bytes, is_html: bool = True) -> str | None:
    """The charset the page declares in its own markup (meta or XML declaration), as written."""
    found = EncodingDetector.find_declared_encoding(data, is_html=is_html)
    return found.strip().lower() if found else None


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def decode(
    data: bytes, *, header: str | None = None, outside: str | None = None, is_html: bool = True
) -> Decoded:
    """Decode a page's bytes (see the module's order). ``header``: the HTTP ``Content-Type`` charset;
    ``outside``: one named by a container (a MIME part). Raises ``UnknownCharset`` when nothing fits."""
    stripped, bom = EncodingDetector.strip_byte_order_mark(data)
    if bom:
        text = _strict(stripped, bom)
        if text is not None:
            return Decoded(text, codecs.lookup(bom).name, "bom")
    text = _strict(data, "utf-8")
    declared = declared_charset(data[:65536], is_html) if is_html else None
    if text is not None:
        return Decoded(text, "utf-8", "utf-8", declared, notes=_mismatch(declared, "utf-8"))
    tried: list[str] = ["utf-8"]
    late: list[tuple[str, str]] = []  # single-byte charsets: only when no multi-byte one fits at all
    sniffed = (None, "sniffed")  # asked last: it costs more than the rest together
    for enc, source in (
        (widen(declared), "declared"),
        (widen(header), "header"),
        (widen(outside), "outside"),
        ("gb18030", "fallback"),
        sniffed,
    ):
        if source == "sniffed":
            enc = _sniffed(data, tried)
        if enc is None or enc in tried:
            continue
        if enc in _SINGLE_BYTE_ANYTHING:
            late.append((enc, source))
            continue
        tried.append(enc)
        text = _strict(data, enc)
        if text is not None:
            notes = _mismatch(declared, enc) or ([] if declared else [f"页面未声明字符集，按 {enc} 解码"])
            return Decoded(text, enc, source, declared, notes=notes)
    try:
        return _least_damaged(data, tried, declared)
    except UnknownCharset:
        if not late:
            raise
    enc, source = late[0]
    return Decoded(data.decode(enc), enc, source, declared, notes=_mismatch(declared, enc))


def _sniffed(data: bytes, tried: list[str]) -> str | None:
    """bs4's guess from the bytes alone (its third-party detector), widened; only asked when the declared
    charsets and GB18030 all failed, as it costs more than the rest together."""
    detector = EncodingDetector(data[:65536], is_html=True, exclude_encodings=[*tried, "windows-1252"])
    for enc in detector.encodings:
        return widen(enc)
    return None


def _least_damaged(data: bytes, tried: list[str], declared: str | None) -> Decoded:
    best: tuple[int, str, str] | None = None
    for enc in tried:
        try:
            text = data.decode(enc, "replace")
        except LookupError:
            continue
        bad = text.count("\ufffd")
        if best is None or bad < best[0]:
            best = (bad, enc, text)
    assert best is not None
    bad, enc, text = best
    if bad > max(MIN_REPLACED_ALLOWED, len(text) * MAX_REPLACED_SHARE):
        raise UnknownCharset(f"the bytes are in no known charset (tried {', '.join(tried)})")
    notes = [f"{bad} 处无法解码的字节已替换（按 {enc} 解码）"]
    return Decoded(text, enc, "fallback", declared, bad, notes)


def _mismatch(declared: str | None, used: str) -> list[str]:
    if declared and widen(declared) != used:
        return [f"页面声明字符集 {declared}，但其字节为 {used}，已按 {used} 解码"]
    return []


def decide(data: bytes, header: str | None = None) -> str:
    """The charset a page's bytes are in (for a crawler that decodes them itself); GB18030 when nothing
    fits cleanly (it decodes with replacements)."""
    try:
        return decode(data, header=header).encoding
    except UnknownCharset:
        return "gb18030"
