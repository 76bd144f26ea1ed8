"""``python -m testbed.simulator`` serves until interrupted, prints its URLs and writes a loadable config."""

from __future__ import annotations

import signal
import subprocess
import sys

from domain.config import load_config
from tests.conftest import ROOT
from tests.simulator.conftest import fetch


def test_module_serves_prints_urls_and_writes_config(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "testbed.simulator", "--data-dir", str(tmp_path), "--lazy"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("serving"):
                break
        zichuan = next(line for line in lines if line.startswith("zichuan"))
        url = zichuan.split()[-1]
        assert url.startswith("http://127.0.0.2:") and fetch(url).status == 200
        cfg = load_config(tmp_path / "config.yaml")
        assert cfg.portal("zichuan").start_urls == [url]
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
