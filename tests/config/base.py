"""A valid config.yaml that each broken case changes in one place, and running ``gkwatch`` on it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import ROOT

BASE = """\
database:
  url: sqlite:///gk.db
archive:
  dir: archive
portals:
  - id: zc
    name: 淄川区人民政府
    start_urls: ["http://127.0.0.2/xxgknb/"]
    allowed_domains: [127.0.0.2]
agencies:
  - id: zc-zsj
    name: 淄川区招商局
    aliases: [区招商局]
    kind: department
    region: 山东省/淄博市/淄川区
    portal: zc
alerts:
  smtp: {host: 127.0.0.1, port: 25, from: gkwatch@example.org}
  subscribers:
    - email: someone@example.org
      regions: [山东省]
"""


def config_text(snippet: str = "") -> str:
    """BASE with the top-level sections that ``snippet`` names put in place of BASE's own (others kept).

    The snippet's text is appended verbatim (never parsed here), so each case keeps its exact spelling —
    ``2025-13-45``, ``twenty-five``, a tab, a syntax error.
    """
    replaced = set(re.findall(r"^([^\s#:-][^:]*):", snippet, re.M))
    if snippet.lstrip().startswith("- "):  # a case about the top level itself
        return snippet
    kept = {k: v for k, v in yaml.safe_load(BASE).items() if k not in replaced}
    return yaml.safe_dump(kept, allow_unicode=True, sort_keys=False) + snippet


def write(folder: Path, text: str, encoding: str = "utf-8") -> Path:
    path = folder / "config.yaml"
    path.write_bytes(text.encode(encoding))
    return path


def gkwatch(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m monitor ARGS`` as a user runs it; ``$GKWATCH_CONFIG`` only where ``env`` gives it."""
    base_env = {k: v for k, v in os.environ.items() if k != "GKWATCH_CONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        cwd=cwd,
        env={**base_env, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_config_error(res: subprocess.CompletedProcess, *needles: str) -> str:
    """Exit 2, one line on stderr that holds every needle, no traceback, nothing on stdout."""
    assert res.returncode == 2, (res.returncode, res.stderr)
    assert "Traceback" not in res.stderr, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    line = lines[0]
    assert line.startswith("gkwatch: configuration error: "), line
    for needle in needles:
        assert needle in line, (needle, line)
    assert res.stdout == ""
    return line
