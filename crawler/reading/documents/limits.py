"""Size caps that keep one hostile or broken file from stalling a crawl of thousands.

Crawled bytes are untrusted: a ZIP container (docx/xlsx) can declare 50 KB for a part that inflates to a
gigabyte, a path handed to ``gkwatch parse`` can be a FIFO or ``/dev/zero``, an HTML page can be tens of
megabytes of inline script, a table can declare ``colspan=100000``. Every reader checks against these numbers
BEFORE doing the expensive thing, and says plainly which cap was hit. Each kind of refusal is its own
``UnreadableDocument`` subclass (docs/faults.md lists them with their tests).
"""

from __future__ import annotations

import io
import os
import stat
import struct
import zipfile
import zlib

from crawler.reading.documents.model import Document, Paragraph, UnreadableDocument

# No published report comes near these; anything larger is not worth reading at all. (The crawl refuses to
# download more than ``crawl.max_document_bytes``; this is the readers' own cap, and ``gkwatch parse``'s.)
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
# HTML above this is stripped of script/style/comments and inline data: URIs before parsing.
HTML_STRIP_ABOVE_BYTES = 1024 * 1024
# After stripping, markup above this is cut: a report saved as a web page is well under 1 MB of markup, and
# it comes before whatever endless lists a portal appends.
MAX_HTML_PARSE_BYTES = 4 * 1024 * 1024
# Plain text: characters read at most (a report is some 10 000).
MAX_TEXT_CHARS = 400_000
# Any document: characters handed to the recognizer at most (its loose-text reading is not linear-cheap).
MAX_DOCUMENT_CHARS = 600_000
# ZIP containers, counted on the bytes really inflated (the headers may lie): all parts together; one XML
# part (a report's word/document.xml is 0.1–3 MB; lxml needs some ten times a part's size to parse it); the
# worst compression ratio once a part has inflated past RATIO_CHECK_ABOVE_BYTES (Word XML deflates 5–20×,
# a run of zeros 1000×); and the number of parts.
MAX_ZIP_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_ZIP_XML_PART_BYTES = 32 * 1024 * 1024
MAX_ZIP_RATIO = 200
RATIO_CHECK_ABOVE_BYTES = 1024 * 1024
MAX_ZIP_MEMBERS = 5000
# Tables: spans beyond these are clamped; rows and cells beyond these are dropped (with a note).
MAX_COLSPAN = 60
MAX_ROWSPAN = 500
MAX_TABLE_ROWS = 5000
MAX_TABLE_CELLS = 200_000
# PDFs: pages read at most (annual reports run to a dozen pages; a 500-page yearbook is not one).
MAX_PDF_PAGES = 60
# A page with more characters than this is read as text lines only (no table finding).
MAX_PDF_PAGE_CHARS = 30_000


class TooLarge(UnreadableDocument):
    """More bytes than the cap: refused from its size, or at the first byte past the cap — never read whole."""


class NotARegularFile(UnreadableDocument):
    """A FIFO, a device, a directory or a socket given as a document: no bytes to read, or no end to them."""


class ZipBomb(UnreadableDocument):
    """A ZIP container whose parts inflate past the caps, or to more than their headers declare."""


class DamagedContainer(UnreadableDocument):
    """A ZIP container that cannot be opened or whose parts do not inflate to what they declare."""


def _size(n: int) -> str:
    return f"{n / 1048576:.0f} MB" if n >= 1048576 else f"{n} bytes"


def check_size(data: bytes, fmt: str | None = None, cap: int | None = None) -> None:
    cap = MAX_DOCUMENT_BYTES if cap is None else cap
    if len(data) > cap:
        raise TooLarge(f"file too large: {_size(len(data))} (limit {_size(cap)})", fmt)


# What a path that is not a regular file is, in the words of ``not a regular file: …``.
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a file")


def read_file(path: str | os.PathLike, cap: int | None = None) -> bytes:
    """A document's bytes from disk, never reading more than ``cap`` + 1 bytes.

    The path is opened without blocking (opening a FIFO for reading would wait for a writer forever) and
    judged on the open descriptor, so it cannot be swapped between the check and the read: anything but a
    regular file is refused unread, and a regular file larger than the cap is refused from its size. The
    size ``stat`` gives is only a hint — a file may grow, and procfs files say 0 — so the read itself stops
    one byte past the cap. Raises ``OSError`` for a path that cannot be opened.
    """
    cap = MAX_DOCUMENT_BYTES if cap is None else cap
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotARegularFile(f"not a regular file: {_kind(st.st_mode)}")
        if st.st_size > cap:
            raise TooLarge(f"file too large: {_size(st.st_size)} (limit {_size(cap)})")
        os.set_blocking(fd, True)
        f = open(fd, "rb", closefd=True)  # noqa: SIM115 - closed by the ``with`` below
    except BaseException:
        os.close(fd)
        raise
    with f:
        data = f.read(st.st_size + 1)  # one allocation of the file's size (+1: to see that it grew)
        if st.st_size < len(data) <= cap:  # a growing file, or procfs: read on, up to the cap
            data += f.read(cap + 1 - len(data))
    if len(data) > cap:
        raise TooLarge(f"file too large: more than {_size(cap)}")
    return data


# --- ZIP containers --------------------------------------------------------------------------------------

_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # signature … file name length, extra field length
_IN_CHUNK = 64 * 1024  # compressed bytes fed to the inflater at a time
_OUT_CHUNK = 1024 * 1024  # inflated bytes it may return at a time (then counted and dropped)


def _is_xml(name: str) -> bool:
    return name.lower().endswith((".xml", ".rels", ".vml"))


def check_zip(data: bytes, fmt: str) -> None:
    """Refuse a ZIP container (docx/xlsx) whose parts would blow up memory or time: inflate every part, count
    the bytes that really come out, and stop at the first cap passed.

    The sizes in the headers are what a liar writes: a part declared as 50 KB may inflate to a gigabyte,
    and whoever trusts the header (LibreOffice, python-calamine) inflates it all. So every part is inflated
    here, a megabyte at a time and dropped, with a running count; a part that inflates to more than it
    declares, more than ``MAX_ZIP_XML_PART_BYTES`` (XML) or the total cap, or faster than ``MAX_ZIP_RATIO``
    is a bomb. A container that passes holds exactly what its headers say, so any reader may open it.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise DamagedContainer(f"damaged {fmt} file: the ZIP container cannot be opened ({e})", fmt) from e
    if len(infos) > MAX_ZIP_MEMBERS:
        raise ZipBomb(f"suspicious {fmt} file (zip bomb?): {len(infos)} parts in the ZIP container", fmt)
    declared = sum(i.file_size for i in infos)
    if declared > MAX_ZIP_UNCOMPRESSED_BYTES:
        raise ZipBomb(
            f"suspicious {fmt} file (zip bomb?): it declares {_size(declared)} uncompressed "
            f"(limit {_size(MAX_ZIP_UNCOMPRESSED_BYTES)})",
            fmt,
        )
    view = memoryview(data)
    total = 0
    for info in infos:
        total += _check_part(view, info, fmt, MAX_ZIP_UNCOMPRESSED_BYTES - total)


def _check_part(view: memoryview, info: zipfile.ZipInfo, fmt: str, room: int) -> int:
    """The part's real inflated size, once it is known to be what its header says and within the caps."""
    name = info.filename
    if info.flag_bits & 0x1:
        raise UnreadableDocument(f"encrypted {fmt} file: part {name!r} is encrypted", fmt)
    start = _data_offset(view, info, fmt)
    cap = min(room, MAX_ZIP_XML_PART_BYTES if _is_xml(name) else MAX_ZIP_UNCOMPRESSED_BYTES)
    if info.compress_type == zipfile.ZIP_STORED:
        real = info.compress_size
        if start + real > len(view):
            raise DamagedContainer(f"damaged {fmt} file: part {name!r} is cut short", fmt)
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        real = _inflated_size(view[start:], name, fmt, min(cap, info.file_size))
    else:
        raise DamagedContainer(
            f"damaged {fmt} file: part {name!r} uses compression method {info.compress_type}, "
            "which Word and Excel files never use",
            fmt,
        )
    if real > info.file_size:
        raise ZipBomb(
            f"suspicious {fmt} file (zip bomb?): part {name!r} declares {_size(info.file_size)} "
            "but inflates to more",
            fmt,
        )
    if real < info.file_size:
        raise DamagedContainer(
            f"damaged {fmt} file: part {name!r} holds {_size(real)}, not the {_size(info.file_size)} "
            "its header declares",
            fmt,
        )
    if real > cap:
        raise ZipBomb(f"suspicious {fmt} file (zip bomb?): part {name!r} holds {_size(real)}", fmt)
    return real


def _data_offset(view: memoryview, info: zipfile.ZipInfo, fmt: str) -> int:
    """Where the part's compressed bytes start: after its local header, which must agree on the method."""
    header = bytes(view[info.header_offset : info.header_offset + _LOCAL_HEADER.size])
    if len(header) < _LOCAL_HEADER.size:
        raise DamagedContainer(f"damaged {fmt} file: part {info.filename!r} is cut short", fmt)
    signature, _v, _flags, method, _t, _d, _crc, _cs, _us, name_len, extra_len = _LOCAL_HEADER.unpack(header)
    if signature != b"PK\x03\x04" or method != info.compress_type:
        raise DamagedContainer(f"damaged {fmt} file: the headers of part {info.filename!r} do not agree", fmt)
    return info.header_offset + _LOCAL_HEADER.size + name_len + extra_len


def _inflated_size(stream: memoryview, name: str, fmt: str, cap: int) -> int:
    """Inflate a raw deflate stream a megabyte at a time, counting and dropping the output; stop as soon as
    the count passes ``cap`` (so at ``cap`` + 1 MB at most) or the ratio passes ``MAX_ZIP_RATIO``."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    out = fed = 0
    try:
        while not inflater.eof:
            pending = inflater.unconsumed_tail
            if not pending:
                if fed >= len(stream):
                    raise DamagedContainer(f"damaged {fmt} file: part {name!r} is cut short", fmt)
                pending = stream[fed : fed + _IN_CHUNK]
                fed += len(pending)
            out += len(inflater.decompress(pending, _OUT_CHUNK))
            if out > cap:
                return out  # the caller says which cap it passed
            consumed = fed - len(inflater.unconsumed_tail)
            if out > RATIO_CHECK_ABOVE_BYTES and out > MAX_ZIP_RATIO * consumed:
                raise ZipBomb(
                    f"suspicious {fmt} file (zip bomb?): part {name!r} expands more than {MAX_ZIP_RATIO}×",
                    fmt,
                )
    except zlib.error as e:
        raise DamagedContainer(f"damaged {fmt} file: part {name!r} does not inflate ({e})", fmt) from e
    return out


def read_part(zf: zipfile.ZipFile, name: str, fmt: str, cap: int = MAX_ZIP_XML_PART_BYTES) -> bytes:
    """One part of a container, never more than ``cap`` + 1 inflated bytes (``check_zip`` has normally
    refused anything larger; this holds even where it was not called)."""
    with zf.open(name) as f:
        data = f.read(cap + 1)
    if len(data) > cap:
        raise ZipBomb(f"suspicious {fmt} file (zip bomb?): part {name!r} holds more than {_size(cap)}", fmt)
    return data


# --- tables and documents --------------------------------------------------------------------------------


def clamp_span(value: str | None, limit: int) -> int:
    """A rowspan/colspan attribute as a sane integer (garbage → 1, huge → ``limit``)."""
    try:
        n = int(str(value).strip().split(".")[0]) if value not in (None, "") else 1
    except ValueError:
        return 1
    return max(1, min(n, limit))


def cap_document(doc: Document) -> Document:
    """Drop the blocks past ``MAX_DOCUMENT_CHARS`` (with a note): the report is at the start of any file."""
    total = 0
    for i, block in enumerate(doc.blocks):
        total += (
            len(block.text)
            if isinstance(block, Paragraph)
            else sum(len(c) + 1 for r in block.rows for c in r)
        )
        if total > MAX_DOCUMENT_CHARS:
            del doc.blocks[i + 1 :]
            doc.notes.append(f"very long document: only its first {MAX_DOCUMENT_CHARS} characters read")
            break
    return doc
