"""The commands that run several stages in a row: ``gkwatch parse`` (read + judge one file),
``gkwatch crawl`` (portal → reading → check) and ``gkwatch reparse`` (reading → check).

Each stage stays in its own package (docs/layout.md); this module only strings them together, the way the
scheduler does.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from pathlib import Path

from crawler.reading.model import Reading
from domain.config import Config
from monitor.judgement.report import ParsedReport, parse_bytes

# --- gkwatch parse -------------------------------------------------------------------------------------


# ``gkwatch parse`` converts consecutive LibreOffice files (.doc/.wps/.xls) in groups of at most this many
# files and bytes: one LibreOffice start serves a group (measured on 10 real .doc reports: 1.0–1.2 s a file
# in one batch, 3.5–4.5 s a file one by one, on 2 busy cores), and memory holds one group, never the call.
PARSE_GROUP_FILES = 8
PARSE_GROUP_BYTES = 64 * 1024 * 1024


def _read_path(path: Path, max_bytes: int | None) -> bytes | ParsedReport:
    """A path's bytes, or the error object of a path that cannot be read: missing or no permission, not a
    regular file (a FIFO would block forever, ``/dev/zero`` never ends), too large."""
    from crawler.reading.documents.limits import read_file
    from crawler.reading.documents.model import UnreadableDocument

    try:
        return read_file(path, max_bytes)
    except UnreadableDocument as e:
        return ParsedReport(Reading(file=str(path), format=e.format, error=str(e)))
    except OSError as e:
        return ParsedReport(Reading(file=str(path), error=f"cannot open the file: {e.strerror or e}"))


def parse_paths(paths: Iterable[Path], *, max_bytes: int | None = None) -> Iterator[ParsedReport]:
    """Parse files in order, one at a time: each is looked at, read (never past ``max_bytes``, default
    ``limits.MAX_DOCUMENT_BYTES``), parsed and handed over before the next is opened, so memory holds one
    file whatever the call names — or one group of LibreOffice files, converted together."""
    from crawler.reading.documents import needs_conversion
    from crawler.reading.documents.office import OfficeConverter

    group: list[tuple[str, bytes]] = []
    with OfficeConverter() as converter:
        for path in paths:
            data = _read_path(path, max_bytes)
            if isinstance(data, bytes) and needs_conversion(data, str(path)):
                if (
                    len(group) >= PARSE_GROUP_FILES
                    or sum(len(d) for _, d in group) + len(data) > PARSE_GROUP_BYTES
                ):
                    yield from _parse_group(group, converter)
                group.append((str(path), data))
                continue
            yield from _parse_group(group, converter)  # the files named before this one come first
            yield (
                data if isinstance(data, ParsedReport) else parse_bytes(data, str(path), converter=converter)
            )
            del data
        yield from _parse_group(group, converter)


def _parse_group(group: list[tuple[str, bytes]], converter) -> Iterator[ParsedReport]:  # noqa: ANN001
    """Parse a group of LibreOffice files (converted in one run), emptying the list as it goes."""
    if len(group) > 1:
        converter.prepare(group)
    while group:
        name, data = group.pop(0)
        yield parse_bytes(data, name, converter=converter)
    converter.forget()


def run_parse(paths: list[Path], out=None, *, pretty: bool = False) -> int:  # noqa: ANN001
    """``gkwatch parse FILE...``: one JSON object per file, one per line; exit 1 if any could not be read.
    ``--pretty``: a readable summary per file instead (``pretty_report``)."""
    out = out or sys.stdout
    failed = False
    for pr in parse_paths(paths):
        failed |= pr.error is not None
        out.write(pretty_report(pr) if pretty else json.dumps(pr.to_json(), ensure_ascii=False) + "\n")
        out.flush()
    return 1 if failed else 0


# 表三's headline figures: what the report says it received and did
_HEADLINE = (
    ("s3.new_received.total", "本年新收"),
    ("s3.carried_over.total", "上年结转"),
    ("s3.granted.total", "予以公开"),
    ("s3.results_total.total", "办理结果总计"),
    ("s3.carried_forward.total", "结转下年度"),
    ("s4.review.total", "行政复议"),
    ("s4.litigation_direct.total", "行政诉讼（未经复议）"),
)


def pretty_report(pr: ParsedReport) -> str:
    """One file as a person reads it: what it is, how much of it was read, its headline figures and every
    finding in Chinese with its numbers (the rule id small at the end) — the words of the web page."""
    from domain.text import clean_text
    from monitor.status.wording import finding_lines

    r = pr.reading
    lines = [f"== {clean_text(r.file or '')}"]
    if r.error:
        lines.append(f"   无法读取：{clean_text(r.error)}")
        return "\n".join(lines) + "\n\n"
    lines.append(f"   标题：{clean_text(r.title) if r.title else '（文件中未找到）'}")
    fmt = f"{r.format}，{r.template} 版表格" if r.template else f"{r.format}，未识别出国家规定的表格"
    lines.append(
        f"   机关：{clean_text(r.agency) if r.agency else '（文件中未注明）'}   年度：{r.year or '—'}   格式：{fmt}"
    )
    cells = pr.cells
    if cells:
        filled = sum(1 for v in cells.values() if v is not None)
        lines.append(f"   读出的单元格：{filled} / {len(cells)}（其余为空或无法读成数字，从不猜为 0）")
        heads = [f"{label} {_num(cells[k])}" for k, label in _HEADLINE if cells.get(k) is not None]
        if heads:
            lines.append("   主要数字：" + " · ".join(heads))
    found = finding_lines(pr.findings)
    lines.append(f"   发现的问题：{len(found)} 项" if found else "   发现的问题：无")
    for text, rule in found:
        lines.append(f"     {clean_text(text, max_len=400)}  [{rule}]")
    return "\n".join(lines) + "\n\n"


def _num(v: float | int) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


# --- gkwatch crawl / reparse ---------------------------------------------------------------------------


def _progress(label: str):  # noqa: ANN202
    """A progress callback redrawing one line on a terminal (silent otherwise)."""
    tty = sys.stderr.isatty()

    def show(done: int, total: int) -> None:
        if tty and (done == total or done % 10 == 0):
            sys.stderr.write(f"\r\x1b[K{label} {done}/{total}" + ("\n" if done == total else ""))
            sys.stderr.flush()

    return show


def read_and_check(config: Config, *, seen_since=None, reparse_scope=None) -> int:  # noqa: ANN001
    """The reading stage (new documents, or ``reparse_scope`` = (portal ids, since)), then ``check``."""
    from crawler.reading import stage
    from monitor.status.check import run_check, summary_lines
    from storage.archive import open_archive
    from storage.db import init_db, make_engine

    engine = make_engine(config.database_url)
    try:
        init_db(engine)
        archive = open_archive(config)
        if reparse_scope is None:
            stats = stage.read_pending(
                engine, archive, config, seen_since=seen_since, progress=_progress("reading")
            )
        else:
            portals, since = reparse_scope
            stats = stage.reparse(
                engine, archive, config, portal_ids=portals, since=since, progress=_progress("re-reading")
            )
        print(f"reading: {stats.summary()}", file=sys.stderr)
        result = run_check(engine, config)
    finally:
        engine.dispose()
    for line in summary_lines(result):
        print(line, file=sys.stderr)
    return 0


def run_crawl(config: Config, agency_ids: Sequence[str] = (), portal_ids: Sequence[str] = ()) -> int:
    """``gkwatch crawl``: fetch and archive, then read what is new, then check."""
    from crawler.portal.run import run_crawl as crawl_portals

    outcome = crawl_portals(config, agency_ids, portal_ids)
    if outcome.run_id is None:
        return outcome.exit_code
    read_and_check(config, seen_since=outcome.started_at)
    return outcome.exit_code


def run_reparse(config: Config, portal_ids: Sequence[str] = (), since: date | None = None) -> int:
    """``gkwatch reparse``: read the archived documents again with the current readers, then check."""
    for pid in portal_ids:
        config.portal(pid)  # an unknown id is a configuration error
    from monitor.queue import queue_in_use

    if queue_in_use(config):  # batches for every worker (monitor.queue.reparse)
        from monitor.queue.reparse import reparse_on_queue

        return reparse_on_queue(config, list(portal_ids), since)
    return read_and_check(config, reparse_scope=(list(portal_ids), since))
