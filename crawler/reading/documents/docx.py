"""Word .docx (and .doc/.wps after LibreOffice has turned them into .docx).

Paragraphs and tables are read in body order straight from the WordprocessingML, so that nothing python-docx
does not model (content controls, tracked insertions, fields) loses text. A horizontally merged cell
(``gridSpan``) appears once, followed by blank positions; a vertically merged one (``vMerge``) repeats the text
of the cell it continues, as HTML rowspan does. A table that holds other tables is layout: its cells are read
as ordinary content. ``word/document.xml`` is parsed straight from the ZIP (python-docx loading the whole
package cost 90% of reading a report); python-docx still reads the core properties.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from collections.abc import Iterator
from functools import cached_property

from lxml import etree

from crawler.reading.documents.limits import (
    MAX_COLSPAN,
    MAX_TABLE_CELLS,
    MAX_TABLE_ROWS,
    check_zip,
    clamp_span,
    read_part,
)
from crawler.reading.documents.model import Block, Document, Paragraph, Table, UnreadableDocument


class DocxParseError(UnreadableDocument):
    """A sound ZIP container that python-docx cannot make sense of (LibreOffice may still read it)."""


W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _q(tag: str) -> str:
    return W + tag


# Tag names computed once: these functions run for every cell of every table.
_P, _T, _TC, _TR, _SDT, _SDT_CONTENT = _q("p"), _q("t"), _q("tc"), _q("tr"), _q("sdt"), _q("sdtContent")
_TC_PR, _GRID_SPAN, _V_MERGE, _VAL = _q("tcPr"), _q("gridSpan"), _q("vMerge"), _q("val")
_TBL, _TR_PR, _GRID_BEFORE = _q("tbl"), _q("trPr"), _q("gridBefore")
# Elements whose content is read as if it stood in their place.
_WRAPPERS = (_SDT, _q("customXml"), _q("ins"), _q("smartTag"))
# What each non-text run element stands for in the paragraph's text.
_RUN_MARKS = {_q("tab"): "\t", _q("br"): "\n", _q("cr"): "\n", _q("noBreakHyphen"): "-"}
_TEXT_TAGS = (_T, *_RUN_MARKS)


def _child(el, tag: str):
    """The first child with this tag, or None (``iterchildren`` runs in C, ``find`` parses a path in
    Python)."""
    return next(el.iterchildren(tag), None)


def paragraph_text(p) -> str:
    """A paragraph's visible text: runs, insertions, tabs and breaks; deleted text left out."""
    return "".join((el.text or "") if el.tag == _T else _RUN_MARKS[el.tag] for el in p.iter(*_TEXT_TAGS))


def _cell_text(tc) -> str:
    return " ".join(t for t in (paragraph_text(p).strip() for p in tc.iter(_P)) if t)


def _row_cells(tr) -> Iterator:
    """The cells of a row, looking through content controls (``w:sdt``) that may wrap them."""
    for child in tr.iterchildren(_TC, _SDT):
        if child.tag == _TC:
            yield child
        else:
            content = _child(child, _SDT_CONTENT)
            if content is not None:
                yield from _row_cells(content)


def _rows(tbl) -> list:
    rows = []
    for child in tbl.iterchildren(_TR, _SDT):
        if child.tag == _TR:
            rows.append(child)
        else:
            content = _child(child, _SDT_CONTENT)
            if content is not None:
                rows.extend(_rows(content))
    return rows


def _tc_props(tc) -> tuple[int, bool]:
    """(grid span, whether this cell continues a vertical merge)."""
    pr = _child(tc, _TC_PR)
    if pr is None:
        return 1, False
    span_el = _child(pr, _GRID_SPAN)
    span = clamp_span(span_el.get(_VAL), MAX_COLSPAN) if span_el is not None else 1
    vm = _child(pr, _V_MERGE)
    continues = vm is not None and vm.get(_VAL, "continue") != "restart"
    return span, continues


def _sliver_columns(tbl) -> set[int]:
    """Grid columns too narrow to hold anything: LibreOffice adds them when cell edges of rows differ by a hair.

    A cell standing only on such a column would shift every cell after it in its row by one position.
    """
    grid = tbl.find(_q("tblGrid"))
    if grid is None:
        return set()
    widths = []
    for col in grid.findall(_q("gridCol")):
        try:
            widths.append(int(float(col.get(_q("w"), "0"))))
        except ValueError:
            widths.append(0)
    total = sum(widths)
    if total <= 0:
        return set()
    return {i for i, w in enumerate(widths) if w < min(60, total * 0.01)}


def _width(first: int, span: int, slivers: set[int]) -> int:
    """How many grid positions columns ``first`` … ``first + span - 1`` take, sliver columns left out."""
    if not slivers:
        return span
    return sum(1 for i in range(first, first + span) if i not in slivers)


def table_grid(tbl, notes: list[str]) -> list[list[str]]:
    grid: list[list[str]] = []
    cells = 0
    slivers = _sliver_columns(tbl)
    trs = _rows(tbl)
    if len(trs) > MAX_TABLE_ROWS:
        notes.append(f"table cut at {MAX_TABLE_ROWS} rows")
        trs = trs[:MAX_TABLE_ROWS]
    for tr in trs:
        row: list[str] = []
        pr = _child(tr, _TR_PR)
        before = _child(pr, _GRID_BEFORE) if pr is not None else None
        gcol = clamp_span(before.get(_VAL), MAX_COLSPAN) if before is not None else 0
        row.extend([""] * _width(0, gcol, slivers))
        for tc in _row_cells(tr):
            span, continues = _tc_props(tc)
            width = _width(gcol, span, slivers)
            gcol += span
            col = len(row)
            if continues and grid and col < len(grid[-1]):
                text = grid[-1][col]
            else:
                text = _cell_text(tc)
            if width == 0 and not text:
                continue  # an empty cell on a sliver column
            row.append(text)
            row.extend([""] * (width - 1))
        grid.append(row)
        cells += len(row)
        if cells > MAX_TABLE_CELLS:
            notes.append(f"table cut at {MAX_TABLE_CELLS} cells")
            break
    return grid


def body_blocks(container, notes: list[str], depth: int = 0) -> Iterator[Block]:
    """Paragraphs and tables of a body (or a layout table's cell) in reading order."""
    for child in container:
        tag = child.tag
        if tag == _P:
            text = paragraph_text(child).strip()
            if text:
                yield Paragraph(text)
        elif tag == _TBL:
            if depth < 20 and next(child.iterdescendants(_TBL), None) is not None:
                for tr in _rows(child):
                    for tc in _row_cells(tr):
                        yield from body_blocks(tc, notes, depth + 1)
            else:
                grid = table_grid(child, notes)
                if grid:
                    yield Table(grid)
        elif tag in _WRAPPERS:
            content = _child(child, _SDT_CONTENT) if tag == _SDT else child
            if content is not None and depth < 20:
                yield from body_blocks(content, notes, depth + 1)


def _has_pictures(body) -> bool:
    """Pictures in the body: DrawingML (``w:drawing``) or legacy VML (``w:pict``)."""
    return next(body.iterdescendants(_q("drawing"), _q("pict")), None) is not None


# What python-docx (and Word) require of the package: the main part found through the package relationships,
# with the WordprocessingML content type (a template's .dotx type is refused, LibreOffice re-saves those).
_OFFICE_DOCUMENT_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_CORE_PROPERTIES_REL = "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"
_WML_DOCUMENT_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"


class _Package:
    """The parts of a .docx this reader needs, read straight from the ZIP.

    Loading the whole package with python-docx (every part parsed into its object model) costs some 7× more
    than parsing ``word/document.xml`` alone; only the core properties still go through python-docx, whose
    W3CDTF date parsing they need.
    """

    def __init__(self, data: bytes, format: str = "docx"):
        self.format = format
        self.zip = zipfile.ZipFile(io.BytesIO(data))
        self.names = set(self.zip.namelist())
        # The settings python-docx parses with (no entity expansion: crawled XML is untrusted), without its
        # element classes. One parser per package: an lxml parser must not be shared between threads.
        self.parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False)

    def xml(self, partname: str) -> etree._Element:
        member = partname.lstrip("/")
        if member not in self.names:
            raise KeyError(f"There is no item named '{member}' in the archive")
        return etree.fromstring(self.read(member), self.parser)

    def read(self, member: str) -> bytes:
        """A part's bytes, capped (``check_zip`` has already inflated and measured every part)."""
        return read_part(self.zip, member, self.format)

    @cached_property
    def relationships(self) -> etree._Element:
        return self.xml("/_rels/.rels")

    def related_part(self, rel_type: str) -> str | None:
        """The part name (``/word/document.xml``) the package relationship of this type points to."""
        for rel in self.relationships.iter(_REL):
            if rel.get("Type") == rel_type and rel.get("TargetMode") != "External":
                return posixpath.normpath(posixpath.join("/", rel.get("Target", "")))
        return None

    def content_type(self, partname: str) -> str | None:
        types = self.xml("/[Content_Types].xml")
        for override in types.iter(f"{_CT}Override"):
            if override.get("PartName", "").lower() == partname.lower():
                return override.get("ContentType")
        ext = partname.rsplit(".", 1)[-1].lower()
        for default in types.iter(f"{_CT}Default"):
            if default.get("Extension", "").lower() == ext:
                return default.get("ContentType")
        return None


def _main_body(package: _Package) -> etree._Element:
    main = package.related_part(_OFFICE_DOCUMENT_REL)
    if main is None:
        raise KeyError(f"no relationship of type '{_OFFICE_DOCUMENT_REL}' in collection")
    content_type = package.content_type(main)
    if content_type != _WML_DOCUMENT_MAIN:
        raise ValueError(f"file is not a Word file, content type is '{content_type}'")
    body = package.xml(main).find(_q("body"))
    if body is None:
        raise ValueError("the main document part has no w:body")
    return body


def _core_meta(package: _Package) -> dict[str, str]:
    """Core properties under "core.*", not "title": a report made from last year's file keeps last year's
    title there, so it must never stand in for the printed title. A broken or missing part gives none."""
    from docx.oxml.coreprops import CT_CoreProperties
    from docx.oxml.parser import parse_xml

    try:
        partname = package.related_part(_CORE_PROPERTIES_REL)
        cp = parse_xml(package.read(partname.lstrip("/"))) if partname else None
    except Exception:  # a damaged metadata part must not cost the report
        return {}
    if not isinstance(cp, CT_CoreProperties):
        return {}
    meta: dict[str, str] = {}
    for key, value in (("title", cp.title_text), ("author", cp.author_text), ("subject", cp.subject_text)):
        if value:
            meta[f"core.{key}"] = str(value).strip()
    for key, moment in (("created", cp.created_datetime), ("modified", cp.modified_datetime)):
        if moment:
            meta[f"core.{key}"] = moment.isoformat()
    return meta


def read_docx(data: bytes, format: str = "docx") -> Document:
    """Read .docx bytes; ``format`` is what the file was before conversion (doc/wps), for the result."""
    check_zip(data, format)  # every part inflated and measured: nothing past here inflates more than it says
    try:
        package = _Package(data, format)
        body = _main_body(package)
    except UnreadableDocument:
        raise  # a cap passed: not a layout LibreOffice could repair
    except Exception as e:  # KeyError/ValueError/XMLSyntaxError/BadZipFile on broken parts
        raise DocxParseError(f"Word document not readable as .docx ({type(e).__name__}: {e})", format) from e
    notes: list[str] = []
    blocks = list(body_blocks(body, notes))
    if not blocks and _has_pictures(body):
        raise UnreadableDocument(
            "image-only Word document: no text, only pictures (a scan?); needs OCR", format
        )
    return Document(format=format, blocks=blocks, meta=_core_meta(package), notes=notes)
