"""Reports published as pictures: the page images of a report page, and the bundle they are archived as.

Many townships publish the annual report as scanned page images inside the article (``<img>``), or as
image attachments. The crawler fetches each image — every one archived as evidence, like any response —
and archives the images, in page order, as one document (``domain.image_bundle``): the reader reads that
bundle by OCR (``crawler.reading.documents.ocr``), a pure function of archived bytes like every reading.
The crawler never looks inside the images.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from crawler.portal.items import Fetched
from domain.image_bundle import make_image_bundle

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
MAX_IMAGES = 60  # pages of one report
MIN_SIDE = 300  # an <img> declared smaller than this (px) is an icon, a logo or a QR code
# Page furniture: images inside these (by class or id) are not the report's pages.
_CHROME = re.compile(
    r"head|nav|menu|foot|logo|banner|share|qrcode|ewm|erweima|icon|sidebar|side-bar|crumb|toolbar|tool-bar",
    re.I,
)
_LAZY = ("data-original", "data-src", "data-url", "src")
BUNDLE_CONTENT_TYPE = "application/x-gkwatch-image-bundle"
BUNDLE_FRAGMENT = "#gkwatch-image-bundle"


def is_image_url(url: str) -> bool:
    return url.lower().split("?", 1)[0].split("#", 1)[0].endswith(IMAGE_EXTENSIONS)


def _declared_small(img) -> bool:  # noqa: ANN001 (an lxml element)
    for attr in ("width", "height"):
        value = (img.get(attr) or "").strip().lower().removesuffix("px")
        if value.isdigit() and int(value) < MIN_SIDE:
            return True
    return False


def _in_chrome(img) -> bool:  # noqa: ANN001
    for el in img.iterancestors():
        if el.tag in ("header", "nav", "footer", "aside"):
            return True
        if _CHROME.search(f"{el.get('class') or ''} {el.get('id') or ''}"):
            return True
    return False


def report_images(url: str, text: str) -> list[str]:
    """The page images of a report page in document order, as absolute URLs: ``<img>`` in the article
    (lazy-loading ``data-src`` first; not in headers, navigation or footers; not declared icon-sized) and
    links to image files (a report attached as .jpg pages). None where the page prints the report's
    table words itself: its pictures are then illustrations, and the page is the document."""
    from crawler.portal.platforms.base import parse_html

    tree = parse_html(text)
    body = tree.find("body")
    if "本年新收" in "".join((body if body is not None else tree).itertext()).replace(" ", ""):
        return []
    out: list[str] = []
    for el in tree.iter("img", "a"):
        if el.tag == "img":
            src = next((el.get(a).strip() for a in _LAZY if (el.get(a) or "").strip()), "")
            if _declared_small(el):
                continue
        else:
            src = (el.get("href") or "").strip()
        if not src or src.startswith(("data:", "javascript:")) or _in_chrome(el):
            continue
        absolute = urljoin(url, src)
        if not is_image_url(absolute) or absolute in out:
            continue
        out.append(absolute)
        if len(out) >= MAX_IMAGES:
            break
    return out


def bundle_document(page: Fetched, images: list[Fetched]) -> Fetched:
    """The report's document: its page images, in order, as one archived bundle."""
    body = make_image_bundle([(f.final_url, f.body) for f in images], page.final_url)
    return Fetched(
        url=page.url + BUNDLE_FRAGMENT,
        final_url=page.final_url + BUNDLE_FRAGMENT,
        status=200,
        headers={"Content-Type": BUNDLE_CONTENT_TYPE, "X-Gkwatch-Images": str(len(images))},
        body=body,
    )
