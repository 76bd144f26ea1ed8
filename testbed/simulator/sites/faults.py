"""The faults portal: a TRS-like column whose real reports sit among traps a crawler must survive.

Every trap is listed under a report-like title so that a crawler follows it: a page that hangs longer than
the configured timeout, a connection reset, a truncated body (Content-Length larger than what is sent),
redirects off-site (127.0.0.99, not in allowed_domains) and to a link-local "private" address, a 200 MB
attachment (streamed lazily — never held in memory; the crawler must stop at its size cap), a zip-bomb
.docx and — among the agency's own reports — a corrupt .docx and a GBK page served as UTF-8.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from functools import cache
from typing import BinaryIO

from testbed.simulator.server import Response
from testbed.simulator.sites.common import ATTACHMENT_TYPES, Handler, esc, listing_item, page
from testbed.simulator.sites.trs import TrsSite

HUGE_BYTES = 200 * 1024 * 1024
BOMB_UNCOMPRESSED = 64 * 1024 * 1024  # compresses ~1000:1, far beyond any real report
OFFSITE_HOST = "127.0.0.99"
PRIVATE_URL = "http://169.254.169.254/latest/meta-data/"

# (file name, title of the unregistered agency it pretends to be)
TRAPS = (
    ("slow.html", "富锦市应急管理局"),
    ("reset.html", "富锦市交通运输局"),
    ("truncated.html", "富锦市水务局"),
    ("moved.html", "富锦市商务局"),
    ("internal.html", "富锦市司法局"),
    ("P020250120huge.pdf", "富锦市住房和城乡建设局"),
    ("P020250121bomb.docx", "富锦市人力资源和社会保障局"),
)
TRAP_YEAR = 2024


@cache
def zip_bomb_docx() -> bytes:
    """A .docx whose document.xml inflates ~1000-fold: built once, streamed into the zip in 1 MB steps."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        with z.open("word/document.xml", "w", force_zip64=True) as f:
            f.write(
                b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                b'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>'
            )
            chunk = b" " * (1024 * 1024)
            for _ in range(BOMB_UNCOMPRESSED // len(chunk)):
                f.write(chunk)
            f.write(b"</w:t></w:r></w:p></w:body></w:document>")
    return buf.getvalue()


def stream_huge_pdf(out: BinaryIO) -> None:
    """200 MB written in 64 KB pieces: the crawler hangs up at its cap and we stop there."""
    head = b"%PDF-1.4\n% huge\n"
    out.write(head)
    block = b"0" * 65536
    left = HUGE_BYTES - len(head)
    while left > 0:
        n = min(left, len(block))
        out.write(block[:n])
        left -= n


class FaultsSite(TrsSite):
    encoding = "utf-8"

    def build_routes(self) -> Iterable[tuple[str, Handler]]:
        yield from super().build_routes()
        col = self.column
        yield (
            col + "slow.html",
            lambda q: Response(
                body=self.trap_page("slow").encode(), fault="hang", hang_seconds=self.slow_seconds
            ),
        )
        yield col + "reset.html", lambda q: Response(fault="reset")
        yield (
            col + "truncated.html",
            lambda q: Response(
                body=self.trap_page("truncated").encode()[:300], length=100_000, fault="truncate"
            ),
        )
        yield (
            col + "moved.html",
            lambda q: Response(status=302, headers={"Location": f"http://{OFFSITE_HOST}/nianbao/moved.html"}),
        )
        yield col + "internal.html", lambda q: Response(status=302, headers={"Location": PRIVATE_URL})
        yield (
            col + "P020250120huge.pdf",
            lambda q: Response(
                content_type=ATTACHMENT_TYPES["pdf"], stream=stream_huge_pdf, length=HUGE_BYTES
            ),
        )
        yield (
            col + "P020250121bomb.docx",
            lambda q: Response(body=zip_bomb_docx(), content_type=ATTACHMENT_TYPES["docx"]),
        )

    def column_page(self, path: str) -> str:
        """One listing: the agency's year sub-columns and the traps."""
        subs = "".join(f'<li><a href="./nd{y}/">{y}年度</a></li>' for y in self.years())
        traps = "\n".join(
            listing_item(
                f"./{name}", f"{agency}{TRAP_YEAR}年政府信息公开工作年度报告", f"{TRAP_YEAR + 1}-01-20"
            )
            for name, agency in TRAPS
        )
        body = (
            f'<h2>政府信息公开年报</h2><ul class="sub-columns">{subs}</ul>\n<ul class="list">\n{traps}\n</ul>'
        )
        return page(f"政府信息公开年报_{self.portal.name}", body)

    def trap_page(self, what: str) -> str:
        return page(what, f"<p>{esc(what)}</p>" + "<p>政府信息公开工作年度报告</p>" * 50)
