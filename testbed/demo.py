"""``gkwatch demo``: the whole service against bundled sample portals, offline, in under a minute.

The steps are the production ones, in the order the scheduler runs them, so the demo shows what gkwatch
really does rather than a canned page:

1. start the sample government portals (``testbed.simulator``) on loopback addresses 127.0.0.2 …;
2. write a ``config.yaml`` for them into a fresh data folder (SQLite database, evidence archive);
3. crawl them with ``gkwatch crawl`` in a subprocess — exactly as ``gkwatch serve`` does, because a
   Twisted reactor cannot be restarted inside one process;
4. check every agency-year (deadlines, statuses, history findings);
5. queue the alert digests and deliver them over SMTP to a local mail sink that keeps ``.eml`` files;
6. serve the web status table until Ctrl-C, with the portals still up so "start a crawl" works.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from domain.config import load_config

MARKER = ".gkwatch-demo"


def fresh_data_dir(data_dir: Path) -> Path:
    """Empty ``data_dir`` for a new demo run — but only if an earlier demo made it (never a user's folder)."""
    data_dir = data_dir.resolve()
    if data_dir.exists() and any(data_dir.iterdir()):
        if not (data_dir / MARKER).exists():
            raise SystemExit(
                f"gkwatch demo: {data_dir} exists and was not made by a demo; choose another --data-dir"
            )
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / MARKER).write_text("made by gkwatch demo; deleted and rebuilt by the next demo run\n")
    return data_dir


def _say(msg: str) -> None:
    print(f"[demo] {msg}", flush=True)


def write_demo_config(portals, data_dir: Path, *, smtp_port: int, base_url: str) -> Path:  # noqa: ANN001
    """The simulator's config, with mail going to the local sink and links pointing at the demo's page."""
    path = portals.write_config(data_dir, delay_seconds=0.0)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw.setdefault("crawl", {})["log_level"] = "WARNING"  # the demo shows progress and the summary only
    alerts = raw.setdefault("alerts", {})
    alerts["smtp"] = {"host": "127.0.0.1", "port": smtp_port, "from": "gkwatch-demo@example.org"}
    alerts["base_url"] = base_url
    alerts.setdefault("operator", "operator@example.org")
    alerts["problem_threshold"] = 1  # one demo crawl: tell the operator about blocked portals at once
    alerts["unsubscribe_secret"] = secrets.token_urlsafe(32)  # signs the unsubscribe link in every digest
    alerts.setdefault("contact", "gkwatch 演示站：operator@example.org")
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def demo_operator(engine) -> tuple[str, str]:  # noqa: ANN001
    """A one-time operator login for this demo run (a fresh random password each run, in its fresh
    database): to try the buttons — crawl a portal again, review a finding, correct a verdict, subscribers."""
    from monitor.web.accounts import set_account
    from monitor.web.auth import hash_password

    password = secrets.token_urlsafe(12)
    set_account(engine, "demo", hash_password(password), source="demo")
    return "demo", password


def run_demo_command(host: str, port: int, data_dir: Path | None, serve: bool = True) -> int:
    from monitor.alerts import deliver_outbox, queue_alerts, queue_operator_notices
    from monitor.status.check import run_check
    from storage.db import init_db, make_engine, session_scope
    from testbed.mailsink import MailSink
    from testbed.simulator import SamplePortals

    started = time.monotonic()
    data_dir = fresh_data_dir(data_dir or Path("data") / "demo")
    base_url = f"http://{host}:{port}"
    _say(f"data folder: {data_dir}")
    with SamplePortals(cases=True) as portals, MailSink(data_dir / "mail") as sink:
        config_path = write_demo_config(portals, data_dir, smtp_port=sink.port, base_url=base_url)
        config = load_config(config_path)
        _say(f"sample portals up: {', '.join(p.start_urls[0] for p in config.portals)}")
        _say(f"config written: {config_path}")

        _say("crawling (gkwatch crawl) …")
        crawl = subprocess.run([sys.executable, "-m", "monitor", "crawl", "--config", str(config_path)])
        if crawl.returncode != 0:
            _say(f"the crawl failed (exit {crawl.returncode}); see its output above")
            return crawl.returncode

        engine = make_engine(config.database_url)
        init_db(engine)
        result = run_check(engine, config)
        counts = ", ".join(f"{k} {v}" for k, v in sorted(result.counts_by_status.items()))
        _say(f"checked {len(result.rows)} agency-years: {counts}")

        with session_scope(engine) as session:
            queued = queue_alerts(session, config)
            queued += queue_operator_notices(session, config)
        delivery = deliver_outbox(engine, config)
        _say(f"alert digests: {queued} queued, {delivery.sent} delivered to {sink.folder}")
        login, password = demo_operator(engine)
        _say(f"operator login (this demo run only): {login} / {password}")
        _say(f"ready in {time.monotonic() - started:.0f} s")
        if not serve:
            return 0

        from monitor.service import serve as serve_web

        def ready(url: str) -> None:
            _say(f"open {url}  (Ctrl-C to stop)")

        try:
            asyncio.run(serve_web(config, host, port, scheduler=False, on_ready=ready))
        except KeyboardInterrupt:
            pass
    return 0
