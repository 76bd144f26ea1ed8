"""The crawler's shortcuts give the answers of the plain ways: a page parsed once for every helper, its
visible text without stripping the shared tree, attachment links prefiltered, agency names looked up."""

from __future__ import annotations

import copy
import random

import pytest
from lxml import etree

from crawler.portal.platforms import detect
from crawler.portal.platforms.base import (
    _MAY_BE_ATTACHMENT,
    is_attachment,
    links,
    parse_html,
    read_article,
    redirect_target,
    visible_text_of,
)
from crawler.reading.attribution import AgencyMatcher, _norm
from domain.config import AgencyConfig
from tests.crawler.conftest import FIXTURES, fixture_text

PAGES = sorted(p.name for p in FIXTURES.iterdir() if p.suffix in (".html", ".xml"))
URL = "http://www.zichuan.gov.cn/zwgk/zfxxgknb/index.html"


def _stripped_text(tree) -> str:  # noqa: ANN001
    """The plain way: strip scripts and styles off a copy, then read the text."""
    body = tree.find("body")
    node = copy.deepcopy(body if body is not None else tree)
    etree.strip_elements(node, "script", "style", with_tail=False)
    return node.text_content()


@pytest.mark.parametrize("name", PAGES)
def test_visible_text_equals_stripping_and_leaves_the_tree_alone(name):
    tree = parse_html(fixture_text(name))
    before = etree.tostring(tree)
    body = tree.find("body")
    assert visible_text_of(body if body is not None else tree) == _stripped_text(tree)
    assert etree.tostring(tree) == before


def test_visible_text_with_scripts_and_styles_between_words():
    html = (
        "<html><body>发布<script>var d='2020-01-01';</script>日期：2025-01-20"
        "<style>.a{}</style><p>正文<script>x</script>尾</p><script></script></body></html>"
    )
    tree = parse_html(html)
    assert visible_text_of(tree.find("body")) == "发布日期：2025-01-20正文尾" == _stripped_text(tree)


def test_one_parse_per_page_and_helpers_share_it_unchanged():
    text = fixture_text("trs_article.gbk.html")
    tree = parse_html(text)
    assert parse_html(text) is tree  # the same decoded page: not parsed again
    assert parse_html(text[:-1] + text[-1]) is not tree  # equal text, another object: parsed anew
    scripts = len(tree.xpath("//script"))
    art = read_article("http://www.zichuan.gov.cn/zwgk/zfxxgknb/202501/t20250120_4512345.html", text)
    assert art.pub_text == "2025-01-20"
    redirect_target(URL, text)
    assert len(parse_html(text).xpath("//script")) == scripts  # read_article stripped nothing


@pytest.mark.parametrize("name", PAGES)
def test_attachment_prefilter_keeps_every_attachment(name):
    tree = parse_html(fixture_text(name))
    plain = links(URL, tree, only=is_attachment, with_dates=False)
    assert links(URL, tree, only=is_attachment, with_dates=False, hint=_MAY_BE_ATTACHMENT) == plain


def test_attachment_prefilter_on_link_shapes():
    hrefs = [
        "./P0201.docx", "a.PDF", "/down.jsp?filename=x.xlsx", "/down.jsp?f=x%2Epdf", "b.doc#p2",
        "c.et", "d.wps?v=1", "e.html", "/get?id=3", "f.docx.html", "/net/g.html",
    ]  # fmt: skip
    page = "<html><body>" + "".join(f'<a href="{h}">x</a>' for h in hrefs) + "</body></html>"
    tree = parse_html(page)
    plain = [lk.url for lk in links(URL, tree, only=is_attachment, with_dates=False)]
    hinted = [
        lk.url for lk in links(URL, tree, only=is_attachment, with_dates=False, hint=_MAY_BE_ATTACHMENT)
    ]
    assert hinted == plain and len(plain) == 7


def test_platform_reading_is_unchanged_by_the_shared_tree():
    text = fixture_text("trs_listing.gbk.html")
    platform = detect(URL, text)
    first = platform.listing(URL, text)
    read_article(URL, text)  # another helper on the same page in between
    assert platform.listing(URL, text) == first and len(first.reports) == 3


def _brute_force(agencies: list[AgencyConfig], text: str, portal_id: str | None):
    """The matcher's rule, the slow way: every name tested, longest first, the portal's own preferred."""
    names = [(_norm(n), a) for a in agencies for n in dict.fromkeys([a.name, *a.aliases]) if _norm(n)]
    names.sort(key=lambda t: len(t[0]), reverse=True)
    hits = [(n, a) for n, a in names if n in _norm(text)]
    own = [h for h in hits if portal_id and h[1].portal == portal_id]
    return (own or hits)[0] if hits else None


def test_agency_lookup_matches_testing_every_name():
    rng = random.Random(3)
    syllables = "淄川临淄张店博山周村桓台高青沂源区县镇街道局委办招商财政教育水利"
    agencies = []
    for i in range(400):
        name = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 7)))
        aliases = ["".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))] if i % 3 == 0 else []
        agencies.append(AgencyConfig(id=f"a{i}", name=name, aliases=aliases, portal=f"p{i % 4}"))
    matcher = AgencyMatcher(agencies)
    for _ in range(300):
        text = "".join(rng.choice(syllables) for _ in range(rng.randint(0, 30))) + "2024年年度报告"
        portal = rng.choice([None, "p0", "p1", "p9"])
        expected = _brute_force(agencies, text, portal)
        hit = matcher.match(portal_id=portal, title=text)
        if expected is None:
            assert hit is None or hit.agency_id is None
        else:
            # equal-length names of one rank are interchangeable only within the same agency
            assert (hit.agency_id, len(hit.matched)) == (expected[1].id, len(expected[0]))
