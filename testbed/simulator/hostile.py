"""A hostile portal server: the crawler traps and faults gkwatch must survive, one portal per path prefix.

Served on one loopback host at a free port (so every portal also has a port in its URLs — the case where
same-host redirects used to be taken for off-site ones). ``HostileSite.portals()`` gives the config
entries; ``hits`` counts requests per path, ``conditional`` the conditional ones answered 304.

=================  ===========================================================================================
portal             what it does
=================  ===========================================================================================
``trap``           pagination that branches: every listing page links ten "下一页" pages, each a new query
``bomb``           one listing page with ``bomb_links`` (100,000) report-titled links, each a real small page
``loop``           a report link answering 302 to itself
``refresh``        a report page that forwards by meta refresh to a host off the portal
``refresh_start``  a column page that forwards by meta refresh off the portal (the listing cannot be read)
``port``           a report link answering 302 to a relative ``/port/b.html`` on the same host and port
``slow``           ``slow_reports`` reports, each page ``slow_seconds`` slow (to stop a crawl mid-way)
``etag``           two reports whose pages and attachment honour If-None-Match / If-Modified-Since (304)
``retry``          twenty report links answering 503 (each retried): requests pile up
``bigpage``        a column page larger than a small ``max_document_bytes``
=================  ===========================================================================================

    python -m testbed.simulator.hostile          # serve it and print the portals' start URLs
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, urlsplit

from testbed.loopback import LoopbackServer
from testbed.render import ReportSpec, render_docx, render_html
from testbed.synthetic import consistent_cells

LAST_MODIFIED = "Mon, 20 Jan 2025 01:30:00 GMT"
OFFSITE = "http://127.0.0.99:9/elsewhere.html"  # nothing listens there; it must never be asked anyway

Route = Callable[[BaseHTTPRequestHandler, dict[str, str]], None]


def _listing(items: list[tuple[str, str]], extra: str = "") -> bytes:
    lis = "".join(f'<li><a href="{href}">{title}</a><span>2025-01-20</span></li>\n' for href, title in items)
    return (
        '<html><head><meta charset="utf-8"><title>政府信息公开年报</title></head><body>'
        f'<ul class="list">{lis}</ul>{extra}</body></html>'
    ).encode()


def _title(name: str) -> str:
    return f"{name}2024年政府信息公开工作年度报告"


def _report(name: str, seed: int) -> bytes:
    import random

    spec = ReportSpec(
        template="2021", year=2024, agency=name, cells=consistent_cells("2021", random.Random(seed))
    )
    meta = {"PubDate": "2025-01-20 09:30", "ContentSource": name, "ArticleTitle": spec.full_title}
    return render_html(spec, encoding="utf-8", chrome=True, meta=meta)


def _article_with_attachment(name: str, href: str) -> bytes:
    t = _title(name)
    return (
        f'<html><head><meta charset="utf-8"><meta name="ArticleTitle" content="{t}">'
        f'<meta name="PubDate" content="2025-01-20 09:30"><title>{t}</title></head><body><h1>{t}</h1>'
        f'<div>发布日期：2025-01-20</div><p>附件：<a href="{href}">{t}.docx</a></p></body></html>'
    ).encode()


def _send(
    h: BaseHTTPRequestHandler,
    body: bytes,
    ctype: str = "text/html; charset=utf-8",
    status: int = 200,
    **hdr: str,
) -> None:
    h.send_response(status)
    h.send_header("Content-Type", ctype)
    h.send_header("Content-Length", str(len(body)))
    for k, v in hdr.items():
        h.send_header(k.replace("_", "-"), v)
    h.end_headers()
    if h.command != "HEAD":
        h.wfile.write(body)


def page(body: bytes, ctype: str = "text/html; charset=utf-8", status: int = 200) -> Route:
    return lambda h, q: _send(h, body, ctype, status)


def validated(site: HostileSite, body: bytes, ctype: str = "text/html; charset=utf-8") -> Route:
    """A page that honours conditional requests: ETag (its body's digest) and a fixed Last-Modified."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'

    def handle(h: BaseHTTPRequestHandler, q: dict[str, str]) -> None:
        if h.headers.get("If-None-Match") == etag or (
            h.headers.get("If-None-Match") is None and h.headers.get("If-Modified-Since") == LAST_MODIFIED
        ):
            site.conditional[urlsplit(h.path).path] += 1
            h.send_response(304)
            h.send_header("ETag", etag)
            h.send_header("Last-Modified", LAST_MODIFIED)
            h.end_headers()
            return
        _send(h, body, ctype, ETag=etag, Last_Modified=LAST_MODIFIED)

    return handle


def redirect(location: str, status: int = 302) -> Route:
    def handle(h: BaseHTTPRequestHandler, q: dict[str, str]) -> None:
        h.send_response(status)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()

    return handle


class HostileSite(LoopbackServer):
    """``with HostileSite() as site``: serving on ``site.base``; ``site.portals()`` for the config."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        *,
        bomb_links: int = 100_000,
        slow_reports: int = 6,
        slow_seconds: float = 0.5,
        big_page_bytes: int = 300_000,
    ):
        super().__init__(host)
        self.hits: Counter[str] = Counter()
        self.conditional: Counter[str] = Counter()
        self.slow_seconds = slow_seconds
        self.routes: dict[str, Route] = {"/robots.txt": page(b"User-agent: *\nDisallow:\n", "text/plain")}
        self._trap()
        self._bomb(bomb_links)
        self._loop()
        self._refresh()
        self._port()
        self._slow(slow_reports)
        self._etag()
        self._retry()
        self._bigpage(big_page_bytes)

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        self.hits[parts.path] += 1
        route = self.routes.get(parts.path) or self._dynamic(parts.path)
        if route is None:
            _send(h, b"<html>404</html>", status=404)
            return
        route(h, dict(parse_qsl(parts.query)))

    def portals(self, *ids: str) -> list[dict]:
        """Config entries of the hostile portals (all, or those named); allowed_domains left to the start
        URL's host, as most configs do."""
        names = {
            "trap": "陷阱县人民政府", "bomb": "链接炸弹县人民政府", "loop": "循环县人民政府",
            "refresh": "跳转县人民政府", "refresh_start": "外跳县人民政府", "port": "端口县人民政府",
            "slow": "缓慢县人民政府", "etag": "校验县人民政府", "retry": "重试县人民政府",
            "bigpage": "大页县人民政府",
        }  # fmt: skip
        return [
            {"id": pid, "name": name, "start_urls": [f"{self.base}/{pid}/index.html"]}
            for pid, name in names.items()
            if not ids or pid in ids
        ]

    # --- the portals ---

    def _trap(self) -> None:
        def handle(h: BaseHTTPRequestHandler, q: dict[str, str]) -> None:
            here = q.get("p", "0")
            nexts = "".join(f'<a href="/trap/index.html?p={here}-{i}">下一页</a>' for i in range(10))
            body = _listing([(f"/trap/report_{abs(hash(here)) % 10**8}.html", _title("陷阱局"))], nexts)
            _send(h, body)

        self.routes["/trap/index.html"] = handle

    def _bomb(self, n: int) -> None:
        items = "".join(
            f'<li><a href="/bomb/t20250120_{i}.html">第{i}局2024年政府信息公开工作年度报告</a></li>'
            for i in range(n)
        )
        body = f'<html><head><meta charset="utf-8"></head><body><ul>{items}</ul></body></html>'.encode()
        self.routes["/bomb/index.html"] = page(body)
        self.bomb_bytes = len(body)

    def _dynamic(self, path: str) -> Route | None:
        if path.startswith(("/bomb/t20250120_", "/trap/report_")):
            return page(_article_with_attachment("某局", "./none.docx").replace(b"./none.docx", b"#"))
        return None

    def _loop(self) -> None:
        self.routes["/loop/index.html"] = page(_listing([("/loop/t20250120_1.html", _title("循环局"))]))
        self.routes["/loop/t20250120_1.html"] = redirect("/loop/t20250120_1.html")

    def _refresh(self) -> None:
        shell = (
            f'<html><head><meta http-equiv="refresh" content="0;url={OFFSITE}"></head><body></body></html>'
        )
        self.routes["/refresh/index.html"] = page(
            _listing(
                [
                    ("/refresh/t20250120_2.html", _title("跳转局")),
                    ("/refresh/t20250120_3.html", _title("正常局")),
                ]
            )
        )
        self.routes["/refresh/t20250120_2.html"] = page(shell.encode())
        self.routes["/refresh/t20250120_3.html"] = page(_report("跳转县正常局", 3))
        self.routes["/refresh_start/index.html"] = page(shell.encode())

    def _port(self) -> None:
        self.routes["/port/index.html"] = page(_listing([("/port/a", _title("端口局"))]))
        self.routes["/port/a"] = redirect("/port/b.html")  # relative: same host, same port
        self.routes["/port/b.html"] = page(_report("端口县端口局", 4))

    def _slow(self, n: int) -> None:
        items = [(f"/slow/t20250120_{i}.html", _title(f"缓慢{i}局")) for i in range(n)]
        self.routes["/slow/index.html"] = page(_listing(items))
        for i, (href, _) in enumerate(items):
            body = _report(f"缓慢县缓慢{i}局", 10 + i)
            self.routes[href] = self._slowly(page(body))

    def _slowly(self, route: Route) -> Route:
        def handle(h: BaseHTTPRequestHandler, q: dict[str, str]) -> None:
            time.sleep(self.slow_seconds)
            route(h, q)

        return handle

    def _etag(self) -> None:
        self.routes["/etag/index.html"] = page(
            _listing(
                [("/etag/t20250120_5.html", _title("校验局")), ("/etag/t20250120_6.html", _title("附件局"))]
            )
        )
        self.routes["/etag/t20250120_5.html"] = validated(self, _report("校验县校验局", 5))
        self.routes["/etag/t20250120_6.html"] = validated(
            self, _article_with_attachment("校验县附件局", "./P6.docx")
        )
        import random

        spec = ReportSpec(
            template="2021",
            year=2024,
            agency="校验县附件局",
            cells=consistent_cells("2021", random.Random(6)),
        )
        self.routes["/etag/P6.docx"] = validated(self, render_docx(spec), "application/octet-stream")

    def _retry(self) -> None:
        items = [(f"/retry/t20250120_{i}.html", _title(f"重试{i}局")) for i in range(20)]
        self.routes["/retry/index.html"] = page(_listing(items))
        for href, _ in items:
            self.routes[href] = page(b"<html>busy</html>", status=503)

    def _bigpage(self, size: int) -> None:
        filler = "<p>" + "政务公开" * 50 + "</p>"
        body = _listing(
            [("/bigpage/t20250120_7.html", _title("大页局"))], filler * (size // len(filler.encode()) + 1)
        )
        self.routes["/bigpage/index.html"] = page(body)


if __name__ == "__main__":
    with HostileSite() as site:
        for p in site.portals():
            print(p["id"], p["start_urls"][0])
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
