"""``gkwatch demo`` end to end, as the README runs it: portals, crawl, check, mail, then the web page.

One test, one demo process: it is the slowest thing in the suite (a real crawl, real LibreOffice documents
on a cold cache), and everything after the crawl is asserted against that one run.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from testbed.mailsink import free_port
from tests.integration.evidence import evidence_gaps

pytestmark = [pytest.mark.slow, pytest.mark.libreoffice]


def _read_until(proc: subprocess.Popen, marker: str, timeout: float) -> list[str]:
    """Lines of the demo's output up to the one containing ``marker``."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        lines.append(line.rstrip("\n"))
        if marker in line:
            return lines
    raise AssertionError(f"no {marker!r} from the demo; it printed:\n" + "\n".join(lines))


def test_demo_crawls_checks_mails_and_serves(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "demo"
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "demo", "--port", str(port), "--data-dir", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines = _read_until(proc, f"http://127.0.0.1:{port}/", timeout=240)
        out = "\n".join(lines)
        assert "crawl finished" in out
        assert "checked" in out and "agency-years" in out

        # The page answers with the agencies the crawl found, and the API gives contract objects.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
            page = r.read().decode("utf-8")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=10) as r:
            rows = json.loads(r.read())
        assert len(rows) >= 30
        statuses = {row["status"] for row in rows}
        assert {"on_time", "late", "missing", "unknown", "undated", "not_due"} <= statuses  # the cases too
        assert any(row["inconsistent"] for row in rows)
        assert rows[0]["agency"] in page
        # no agency-year of the demo is late or missing without the evidence the contract names
        gaps = {(r["agency_id"], r["year"]): g for r in rows if (g := evidence_gaps(r))}
        assert not gaps, gaps
        assert not any(r["agency"] == "怀化市鹤城区人民政府" and r["status"] == "late" for r in rows)

        # Digests went through SMTP to the local sink, as multipart Chinese mail with links to evidence.
        mails = sorted((data / "mail").glob("*.eml"))
        assert mails, "no mail reached the sink"
        msg = email.message_from_bytes(mails[0].read_bytes(), policy=email.policy.default)
        assert msg.get_content_type() == "multipart/alternative"
        text = msg.get_body(preferencelist=("plain",)).get_content()
        assert f"http://127.0.0.1:{port}/agency/" in text
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0
    # The sample portals went down with the demo.
    config = (data / "config.yaml").read_text(encoding="utf-8")
    assert "127.0.0.2" in config
