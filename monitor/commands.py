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
from monitor.judgement.report import ParsedReport, parse_many

# --- gkwatch parse -------------------------------------------------------------------------------------


def parse_paths(paths: Iterable[Path]) -> Iterator[ParsedReport]:
    """Parse files in order; unreadable paths (missing, a folder, no permission) become error objects."""
    items: list[tuple[str, bytes | None, str | None]] = []
    for p in paths:
        try:
            items.append((str(p), p.read_bytes(), None))
        except OSError as e:
            items.append((str(p), None, f"cannot open the file: {e.strerror or e}"))
    readable = [(name, data) for name, data, _ in items if data is not None]
    parsed = iter(parse_many(readable))
    for name, data, err in items:
        yield next(parsed) if data is not None else ParsedReport(Reading(file=name, error=err))


def run_parse(paths: list[Path], out=None) -> int:  # noqa: ANN001
    """``gkwatch parse FILE...``: one JSON object per file, one per line; exit 1 if any could not be read."""
    out = out or sys.stdout
    failed = False
    for pr in parse_paths(paths):
        failed |= pr.error is not None
        out.write(json.dumps(pr.to_json(), ensure_ascii=False) + "\n")
        out.flush()
    return 1 if failed else 0


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
    from storage.archive import Archive
    from storage.db import init_db, make_engine

    engine = make_engine(config.database_url)
    try:
        init_db(engine)
        archive = Archive(config.archive_dir)
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
    return read_and_check(config, reparse_scope=(list(portal_ids), since))
