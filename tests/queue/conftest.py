"""Fixtures of the job-queue tests: a PostgreSQL schema of their own per test module (other engineers' test
runs share the server), a real S3 endpoint on loopback (moto's server), the database fixtures of
tests/storage/backends.py for the status tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from storage.db import make_engine
from tests.storage.backends import (  # noqa: F401  (fixtures)
    PG_URL,
    _pg_reachable,
    backend_engine,
    db_url,
    engine,
    pg_engine_factory,
    sqlite_template,
)


@pytest.fixture(scope="module")
def pg_schema_url() -> Iterator[str]:
    """A database URL whose search path is a fresh schema (dropped afterwards): gkwatch's tables and the
    queue's live there, apart from every other test run on the same server."""
    why = _pg_reachable(PG_URL)
    if why:
        pytest.skip(why)
    schema = f"gkw_queue_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A real S3 HTTP endpoint on 127.0.0.1 (moto's threaded server), for the life of the module."""
    server_mod = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_config(s3_endpoint):
    """An ``archive.s3`` section on a new bucket of the endpoint."""
    import boto3

    from domain.config import S3Config

    bucket = f"gkwatch-{uuid.uuid4().hex[:12]}"
    boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ).create_bucket(Bucket=bucket)
    return S3Config(
        endpoint_url=s3_endpoint, bucket=bucket, prefix="gk/", access_key_id="test", secret_access_key="test"
    )
