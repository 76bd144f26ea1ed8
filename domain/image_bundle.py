"""An image bundle: the ordered page images of a report published as pictures, as one archived document.

Why: many small agencies publish the report as page images in the article (``<img>``) or as a flipbook.
The reader must stay a pure function of archived bytes, so it cannot fetch the images itself. The crawler
fetches each image (each archived as evidence in its own right) and archives this bundle — the images in
page order with where each came from — as the report's document; the reader (``crawler.reading.ocr``)
recognizes the bundle by its first entry and reads the pages in order.

The format is a plain ZIP (stored, not compressed: images are compressed already) whose FIRST entry is
``gkwatch-image-bundle.json`` ({"version": 1, "page": url, "images": [{"name", "url", "sha256"}]}) followed
by the images. An operator can unzip it and look. Both sides import this module (``domain`` imports nothing
else of the project).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass

MANIFEST = "gkwatch-image-bundle.json"
VERSION = 1
MAX_IMAGES = 200  # pages of one report
MAX_BYTES = 200 * 1024 * 1024  # all images together, as stored


class BadBundle(ValueError):
    """The bytes start like a bundle but are not a well-formed one."""


@dataclass(frozen=True)
class BundleImage:
    name: str  # the entry's name inside the bundle ("001.jpg")
    url: str  # where the crawler fetched it
    data: bytes


def is_image_bundle(data: bytes) -> bool:
    """Whether ``data`` is a bundle: a ZIP whose first local entry is the manifest (no parsing needed)."""
    if not data.startswith(b"PK\x03\x04") or len(data) < 30 + len(MANIFEST):
        return False
    name_len = int.from_bytes(data[26:28], "little")
    return data[30 : 30 + name_len] == MANIFEST.encode()


def _extension(url: str, data: bytes) -> str:
    for magic, ext in ((b"\xff\xd8\xff", "jpg"), (b"\x89PNG", "png"), (b"GIF8", "gif"), (b"BM", "bmp")):
        if data.startswith(magic):
            return ext
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    tail = url.split("?", 1)[0].rsplit(".", 1)[-1].lower()
    return tail if tail.isalnum() and len(tail) <= 5 else "img"


def make_image_bundle(images: list[tuple[str, bytes]], page_url: str = "") -> bytes:
    """A bundle of ``(url, bytes)`` images in page order."""
    if not images:
        raise BadBundle("an image bundle needs at least one image")
    entries = []
    for i, (url, data) in enumerate(images, start=1):
        entries.append(
            {
                "name": f"{i:03d}.{_extension(url, data)}",
                "url": url,
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
    manifest = {"version": VERSION, "page": page_url, "images": entries}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        info = zipfile.ZipInfo(MANIFEST, date_time=(2020, 1, 1, 0, 0, 0))  # fixed: same images → same bytes
        zf.writestr(info, json.dumps(manifest, ensure_ascii=False, indent=1))
        for entry, (_url, data) in zip(entries, images, strict=True):
            zf.writestr(zipfile.ZipInfo(entry["name"], date_time=(2020, 1, 1, 0, 0, 0)), data)
    return out.getvalue()


def read_image_bundle(data: bytes) -> tuple[str, list[BundleImage]]:
    """(the page the images were on, the images in page order); raises ``BadBundle``."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            manifest = json.loads(zf.read(MANIFEST).decode("utf-8"))
            listed = manifest.get("images") or []
            if not isinstance(listed, list) or not listed:
                raise BadBundle("image bundle without images")
            if len(listed) > MAX_IMAGES:
                raise BadBundle(f"image bundle of {len(listed)} images (at most {MAX_IMAGES} are read)")
            infos = {i.filename: i for i in zf.infolist()}
            total, out = 0, []
            for entry in listed:
                info = infos.get(str(entry.get("name")))
                if info is None:
                    raise BadBundle(f"image bundle lists {entry.get('name')!r} but does not hold it")
                total += info.file_size
                if total > MAX_BYTES:
                    raise BadBundle("image bundle larger than the size cap")
                out.append(BundleImage(info.filename, str(entry.get("url") or ""), zf.read(info)))
            return str(manifest.get("page") or ""), out
    except BadBundle:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, AttributeError) as e:
        raise BadBundle(f"damaged image bundle: {type(e).__name__}: {e}") from e
