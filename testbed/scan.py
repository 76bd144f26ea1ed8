"""Scans made from rendered reports: what a township's scanner or phone camera makes of a printed report.

Why: the OCR reader (``crawler.reading.documents.ocr``, ``crawler.reading.ocr``) is only trustworthy if it reads back the cells of documents
whose cells are known, after the damage real scans carry. So a report is rendered to PDF by LibreOffice
(``testbed.render``), rasterized with ``pdftoppm`` at a scanner's resolution, and damaged the way real scans
are: turned by a degree or two, blurred, speckled, stamped with a red seal over the table and saved as a
lossy JPEG. Every step is seeded: the same arguments make the same bytes.

What it makes: page images (JPEG/PNG bytes), an image-only PDF of them (no text layer, like a scanner's PDF),
and an HTML page showing them as ``<img>`` (how many small agencies publish).
"""

from __future__ import annotations

import io
import math
import random
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

STAMP_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


@dataclass(frozen=True)
class Damage:
    """How a page is damaged; ``Damage()`` is a clean scan at 160 dpi."""

    dpi: int = 160
    angle: float = 0.0  # degrees, counter-clockwise
    blur: float = 0.0  # Gaussian radius in pixels
    speckle: float = 0.0  # share of pixels turned to random grey
    stamp: bool = False  # a red seal over the first table of the page
    jpeg_quality: int | None = None  # None: PNG (lossless)


# What the tests and the bench use: a clean scan, and the damage of a poor township scan.
CLEAN = Damage()
POOR = Damage(dpi=160, angle=1.3, blur=0.8, speckle=0.004, stamp=True, jpeg_quality=55)


def rasterize(pdf: bytes, dpi: int) -> list[bytes]:
    """Each page of ``pdf`` as PNG bytes, with ``pdftoppm`` (poppler), as an operator's tool would."""
    with tempfile.TemporaryDirectory(prefix="gkwatch-scan-") as tmp:
        src = Path(tmp) / "in.pdf"
        src.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", str(dpi), "-png", str(src), str(Path(tmp) / "p")],
            check=True,
            capture_output=True,
            timeout=120,
        )
        pages = sorted(Path(tmp).glob("p-*.png"), key=lambda p: int(p.stem.split("-")[-1]))
        return [p.read_bytes() for p in pages]


def damage_page(png: bytes, damage: Damage, seed: int = 0) -> bytes:
    """One page image with ``damage`` applied (JPEG or PNG bytes)."""
    from PIL import Image, ImageFilter

    rng = random.Random(seed)
    img = Image.open(io.BytesIO(png)).convert("RGB")
    if damage.stamp:
        img = _stamp(img, rng)
    if damage.angle:
        img = img.rotate(damage.angle, resample=Image.BICUBIC, expand=True, fillcolor=(255, 255, 255))
    if damage.blur:
        img = img.filter(ImageFilter.GaussianBlur(damage.blur))
    if damage.speckle:
        img = _speckle(img, damage.speckle, rng)
    out = io.BytesIO()
    if damage.jpeg_quality:
        img.save(out, "JPEG", quality=damage.jpeg_quality)
    else:
        img.save(out, "PNG")
    return out.getvalue()


def _speckle(img, share: float, rng: random.Random):
    """Dust and toner specks: random pixels turned grey or black."""
    import numpy as np

    a = np.asarray(img).copy()
    h, w = a.shape[:2]
    n = int(h * w * share)
    gen = np.random.default_rng(rng.randrange(2**32))
    ys, xs = gen.integers(0, h, n), gen.integers(0, w, n)
    a[ys, xs] = gen.integers(0, 160, (n, 1))
    from PIL import Image

    return Image.fromarray(a)


def _stamp(img, rng: random.Random):
    """A red official seal (circle, star, ring of text) half-transparent over the page's upper table area."""
    from PIL import Image, ImageDraw, ImageFont

    w, h = img.size
    r = int(min(w, h) * 0.12)
    cx = int(w * rng.uniform(0.55, 0.75))
    cy = int(h * rng.uniform(0.25, 0.6))
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    red = (220, 30, 30, 120)
    d.ellipse([cx - r, cy - r, cx + r, cy + r], outline=red, width=max(3, r // 18))
    star = [
        (cx + 0.35 * r * math.cos(math.radians(90 + k * 36)) * (1 if k % 2 == 0 else 0.4),
         cy - 0.35 * r * math.sin(math.radians(90 + k * 36)) * (1 if k % 2 == 0 else 0.4))
        for k in range(10)
    ]  # fmt: skip
    d.polygon(star, fill=red)
    try:
        font = ImageFont.truetype(STAMP_FONT, max(10, r // 5))
    except OSError:
        font = ImageFont.load_default()
    text = "政府信息公开专用章"
    for i, ch in enumerate(text):
        a = math.radians(200 - i * (220 / (len(text) - 1)))
        x, y = cx + 0.72 * r * math.cos(a), cy - 0.72 * r * math.sin(a)
        d.text((x, y), ch, fill=red, font=font, anchor="mm")
    return Image.alpha_composite(img.convert("RGBA"), layer).convert("RGB")


def scan_pdf(pdf: bytes, damage: Damage = POOR, seed: int = 0) -> list[bytes]:
    """The pages of a text-layer PDF as damaged scan images, in order."""
    return [damage_page(p, damage, seed * 1000 + i) for i, p in enumerate(rasterize(pdf, damage.dpi))]


def images_to_pdf(images: list[bytes], dpi: int = 160) -> bytes:
    """An image-only PDF (a scanner's output: one picture per page, no text layer)."""
    from PIL import Image

    pages = [Image.open(io.BytesIO(b)).convert("RGB") for b in images]
    out = io.BytesIO()
    pages[0].save(out, "PDF", save_all=True, append_images=pages[1:], resolution=float(dpi))
    return out.getvalue()


def image_page(title: str, image_urls: list[str], date: str = "2025-01-20") -> bytes:
    """A portal article whose body is only the report's page images (``<img>`` in the article), dated ``date``."""
    import html

    imgs = "\n".join(
        f'<p style="text-align:center"><img src="{html.escape(u)}" width="800"/></p>' for u in image_urls
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f'<meta name="ArticleTitle" content="{html.escape(title)}"><title>{html.escape(title)}</title></head>'
        f'<body><div class="header">首页 &gt; 政府信息公开 &gt; 年报</div><div class="article">'
        f'<h1>{html.escape(title)}</h1><div class="info">发布日期：{date}</div>'
        f'<div class="content">{imgs}</div></div><div class="footer">主办单位</div></body></html>'
    ).encode()
