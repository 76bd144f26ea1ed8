"""LibreOffice headless conversions: .doc/.wps/RTF → .docx, .xls/.et → .xlsx, and (for making test documents)
.docx → .doc/.pdf.

Each run gets its own user profile (``-env:UserInstallation``): two conversions sharing a profile silently
drop files. A run that does not finish in time is killed with its whole process group, so no ``soffice.bin``
is left behind. ``OfficeConverter`` converts many files in ONE soffice run (LibreOffice starts once per batch,
which is most of the cost) and then serves each file's result from its cache.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from crawler.reading.documents.model import Block, Document, Paragraph, Table, UnreadableDocument

# --convert-to arguments per target extension: the explicit filter avoids LibreOffice picking an odd one.
_FILTERS = {
    "docx": "docx:MS Word 2007 XML",
    "xlsx": "xlsx:Calc MS Excel 2007 XML",
    "doc": "doc:MS Word 97",
    "xls": "xls:MS Excel 97",
    "pdf": "pdf",
    "odt": "odt",
    "rtf": "rtf",
}
# Seconds per file on top of a start-up allowance, for a batch.
BATCH_STARTUP_SECONDS = 60.0
BATCH_SECONDS_PER_FILE = 30.0


def soffice_path() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def _target_for(fmt: str) -> str:
    return "xlsx" if fmt == "xls" else "docx"


def _out_ext(target: str) -> str:
    """The output file's extension of a ``--convert-to`` target ("pdf:writer_pdf_Export:{…}" → "pdf")."""
    return target.split(":", 1)[0].lstrip(".").lower()


def _run_soffice(profile: Path, inputs: list[Path], target_ext: str, outdir: Path, timeout: float) -> None:
    """One soffice process converting ``inputs`` into ``outdir``; killed with its group on timeout.

    ``target_ext`` is an extension ("docx") or a full ``--convert-to`` argument with a filter and its options
    ("pdf:writer_pdf_Export:{…}").
    """
    exe = soffice_path()
    if exe is None:
        raise UnreadableDocument("LibreOffice (soffice) is not installed: cannot convert this document")
    cmd = [
        exe,
        f"-env:UserInstallation={profile.as_uri()}",
        "--headless",
        "--invisible",
        "--norestore",
        "--nologo",
        "--nodefault",
        "--nolockcheck",
        "--convert-to",
        _FILTERS.get(target_ext, target_ext),
        "--outdir",
        str(outdir),
        *map(str, inputs),
    ]
    env = dict(os.environ, HOME=str(profile), SAL_USE_VCLPLUGIN="svp")
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,  # its own process group: soffice forks soffice.bin
    )
    try:
        _out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise UnreadableDocument(
            f"LibreOffice timed out after {timeout:g} s converting {len(inputs)} file(s) to {_out_ext(target_ext)}"
        ) from None
    finally:
        _kill_group(proc)  # a leftover child of a finished run (oosplash exits before soffice.bin)
    ext = _out_ext(target_ext)
    if proc.returncode != 0 and not any((outdir / (p.stem + "." + ext)).exists() for p in inputs):
        tail = err.decode("utf-8", "replace").strip()[-300:]
        raise UnreadableDocument(f"LibreOffice failed (exit {proc.returncode}): {tail or 'no message'}")


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def _output(outdir: Path, stem: str, target_ext: str, src_ext: str) -> bytes:
    target_ext = _out_ext(target_ext)
    path = outdir / f"{stem}.{target_ext}"
    if not path.is_file() or path.stat().st_size == 0:
        raise UnreadableDocument(f"LibreOffice could not convert this .{src_ext} file to .{target_ext}")
    return path.read_bytes()


def convert_bytes(data: bytes, src_ext: str, target_ext: str, *, timeout: float = 120.0) -> bytes:
    """Convert one document with a throw-away LibreOffice profile; returns the converted file's bytes."""
    src_ext = src_ext.lstrip(".").lower() or "bin"
    with tempfile.TemporaryDirectory(prefix="gkwatch-lo-") as tmp:
        root = Path(tmp)
        (root / "in").mkdir()
        (root / "out").mkdir()
        src = root / "in" / f"document.{src_ext}"
        src.write_bytes(data)
        _run_soffice(root / "profile", [src], target_ext, root / "out", timeout)
        return _output(root / "out", "document", target_ext, src_ext)


def convert_batch(
    datas: list[bytes], src_ext: str | list[str], target_ext: str, *, timeout: float = 600.0
) -> list[bytes]:
    """Convert several documents in ONE soffice run; results in the order given.

    ``src_ext`` is the source extension of all of them, or one per document. Raises UnreadableDocument when
    the run fails or any one file did not convert (for making test documents, where every file must come out;
    crawled files go through ``OfficeConverter``, which keeps going).
    """
    exts = [src_ext] * len(datas) if isinstance(src_ext, str) else list(src_ext)
    exts = [e.lstrip(".").lower() for e in exts]
    with tempfile.TemporaryDirectory(prefix="gkwatch-lo-") as tmp:
        root = Path(tmp)
        (root / "in").mkdir()
        (root / "out").mkdir()
        inputs = []
        for i, (data, ext) in enumerate(zip(datas, exts, strict=True)):
            path = root / "in" / f"d{i}.{ext}"
            path.write_bytes(data)
            inputs.append(path)
        if inputs:
            _run_soffice(root / "profile", inputs, target_ext, root / "out", timeout)
        return [_output(root / "out", p.stem, target_ext, ext) for p, ext in zip(inputs, exts, strict=True)]


def _key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class OfficeConverter:
    """Batch converter with its own LibreOffice profile; use as a context manager.

    ``prepare`` converts every given file in as few soffice runs as there are target formats (usually one);
    ``convert`` then answers from the cache, or converts a file it has not seen on its own.
    """

    def __init__(
        self, *, timeout_per_file: float = BATCH_SECONDS_PER_FILE, startup: float = BATCH_STARTUP_SECONDS
    ):
        self.timeout_per_file = timeout_per_file
        self.startup = startup
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._cache: dict[str, tuple[bytes, str] | UnreadableDocument] = {}
        self._lock = threading.Lock()
        self._runs = 0
        self._profile_generation = 0

    @property
    def runs(self) -> int:
        """How many soffice processes this converter has started (a batch is one)."""
        return self._runs

    def __enter__(self) -> OfficeConverter:
        self._root()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def _root(self) -> Path:
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="gkwatch-lo-batch-")
        return Path(self._tmp.name)

    def _job_dirs(self) -> tuple[Path, Path]:
        root = self._root()
        job = Path(tempfile.mkdtemp(prefix="job-", dir=root))
        (job / "in").mkdir()
        (job / "out").mkdir()
        return job / "in", job / "out"

    def prepare(self, items: list[tuple[str, bytes]]) -> None:
        """Convert all of ``items`` ((filename, bytes)) up front, one soffice run per target format."""
        from crawler.reading.documents import source_extension
        from crawler.reading.documents.detect import detect_format

        groups: dict[str, list[tuple[str, bytes, str]]] = {}
        for name, data in items:
            key = _key(data)
            if key in self._cache:
                continue
            try:
                fmt = detect_format(data, name)
            except UnreadableDocument:
                continue
            groups.setdefault(_target_for(fmt), []).append((key, data, source_extension(data, fmt, name)))
        with self._lock:
            for target, group in groups.items():
                unique = list({k: (k, d, e) for k, d, e in group}.values())
                self._batch(unique, target)

    def _profile(self) -> Path:
        return self._root() / f"profile{self._profile_generation}"

    def _batch(self, group: list[tuple[str, bytes, str]], target: str) -> UnreadableDocument | None:
        """One soffice run over ``group``; returns the run's error when the run as a whole failed."""
        indir, outdir = self._job_dirs()
        inputs = []
        for i, (_, data, ext) in enumerate(group):
            path = indir / f"f{i}.{ext}"
            path.write_bytes(data)
            inputs.append(path)
        timeout = self.startup + self.timeout_per_file * len(inputs)
        self._runs += 1
        try:
            _run_soffice(self._profile(), inputs, target, outdir, timeout)
        except UnreadableDocument as e:
            # A killed run may leave its profile half-written: the next run gets a fresh one.
            self._profile_generation += 1
            if len(group) == 1:
                self._cache[group[0][0]] = e
            return e  # several files: nothing cached, ``convert`` retries each on its own
        for (key, _data, ext), path in zip(group, inputs, strict=True):
            try:
                self._cache[key] = (_output(outdir, path.stem, target, ext), target)
            except UnreadableDocument as e:
                self._cache[key] = e
        return None

    def convert(self, data: bytes, filename: str | None = None) -> tuple[bytes, str]:
        """The converted (.docx or .xlsx) bytes and their extension; raises UnreadableDocument."""
        from crawler.reading.documents import source_extension
        from crawler.reading.documents.detect import detect_format

        key = _key(data)
        hit = self._cache.get(key)
        if hit is None:
            fmt = detect_format(data, filename)
            with self._lock:
                self._batch([(key, data, source_extension(data, fmt, filename))], _target_for(fmt))
            hit = self._cache[key]
        if isinstance(hit, UnreadableDocument):
            raise hit
        return hit


def antiword_text(data: bytes, timeout: float = 30.0) -> str:
    """A Word 97 file's text through ``antiword`` (tables flattened to lines), for when LibreOffice fails."""
    exe = shutil.which("antiword")
    if exe is None:
        raise UnreadableDocument("antiword is not installed", "doc")
    with tempfile.NamedTemporaryFile(suffix=".doc") as f:
        f.write(data)
        f.flush()
        try:
            res = subprocess.run(
                [exe, "-m", "UTF-8.txt", "-w", "0", f.name],
                capture_output=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise UnreadableDocument(f"antiword timed out after {timeout:.0f} s", "doc") from None
    if res.returncode != 0 or not res.stdout.strip():
        raise UnreadableDocument(
            f"antiword could not read the file: {res.stderr.decode('utf-8', 'replace').strip()[:200]}", "doc"
        )
    return res.stdout.decode("utf-8", "replace")


def read_converted(
    data: bytes, fmt: str, filename: str | None, *, converter: Any = None, timeout: float = 120.0
) -> Document:
    """Read a .doc/.wps/RTF: LibreOffice → .docx → the docx reader; antiword text for a .doc if that fails."""
    from crawler.reading.documents import source_extension
    from crawler.reading.documents.docx import read_docx

    try:
        if converter is not None:
            converted, _ext = converter.convert(data, filename)
        else:
            converted = convert_bytes(data, source_extension(data, fmt, filename), "docx", timeout=timeout)
        doc = read_docx(converted, format=fmt)
        doc.notes.append(f"converted from .{fmt} to .docx with LibreOffice")
        return doc
    except UnreadableDocument as e:
        failure = e
    if fmt in ("doc", "wps") and data.startswith(b"\xd0\xcf\x11\xe0") and shutil.which("antiword"):
        try:
            text = antiword_text(data)
        except UnreadableDocument:
            raise UnreadableDocument(str(failure), fmt) from failure
        doc = antiword_document(text, fmt)
        doc.notes.append(f"{failure}; text read with antiword instead")
        return doc
    raise UnreadableDocument(str(failure), fmt) from failure


def antiword_document(text: str, fmt: str = "doc") -> Document:
    """antiword's output as a document: its ``|cell|cell|`` lines become table rows, the rest paragraphs."""
    blocks: list[Block] = []
    rows: list[list[str]] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("|") and stripped.endswith("|") and len(stripped) > 1:
            rows.append([c.strip() for c in stripped[1:-1].split("|")])
            continue
        if rows:
            blocks.append(Table(rows))
            rows = []
        if stripped:
            blocks.append(Paragraph(stripped))
    if rows:
        blocks.append(Table(rows))
    return Document(format=fmt, blocks=blocks, loose_text=True)
