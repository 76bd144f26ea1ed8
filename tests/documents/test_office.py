"""LibreOffice conversions: a batch is one soffice run; a hang is killed with nothing left behind; antiword
steps in for a .doc when LibreOffice cannot help."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from crawler.reading.documents import office, read_document
from crawler.reading.documents.model import Table, UnreadableDocument
from monitor.judgement.report import parse_bytes
from tests.documents.builders import MERGED_GRID, lo_documents, needs_soffice, report_cells

pytestmark = [pytest.mark.libreoffice, needs_soffice]


def _processes_mentioning(text: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode("utf-8", "replace")
        except OSError:
            continue
        if text in cmdline:
            pids.append(int(entry.name))
    return pids


def test_wps_read_through_a_one_off_conversion():
    docs = lo_documents()
    pr = parse_bytes(docs["report2021.doc"], "r.wps")
    assert (pr.error, pr.format, pr.template, pr.year) == (None, "wps", "2021", 2023)
    assert pr.cells == report_cells("2021")


def test_batch_converter_starts_libreoffice_once():
    docs = lo_documents()
    items = [
        ("a.doc", docs["report2019.doc"]),
        ("b.doc", docs["report2021.doc"]),
        ("c.doc", docs["merged.doc"]),
    ]
    with office.OfficeConverter() as conv:
        conv.prepare(items)
        assert conv.runs == 1
        results = [parse_bytes(data, name, converter=conv) for name, data in items[:2]]
        merged = read_document(docs["merged.doc"], "c.doc", converter=conv)
        assert conv.runs == 1  # every answer came from the batch
    assert merged.format == "doc"
    assert [b.rows for b in merged.blocks if isinstance(b, Table)] == [MERGED_GRID]
    assert any("LibreOffice" in n for n in merged.notes)
    assert [r.cells for r in results] == [report_cells("2019"), report_cells("2021")]
    assert all(r.error is None for r in results)


def test_timeout_kills_libreoffice_and_leaves_nothing(monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(UnreadableDocument, match="LibreOffice timed out after 0.5 s"):
        office.convert_bytes(lo_documents()["report2019.doc"], "doc", "docx", timeout=0.5)
    assert _processes_mentioning(str(tmp_path)) == []
    assert list(tmp_path.iterdir()) == []  # its profile and files are gone too


def test_antiword_reads_a_doc_when_libreoffice_times_out(monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    doc = office.read_converted(lo_documents()["report2019.doc"], "doc", "r.doc", timeout=0.5)
    assert doc.format == "doc" and doc.loose_text
    assert "淄川区招商局2020年政府信息公开工作年度报告" in doc.text()
    assert any("timed out" in n and "antiword" in n for n in doc.notes)
    assert _processes_mentioning(str(tmp_path)) == []


def test_no_libreoffice_and_no_antiword_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(office, "soffice_path", lambda: None)
    monkeypatch.setattr(office.shutil, "which", lambda name: None)
    with pytest.raises(UnreadableDocument, match="LibreOffice \\(soffice\\) is not installed") as e:
        read_document(lo_documents()["report2019.doc"], "r.doc")
    assert e.value.format == "doc"


def test_corrupt_doc_gives_an_error_not_a_crash():
    data = bytearray(lo_documents()["report2019.doc"])
    data[2048:] = os.urandom(len(data) - 2048)
    pr = parse_bytes(bytes(data), "broken.doc")
    assert pr.error is not None or pr.template is None
    assert pr.format in ("doc", None)


def test_docx_python_docx_refuses_is_re_saved_by_libreoffice():
    """A Word template (.dotx content type) saved under .docx: python-docx refuses it, Word and LibreOffice
    open it."""
    import io
    import zipfile

    from tests.documents.builders import merged_table_docx

    src = zipfile.ZipFile(io.BytesIO(merged_table_docx()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"document.main+xml", b"template.main+xml")
            out.writestr(info, data)
    doc = read_document(buf.getvalue(), "t.docx")
    assert doc.format == "docx"
    assert [b.rows for b in doc.blocks if isinstance(b, Table)] == [MERGED_GRID]
    assert any("not readable as .docx" in n and "re-saved with LibreOffice" in n for n in doc.notes)


def test_converter_reports_a_hang_once_and_goes_on(monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    docs = lo_documents()
    with office.OfficeConverter(timeout_per_file=0.0, startup=0.3) as conv:
        for _ in range(2):  # the second answer comes from the cache: no second 0.3 s wait
            with pytest.raises(UnreadableDocument, match="timed out"):
                conv.convert(docs["merged.doc"], "m.doc")
        assert conv.runs == 1
        assert _processes_mentioning(str(tmp_path)) == []
        conv.startup = 120.0
        converted, ext = conv.convert(docs["report2019.doc"], "r.doc")
        assert ext == "docx" and converted.startswith(b"PK") and conv.runs == 2
