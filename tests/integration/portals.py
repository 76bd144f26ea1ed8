"""Four small portals on loopback for the crawl tests: a TRS portal with reports in several shapes, a
blocked one, one whose robots.txt forbids everything, and one full of network faults."""

from __future__ import annotations

import random
from contextlib import ExitStack
from pathlib import Path

import yaml

from testbed.render import ReportSpec, render_docx, render_html
from testbed.synthetic import consistent_cells
from tests.integration.localsite import LocalSite, endless, page, redirect, reset, slow, truncated

NB = "/zwgk/zfxxgknb/"
ALLOW = page("User-agent: *\nAllow: /\n", "text/plain")
LAST_MODIFIED = "Wed, 22 Jan 2025 02:00:00 GMT"  # 22 Jan in Shanghai too


def spec(agency: str, year: int, seed: int) -> ReportSpec:
    return ReportSpec(
        template="2021", year=year, agency=agency, cells=consistent_cells("2021", random.Random(seed))
    )


def _listing(items: list[tuple[str, str, str]], extra: str = "", pages: int = 1, current: int = 0) -> bytes:
    lis = "".join(
        f'<li><a href="{href}" title="{title}">{title}</a><span class="date">{day}</span></li>\n'
        for href, title, day in items
    )
    script = f'<script>createPageHTML({pages}, {current}, "index", "html");</script>' if pages > 1 else ""
    html = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
        "<title>政府信息公开年报</title></head><body>"
        f'<div class="nav"><a href="/">首页</a>{extra}</div><ul class="list">{lis}</ul>{script}</body></html>'
    )
    return html.encode("gb18030")


def _article(title: str, pubdate: str, source: str, attachment: str) -> bytes:
    html = (
        '<html><head><meta charset="utf-8">'
        f'<meta name="ArticleTitle" content="{title}"><meta name="PubDate" content="{pubdate}">'
        f'<meta name="ContentSource" content="{source}"><title>{title}</title></head><body>'
        f'<h1>{title}</h1><div class="info">发布日期：{pubdate[:10]}</div>'
        f'<p>附件：<a href="{attachment}">{title}.docx</a></p></body></html>'
    )
    return html.encode()


class LocalPortals:
    """Start with ``with LocalPortals() as tp``; ``tp.write_config(dir)`` gives the crawl its config."""

    def __init__(self, slow_seconds: float = 0.0):
        self.specs = {
            "zsj": spec("淄川区招商局", 2024, 1),
            "jtj": spec("淄川区教育和体育局", 2024, 2),
            "tyjr": spec("淄川区退役军人事务局", 2024, 3),  # not registered: discovered
            "zsj23": spec("淄川区招商局", 2023, 4),
            "lq": spec("龙泉镇", 2024, 5),
        }
        s = self.specs
        wrap = (lambda h: slow(h, slow_seconds)) if slow_seconds else (lambda h: h)
        trs_routes = {
            "/robots.txt": ALLOW,
            NB + "index.html": _listing(
                [
                    ("./202501/t20250120_1001.html", s["zsj"].full_title, "2025-01-20"),
                    (
                        "./202501/t20250125_1002.html",
                        "区教育和体育局2024年政府信息公开工作年度报告",
                        "2025-01-25",
                    ),
                    ("./202502/t20250210_1003.html", s["tyjr"].full_title, "2025-02-10"),
                ],
                extra='<a href="./2023/">2023年</a>',
                pages=2,
            ),
            NB + "index_1.html": _listing(
                [("./202501/P020250122000001.docx", "龙泉镇2024年政府信息公开工作年度报告", "")],
                pages=2,
                current=1,
            ),
            NB + "2023/": _listing([("./t20240118_901.html", s["zsj23"].full_title, "2024-01-18")]),
            # GBK page under a lying UTF-8 header, tables in the page itself
            NB + "202501/t20250120_1001.html": page(
                render_html(
                    s["zsj"],
                    encoding="gbk",
                    chrome=True,
                    meta={
                        "PubDate": "2025-01-20 09:30",
                        "ContentSource": "区招商局",
                        "ArticleTitle": s["zsj"].full_title,
                    },
                ),
                "text/html; charset=utf-8",
                Last_Modified="Sat, 01 Mar 2025 00:00:00 GMT",
            ),
            NB + "202501/t20250125_1002.html": page(
                _article(s["jtj"].full_title, "2025-01-25 10:00", "区教育和体育局", "./P020250125000002.docx")
            ),
            NB + "202501/P020250125000002.docx": page(render_docx(s["jtj"]), "application/octet-stream"),
            NB + "202502/t20250210_1003.html": page(render_html(s["tyjr"], chrome=True)),
            NB + "202501/P020250122000001.docx": page(
                render_docx(s["lq"]), "application/octet-stream", Last_Modified=LAST_MODIFIED
            ),
            NB + "2023/t20240118_901.html": page(
                render_html(s["zsj23"], meta={"PubDate": "2024-01-18 08:00", "ContentSource": "淄川区招商局"})
            ),
        }
        self.trs = LocalSite(
            "127.0.0.2", {k: wrap(v if callable(v) else page(v)) for k, v in trs_routes.items()}
        )
        self.blocked = LocalSite(
            "127.0.0.3",
            {
                "/robots.txt": ALLOW,
                NB + "index.html": page("<html><title>访问验证</title><body>请完成滑动验证</body></html>"),
            },
        )
        self.robots = LocalSite(
            "127.0.0.4",
            {"/robots.txt": page("User-agent: *\nDisallow: /\n", "text/plain"), NB + "index.html": page("x")},
        )
        self.faults = LocalSite("127.0.0.5", {})
        self._stack = ExitStack()

    def _fault_routes(self) -> None:
        offsite = "http://127.0.0.99:9/zwgk/evil.html"
        items = [
            ("/a/t20250101_1.html", "超时局2024年政府信息公开工作年度报告", slow(page("late"), 3)),
            ("/a/t20250101_2.html", "重置局2024年政府信息公开工作年度报告", reset),
            ("/a/t20250101_3.html", "截断局2024年政府信息公开工作年度报告", truncated),
            ("/a/t20250101_4.html", "外跳局2024年政府信息公开工作年度报告", redirect(offsite)),
            ("/a/t20250101_5.html", "故障局2024年政府信息公开工作年度报告", page("oops", status=500)),
            (
                "/a/huge.doc",
                "巨大局2024年政府信息公开工作年度报告",
                endless(200 * 1024 * 1024, declare_length=False),
            ),
        ]
        self.faults.routes.update({path: h for path, _, h in items})
        self.faults.routes["/robots.txt"] = ALLOW
        self.faults.routes[NB + "index.html"] = page(_listing([(p, t, "2025-01-01") for p, t, _ in items]))
        self.fault_urls = {t[:3]: self.faults.base + p for p, t, _ in items}

    def __enter__(self) -> LocalPortals:
        for site in (self.trs, self.blocked, self.robots, self.faults):
            self._stack.enter_context(site)
        self._fault_routes()
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self._stack.close()

    def config(self, data_dir: Path) -> dict:
        def portal(pid: str, name: str, site: LocalSite) -> dict:
            return {
                "id": pid,
                "name": name,
                "start_urls": [site.base + NB + "index.html"],
                "allowed_domains": [site.host],
            }

        return {
            "database": {"url": f"sqlite:///{data_dir / 'gkwatch.db'}"},
            "archive": {"dir": str(data_dir / "archive")},
            "crawl": {
                "delay_seconds": 0,
                "timeout_seconds": 1.5,
                "retries": 1,
                "max_attachment_bytes": 2_000_000,
                "contact": "ops@example.org",
            },
            "portals": [
                portal("zichuan", "淄川区人民政府", self.trs),
                portal("blocked", "封锁县人民政府", self.blocked),
                portal("robots", "拒绝县人民政府", self.robots),
                portal("faults", "故障县人民政府", self.faults),
            ],
            "agencies": [
                {"id": "zc-zsj", "name": "淄川区招商局", "aliases": ["区招商局"], "portal": "zichuan"},
                {
                    "id": "zc-jtj",
                    "name": "淄川区教育和体育局",
                    "aliases": ["区教育和体育局"],
                    "portal": "zichuan",
                },
                {"id": "zc-lq", "name": "龙泉镇", "kind": "township", "portal": "zichuan"},
                {"id": "fk-x", "name": "封锁县某局", "portal": "blocked"},
                {"id": "rb-x", "name": "拒绝县某局", "portal": "robots"},
            ],
        }

    def write_config(self, data_dir: Path) -> Path:
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / "config.yaml"
        path.write_text(yaml.safe_dump(self.config(data_dir), allow_unicode=True), encoding="utf-8")
        return path
