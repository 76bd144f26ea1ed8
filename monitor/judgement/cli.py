"""``gkwatch parse FILE...``: one JSON object per file, one per line (contract: "gkwatch parse output object").

Exit 0 when every file was read (findings are not errors), 1 when any file could not be read at all.
Word-processor files that need LibreOffice are converted in one batch, so LibreOffice starts once per run
rather than once per file.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from crawler.reading.parse import ParsedReport, parse_many


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
        yield next(parsed) if data is not None else ParsedReport(file=name, error=err)


def run_parse(paths: list[Path], out=None) -> int:
    out = out or sys.stdout
    failed = False
    for pr in parse_paths(paths):
        failed |= pr.error is not None
        out.write(json.dumps(pr.to_json(), ensure_ascii=False) + "\n")
        out.flush()
    return 1 if failed else 0
