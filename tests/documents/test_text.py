"""Plain text in UTF-8, UTF-16 and GB18030 reads the same; one cell per line makes it loose text."""

from __future__ import annotations

import pytest

from crawler.reading.documents import read_document
from crawler.reading.documents.model import Paragraph, UnreadableDocument
from crawler.reading.documents.text import decode_text

TEXT = "淄川区招商局\n2020年政府信息公开工作年度报告\n\n\t规章\n\t0\n\t3\n\t12\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "gb18030", "gbk"])
def test_same_paragraphs_in_every_encoding(encoding):
    doc = read_document(TEXT.encode(encoding), "r.txt")
    assert doc.format == "text"
    assert doc.loose_text
    assert [b.text for b in doc.blocks if isinstance(b, Paragraph)] == [
        "淄川区招商局",
        "2020年政府信息公开工作年度报告",
        "规章",
        "0",
        "3",
        "12",
    ]
    if encoding in ("gb18030", "gbk"):
        assert any("gb18030" in n for n in doc.notes)


def test_declared_charset_is_tried_after_utf8():
    data = "中文".encode("big5")
    assert decode_text(data, declared="big5") == ("中文", "big5")
    assert decode_text("中文".encode(), declared="big5") == ("中文", "utf-8")


def test_undecodable_text_is_an_error():
    with pytest.raises(UnreadableDocument):
        decode_text(b"\x80\xff\xfe\x81\x00\xff")
