"""A page image ready for OCR: decoded, coloured marks dropped, scaled to a reading size, and deskewed.

Why each step:
* Red seals and blue signatures sit on top of the tables of most scanned reports. Taking each pixel's
  brightest channel turns coloured ink near-white and keeps black print black, so a seal over a number
  does not become a digit.
* Table finding and the recognizer both work in pixels: a phone photo (4000 px) is scaled down and a small
  ``<img>`` (800 px wide) scaled up, to about a 160-dpi A4 page.
* The table finder found no table at 0.8° of skew (issue 12): the page is turned straight first, by the
  angle that makes its rows of ink sharpest (projection profile, coarse then fine).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crawler.reading.documents.model import UnreadableDocument

MAX_PIXELS = 60_000_000  # a decoded image larger than this is refused (a decompression bomb)
TARGET_LONG_SIDE = 1900  # ≈ A4 at 160 dpi
MIN_LONG_SIDE = 1400  # smaller images are scaled up to TARGET_LONG_SIDE
MAX_LONG_SIDE = 2600  # larger ones scaled down to it
MAX_SKEW = 5.0  # degrees searched either way


def decode(data: bytes) -> np.ndarray:
    """Image bytes (JPEG, PNG, GIF, BMP, TIFF, WebP) → a grey or 3-channel array."""
    import cv2

    _check_dimensions(data)
    buf = np.frombuffer(data, dtype=np.uint8)
    img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if img is None:
        img = _decode_with_pillow(data)
    if img.ndim == 3 and img.shape[2] == 4:  # transparent: on white paper
        alpha = img[:, :, 3:4].astype(np.float32) / 255.0
        img = (img[:, :, :3].astype(np.float32) * alpha + 255.0 * (1 - alpha)).astype(np.uint8)
    if img.dtype != np.uint8:  # 16-bit PNG/TIFF
        img = (img / 257).astype(np.uint8)
    return img


def drop_colour(rgb: np.ndarray) -> np.ndarray:
    """Grey page with coloured ink (seals, signatures) whitened away and black print kept black.

    Coloured ink is bright in its own channel, so each pixel's brightest channel turns a red seal light;
    its blurred, JPEG-greyed edges are caught by their colour (and a pixel or two around it). Dark pixels
    stay: where a seal lies over black print, the print shows through.
    """
    grey = rgb.max(axis=2)
    spread = grey.astype(np.int16) - rgb.min(axis=2).astype(np.int16)
    coloured = spread > 20
    if coloured.mean() < 0.0005:
        return grey  # a grey scan stored as colour: nothing coloured to drop
    grey = grey.copy()
    grey[coloured & (grey > 150)] = 255
    lut = np.clip(np.arange(256, dtype=np.float32) * (255.0 / 200.0), 0, 255).astype(np.uint8)
    return lut[grey]


def _check_dimensions(data: bytes) -> None:
    """Refuse an image whose pixel count would exhaust memory, before decoding it."""
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
    except Exception as e:  # PIL raises many types for broken headers
        raise UnreadableDocument(f"damaged or unsupported image: {type(e).__name__}: {e}", "image") from e
    if w * h > MAX_PIXELS:
        raise UnreadableDocument(f"image too large to read ({w}×{h} pixels)", "image")
    if min(w, h) < 50:
        raise UnreadableDocument(f"image too small to hold a report ({w}×{h} pixels)", "image")


def _decode_with_pillow(data: bytes) -> np.ndarray:
    """Formats OpenCV does not decode (GIF, some TIFF compressions)."""
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            return np.asarray(im.convert("RGB"))
    except Exception as e:
        raise UnreadableDocument(f"damaged or unsupported image: {type(e).__name__}: {e}", "image") from e


def to_reading_size(img: np.ndarray) -> np.ndarray:
    """A page scaled so that its long side is in the recognizer's comfortable range."""
    import cv2

    long_side = max(img.shape[:2])
    if MIN_LONG_SIDE <= long_side <= MAX_LONG_SIDE:
        return img
    scale = (TARGET_LONG_SIDE if long_side < MIN_LONG_SIDE else MAX_LONG_SIDE) / long_side
    interp = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
    return cv2.resize(img, None, fx=scale, fy=scale, interpolation=interp)


def skew_angle(gray: np.ndarray) -> float:
    """The page's skew in degrees (counter-clockwise positive), from the sharpness of its rows of ink."""
    import cv2

    small_w = 900
    scale = small_w / gray.shape[1] if gray.shape[1] > small_w else 1.0
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else gray
    _t, ink = cv2.threshold(small, 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    if ink.sum() < 50:  # a blank page
        return 0.0
    h, w = ink.shape
    centre = (w / 2, h / 2)

    def sharpness(angle: float) -> float:
        m = cv2.getRotationMatrix2D(centre, angle, 1.0)
        rotated = cv2.warpAffine(ink, m, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
        rows = rotated.sum(axis=1, dtype=np.float64)
        return float(np.square(np.diff(rows)).sum())

    best = max(np.arange(-MAX_SKEW, MAX_SKEW + 1e-9, 0.5), key=sharpness)
    fine = np.arange(best - 0.5, best + 0.5 + 1e-9, 0.05)
    return float(max(fine, key=sharpness))


def rotate(img: np.ndarray, angle: float) -> np.ndarray:
    """``img`` turned by ``angle`` degrees inside a canvas that holds the whole page, on white."""
    import cv2

    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos), int(h * cos + w * sin)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    return cv2.warpAffine(img, m, (nw, nh), flags=cv2.INTER_CUBIC, borderValue=255)


@dataclass
class PageImage:
    """A straightened page: ``grey`` for finding the ruling, ``clean`` (seals dropped) for reading text."""

    grey: np.ndarray
    clean: np.ndarray
    angle: float  # the turn that straightened it, in degrees


def prepare_array(img: np.ndarray) -> PageImage:
    """A decoded image (grey or colour) → a straight page at reading size."""
    img = to_reading_size(np.ascontiguousarray(img))
    if img.ndim == 3:
        grey, clean = img.max(axis=2), drop_colour(img)
    else:
        grey, clean = img, img
    angle = skew_angle(grey)
    if abs(angle) < 0.05:
        return PageImage(grey, clean, 0.0)
    return PageImage(rotate(grey, angle), rotate(clean, angle), angle)


def prepare(data: bytes) -> PageImage:
    """Image bytes → a straight page at reading size."""
    return prepare_array(decode(data))
