"""An interrupted crawl accuses nobody (issue 9's reproduction, on the sample portals).

Measured before: a crawl of the sample portals at one request a second per site, stopped with SIGTERM after
8 s and then checked, gave 34 ``missing`` instead of 5 (29 of those agencies had published); with SIGKILL,
33; the digest that followed carried 26 false "未发布". Now a portal whose listing was not read to its end
proves nothing: its agencies are ``unknown``, and no mail says otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from domain.clock import today_shanghai
from domain.config import load_config
from monitor.alerts import queue_alerts
from storage.db import make_engine, session_scope
from tests.integration.cli import ROOT, gkwatch

pytestmark = [
    pytest.mark.slow,
    pytest.mark.libreoffice,
    pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed"),
]


def _crawl_then_kill(config: Path, sig: signal.Signals, after: float = 8.0) -> int:
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "crawl", "--config", str(config)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    time.sleep(after)
    os.killpg(proc.pid, sig) if sig == signal.SIGKILL else proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
    if sig == signal.SIGTERM:
        assert "crawl interrupted" in err and "crawl finished" not in err, err[-2000:]
    return proc.returncode


def _statuses(config: Path) -> dict[tuple[str, int], dict]:
    assert gkwatch(config, "check").returncode == 0
    out = gkwatch(config, "status", "--format", "json")
    return {(r["agency_id"], r["year"]): r for r in json.loads(out.stdout)}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_a_crawl_stopped_midway_calls_no_one_missing_and_mails_no_one(tmp_path: Path, sig: signal.Signals):
    from testbed.simulator import SamplePortals

    with SamplePortals(slow_seconds=3.0) as sim:
        config = sim.write_config(tmp_path, delay_seconds=1.0)
        truth = sim.expected(today_shanghai())
        code = _crawl_then_kill(config, sig)
        assert code != 0  # a stopped crawl never looks like a finished one

        rows = _statuses(config)
        false_missing = {
            k for k, r in rows.items() if r["status"] == "missing" and truth[k].status != "missing"
        }
        assert not false_missing, sorted(false_missing)
        false_late = {k for k, r in rows.items() if r["status"] == "late" and truth[k].status != "late"}
        assert not false_late, sorted(false_late)
        assert any(r["status"] == "unknown" for r in rows.values())  # the unread portals, honestly

        # even if a digest were made from this check, it would name no false "未发布"
        cfg = load_config(config)
        engine = make_engine(cfg.database_url)
        try:
            with session_scope(engine) as s:
                queue_alerts(s, cfg)
            from sqlmodel import Session, select

            from storage.models import Outbox

            with Session(engine) as s:
                bodies = "\n".join(m.body_text for m in s.exec(select(Outbox)))
        finally:
            engine.dispose()
        named = {a.name for a in cfg.agencies}
        wrongly = [
            name
            for (agency_id, year), e in truth.items()
            if e.status != "missing"
            for name in named
            if name == next(a.name for a in cfg.agencies if a.id == agency_id)
            and f"【未发布】{name}" in bodies
        ]
        assert not wrongly, wrongly

        # the crawl finished later: the truly missing are missing, and nothing else
        assert gkwatch(config, "crawl").returncode == 0
        after = _statuses(config)
        missing = {k for k, r in after.items() if r["status"] == "missing"}
        assert missing == {k for k, e in truth.items() if e.status == "missing"}
