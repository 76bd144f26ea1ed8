"""One page image → the reader's blocks: its ruled tables as grids and its other text as lines.

The page is recognized once as a whole (detection finds every line of text, recognition reads it, word by
word with a score). Each word then goes to the table cell that holds its centre — by word, not by line, so
a detected line that runs over a cell border is still split right — and the rest become text lines in
reading order. The ruling is erased before recognition: a table border beside a digit is otherwise read
as a ``1``. A number cell that holds ink but where detection found nothing (a lone thin ``1`` is the usual
case) is recognized again from its own crop.

Cell texts are ``OcrText``: a ``str`` that also carries the recognizer's confidence. The recognizer
(``crawler.reading.tables``) places them from their text like any reader's cells; ``crawler.reading.ocr``
then finds each placed cell's confidence in these tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crawler.reading.documents.model import Block, Paragraph, Table
from crawler.reading.documents.ocr.engine import Word, recognize_crops, words
from crawler.reading.documents.ocr.grid import Cell, Grid, binarize, find_grids
from crawler.reading.documents.ocr.image import PageImage


class OcrText(str):
    """A cell's text as OCR read it, with the recognizer's confidence (the lowest score of its words)."""

    confidence: float

    def __new__(cls, text: str, confidence: float) -> OcrText:
        s = super().__new__(cls, text)
        s.confidence = confidence
        return s


class OcrLine(str):
    """A line of text outside the tables, as OCR read it (a mixed PDF tells OCR's lines from its own)."""


@dataclass
class PageResult:
    """What OCR made of one page."""

    blocks: list[tuple[float, Block]]
    words: int
    tables: int
    skew: float = 0.0
    cells_reread: int = 0


def read_page(page: PageImage) -> PageResult:
    """Recognize a straightened page."""
    grids, ruling, ch = find_grids(page.grey)
    clean = page.clean.copy()
    clean[ruling > 0] = 255
    found = words(clean)
    outside: list[Word] = []
    for w in found:
        for g in grids:
            cell = g.cell_at(w.cx, w.cy)
            if cell is not None:
                cell.words.append(w)
                break
        else:
            outside.append(w)
    reread = _reread_empty_cells(grids, clean, ch)
    blocks: list[tuple[float, Block]] = [
        (float(g.ys[0]), Table(g.rows(lambda c: cell_text(c, ch)))) for g in grids
    ]
    blocks += [(top, Paragraph(OcrLine(text))) for top, text in text_lines(outside, ch)]
    blocks.sort(key=lambda tb: tb[0])
    return PageResult(blocks, len(found), len(grids), page.angle, reread)


def _lines(ws: list[Word], ch: int) -> list[list[Word]]:
    """Words grouped into lines (by their vertical centres), top to bottom, each left to right."""
    lines: list[list[Word]] = []
    for w in sorted(ws, key=lambda w: w.cy):
        if lines and abs(w.cy - np.mean([v.cy for v in lines[-1]])) <= 0.55 * ch:
            lines[-1].append(w)
        else:
            lines.append([w])
    return [sorted(line, key=lambda w: w.x0) for line in lines]


def cell_text(cell: Cell, ch: int) -> str:
    """A cell's words joined in reading order, with the lowest word score as its confidence."""
    if not cell.words:
        return ""
    text = "".join("".join(w.text for w in line) for line in _lines(cell.words, ch))
    text, confidence = number_text(text.strip(), min(w.score for w in cell.words))
    return OcrText(text, confidence)


def text_lines(ws: list[Word], ch: int) -> list[tuple[float, str]]:
    """(top, text) of the page's lines outside tables; a wide gap between words becomes a space."""
    out = []
    for line in _lines(ws, ch):
        parts = [line[0].text]
        for a, b in zip(line, line[1:], strict=False):
            parts.append((" " if b.x0 - a.x1 > 1.2 * ch else "") + b.text)
        out.append((min(w.y0 for w in line), "".join(parts)))
    return out


def _reread_empty_cells(grids: list[Grid], clean: np.ndarray, ch: int) -> int:
    """Recognize, from its own crop, each one-line cell that holds ink but got no word."""
    import cv2

    if not any(not c.words for g in grids for c in g.cells):
        return 0
    text_ink = binarize(clean)  # the ruling is already white in ``clean``; seals too

    todo: list[tuple[Cell, np.ndarray]] = []
    pad = max(2, ch // 6)
    for g in grids:
        for c in g.cells:
            if c.words:
                continue
            x0, y0, x1, y1 = c.box
            inner = text_ink[y0 + pad : y1 - pad, x0 + pad : x1 - pad]
            if inner.size == 0 or not inner.any():
                continue
            n, _l, stats, _c = cv2.connectedComponentsWithStats(inner, connectivity=8)
            b = stats[1:]
            # Digit-sized blobs only: specks of dust are smaller, a seal's arc is wider.
            b = b[(b[:, cv2.CC_STAT_AREA] >= max(6, ch // 2)) & (b[:, cv2.CC_STAT_HEIGHT] >= ch * 0.4)
                  & (b[:, cv2.CC_STAT_HEIGHT] <= ch * 1.6) & (b[:, cv2.CC_STAT_WIDTH] <= ch * 1.5)]  # fmt: skip
            if len(b) == 0:
                continue
            line = _densest_line(b, ch)
            left, top = line[:, 0].min(), line[:, 1].min()
            right = (line[:, 0] + line[:, 2]).max()
            bottom = (line[:, 1] + line[:, 3]).max()
            m = max(3, ch // 3)
            ax, ay = x0 + pad + left, y0 + pad + top
            crop = clean[max(0, ay - m) : ay + (bottom - top) + m, max(0, ax - m) : ax + (right - left) + m]
            todo.append((c, crop))
    for (c, _crop), (text, score) in zip(todo, recognize_crops([t[1] for t in todo]), strict=True):
        if text.strip():
            x0, y0, x1, y1 = c.box
            c.words.append(Word(text.strip(), score, x0, y0, x1, y1))
    return len(todo)


def _densest_line(blobs: np.ndarray, ch: int) -> np.ndarray:
    """The blobs of the text line holding most of them (a number cell has one line)."""
    centres = blobs[:, 1] + blobs[:, 3] / 2
    best = max(range(len(blobs)), key=lambda i: int((abs(centres - centres[i]) <= 0.5 * ch).sum()))
    return blobs[abs(centres - centres[best]) <= 0.5 * ch]


# What OCR makes of digits in a number cell, and the digit it stands for.
_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "〇": "0", "l": "1", "I": "1", "|": "1",
                             "Z": "2", "z": "2", "S": "5", "s": "5", "B": "8", "g": "9", "q": "9"})  # fmt: skip
_BRACKETS = frozenset({"()", "（）", "(）", "（)", "[]", "0)", "(0"})
_SPECKS = ".,·。'`\"\u2019"


def number_text(text: str, confidence: float) -> tuple[str, float]:
    """A cell's text with OCR's usual slips on digits undone — a speck read as a dot, ``()`` or ``O`` for a
    0, ``l`` for a 1 — and the confidence lowered where anything was undone (so the cell is unsure).

    Only short texts made of digits and such look-alikes are touched: labels hold CJK and stay as read.
    """
    t = text.strip()
    if not t or len(t) > 12 or any("\u4e00" <= ch <= "\u9fff" for ch in t):
        return text, confidence
    fixed = "0" if t in _BRACKETS else t
    stripped = fixed.strip(_SPECKS)  # a dot before or after the digits; one inside may be money's
    if stripped and stripped.replace(",", "").replace(".", "").isdigit():
        fixed = stripped
    mapped = fixed.translate(_LOOKALIKES)
    if mapped.isdigit() and (any(ch.isdigit() for ch in fixed) or len(fixed) <= 2):
        fixed = mapped
    if fixed == t:
        return text, confidence
    return fixed, min(confidence, 0.6)
