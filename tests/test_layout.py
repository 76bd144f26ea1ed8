"""The one-way flow of docs/layout.md holds: import-linter's contracts (pyproject.toml) are kept, and the
layout page names every package the contracts name."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def test_layout_page_lists_every_layer():
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c["id"] == "flow")["layers"]
    page = (ROOT / "docs" / "layout.md").read_text(encoding="utf-8")
    for layer in layers:
        for package in layer.split("|"):
            assert f"`{package.strip()}`" in page, package
