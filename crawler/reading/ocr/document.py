"""What OCR adds to a reading: each cell's confidence, which cells the reader is sure of, mended misreads.

The recognizer (``crawler.reading.read.recognize``) reads an ``OcrDocument`` (made by
``crawler.reading.documents.ocr``) like any other; then ``finish`` marks every cell that came from OCR
(``how="ocr"``, ``confidence``) and decides which of them the reader is sure of. The rule this serves
(issue 12): OCR never invents an inconsistency. A cell is ``sure`` only where the recognizer's confidence
is at least ``SURE_CONFIDENCE`` (calibrated on the bench: no misread cell has reached it) and its text is a
plain number; any sum that fails on an unsure cell is a ``reading.unsure`` warning, never an error
(``monitor.judgement.arithmetic``). Misreads the table's own sums pin down to one cell are mended
(``sums.mend``); where a mended report still does not add up with every cell sure, the report's own
figures disagree.
"""

from __future__ import annotations

import re
from dataclasses import replace

from crawler.reading.documents.model import Paragraph, Table
from crawler.reading.documents.ocr import OcrDocument
from crawler.reading.documents.ocr.page import OcrLine, OcrText
from crawler.reading.labels import match_s3_row, norm
from crawler.reading.model import CellReading, Reading
from crawler.reading.ocr.sums import mend
from crawler.reading.values import clean, looks_like_value
from domain.template import S3_COLUMNS, S4_COLUMNS, S4_GROUPS, column_of

S3_WIDTH = len(S3_COLUMNS)
S4_WIDTH = len(S4_GROUPS) * len(S4_COLUMNS)

# A cell read at or above this confidence (the lowest score of its words) is sure; below it, unsure.
# Calibrated with bench/bench_ocr.py (two runs of 9 scans, 1,792 cells each, rapidocr 3.10): the best-scored
# misread cell had 0.9962, so a 0.97 threshold let one wrong cell count as sure; at 0.998 none did, and
# 96–97 % of the right cells are still sure (98 % at 0.995, 99 % at 0.97).
SURE_CONFIDENCE = 0.998
_PLAIN_NUMBER = re.compile(r"^\d+$")
_SIGNED_NUMBER = re.compile(r"^[-+]?\d+$")  # 本年增/减 prints a sign
_DASHED = re.compile(r"^[一—–－]\d+$")  # a minus OCR read as 一 or a dash
_SPECK = re.compile(r"^\d+[.,·。]\d*$|^[.,·。]\d+$")  # a dot OCR saw in a count cell (a speck of dust)


def _numbers_in_ocr_lines(doc: OcrDocument) -> bool:
    return any(isinstance(b, Paragraph) and isinstance(b.text, OcrLine) and any(c.isdigit() for c in b.text)
               for b in doc.blocks)  # fmt: skip


def finish(reading: Reading, doc: OcrDocument) -> Reading:
    """Mark OCR's cells, mend what the table's sums pin down, and say so in the notes."""
    if reading.template is None or not reading.cells:
        return reading
    template = reading.template
    placed = _placed_confidences(doc)
    by_text = _text_confidences(doc)
    # In a PDF with a text layer beside its scans, a cell is OCR's where OCR's tables placed it or printed
    # its text; in a scan, every cell is (a number the recognizer rejoined from OCR's lines, too).
    everything_ocr = doc.ocr_only or _numbers_in_ocr_lines(doc)
    cells: dict[str, CellReading] = {}
    ocr_keys: set[str] = set()
    for key, cell in reading.cells.items():
        if cell.raw is None:
            cells[key] = cell
            continue
        text = clean(cell.raw)
        at = placed.get(key)
        if at is not None and at[0] == text:
            confidence: float | None = at[1]  # the very cell OCR read there
        elif everything_ocr or text in by_text:
            # Placed otherwise by the recognizer (realigned, rejoined): the lowest confidence OCR gave any
            # cell printing the same text — never more than this cell's own.
            confidence = by_text.get(text)
        else:
            cells[key] = cell  # from the text layer
            continue
        cells[key] = _ocr_cell(template, key, cell, confidence)
        ocr_keys.add(key)
    reading.cells = cells
    _mend(reading, ocr_keys)
    _sections_misread(reading)
    read = [k for k in ocr_keys if cells[k].value is not None]
    if read:
        unsure = sum(1 for k in read if not reading.cells[k].sure)
        reading.notes.append(
            f"OCR：{len(read)} 个单元格的数字由 OCR 识别，其中 {unsure} 个置信度不足（低于 {SURE_CONFIDENCE:g}）或"
            "经校正；涉及这些单元格的勾稽关系不成立时只作提示，不认定为错误"
        )
    return reading


def _ocr_tables(doc: OcrDocument):  # noqa: ANN202
    for b in doc.blocks:
        if isinstance(b, Table):
            yield b


def _text_confidences(doc: OcrDocument) -> dict[str, float]:
    """The lowest confidence OCR gave a table cell, per printed text."""
    out: dict[str, float] = {}
    for t in _ocr_tables(doc):
        for row in t.rows:
            for c in row:
                if isinstance(c, OcrText):
                    k = clean(c)
                    out[k] = min(out.get(k, 1.0), c.confidence)
    return out


def _placed_confidences(doc: OcrDocument) -> dict[str, tuple[str, float]]:
    """Where OCR's own grids put 表三's and 表四's numbers: cell key → (text, confidence).

    The recognizer places cells from text alone (and caches its work by text), so a cell's confidence is
    looked up here, the way the recognizer's grid path reads a row: 表三's seven numbers are the last seven
    cells of a row whose label names the row; 表四's fifteen the last fifteen of its number row. A cell the
    recognizer placed otherwise gets the lowest confidence of its text instead (``finish``).
    """
    out: dict[str, tuple[str, float]] = {}
    s4_done = False
    for t in _ocr_tables(doc):
        for row in t.rows:
            if len(row) >= S3_WIDTH + 1 and all(isinstance(c, OcrText) or not c for c in row[-S3_WIDTH:]):
                key = match_s3_row(norm("".join(row[:-S3_WIDTH])))
                if key is not None and f"s3.{key}.total" not in out:
                    for col, c in zip(S3_COLUMNS, row[-S3_WIDTH:], strict=True):
                        if isinstance(c, OcrText):
                            out[f"s3.{key}.{col.key}"] = (clean(c), c.confidence)
            tail = row[-S4_WIDTH:]
            if (
                not s4_done
                and len(row) >= S4_WIDTH
                and all(isinstance(c, OcrText) and looks_like_value(c) for c in tail)
            ):
                s4_done = True
                keys = [f"s4.{g.key}.{c.key}" for g in S4_GROUPS for c in S4_COLUMNS]
                for key, c in zip(keys, tail, strict=True):
                    out[key] = (clean(c), c.confidence)
    return out


def _ocr_cell(template: str, key: str, cell: CellReading, confidence: float | None) -> CellReading:
    """An OCR cell with its confidence, and whether the reader is sure of it (the recognizer's own doubts
    — a fuzzy label, a row placed by order — stand: ``how`` keeps them)."""
    raw = str(cell.raw) if cell.raw is not None else None
    value, note, detail = cell.value, cell.note, cell.detail
    money = column_of(template, key).money
    text = (raw or "").replace(" ", "")
    if not money and raw and _SPECK.match(text):
        # 「5.9」 in a count cell: counts have no decimals, so the dot is a speck; read the digits, unsure.
        digits = "".join(ch for ch in text if ch.isdigit())
        value, note, detail = (
            int(digits),
            None,
            f"OCR 读为「{raw}」，计数单元格不应有小数点，按 {digits} 读取",
        )
        confidence = min(confidence or 0.0, 0.5)
    signed = column_of(template, key).signed
    if value is None and signed and raw and _DASHED.match(text):
        # 本年增/减 「-52」 with its minus read as 一 or a dash: the number, unsure of its sign.
        value, note, detail = -int(text[1:]), None, f"OCR 读为「{raw}」，按负数 {-int(text[1:])} 读取"
        confidence = min(confidence or 0.0, 0.5)
    if value is not None and value < 0 and not signed:
        # A dash OCR saw before a count: a negative count is an error finding, and OCR must not make one.
        value, note, detail = None, "not_number", f"OCR 读为「{raw}」（负数，可能是识别错误）"
    sure = (
        cell.sure
        and confidence is not None
        and confidence >= SURE_CONFIDENCE
        and note is None
        and value is not None
        and (
            money or bool((_SIGNED_NUMBER if column_of(template, key).signed else _PLAIN_NUMBER).match(text))
        )
    )
    return CellReading(value, raw, note, detail, sure, cell.how or "ocr", confidence)


def _mend(reading: Reading, ocr_keys: set[str]) -> None:
    """Correct the misreads the table's own sums pin down to one cell (``sums.mend``)."""
    cells = reading.cells
    values = {k: c.value for k, c in cells.items()}
    printed = {k: c.raw or "" for k, c in cells.items()}
    mendable = {k for k in ocr_keys if not cells[k].sure and cells[k].value is not None}
    corrections, _left = mend(reading.template or "", values, printed, mendable)
    for fix in corrections:
        old = cells[fix.key]
        cells[fix.key] = replace(
            old,
            value=fix.value,
            note=None,
            detail=f"OCR 读为「{fix.printed}」，按表格勾稽关系校正为 {fix.value}",
            sure=False,
            how="ocr_corrected",
        )
        reading.notes.append(
            f"OCR 校正：{fix.key} 读为「{fix.printed}」，唯有改为 {fix.value} 才能使所在各项合计成立"
        )


def _sections_misread(reading: Reading) -> None:
    """Section headings OCR misread by a character (「五、存在的三要问题」): a numbered heading line whose
    key words are one character off still shows the section is there."""
    from crawler.reading.metadata import SECTION_KEYS

    lines = [ln.strip() for ln in reading.prose.splitlines()]
    for numeral, groups in SECTION_KEYS.items():
        if numeral in reading.sections_present:
            continue
        heads = [ln for ln in lines if ln.startswith((f"{numeral}、", f"{numeral}，", f"{numeral}."))]
        if heads and all(any(_near(k, h) for k in alternatives for h in heads) for alternatives in groups):
            reading.sections_present.append(numeral)
            reading.notes.append(
                f"OCR：第{numeral}部分标题识别有误（「{heads[0][:20]}」），按标题序号认定该部分存在"
            )
    order = "一二三四五六"
    reading.sections_present.sort(key=lambda n: order.index(n) if n in order else 9)


def _near(word: str, line: str) -> bool:
    """Whether ``line`` holds ``word`` with at most one character changed (words of four or more)."""
    if word in line:
        return True
    n = len(word)
    if n < 4:
        return False
    return any(
        sum(a != b for a, b in zip(word, line[i : i + n], strict=True)) <= 1 for i in range(len(line) - n + 1)
    )
