"""The page in real headless Chromium (Debian's, through Playwright): one browser for the whole module.

Screenshots go to ``tests/artifacts/`` (desktop table, agency page, phone view).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from monitor.web import create_app
from tests.web.seed import HOSTILE, PASSWORD, seed
from tests.web.server import serve_in_thread

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


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
def site(tmp_path_factory):  # noqa: ANN001, ANN201
    seeded = seed(tmp_path_factory.mktemp("browser"))
    with serve_in_thread(create_app(seeded.config, engine=seeded.engine)) as url:
        yield url


@pytest.fixture
def page(browser):  # noqa: ANN001, ANN201
    context = browser.new_context(locale="zh-CN", accept_downloads=True)
    pg = context.new_page()
    dialogs: list[str] = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.dialogs = dialogs  # type: ignore[attr-defined]
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    assert not dialogs, f"a script ran: {dialogs}"
    context.close()


def rows(pg) -> list[str]:  # noqa: ANN001
    return pg.locator("table.status tbody td.name").all_inner_texts()


def test_table_filter_sort_and_hostile_text(page, site):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.goto(site + "/")
    assert page.title().startswith("状态表")
    assert len(rows(page)) == 9
    assert HOSTILE in rows(page)  # shown as text …
    assert page.locator("table.status script").count() == 0  # … never as an element
    page.screenshot(path=str(ARTIFACTS / "status-table.png"), full_page=True)

    page.select_option("select[name=status]", "late")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**status=late**")
    assert sorted(rows(page)) == sorted(["淄川区招商局", HOSTILE])

    page.click("a[data-sort=published]")
    page.wait_for_url("**sort=published**")
    assert rows(page) == ["淄川区招商局", HOSTILE]
    assert page.get_attribute("th[aria-sort]", "aria-sort") == "ascending"
    page.click("a[data-sort=published]")
    page.wait_for_url("**dir=desc**")
    assert rows(page) == [HOSTILE, "淄川区招商局"]


def test_export_downloads_the_filtered_csv(page, site):
    page.goto(site + "/?status=missing")
    with page.expect_download() as info:
        page.click("text=CSV")
    data = Path(info.value.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert "zhangdian-jyj" in text and "zichuan-zsj" not in text


def test_agency_page_marks_cells(page, site):
    page.goto(site + "/")
    page.click("text=淄川区招商局")
    page.wait_for_url("**/agency/zichuan-zsj")
    page.click("details.tables summary >> nth=0")
    cell = page.locator('td[data-key="s3.new_received.total"]').first
    assert cell.is_visible() and "flag-error" in (cell.get_attribute("class") or "")
    assert page.locator("text=表三某行的“总计”不等于六类申请人之和").count() == 1
    page.screenshot(path=str(ARTIFACTS / "agency.png"), full_page=True)
    page.goto(site + "/agency/hostile")  # a hostile name, title and javascript: URL: nothing fires
    assert page.locator("h1").inner_text() == HOSTILE


def test_login_and_mark_a_finding(page, site):
    page.goto(site + "/login")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(site + "/")
    assert page.locator("text=操作员：alice").is_visible()
    page.goto(site + "/agency/zichuan-zsj")
    form = page.locator("li.sev-error form.review").first
    form.locator("select[name=verdict]").select_option("dismissed")
    form.locator("input[name=note]").fill("OCR 把 5 读成了 6")
    form.locator("button").click()
    page.wait_for_url("**/agency/zichuan-zsj#y2021")
    assert page.locator("table.trail").inner_text().count("OCR 把 5 读成了 6") == 1
    assert page.locator("li.dismissed").count() == 1


def test_phone_viewport_shows_cards(browser, site):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="zh-CN")
    pg = context.new_page()
    pg.goto(site + "/")
    assert not pg.locator("table.status thead").is_visible()
    first = pg.locator("table.status tbody tr").first
    box = first.bounding_box()
    assert box is not None and box["width"] <= 390
    label = pg.evaluate(
        "() => getComputedStyle(document.querySelector('table.status td'), '::before').content"
    )
    assert label == '"机关"'
    scroll_width = pg.evaluate("() => document.documentElement.scrollWidth")
    assert scroll_width <= 390  # no sideways scrolling
    pg.screenshot(path=str(ARTIFACTS / "status-table-phone.png"), full_page=True)
    context.close()
