"""``gkwatch serve``: a real process on a free port, the page answers, signals stop it cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from domain.config import load_config
from monitor import scheduler as sch
from monitor.service import Service, page_url, serve
from tests.monitor.alerts_fixtures import free_port

ROOT = Path(__file__).resolve().parents[2]


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    raw = {
        "database": {"url": "sqlite:///gk.db"},
        "archive": {"dir": "archive"},
        "alerts": {"smtp": {"host": "127.0.0.1", "port": free_port()}},
        "schedule": {"first_dispatch_seconds": 3600},  # no crawl while the test looks
    }
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def start_serve(config: Path, port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "serve", "--config", str(config), "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_line(proc: subprocess.Popen, needle: str, timeout: float = 90) -> tuple[str, list[str]]:
    seen: list[str] = []
    found: list[str] = []

    def read() -> None:
        for line in proc.stdout:
            seen.append(line)
            if needle in line:
                found.append(line)
                return

    t = threading.Thread(target=read, daemon=True)
    t.start()
    t.join(timeout)
    assert found, f"{needle!r} not printed within {timeout} s; output:\n{''.join(seen)}"
    return found[0], seen


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_answers_and_stops_cleanly(tmp_path, sig):
    config = write_config(tmp_path)
    port = free_port()
    proc = start_serve(config, port)
    try:
        line, _ = wait_for_line(proc, "serving at")
        assert f"http://127.0.0.1:{port}/" in line
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
            assert r.status == 200
            assert "text/html" in r.headers["Content-Type"]
        # the scheduler runs with its jobs stored in the same database
        with sqlite3.connect(tmp_path / "gk.db") as db:
            jobs = {row[0] for row in db.execute(f"select id from {sch.JOBS_TABLE}")}
        assert jobs == {sch.DISPATCH_JOB, sch.OUTBOX_JOB}
        proc.send_signal(sig)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def test_serve_on_a_busy_port_fails_clearly(tmp_path):
    config = write_config(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "monitor", "serve", "--config", str(config), "--port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 1
    assert "could not start" in proc.stderr


def test_page_url():
    assert page_url("0.0.0.0", 80) == "http://127.0.0.1:80/"
    assert page_url("::", 8000) == "http://[::1]:8000/"
    assert page_url("127.0.0.2", 8000) == "http://127.0.0.2:8000/"


def test_in_process_serve_with_crawl_now_button(tmp_path, monkeypatch):
    """``serve`` as the demo uses it: on_ready fires once the page answers; "crawl now" runs one cycle."""
    config = load_config(write_config(tmp_path))
    cycles: list[tuple[str, bool]] = []
    release = asyncio.Event()

    async def fake_cycle(config_path: str, crawl: bool = True) -> dict:
        cycles.append((config_path, crawl))
        await release.wait()  # the cycle runs until released
        return {}

    monkeypatch.setattr(sch, "run_cycle", fake_cycle)
    answers: list = []
    service = Service(config, with_scheduler=False)

    def ready(url: str) -> None:
        async def press() -> None:
            answers.append(await asyncio.to_thread(service.trigger_crawl_now))  # as the web page calls it
            await asyncio.sleep(0.2)
            answers.append(await asyncio.to_thread(service.trigger_crawl_now))  # still running: refused
            release.set()
            await asyncio.sleep(0.1)
            os.kill(os.getpid(), signal.SIGTERM)

        answers.append(url)
        asyncio.get_running_loop().create_task(press())

    port = free_port()
    started = time.monotonic()
    asyncio.run(
        asyncio.wait_for(
            serve(config, "127.0.0.1", port, scheduler=False, on_ready=ready, service=service), 90
        )
    )
    assert answers == [f"http://127.0.0.1:{port}/", True, False]
    assert cycles == [(str(config.path.resolve()), True)]
    assert time.monotonic() - started < 85
    assert service.scheduler is None and not service._tasks  # nothing left running
