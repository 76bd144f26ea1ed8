"""The bytes of every sample report, rendered once and cached.

HTML, text, .docx and .xlsx render in milliseconds; .doc, .wps, .pdf and .xls go through LibreOffice (seconds
each), so their bytes are also kept on disk under a cache folder, keyed by a hash of everything that
decides them (the spec, the format, the renderer's source). Tests and ``gkwatch demo`` then start fast,
and an edited report (a new spec) simply gets a new key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import threading
from pathlib import Path

from testbed import render as render_module
from testbed.render import ReportSpec, render
from testbed.simulator.content import report_spec
from testbed.simulator.scenario import CORRUPT, LIBREOFFICE_FORMATS, ReportEntry, Scenario

log = logging.getLogger(__name__)

_CONTENT = re.compile(r'<div class="content">\n?(.*)\n?</div>\s*</body>', re.S)


def default_cache_dir() -> Path:
    env = os.environ.get("GKWATCH_SIMULATOR_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gkwatch" / "simulator"


def _renderer_fingerprint() -> str:
    try:
        return hashlib.sha256(Path(render_module.__file__).read_bytes()).hexdigest()[:16]
    except OSError:  # pragma: no cover - an installed package without sources
        return "unknown"


class DocumentStore:
    """Report bytes by (spec, format): in memory, and on disk for the slow formats."""

    def __init__(self, scenario: Scenario, cache_dir: Path | None = None) -> None:
        self.scenario = scenario
        self.cache_dir = cache_dir if cache_dir is not None else default_cache_dir()
        self._memory: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._fingerprint = _renderer_fingerprint()

    def spec(self, r: ReportEntry) -> ReportSpec:
        return report_spec(self.scenario, r)

    def _key(self, spec: ReportSpec, fmt: str) -> str:
        data = json.dumps(
            {"fmt": fmt, "spec": dataclasses.asdict(spec), "renderer": self._fingerprint},
            sort_keys=True,
            ensure_ascii=False,
            default=str,
        )
        return hashlib.sha256(data.encode("utf-8")).hexdigest()

    def render(self, spec: ReportSpec, fmt: str) -> bytes:
        key = self._key(spec, fmt)
        hit = self._memory.get(key)
        if hit is not None:
            return hit
        with self._lock:  # one LibreOffice conversion at a time; a second asker waits for the first
            hit = self._memory.get(key)
            if hit is not None:
                return hit
            path = self.cache_dir / f"{key}.{fmt}"
            if fmt in LIBREOFFICE_FORMATS and path.is_file():
                data = path.read_bytes()
            else:
                data = render(spec, fmt)
                if fmt in LIBREOFFICE_FORMATS:
                    self._save(path, data)
            self._memory[key] = data
            return data

    def _save(self, path: Path, data: bytes) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)  # atomic: a concurrent reader never sees half a file
        except OSError as e:  # a read-only home: run without the disk cache
            log.warning("simulator: cannot cache %s: %s", path, e)

    def body_html(self, r: ReportEntry) -> str:
        """The report's HTML (title, sections, tables) to embed in a portal's article page."""
        page = self.render(self.spec(r), "html").decode("utf-8")
        m = _CONTENT.search(page)
        if not m:  # pragma: no cover - the renderer changed its page shape
            raise RuntimeError("testbed.render.render_html no longer wraps the report in div.content")
        return m.group(1)

    def attachment(self, r: ReportEntry) -> bytes:
        """The attached file in ``r.fmt``; a CORRUPT report's file is a .docx cut in half."""
        if CORRUPT in r.defects:
            whole = self.render(self.spec(r), "docx")
            return whole[: len(whole) // 2]
        return self.render(self.spec(r), r.fmt)

    def prepare(self) -> None:
        """Render every attachment now: LibreOffice formats missing from the disk cache in one soffice run
        per conversion (seconds in all, instead of seconds each), then everything else."""
        from crawler.reading.documents.office import convert_batch
        from testbed.render import CONVERTED_FORMATS

        todo: dict[tuple[str, str], list[tuple[str, Path, ReportSpec]]] = {}
        for r in self.scenario.reports:
            if r.fmt in LIBREOFFICE_FORMATS and CORRUPT not in r.defects:
                spec = self.spec(r)
                key = self._key(spec, r.fmt)
                path = self.cache_dir / f"{key}.{r.fmt}"
                if key not in self._memory and not path.is_file():
                    todo.setdefault(CONVERTED_FORMATS[r.fmt], []).append((key, path, spec))
        for (source, target), items in todo.items():
            unique = {key: (path, spec) for key, path, spec in items}
            datas = convert_batch([render(spec, source) for _, spec in unique.values()], source, target)
            with self._lock:
                for (key, (path, _)), data in zip(unique.items(), datas, strict=True):
                    self._memory[key] = data
                    self._save(path, data)
        for r in self.scenario.reports:
            if r.fmt != "html":
                self.attachment(r)
