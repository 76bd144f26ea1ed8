"""LibreOffice headless conversions: .doc/.wps/RTF → .docx, .xls/.et → .xlsx, and (for making test documents)
.docx → .doc/.pdf.

Each run gets its own user profile (``-env:UserInstallation``): two conversions sharing a profile silently
drop files. Every file's conversion has a short budget (``CONVERSION_SECONDS``). LibreOffice writes each
output whole (a temporary file renamed when done) and in the order of its inputs, so a run is watched: when
no new output has appeared for the budget, the file it is on is given up — the run is killed with its whole
process group (no ``soffice.bin`` is left behind), the files before it keep their conversions, the ones after
it go to a new run, and the given-up file's error says why (``ConversionTimeout``). A 41-byte RTF declaring a
2 GB picture would otherwise hold LibreOffice at full CPU for minutes. ``OfficeConverter`` converts many files
in ONE soffice run (LibreOffice's start is most of a conversion's cost) and serves each result from its cache.
"""

from __future__ import annotations

import copy
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
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
# Seconds one file's conversion may take, LibreOffice's start included (in a batch: since the previous file's
# output appeared). Measured on 37 real and simulated reports (.doc/.wps/.rtf/.xls; 2 shared cores): median
# 1.2 s, the slowest 8.5–11 s (a 17-page PDF imported and saved as .doc, on a loaded machine); a hostile
# 41-byte RTF runs past 150 s. Read when a conversion starts, so it can be set (``set_conversion_seconds``);
# the functions and ``OfficeConverter`` also take their own.
CONVERSION_SECONDS = 20.0
# How often a running conversion is looked at; how long a run with every output written may take to exit.
_POLL_SECONDS = 0.1
_SHUTDOWN_SECONDS = 10.0


def set_conversion_seconds(seconds: float) -> None:
    """Set this process's conversion budget (from the configuration)."""
    global CONVERSION_SECONDS
    if not seconds > 0:
        raise ValueError(f"a conversion budget must be positive, not {seconds!r}")
    CONVERSION_SECONDS = float(seconds)


class ConversionTimeout(UnreadableDocument):
    """LibreOffice passed its budget on one file and was killed; ``index`` is that file's place in its run."""

    def __init__(self, message: str, format: str | None = None, *, index: int = 0):
        super().__init__(message, format)
        self.index = index


def soffice_path() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def _target_for(fmt: str) -> str:
    return "xlsx" if fmt == "xls" else "docx"


def _out_ext(target: str) -> str:
    """The output file's extension of a ``--convert-to`` target ("pdf:writer_pdf_Export:{…}" → "pdf")."""
    return target.split(":", 1)[0].lstrip(".").lower()


def _budget(seconds: float | None) -> float:
    return CONVERSION_SECONDS if seconds is None else seconds


@dataclass
class _Finished:
    """A soffice run that ended by itself: its exit code, the tail of what it printed, and the index of the
    last input whose output exists (-1: none)."""

    returncode: int
    message: str
    last_done: int


def _soffice(
    profile: Path,
    inputs: list[Path],
    target_ext: str,
    outdir: Path,
    *,
    budget: float | None,
    first: float | None = None,
    total: float | None = None,
) -> _Finished:
    """One soffice process converting ``inputs`` into ``outdir``, watched.

    It is given up — killed with its process group, ``ConversionTimeout`` naming the input it was on — when
    no new output has appeared for ``budget`` seconds (``first`` for the first file, which also waits for
    LibreOffice to start; None: no per-file budget), or when the whole run passes ``total`` seconds.
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
    # Its messages go to an unnamed file, not a pipe: a pipe nobody reads while the run is watched could
    # fill, stall LibreOffice, and have the stall blamed on a file.
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=env,
            start_new_session=True,  # its own process group: soffice forks soffice.bin
        )
        try:
            last_done = _Watch(inputs, outdir, _out_ext(target_ext), budget, first, total).run(proc)
        finally:
            _kill_group(proc)  # a leftover child of a finished run (oosplash exits before soffice.bin)
        log.seek(0, os.SEEK_END)
        log.seek(max(0, log.tell() - 300))
        message = log.read().decode("utf-8", "replace").strip()
    return _Finished(proc.returncode, message, last_done)


@dataclass
class _Watch:
    """Waits for a soffice run, checking its outputs; raises ``ConversionTimeout`` when it stalls."""

    inputs: list[Path]
    outdir: Path
    ext: str
    budget: float | None
    first: float | None
    total: float | None

    def run(self, proc: subprocess.Popen) -> int:
        """The index of the last output present once the run has ended by itself.

        LibreOffice skips a file it cannot load and goes on, so progress is the LAST output present, and the
        file it is on is the one after that."""
        outputs = [self.outdir / f"{p.stem}.{self.ext}" for p in self.inputs]
        start = last_progress = time.monotonic()
        done = -1
        first = self.budget if self.first is None else self.first
        while True:
            try:
                proc.wait(timeout=_POLL_SECONDS)
                return _last_present(outputs, done)
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            latest = _last_present(outputs, done)
            if latest > done:
                done, last_progress = latest, now
            limit = first if done < 0 else self.budget
            if done == len(outputs) - 1:
                # every output is there and LibreOffice is shutting down: nothing is lost if it never does
                if now - last_progress > (limit if limit is not None else _SHUTDOWN_SECONDS):
                    _kill_group(proc)
                    return done
                continue
            if limit is not None and now - last_progress > limit:
                _kill_group(proc)
                source = self.inputs[done + 1].suffix or "(no extension)"
                raise ConversionTimeout(
                    f"LibreOffice timed out after {limit:g} s converting a {source} file to .{self.ext}: "
                    "given up",
                    index=done + 1,
                )
            if self.total is not None and now - start > self.total:
                _kill_group(proc)
                raise ConversionTimeout(
                    f"LibreOffice timed out after {self.total:g} s converting {len(outputs)} file(s) "
                    f"to {self.ext}",
                    index=done + 1,
                )


def _last_present(outputs: list[Path], since: int) -> int:
    """The index of the last output file present (they appear in order), at least ``since``."""
    for i in range(len(outputs) - 1, since, -1):
        if outputs[i].exists():
            return i
    return since


def _run_soffice(
    profile: Path,
    inputs: list[Path],
    target_ext: str,
    outdir: Path,
    timeout: float | None,
    *,
    budget: float | None = None,
) -> None:
    """One soffice run that must convert ``inputs`` (making test documents, one-off conversions): raises
    ``ConversionTimeout`` past ``timeout`` (the whole run) or ``budget`` (one file), UnreadableDocument when
    nothing came out."""
    done = _soffice(profile, inputs, target_ext, outdir, budget=budget, total=timeout)
    if done.returncode != 0 and done.last_done < 0:
        raise UnreadableDocument(
            f"LibreOffice failed (exit {done.returncode}): {done.message or 'no message'}"
        )


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


def convert_bytes(data: bytes, src_ext: str, target_ext: str, *, timeout: float | None = None) -> bytes:
    """Convert one document with a throw-away LibreOffice profile; returns the converted file's bytes.

    ``timeout`` is this conversion's budget (default ``CONVERSION_SECONDS``)."""
    src_ext = src_ext.lstrip(".").lower() or "bin"
    with tempfile.TemporaryDirectory(prefix="gkwatch-lo-") as tmp:
        root = Path(tmp)
        (root / "in").mkdir()
        (root / "out").mkdir()
        src = root / "in" / f"document.{src_ext}"
        src.write_bytes(data)
        _run_soffice(root / "profile", [src], target_ext, root / "out", None, budget=_budget(timeout))
        return _output(root / "out", "document", target_ext, src_ext)


def convert_batch(
    datas: list[bytes], src_ext: str | list[str], target_ext: str, *, timeout: float = 600.0
) -> list[bytes]:
    """Convert several documents in ONE soffice run; results in the order given.

    ``src_ext`` is the source extension of all of them, or one per document. Raises UnreadableDocument when
    the run fails or any one file did not convert (for making test documents, where every file must come out;
    crawled files go through ``OfficeConverter``, which keeps going). ``timeout`` bounds the whole run.
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

    ``prepare`` converts every given file in as few soffice runs as there are target formats (usually one;
    one more after each file given up); ``convert`` then answers from the cache, or converts a file it has
    not seen on its own. Each file has ``timeout_per_file`` seconds (default ``CONVERSION_SECONDS`` when the
    run starts) since the previous one came out; the first also ``startup``.
    """

    def __init__(self, *, timeout_per_file: float | None = None, startup: float = 0.0):
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

    @property
    def cached(self) -> int:
        """How many files' answers (conversions or errors) the cache holds."""
        return len(self._cache)

    def forget(self) -> None:
        """Drop every cached answer (a caller done with its files; the profile stays warm)."""
        with self._lock:
            self._cache.clear()

    def __enter__(self) -> OfficeConverter:
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
                self._batch(list({k: (k, d, e) for k, d, e in group}.values()), target)

    def _profile(self) -> Path:
        return self._root() / f"profile{self._profile_generation}"

    def _batch(self, group: list[tuple[str, bytes, str]], target: str) -> None:
        """Convert ``group`` and cache an answer for each file: runs until every file has one."""
        while group:
            group = self._run(group, target)

    def _run(self, group: list[tuple[str, bytes, str]], target: str) -> list[tuple[str, bytes, str]]:
        """One soffice run over ``group``. Caches the answers of the files up to the one it was given up on
        (or crashed on), that one's error included; returns the files after it, for the next run."""
        job = Path(tempfile.mkdtemp(prefix="job-", dir=self._root()))
        indir, outdir = job / "in", job / "out"
        indir.mkdir()
        outdir.mkdir()
        inputs = []
        for i, (_, data, ext) in enumerate(group):
            path = indir / f"f{i}.{ext}"
            path.write_bytes(data)
            inputs.append(path)
        budget = _budget(self.timeout_per_file)
        self._runs += 1
        stopped: tuple[int, UnreadableDocument] | None = None
        try:
            done = _soffice(
                self._profile(), inputs, target, outdir, budget=budget, first=self.startup + budget
            )
            if done.returncode != 0 and done.last_done < len(group) - 1:
                # LibreOffice died (it exits 0 after skipping a file it cannot load): blame the file it was on
                stopped = (
                    done.last_done + 1,
                    UnreadableDocument(
                        f"LibreOffice failed (exit {done.returncode}) converting this file: "
                        f"{done.message or 'no message'}"
                    ),
                )
        except ConversionTimeout as e:
            stopped = (e.index, e)
        except UnreadableDocument as e:  # LibreOffice is not installed: the same answer for every file
            for key, _data, _ext in group:
                self._cache[key] = e
            shutil.rmtree(job, ignore_errors=True)
            return []
        if stopped is not None:
            self._profile_generation += 1  # a killed run may leave its profile half-written
        for i, ((key, _data, ext), path) in enumerate(zip(group, inputs, strict=True)):
            if stopped is not None and i >= stopped[0]:
                if i == stopped[0]:
                    self._cache[key] = stopped[1]
                break
            try:
                self._cache[key] = (_output(outdir, path.stem, target, ext), target)
            except UnreadableDocument as e:
                self._cache[key] = e
        shutil.rmtree(job, ignore_errors=True)
        return group[stopped[0] + 1 :] if stopped is not None else []

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


def _with_format(error: UnreadableDocument, fmt: str) -> UnreadableDocument:
    """The same error (same type) saying which format the file was."""
    error = copy.copy(error)
    error.format = fmt
    return error


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
    data: bytes, fmt: str, filename: str | None, *, converter: Any = None, timeout: float | None = None
) -> Document:
    """Read a .doc/.wps/RTF: LibreOffice → .docx → the docx reader; antiword text for a .doc if that fails.

    ``timeout`` is a one-off conversion's budget (default ``CONVERSION_SECONDS``); a converter has its own."""
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
            raise _with_format(failure, fmt) from failure
        doc = antiword_document(text, fmt)
        doc.notes.append(f"{failure}; text read with antiword instead")
        return doc
    raise _with_format(failure, fmt) from failure


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
