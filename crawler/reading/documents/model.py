"""What every format reader produces: a document as an ordered list of paragraphs and tables.

The report recognizer (``crawler.reading``) only ever sees this shape, never HTML, Word or PDF, so a
new format is one new reader and nothing else. Tables are plain grids of cell text: merged cells are
already resolved by the reader (a horizontally merged cell appears once; a vertically merged cell may
repeat or be blank in the rows it spans — the recognizer copes with both).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The formats of the contract's ``format`` field.
FORMATS = ("html", "docx", "doc", "wps", "pdf", "xls", "xlsx", "text", "image")  # image: OCR (issue 12)


@dataclass
class Paragraph:
    text: str


@dataclass
class Table:
    # Each row is a list of cell texts; ``""`` is an empty cell. Rows may have different lengths.
    rows: list[list[str]]
    # Indices of the rows that start a new page of a table split over pages (PDF): the row before may
    # continue in them (wrapped numbers and labels), which only the recognizer can tell from a new row.
    breaks: list[int] = field(default_factory=list, compare=False)


Block = Paragraph | Table


@dataclass
class Document:
    format: str  # one of FORMATS
    blocks: list[Block] = field(default_factory=list)
    # Metadata the container itself carries (HTML <meta> tags, <title>, Word core properties).
    meta: dict[str, str] = field(default_factory=dict)
    # The reader had to guess the layout (e.g. PDF text lines without ruling): the recognizer should also
    # try splitting paragraph lines into label + numbers.
    loose_text: bool = False
    # Notes about the reading itself (charset fallback, OCR, truncated PDF page …), shown to users.
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        """All text in reading order, tables flattened one row per line."""
        parts: list[str] = []
        for b in self.blocks:
            if isinstance(b, Paragraph):
                parts.append(b.text)
            else:
                parts.extend(" ".join(c for c in row if c) for row in b.rows)
        return "\n".join(parts)

    def prose(self) -> str:
        """Only the paragraphs: what the report says in words (for text/table checks and copy detection)."""
        return "\n".join(b.text for b in self.blocks if isinstance(b, Paragraph))


class UnreadableDocument(Exception):
    """The bytes cannot be read as a report at all (corrupt, encrypted, scanned, too large, hostile).

    The message is shown to users as the ``error`` of ``gkwatch parse`` and stored with the crawl record,
    so it says plainly what is wrong.
    """

    def __init__(self, message: str, format: str | None = None):
        super().__init__(message)
        self.format = format
