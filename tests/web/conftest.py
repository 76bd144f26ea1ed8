from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from domain.config import Config
from monitor.web import create_app
from storage.db import make_engine
from tests.web.seed import PASSWORD, REPORT_HTML, Seeded, seed, web_section


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory) -> Path:  # noqa: ANN001
    """The seeded SQLite database and archive, built once; each test gets a copy."""
    root = tmp_path_factory.mktemp("web-template")
    s = seed(root)
    with s.engine.connect() as c:
        c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    s.engine.dispose()
    return root


@pytest.fixture
def seeded(seeded_template: Path, tmp_path: Path) -> Seeded:
    shutil.copy(seeded_template / "web.db", tmp_path / "web.db")
    shutil.copytree(seeded_template / "archive", tmp_path / "archive")
    config = Config(
        path=tmp_path / "config.yaml",
        database_url=f"sqlite:///{tmp_path / 'web.db'}",
        archive_dir=tmp_path / "archive",
        web=web_section(users=True),
    )
    return Seeded(
        config=config,
        engine=make_engine(config.database_url),
        archive_sha=hashlib.sha256(REPORT_HTML).hexdigest(),
    )


@pytest.fixture
def client(seeded: Seeded) -> TestClient:
    return TestClient(create_app(seeded.config, engine=seeded.engine))


def login(client: TestClient, username: str = "alice", password: str = PASSWORD):  # noqa: ANN201
    """Log in through the real form (CSRF token read from the page)."""
    page = client.get("/login")
    token = csrf_from(page.text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf": token, "next": "/"},
        follow_redirects=False,
    )


def csrf_from(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)
