"""Images and image bundles are told from their bytes; without OCR a scan is reported as before.

No recognition runs here (fast): ``test_scans`` reads real scans.
"""

from __future__ import annotations

import io

import pytest

from crawler.reading.documents import UnreadableDocument, detect_format
from crawler.reading.documents.ocr import available, configure, image_format, settings
from crawler.reading.read import read_bytes
from domain.image_bundle import BadBundle, is_image_bundle, make_image_bundle, read_image_bundle
from testbed.scan import images_to_pdf


def picture(fmt: str = "PNG", size=(300, 400)) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", size, "white")
    ImageDraw.Draw(img).rectangle([20, 20, size[0] - 20, 60], outline="black", width=2)
    out = io.BytesIO()
    img.save(out, fmt)
    return out.getvalue()


@pytest.fixture
def ocr_off():
    before = settings.current()
    configure({"enabled": False})
    yield
    configure(before)


@pytest.mark.parametrize(("fmt", "name"), [("PNG", "png"), ("JPEG", "jpeg"), ("GIF", "gif"), ("BMP", "bmp"),
                                           ("TIFF", "tiff"), ("WEBP", "webp")])  # fmt: skip
def test_images_are_told_from_their_bytes_whatever_their_name(fmt, name):
    data = picture(fmt)
    assert image_format(data) == name
    assert detect_format(data, "report.pdf") == "image"  # a mislabelled attachment


def test_text_starting_like_a_bitmap_is_not_an_image():
    assert image_format(b"BMW annual report 2023\n" * 10) is None


def test_a_bundle_keeps_its_images_in_order_with_their_urls():
    pages = [("https://x.gov.cn/a/p1.jpg", picture("JPEG")), ("https://x.gov.cn/a/p2.png", picture("PNG"))]
    data = make_image_bundle(pages, "https://x.gov.cn/a/report.html")
    assert is_image_bundle(data) and detect_format(data, "report.html") == "image"
    assert make_image_bundle(pages, "https://x.gov.cn/a/report.html") == data  # same images, same bytes
    page, images = read_image_bundle(data)
    assert page == "https://x.gov.cn/a/report.html"
    assert [(i.name, i.url, i.data) for i in images] == [
        ("001.jpg", pages[0][0], pages[0][1]),
        ("002.png", pages[1][0], pages[1][1]),
    ]


def test_an_ordinary_zip_is_not_a_bundle():
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("report.txt", "hello")
    assert not is_image_bundle(out.getvalue())
    with pytest.raises(UnreadableDocument):
        detect_format(out.getvalue(), "a.zip")


def test_a_damaged_bundle_is_unreadable_with_a_plain_error():
    data = make_image_bundle([("p1.jpg", picture("JPEG"))])
    with pytest.raises(BadBundle):
        read_image_bundle(data[: len(data) // 2])
    reading = read_bytes(data[: len(data) // 2], "report.html")
    assert reading.error and reading.format == "image" and reading.template is None


def test_without_ocr_a_scanned_pdf_is_reported_as_before(ocr_off):
    reading = read_bytes(images_to_pdf([picture("JPEG")]), "scan.pdf")
    assert reading.format == "pdf"
    assert reading.error == "scanned/image-only PDF: no text layer; needs OCR to be read"


def test_without_ocr_a_page_image_says_what_it_needs(ocr_off):
    reading = read_bytes(picture("JPEG"), "page1.jpg")
    assert reading.format == "image" and reading.template is None
    assert "needs OCR" in reading.error


def test_ocr_not_installed_reads_as_not_installed(monkeypatch):
    import crawler.reading.documents.ocr.engine as engine

    monkeypatch.setattr(engine, "available", lambda: False)
    reading = read_bytes(picture("PNG"), "page1.png")
    assert "pip install 'gkwatch[ocr]'" in reading.error
    assert read_bytes(images_to_pdf([picture("JPEG")]), "scan.pdf").error.startswith("scanned/image-only PDF")


def test_settings_come_from_config_like_objects():
    before = settings.current()
    try:
        s = configure(type("Cfg", (), {"enabled": True, "max_pages": 3, "seconds_per_page": 12})())
        assert (s.enabled, s.max_pages, s.seconds_per_page) == (True, 3, 12.0)
        assert configure(None) == s  # None: the settings in force
        assert configure({"max_pages": 0}).max_pages == 1  # at least one page
    finally:
        configure(before)


def test_a_huge_image_is_refused_before_it_is_decoded():
    from PIL import Image

    out = io.BytesIO()
    Image.new("1", (9000, 9000), 1).save(out, "PNG")  # 81 Mpx, a few KB compressed
    from crawler.reading.documents.ocr.image import decode

    with pytest.raises(UnreadableDocument, match="too large"):
        decode(out.getvalue())


def _load_picture(_sha256: str) -> bytes:
    """The archive's ``get`` for the pool test (module level: it crosses into the worker process)."""
    return picture("JPEG")


def test_the_reader_pool_hands_config_ocr_to_its_workers():
    from crawler.reading.workers import Job, ReaderPool

    pool = ReaderPool(
        _load_picture, processes=1, ocr={"enabled": False, "max_pages": 2, "seconds_per_page": 5}
    )
    [(_job, reading)] = list(pool.read([Job("0" * 64, "p1.jpg")]))
    assert reading.format == "image" and "turned off (config ocr.enabled)" in reading.error


@pytest.mark.skipif(not available(), reason="OCR not installed")
def test_pages_beyond_the_cap_are_not_read_and_the_reading_says_so():
    before = settings.current()
    configure({"max_pages": 1})
    try:
        bundle = make_image_bundle([("p1.png", picture("PNG")), ("p2.png", picture("PNG"))])
        reading = read_bytes(bundle, "report.html")
    finally:
        configure(before)
    assert reading.error is None and reading.template is None  # blank pages: not a report
    assert "OCR：只识别了前 1 页（共 2 页，ocr.max_pages）" in reading.notes


def test_a_report_pages_images_are_its_pictures_in_order_not_its_furniture():
    from crawler.portal.images import report_images

    page = """<html><body><div class="header"><img src="/img/logo.png"></div>
      <div class="article"><h1>某局2023年政府信息公开工作年度报告</h1>
        <p><img src="p1.jpg" width="800"></p><p><img data-src="/up/p2.png" src="/img/loading.gif"></p>
        <p><img src="/img/icon-print.png" width="24" height="24"></p>
        <p>附件：<a href="p3.JPG?v=1">第3页</a> <a href="p1.jpg">第1页</a></p>
        <div class="share"><img src="/img/weixin.png"></div></div>
      <div id="footer"><img src="/img/gh.png"></div></body></html>"""
    assert report_images("http://x.gov.cn/nb/t1.html", page) == [
        "http://x.gov.cn/nb/p1.jpg",
        "http://x.gov.cn/up/p2.png",
        "http://x.gov.cn/nb/p3.JPG?v=1",
    ]
    text_report = page.replace("第3页", "一、本年新收政府信息公开申请数量 3")
    assert report_images("http://x.gov.cn/nb/t1.html", text_report) == []  # the page is the document


def test_the_bundle_document_is_marked_as_made_from_the_page():
    from crawler.portal.images import BUNDLE_CONTENT_TYPE, BUNDLE_FRAGMENT, bundle_document
    from crawler.portal.items import Fetched

    page = Fetched("http://x.gov.cn/nb/t1.html", "http://x.gov.cn/nb/t1.html", 200, {}, b"<html></html>")
    imgs = [
        Fetched(u, u, 200, {}, picture("JPEG"))
        for u in ("http://x.gov.cn/nb/p1.jpg", "http://x.gov.cn/nb/p2.jpg")
    ]
    doc = bundle_document(page, imgs)
    assert doc.url == page.url + BUNDLE_FRAGMENT and doc.content_type == BUNDLE_CONTENT_TYPE
    assert read_image_bundle(doc.body)[0] == page.url
    assert [i.url for i in read_image_bundle(doc.body)[1]] == [f.url for f in imgs]
