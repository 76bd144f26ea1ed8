"""Plain text: a report copied out of a web page or Word, in whatever encoding the portal used.

Such text mostly keeps no table structure (one cell per line, tab-indented), so the document is marked
``loose_text`` and the recognizer reads rows as "label, then the numbers that follow it". Markdown pipe
tables (``| 规章 | 0 | 0 | 0 |``, text extracted from a PDF by tools that emit markdown) are real grids and
become tables; their separator lines (``|---|---|``) are dropped.
"""

from __future__ import annotations

import codecs
import re

from crawler.reading.documents.limits import MAX_TEXT_CHARS
from crawler.reading.documents.model import Block, Document, Paragraph, Table, UnreadableDocument
from domain import charset

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _strict(data: bytes, encoding: str, partial: bool) -> str | None:
    """Decode strictly; with ``partial`` a sequence cut at the very end (a sniffed prefix) is allowed."""
    dec = codecs.getincrementaldecoder(encoding)("strict")
    try:
        return dec.decode(data, final=not partial)
    except UnicodeDecodeError:
        return None


def _looks_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM: the high byte of every ASCII character (newlines, tabs, digits) is NUL, and
    neither UTF-8 nor GB18030 text contains NUL bytes at all."""
    sample = data[:65536]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    # CJK characters like 开 (U+5F00) put a NUL in the other position now and then.
    if odd >= 2 and odd >= 4 * even:
        return "utf-16-le"
    if even >= 2 and even >= 4 * odd:
        return "utf-16-be"
    return None


def decode_text(data: bytes, *, partial: bool = False, declared: str | None = None) -> tuple[str, str]:
    """Decode bytes as text: BOM, then strict UTF-8, then the ``declared`` charset, then GB18030.

    GB18030 is the superset of GB2312 and GBK, so a page that declares either (or nothing) and is not UTF-8
    decodes under it. Returns ``(text, encoding used)``; raises UnreadableDocument if nothing fits.
    """
    for bom, enc in _BOMS:
        if data.startswith(bom):
            text = _strict(data, enc, partial)
            if text is not None:
                return text, enc
    for enc in _candidates(data, declared):
        text = _strict(data, enc, partial)
        if text is not None:
            return text, enc
    raise UnreadableDocument("the text is in no known encoding (tried UTF-8, UTF-16, GB18030)", "text")


# At most this share of undecodable bytes is replaced rather than refusing the text (a CMS that cut a
# character in half, one stray byte in a GBK page).
MAX_REPLACED_SHARE = 0.005


def decode_best(data: bytes, *, declared: str | None = None) -> tuple[str, str, int]:
    """Like ``decode_text``, but a few undecodable bytes are replaced (U+FFFD) instead of failing.

    Returns ``(text, encoding, number of replaced characters)``; the encoding with the fewest replacements
    wins. Raises UnreadableDocument when even the best one replaces more than ``MAX_REPLACED_SHARE``.
    """
    try:
        text, enc = decode_text(data, declared=declared)
        return text, enc, 0
    except UnreadableDocument:
        pass
    best: tuple[str, str, int] | None = None
    for enc in _candidates(data, declared):
        text = data.decode(enc, "replace")
        bad = text.count("\ufffd")
        if best is None or bad < best[2]:
            best = (text, enc, bad)
    assert best is not None
    if best[2] > max(8, len(best[0]) * MAX_REPLACED_SHARE):
        raise UnreadableDocument("the text is in no known encoding (tried UTF-8, UTF-16, GB18030)", "text")
    return best


def _candidates(data: bytes, declared: str | None) -> list[str]:
    candidates = ["utf-8"]
    u16 = _looks_utf16(data)
    if u16:
        candidates.insert(0, u16)
    codec = charset.widen(declared)  # GB2312/GBK → GB18030, as for pages (domain.charset)
    if codec:
        candidates.append(codec)
    candidates.append("gb18030")
    return list(dict.fromkeys(candidates))


def text_blocks(text: str) -> list[Paragraph]:
    """One paragraph per non-blank line, so the recognizer can read one cell per line."""
    return [Paragraph(line) for line in map(str.strip, text.splitlines()) if line]


_PIPE_SEPARATOR = re.compile(r"^\|?[\s:|\-]*-[\s:|\-]*\|?$")
_HEADING = re.compile(r"^#{1,6}\s+")


def _pipe_cells(line: str) -> list[str]:
    inner = line[1:] if line.startswith("|") else line
    if inner.endswith("|") and not inner.endswith("\\|"):
        inner = inner[:-1]
    return [c.strip() for c in inner.split("|")]


def text_and_table_blocks(text: str) -> list[Block]:
    """``text_blocks``, with runs of markdown pipe-table lines as tables (markdown headings unmarked)."""
    if "|" not in text:
        return list(text_blocks(text))
    blocks: list[Block] = []
    rows: list[list[str]] = []
    for line in map(str.strip, text.splitlines()):
        if line.startswith("|") and line.count("|") >= 2:
            if not _PIPE_SEPARATOR.match(line):
                rows.append(_pipe_cells(line))
            continue
        if rows:
            blocks.append(Table(rows))
            rows = []
        if line:
            blocks.append(Paragraph(_HEADING.sub("", line)))
    if rows:
        blocks.append(Table(rows))
    return blocks


def read_text(data: bytes) -> Document:
    text, enc, replaced = decode_best(data)
    notes: list[str] = []
    if len(text) > MAX_TEXT_CHARS:
        text = text[:MAX_TEXT_CHARS]
        notes.append(f"very long text: only its first {MAX_TEXT_CHARS} characters read")
    doc = Document(format="text", blocks=text_and_table_blocks(text), loose_text=True, notes=notes)
    if enc not in ("utf-8", "utf-8-sig"):
        doc.notes.append(f"text decoded as {enc}")
    if replaced:
        doc.notes.append(f"{replaced} undecodable byte sequence(s) replaced")
    return doc
