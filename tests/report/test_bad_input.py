"""Hostile and broken input: each gives a clear ``error`` (or ``template: null``), never a crash or a hang."""

from __future__ import annotations

import io
import os
import tempfile
import threading
import zipfile

import pytest

from monitor.judgement.report import ParsedReport, parse_bytes
from tests.conftest import SAMPLES
from tests.documents.builders import (
    image_only_pdf,
    lo_documents,
    merged_table_docx,
    needs_soffice,
    render_module,
    report_cells,
    report_spec,
)


def parse_within(data: bytes, name: str, seconds: float = 120) -> ParsedReport:
    """parse_bytes in a thread that must finish: a hang fails the test instead of blocking the run."""
    result: dict[str, ParsedReport] = {}
    worker = threading.Thread(target=lambda: result.setdefault("pr", parse_bytes(data, name)), daemon=True)
    worker.start()
    worker.join(timeout=seconds)
    assert not worker.is_alive(), f"parsing {name} did not finish in {seconds} s"
    return result["pr"]


@pytest.mark.parametrize(
    "data, name, error",
    [
        (b"", "empty.pdf", "empty file"),
        (os.urandom(50_000), "random.docx", "unknown file format"),
        (b"PK\x03\x04" + os.urandom(2000), "broken.docx", "damaged"),
        (b"%PDF-1.7\n" + os.urandom(2000), "noise.pdf", "damaged or truncated PDF"),
    ],
)
def test_garbage(data, name, error):
    pr = parse_within(data, name)
    assert pr.error is not None and error in pr.error
    assert pr.cells == {} and pr.template is None


def zip_bomb_docx() -> bytes:
    """A real .docx with one extra part that inflates 1000×: 60 MB of zeros in a few dozen KB."""
    src = zipfile.ZipFile(io.BytesIO(merged_table_docx()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            out.writestr(info, src.read(info.filename))
        out.writestr("word/media/image1.bmp", b"\0" * 60_000_000)
    return buf.getvalue()


def test_docx_zip_bomb_is_refused_before_opening():
    data = zip_bomb_docx()
    assert len(data) < 200_000
    pr = parse_within(data, "bomb.docx")
    assert pr.format == "docx"
    assert "zip bomb" in pr.error and "image1.bmp" in pr.error


def test_truncated_pdf():
    if not SAMPLES.is_dir():
        pytest.skip("samples missing")
    data = (SAMPLES / "huaian_city_2024.pdf").read_bytes()
    pr = parse_within(data[: len(data) // 2], "huaian.pdf")
    assert pr.format == "pdf" and "damaged or truncated PDF" in pr.error


def test_scanned_pdf():
    pr = parse_within(image_only_pdf(), "scan.pdf")
    assert pr.format == "pdf" and pr.error.startswith("scanned/image-only PDF: no text layer; needs OCR")


@pytest.mark.libreoffice
@needs_soffice
def test_encrypted_pdf():
    pr = parse_within(lo_documents()["encrypted.pdf"], "secret.pdf")
    assert pr.format == "pdf" and pr.error.startswith("encrypted PDF")


def test_huge_html_page_in_bounded_time():
    """A 20 MB page (inline data, endless lists) is stripped and cut, not parsed for minutes."""
    render = render_module()
    report = render.render_html(report_spec("2019")).decode("utf-8")
    junk = "<script>var d='" + "x" * 12_000_000 + "';</script>"
    junk += "<div class='item'><a href='#'>新闻</a></div>\n" * 200_000
    data = report.replace("</body>", junk + "</body>").encode()
    assert len(data) > 20_000_000
    pr = parse_within(data, "big.html")
    assert pr.error is None and pr.cells == report_cells("2019")
    assert any("very large page" in n for n in pr.notes)


def test_news_article_is_not_a_report():
    page = (
        "<html><head><meta charset='utf-8'><title>我市召开政务公开工作会议</title></head><body>"
        "<div class='nav'>首页 政务公开 年度报告</div><div class='article'>"
        "<p>2024年3月5日，我市召开政务公开工作会议，总结2023年工作，部署2024年任务。</p>"
        "<p>会议指出，全年主动公开政府信息1200条，办理依申请公开36件。</p>"
        "<table><tr><td>单位</td><td>得分</td></tr><tr><td>市教育局</td><td>98</td></tr></table>"
        "</div></body></html>"
    ).encode()
    pr = parse_within(page, "news.html")
    assert pr.error is None and pr.format == "html"
    assert pr.template is None and pr.cells == {} and pr.findings == []


@pytest.mark.libreoffice
@needs_soffice
def test_libreoffice_hang_is_killed_with_a_clear_error(monkeypatch, tmp_path):
    """A conversion that does not finish in time (here: a timeout shorter than LibreOffice's start-up) ends
    with a timeout error and leaves no soffice process behind; with antiword also gone, that is the error."""
    from crawler.reading.documents import office
    from tests.documents.test_office import _processes_mentioning

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(
        office.shutil,
        "which",
        lambda name, _which=office.shutil.which: None if name == "antiword" else _which(name),
    )
    real = office.convert_bytes
    monkeypatch.setattr(
        office, "convert_bytes", lambda data, src, dst, timeout=120.0: real(data, src, dst, timeout=0.3)
    )
    pr = parse_within(lo_documents()["report2019.doc"], "hang.doc")
    assert pr.format == "doc" and pr.error.startswith("LibreOffice timed out after 0.3 s")
    assert _processes_mentioning(str(tmp_path)) == []


def test_endless_text_file_is_cut_not_crawled_through():
    if not SAMPLES.is_dir():
        pytest.skip("samples missing")
    report = (SAMPLES / "zichuan_zsj_2020.txt").read_bytes()
    data = report + ("与报告无关的一行文字 1 2 3\n" * 600_000).encode()
    pr = parse_within(data, "endless.txt")
    assert pr.error is None and pr.template == "2019"
    assert pr.cells["s2.procurement.projects"] == 221
    assert any("very long text" in n for n in pr.notes)
