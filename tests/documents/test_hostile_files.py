"""The fault suite of hostile files (issue 11, items 3 and 9; docs/faults.md lists each row).

The test of each defect failed on the code before its fix: ``gkwatch parse`` read a 2 GB file whole before
saying "too large", grew without bound on ``/dev/zero``, blocked forever on a FIFO, held every file of a call
at once; a .docx whose ZIP headers lie about its parts' sizes passed the zip check; a 41-byte RTF held
LibreOffice for two minutes (a stored nested zip and the ZIP-writing helper are guards, not defects). Memory is measured where it counts: ``gkwatch parse`` runs in a child process
and its peak RSS (with its own children's) comes from ``resource.getrusage(RUSAGE_CHILDREN)`` in a wrapper.
Big files are sparse (nothing on disk) and ZIP bombs are built from one repeated deflate block, so the
suite stays quick.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import threading
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from crawler.reading.documents import office, read_document
from crawler.reading.documents.limits import (
    MAX_DOCUMENT_BYTES,
    DamagedContainer,
    NotARegularFile,
    TooLarge,
    ZipBomb,
    check_zip,
    read_file,
)
from tests.documents.builders import lo_documents, needs_soffice, render_module, report_cells, report_spec

GKWATCH = Path(sys.executable).with_name("gkwatch")
MB = 1024 * 1024
HOSTILE_RTF = rb"{\rtf1 {\pict\pngblip\bin2000000000 abc}}"

# Runs ``gkwatch parse`` in its own session under an address-space cap (a safety net: a defect must fail the
# test, not take the machine down) and reports its exit code, output, wall time and peak RSS.
_WRAPPER = r"""
import json, os, resource, signal, subprocess, sys, time
cmd, timeout, as_limit = json.loads(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
def cap():
    resource.setrlimit(resource.RLIMIT_AS, (as_limit, as_limit))
start = time.monotonic()
p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, preexec_fn=cap)
try:
    out, err = p.communicate(timeout=timeout)
    timed_out = False
except subprocess.TimeoutExpired:
    os.killpg(p.pid, signal.SIGKILL)
    out, err = p.communicate()
    timed_out = True
finally:
    try:
        os.killpg(p.pid, signal.SIGKILL)  # LibreOffice left behind by a killed run
    except ProcessLookupError:
        pass
seconds = time.monotonic() - start
rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"rc": p.returncode, "out": out.decode("utf-8", "replace"), "err": err.decode("utf-8", "replace")[-2000:],
                  "seconds": seconds, "rss_mb": rss_kb / 1024, "timed_out": timed_out}))
"""


@dataclass
class Run:
    rc: int | None
    objs: list[dict]
    err: str
    seconds: float
    rss_mb: float
    timed_out: bool


def parse_measured(*paths: Path, timeout: float = 60, env: dict | None = None) -> Run:
    """``gkwatch parse PATHS`` in a child: its exit code, JSON objects, wall time and peak RSS (MB)."""
    if not GKWATCH.exists():
        pytest.skip(f"console script {GKWATCH} not installed")
    cmd = [str(GKWATCH), "parse", *map(str, paths)]
    env = {k: v for k, v in (env or os.environ).items() if k != "GKWATCH_CONFIG"}
    res = subprocess.run(
        [sys.executable, "-c", _WRAPPER, json.dumps(cmd), str(timeout), str(6 * 1024 * MB)],
        capture_output=True,
        env=env,
        timeout=timeout + 30,
        check=True,
    )
    r = json.loads(res.stdout)
    objs = [json.loads(line) for line in r["out"].splitlines() if line.startswith("{")]
    return Run(r["rc"], objs, r["err"], r["seconds"], r["rss_mb"], r["timed_out"])


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> Run:
    """``gkwatch parse`` of one small report: the interpreter and readers' own footprint."""
    path = tmp_path_factory.mktemp("baseline") / "report.html"
    path.write_bytes(render_module().render_html(report_spec("2021")))
    run = parse_measured(path)
    assert run.rc == 0 and run.objs[0]["cells"] == report_cells("2021")
    return run


def sparse(path: Path, size: int) -> Path:
    """A file of ``size`` zero bytes that takes no disk space."""
    with open(path, "wb") as f:
        f.truncate(size)
    return path


# --- gkwatch parse: stat first, refuse what is not a file, stream with a cap, one file at a time ---------


def test_two_gigabyte_file_refused_from_its_size(tmp_path, baseline):
    big = sparse(tmp_path / "big.pdf", 2 * 1024 * MB)
    run = parse_measured(big)
    assert not run.timed_out and run.rc == 1
    (obj,) = run.objs
    assert obj["file"] == str(big) and obj["cells"] == {} and obj["template"] is None
    assert obj["error"].startswith("file too large: 2048 MB")
    assert run.rss_mb < baseline.rss_mb + 30, f"peak RSS {run.rss_mb:.0f} MB (baseline {baseline.rss_mb:.0f})"
    assert run.seconds < baseline.seconds + 5


@pytest.mark.parametrize("kind", ["dev-zero", "symlink-to-dev-zero", "fifo", "directory"])
def test_what_is_not_a_regular_file_is_refused_without_reading(tmp_path, baseline, kind):
    if kind == "dev-zero":
        path = Path("/dev/zero")
    elif kind == "symlink-to-dev-zero":
        path = tmp_path / "report.docx"
        path.symlink_to("/dev/zero")
    elif kind == "fifo":
        path = tmp_path / "report.pdf"
        os.mkfifo(path)
    else:
        path = tmp_path / "reports.html"
        path.mkdir()
    good = tmp_path / "good.html"
    good.write_bytes(render_module().render_html(report_spec("2019")))
    run = parse_measured(path, good, timeout=30)
    assert not run.timed_out, f"gkwatch parse {kind} did not finish in 30 s"
    assert run.rc == 1
    bad, ok = run.objs
    assert bad["file"] == str(path) and bad["format"] is None and bad["cells"] == {}
    expected = {"fifo": "a FIFO (named pipe)", "directory": "a directory"}.get(kind, "a character device")
    assert bad["error"] == f"not a regular file: {expected}"
    assert ok["error"] is None and ok["cells"] == report_cells("2019")  # the next file is still read
    assert run.rss_mb < baseline.rss_mb + 30


def test_ten_large_files_are_read_one_at_a_time(tmp_path, baseline):
    """Ten 30 MB files cost what one does: each is read, parsed, printed and dropped before the next."""
    one = parse_measured(sparse(tmp_path / "f0.bin", 30 * MB))
    paths = [sparse(tmp_path / f"f{i}.bin", 30 * MB) for i in range(10)]
    ten = parse_measured(*paths)
    assert ten.rc == one.rc == 1
    assert [o["file"] for o in ten.objs] == [str(p) for p in paths]
    assert all("unknown file format" in o["error"] for o in ten.objs)
    assert one.rss_mb < baseline.rss_mb + 3 * 30  # the file, and at most a copy or two while it is read
    assert ten.rss_mb < one.rss_mb + 15, f"10 files: {ten.rss_mb:.0f} MB, 1 file: {one.rss_mb:.0f} MB"


def test_lines_are_printed_as_each_file_is_done(tmp_path):
    """The first file's line is out before a slow second file (a 20 MB page) has been parsed: files are
    parsed and printed one at a time, not all parsed before anything is printed."""
    if not GKWATCH.exists():
        pytest.skip(f"console script {GKWATCH} not installed")
    first = tmp_path / "a.html"
    first.write_bytes(render_module().render_html(report_spec("2021")))
    slow = tmp_path / "b.html"
    page = render_module().render_html(report_spec("2019")).decode("utf-8")
    slow.write_text(page.replace("</body>", "<p>新闻 列表</p>\n" * 600_000 + "</body>"), "utf-8")
    env = {k: v for k, v in os.environ.items() if k != "GKWATCH_CONFIG"}
    start = time.monotonic()
    proc = subprocess.Popen([str(GKWATCH), "parse", str(first), str(slow)], stdout=subprocess.PIPE, env=env)
    try:
        line = proc.stdout.readline()
        first_at = time.monotonic() - start
        rest = proc.stdout.read()
        end_at = time.monotonic() - start
    finally:
        proc.kill()
        proc.wait()
    assert json.loads(line)["cells"] == report_cells("2021")
    assert json.loads(rest)["cells"] == report_cells("2019")
    assert first_at < end_at - 1.0, f"first line at {first_at:.1f} s, the end at {end_at:.1f} s"


def test_read_file_never_reads_past_the_cap(tmp_path):
    """A file that says it is empty but is not (procfs) is still cut at the cap; the cap itself is allowed."""
    exact = tmp_path / "exact.txt"
    exact.write_bytes(b"x" * 1000)
    assert read_file(exact, cap=1000) == b"x" * 1000
    with pytest.raises(TooLarge) as e:
        read_file(exact, cap=999)
    assert e.value.format is None
    proc_file = Path("/proc/self/maps")
    assert proc_file.stat().st_size == 0
    assert len(read_file(proc_file, cap=MAX_DOCUMENT_BYTES)) > 100
    with pytest.raises(TooLarge, match="more than 100 bytes"):
        read_file(proc_file, cap=100)
    with pytest.raises(NotARegularFile):
        read_file(Path("/dev/null"))


# --- ZIP containers: the parts' real sizes, counted while inflating --------------------------------------


def _deflated_zeros(megabytes: int) -> bytes:
    """A raw deflate stream of ``megabytes`` MB of zeros, made of one repeated fully-flushed block."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(b"\0" * MB) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(b"\0" * MB) + c.flush(zlib.Z_FULL_FLUSH)
    return first + block * (megabytes - 1) + c.flush(zlib.Z_FINISH)


def raw_zip(members: list[tuple[str, bytes, int, int, int]]) -> bytes:
    """A ZIP written by hand, so that it can lie: (name, compressed bytes, method, declared size, crc)."""
    out = bytearray()
    central = bytearray()
    for name, payload, method, size, crc in members:
        n = name.encode()
        offset = len(out)
        out += struct.pack(
            "<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc, len(payload), size, len(n), 0
        )
        out += n + payload
        central += struct.pack(
            "<4s6H3L5H2L",
            b"PK\x01\x02",
            20,
            20,
            0,
            method,
            0,
            0x21,
            crc,
            len(payload),
            size,
            len(n),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        central += n
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), len(out), 0)
    return bytes(out + central + end)


def lying_container(data: bytes, member: str, megabytes: int) -> bytes:
    """``data`` (a .docx/.xlsx) with ``member`` replaced by ``megabytes`` MB of zeros declared as 50 KB."""
    src = zipfile.ZipFile(io.BytesIO(data))
    members = []
    for info in src.infolist():
        if info.filename == member:
            members.append((member, _deflated_zeros(megabytes), zipfile.ZIP_DEFLATED, 50_000, 0))
            continue
        body = src.read(info.filename)
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        members.append(
            (info.filename, c.compress(body) + c.flush(), zipfile.ZIP_DEFLATED, len(body), zlib.crc32(body))
        )
    return raw_zip(members)


def report_docx() -> bytes:
    return render_module().render_docx(report_spec("2019"))


def test_raw_zip_helper_makes_a_readable_docx():
    """The hand-written container is sound when it does not lie (else the tests below prove nothing)."""
    data = lying_container(report_docx(), "none", 0)
    doc = read_document(data, "r.docx")
    assert doc.format == "docx" and "淄川区招商局" in doc.text()


@pytest.mark.parametrize("member", ["word/document.xml", "word/styles.xml"])
def test_docx_whose_zip_lies_about_a_part_size_is_refused(tmp_path, baseline, member):
    """A ~1 MB .docx declaring 50 KB for a part that inflates to 1 GB: refused while inflating, at the cap."""
    data = lying_container(report_docx(), member, 1024)
    assert len(data) < 3 * MB
    path = tmp_path / "bomb.docx"
    path.write_bytes(data)
    run = parse_measured(path, timeout=90, env=dict(os.environ, TMPDIR=str(tmp_path)))
    assert not run.timed_out and run.rc == 1
    (obj,) = run.objs
    assert obj["format"] == "docx"
    assert "zip bomb" in obj["error"] and member in obj["error"]
    assert run.rss_mb < baseline.rss_mb + 30
    assert run.seconds < baseline.seconds + 5


def test_xlsx_whose_zip_lies_never_reaches_calamine():
    data = lying_container(render_module().render_xlsx(report_spec("2021")), "xl/worksheets/sheet1.xml", 1024)
    with pytest.raises(ZipBomb) as e:
        read_document(data, "r.xlsx")
    assert e.value.format == "xlsx" and "xl/worksheets/sheet1.xml" in str(e.value)


def test_zip_check_counts_real_bytes_and_stops_at_the_cap():
    """An honest bomb (declared sizes true) is refused too, after inflating about a megabyte, not all of it."""
    stream = _deflated_zeros(150)  # under the total cap as declared: only the inflating finds it out
    honest = raw_zip([("word/media/a.bin", stream, zipfile.ZIP_DEFLATED, 150 * MB, 0)])
    start = time.process_time()
    with pytest.raises(ZipBomb, match="word/media/a.bin"):
        check_zip(honest, "docx")
    assert time.process_time() - start < 0.5


def nested_zip_docx(outer: int) -> bytes:
    """The 2019 report as .docx carrying a ZIP nested 30 deep around a 1 GB bomb, as a part stored
    (``outer`` = ZIP_STORED) or deflated — then it is itself a bomb again, as in 42.zip."""
    inner = raw_zip([("zeros.bin", _deflated_zeros(1024), zipfile.ZIP_DEFLATED, 1024 * MB, 0)])
    for depth in range(30):
        inner = raw_zip([(f"level{depth}.zip", inner, zipfile.ZIP_STORED, len(inner), zlib.crc32(inner))])
    src = zipfile.ZipFile(io.BytesIO(report_docx()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            out.writestr(info, src.read(info.filename))
        out.writestr("word/embeddings/package.zip", inner, compress_type=outer)
    return buf.getvalue()


def test_deeply_nested_zip_is_not_unpacked():
    """An embedded container is a part like any other: measured, never opened, so the report reads as usual
    and quickly."""
    from monitor.judgement.report import parse_bytes

    start = time.monotonic()
    pr = parse_bytes(nested_zip_docx(zipfile.ZIP_STORED), "nested.docx")
    assert time.monotonic() - start < 5
    assert pr.error is None and pr.cells == report_cells("2019")


def test_deeply_nested_zip_that_inflates_like_a_bomb_is_refused():
    start = time.monotonic()
    with pytest.raises(ZipBomb, match="part 'word/embeddings/package.zip' expands more than 200×"):
        read_document(nested_zip_docx(zipfile.ZIP_DEFLATED), "nested.docx")
    assert time.monotonic() - start < 5


# --- LibreOffice: a conversion has a short budget ----------------------------------------------------------


def _soffice_processes(marker: str) -> list[int]:
    from tests.documents.test_office import _processes_mentioning

    return _processes_mentioning(marker)


@pytest.mark.libreoffice
@needs_soffice
def test_hostile_rtf_is_given_up_within_the_budget(tmp_path):
    """The 41-byte RTF that held LibreOffice for the whole 120 s timeout, through ``gkwatch parse`` between
    reports: given up after one budget, the reports around it read, the lines in the order of the files,
    no LibreOffice left behind."""
    docs = lo_documents()
    paths = [tmp_path / "a.doc", tmp_path / "hostile.rtf", tmp_path / "b.wps", tmp_path / "c.html"]
    contents = [docs["report2019.doc"], HOSTILE_RTF, docs["report2021.doc"]]
    contents.append(render_module().render_html(report_spec("2019")))
    for path, data in zip(paths, contents, strict=True):
        path.write_bytes(data)
    budget = office.CONVERSION_SECONDS
    run = parse_measured(*paths, timeout=budget + 60, env=dict(os.environ, TMPDIR=str(tmp_path)))
    assert not run.timed_out and run.rc == 1
    assert [o["file"] for o in run.objs] == [str(p) for p in paths]
    a, bad, b, c = run.objs
    assert (bad["format"], bad["cells"]) == ("doc", {})
    assert bad["error"].startswith(f"LibreOffice timed out after {budget:g} s converting a .rtf file")
    assert (a["error"], a["format"], a["cells"]) == (None, "doc", report_cells("2019"))
    assert (b["error"], b["format"], b["cells"]) == (None, "wps", report_cells("2021"))
    assert (c["error"], c["cells"]) == (None, report_cells("2019"))
    assert budget <= run.seconds < budget + 15
    assert _soffice_processes(str(tmp_path)) == []


@pytest.mark.libreoffice
@needs_soffice
def test_hostile_rtf_in_a_batch_costs_one_budget_and_loses_nothing(monkeypatch, tmp_path):
    """One bad file in a batch of .doc files: the files before it keep their conversions, the ones after it
    are converted in a new run, and only the bad one is given up — after one budget, not a batch timeout."""
    from crawler.reading.read import read_many

    budget = 12.0  # shorter than the default, yet room for a real .doc on a busy machine
    monkeypatch.setattr(office, "CONVERSION_SECONDS", budget)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    docs = lo_documents()
    items = [
        ("a.doc", docs["report2019.doc"]),
        ("hostile.rtf", HOSTILE_RTF),
        ("b.doc", docs["report2021.doc"]),
    ]
    result: dict = {}
    worker = threading.Thread(target=lambda: result.setdefault("r", read_many(items)), daemon=True)
    start = time.monotonic()
    worker.start()
    worker.join(60)
    elapsed = time.monotonic() - start
    assert not worker.is_alive(), "the batch did not finish in 60 s"
    a, bad, b = result["r"]
    converted = "converted from .doc to .docx with LibreOffice"  # not antiword's fallback
    assert (a.error, converted in a.notes, a.values) == (None, True, report_cells("2019"))
    assert (b.error, converted in b.notes, b.values) == (None, True, report_cells("2021"))
    assert bad.error.startswith(f"LibreOffice timed out after {budget:g} s") and bad.format == "doc"
    assert elapsed < budget + 20
    assert _soffice_processes(str(tmp_path)) == []


@pytest.mark.libreoffice
@needs_soffice
def test_hostile_rtf_does_not_hold_a_reader_worker_for_minutes(tmp_path):
    """The crawl's path: the reader pool the reading stage builds from config.yaml (one worker, its time cap
    per document in minutes, ``crawl.seconds_per_conversion`` a shorter budget than the default, set in the
    worker); the RTF among two .doc reports is given up by that budget, long before the cap, and the reports
    are read."""
    from crawler.reading.stage import _pool
    from crawler.reading.workers import Job
    from domain.config import load_config
    from tests.crawler.test_parsing import Store

    budget = 10.0
    assert budget != office.CONVERSION_SECONDS  # the worker must get it from the config, not the default
    path = tmp_path / "config.yaml"
    path.write_text(f"crawl:\n  seconds_per_conversion: {budget}\n  seconds_per_document: 200\n")
    config = load_config(path)
    docs = lo_documents()
    store = Store({"a": docs["report2019.doc"], "rtf": HOSTILE_RTF, "b": docs["report2021.doc"]})
    pool = _pool(store, config, 1, None)
    assert pool.seconds_per_document == 200 > 3 * budget
    start = time.monotonic()
    got = {job.sha256: r for job, r in pool.read([Job("a", "a.doc"), Job("rtf", "x.rtf"), Job("b", "b.doc")])}
    elapsed = time.monotonic() - start
    assert got["rtf"].error.startswith(f"LibreOffice timed out after {budget:g} s")
    assert (got["a"].error, got["a"].values) == (None, report_cells("2019"))
    assert (got["b"].error, got["b"].values) == (None, report_cells("2021"))
    assert pool.timeouts == 0  # the worker's own cap never came into it
    assert elapsed < budget + 20


@pytest.mark.libreoffice
@needs_soffice
def test_converter_cache_holds_each_answer_once(tmp_path):
    """A batch answers from its cache; ``forget`` drops what a caller no longer needs (``gkwatch parse``
    keeps one converter for all its files and must not keep every file's conversion)."""
    docs = lo_documents()
    with office.OfficeConverter() as conv:
        conv.prepare([("a.doc", docs["report2019.doc"]), ("b.doc", docs["merged.doc"])])
        assert conv.runs == 1 and conv.cached == 2
        conv.convert(docs["report2019.doc"], "a.doc")
        assert conv.runs == 1
        conv.forget()
        assert conv.cached == 0


@pytest.mark.libreoffice
@needs_soffice
def test_each_refusal_is_its_own_type_and_keeps_the_format(tmp_path, monkeypatch):
    """Faults are told apart by type, never by message: each refusal is an UnreadableDocument subclass that
    says the format where it is known, also through the .doc reader's antiword fallback path."""
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with pytest.raises(TooLarge) as too_large:
        read_document(b"x" * 101, "a.txt", max_bytes=100)
    with pytest.raises(ZipBomb) as bomb:
        read_document(lying_container(report_docx(), "word/styles.xml", 2), "b.docx")
    data = bytearray(report_docx())
    del data[200:400]  # the first part's deflate stream cut
    with pytest.raises(DamagedContainer) as damaged:
        check_zip(bytes(data), "docx")
    with pytest.raises(office.ConversionTimeout) as timeout:
        read_document(HOSTILE_RTF, "c.rtf", conversion_seconds=2)
    assert (too_large.value.format, bomb.value.format, damaged.value.format) == (None, "docx", "docx")
    assert timeout.value.format == "doc" and str(timeout.value).startswith("LibreOffice timed out after 2 s")
    assert _soffice_processes(str(tmp_path)) == []
