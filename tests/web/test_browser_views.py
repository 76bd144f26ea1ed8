"""The pages and a digest in real headless Chromium (Debian's, through Playwright): WCAG AA contrast of the
badges computed in the browser, sorting on a phone, the rankings printed to PDF, a digest on a phone.

Screenshots go to ``tests/artifacts/``: the table, an agency-year, the rankings, a digest on a phone.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from domain.config import Subscriber
from monitor.alerts import queue_alerts
from monitor.web import create_app
from storage.db import session_scope
from storage.models import Outbox
from tests.web.evidence_seed import build
from tests.web.server import serve_in_thread

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser():  # noqa: ANN201
    if not shutil.which(CHROMIUM):
        pytest.skip(f"Chromium not installed at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def judged(tmp_path_factory):  # noqa: ANN001, ANN201
    return build(tmp_path_factory.mktemp("browser-judged"))


@pytest.fixture(scope="module")
def site(judged):  # noqa: ANN001, ANN201
    with serve_in_thread(create_app(judged.config, engine=judged.engine)) as url:
        yield url


@pytest.fixture
def page(browser):  # noqa: ANN001, ANN201
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield pg
    assert not errors, errors  # no script, no CSP violation
    context.close()


def _luminance(rgb: tuple[float, float, float]) -> float:
    def f(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = rgb
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b)


def contrast(fg: str, bg: str) -> float:
    """WCAG 2 contrast ratio of two CSS ``rgb(…)`` colours as the browser computed them."""
    a, b = (_luminance(tuple(float(x) for x in re.findall(r"[\d.]+", c)[:3])) for c in (fg, bg))
    hi, lo = max(a, b), min(a, b)
    return (hi + 0.05) / (lo + 0.05)


BADGES = """() => {
  const probe = [];
  const classes = ['badge s-on_time', 'badge s-late', 'badge s-undated', 'badge s-missing', 'badge s-unknown',
                   'badge s-not_due', 'badge sev-error', 'badge sev-warning', 'badge sev-info', 'c-good', 'c-bad',
                   'c-warn', 'badge r-finished', 'badge r-running', 'badge r-interrupted', 'badge r-failed', 'live'];
  for (const cls of classes) {
    const el = document.createElement('span'); el.className = cls; el.textContent = '样例';
    document.querySelector('main').appendChild(el);
    const s = getComputedStyle(el); probe.push([cls, s.color, s.backgroundColor]); el.remove();
  }
  const muted = document.querySelector('.muted');
  if (muted) probe.push(['muted', getComputedStyle(muted).color, getComputedStyle(document.body).backgroundColor]);
  const link = document.querySelector('main a');
  probe.push(['link', getComputedStyle(link).color, getComputedStyle(document.body).backgroundColor]);
  return probe;
}"""


def test_badge_colours_meet_wcag_aa(page, site):
    page.goto(site + "/")
    probe = page.evaluate(BADGES)
    assert len(probe) >= 18
    ratios = {cls: contrast(fg, bg) for cls, fg, bg in probe}
    failing = {cls: round(r, 2) for cls, r in ratios.items() if r < 4.5}
    assert not failing, failing  # normal-size text: 4.5:1 (WCAG 2.1 AA, 1.4.3)


def test_table_and_agency_year_screenshots(page, site):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.goto(site + "/?year=2021")
    assert page.locator("table.status tbody tr").count() == 6
    assert page.locator("p.fresh").inner_text().startswith("最近抓取")
    page.screenshot(path=str(ARTIFACTS / "status-table.png"), full_page=True)
    page.goto(site + "/agency/zc-gov/2021")
    assert "证明未发布" in page.locator("div.evidence").inner_text()
    assert page.locator("table.snapshots a[download]").count() >= 1
    page.goto(site + "/agency/zc-zsj/2021")
    assert page.locator("blockquote.quote").inner_text().startswith("网站原文")
    page.screenshot(path=str(ARTIFACTS / "agency-year.png"), full_page=True)


def test_sorting_on_a_phone(browser, site):
    context = browser.new_context(viewport=PHONE, is_mobile=True, locale="zh-CN")
    pg = context.new_page()
    pg.goto(site + "/?year=2021")
    assert not pg.locator("table.status thead").is_visible()  # the headers are gone on a phone …
    sort = pg.locator("select[name=sort]")
    assert sort.is_visible()  # … the form sorts instead
    sort.select_option("published")
    pg.select_option("select[name=dir]", "desc")
    pg.click("form.filters button[type=submit]")
    pg.wait_for_url("**sort=published**")
    dates = [d for d in pg.locator("td[data-label=发布日期] .date").all_inner_texts() if d != "—"]
    assert dates == sorted(dates, reverse=True) and len(dates) >= 4
    assert pg.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    pg.screenshot(path=str(ARTIFACTS / "status-table-phone-sorted.png"), full_page=True)
    context.close()


def test_rankings_chart_print_view_and_pdf(browser, site):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1100, "height": 900})
    pg = context.new_page()
    pg.goto(site + "/rankings?year=2021&depth=2")
    assert pg.locator("svg.rankchart rect.val").count() == 2
    pg.screenshot(path=str(ARTIFACTS / "rankings.png"), full_page=True)
    pg.emulate_media(media="print")
    assert not pg.locator("header.site").is_visible() and not pg.locator("form.filters").is_visible()
    assert pg.locator("table.rank").first.is_visible()
    pdf = pg.pdf(format="A4", print_background=True)  # the browser's print, as a reader saves it
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    (ARTIFACTS / "rankings.pdf").write_bytes(pdf)
    context.close()


def test_a_digest_on_a_phone(browser, judged):
    judged.config.alerts.subscribers = [Subscriber("reader@example.org", [])]
    with session_scope(judged.engine) as s:
        queue_alerts(s, judged.config)
        html = s.query(Outbox).filter(Outbox.recipient == "reader@example.org").one().body_html
    context = browser.new_context(viewport=PHONE, is_mobile=True, locale="zh-CN", java_script_enabled=False)
    pg = context.new_page()
    pg.set_content(html)
    assert pg.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]  # long URLs wrap
    assert "查看本年度详情与证据" in pg.inner_text("body") and "退订此类邮件" in pg.inner_text("body")
    pg.screenshot(path=str(ARTIFACTS / "digest-phone.png"), full_page=True)
    context.close()
