"""The archive in an S3-compatible bucket (a real S3 endpoint on loopback: moto's server): the folder's content
addressing, worker processes reading from it, the web page streaming from it, and the config keys."""

from __future__ import annotations

import hashlib
import pickle
import random
import socket
from pathlib import Path

import pytest

from crawler.reading.workers import Job, ReaderPool
from domain.config import Config, ConfigError, S3Config, load_config
from storage.archive import Archive, ArchiveUnavailable, S3Archive, open_archive
from testbed.render import ReportSpec, render_html
from testbed.synthetic import consistent_cells


def _count_puts(archive: S3Archive) -> list[str]:
    puts: list[str] = []
    archive.client.meta.events.register(
        "before-send.s3.PutObject", lambda request, **_: puts.append(request.url)
    )
    return puts


def test_s3_archive_is_content_addressed_like_the_folder(s3_config, tmp_path):
    archive = S3Archive(s3_config)
    folder = Archive(tmp_path)
    data = random.Random(7).randbytes(3 * 1024 * 1024 + 5)  # more than one stream chunk
    puts = _count_puts(archive)
    digest = archive.put(data)
    assert digest == hashlib.sha256(data).hexdigest() == folder.put(data)
    # same keys as the folder's relative paths, under the prefix: a plain sync moves an archive over
    assert archive.path_for(digest) == "gk/" + folder.path_for(digest).relative_to(tmp_path).as_posix()
    assert archive.has(digest) and archive.get(digest) == data
    chunks = list(archive.stream(digest))
    assert len(chunks) > 1 and b"".join(chunks) == data
    assert archive.put(data, digest) == digest
    assert len(puts) == 1  # stored once: the second put found it there
    assert archive.local_path(digest) is None and folder.local_path(digest) is not None


def test_a_missing_document_is_file_not_found_in_both_stores(s3_config, tmp_path):
    absent = "0" * 64
    for archive in (S3Archive(s3_config), Archive(tmp_path)):
        assert not archive.has(absent)
        with pytest.raises(FileNotFoundError):
            archive.get(absent)
        with pytest.raises(FileNotFoundError):
            archive.stream(absent)


def test_an_unreachable_bucket_is_archive_unavailable_not_absent():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    archive = S3Archive(
        S3Config(
            endpoint_url=f"http://127.0.0.1:{port}",
            bucket="gone",
            access_key_id="a",
            secret_access_key="b",
            timeout_seconds=2,
        )  # fmt: skip
    )
    with pytest.raises(ArchiveUnavailable) as e:
        archive.has("0" * 64)
    assert isinstance(e.value, OSError)


def test_reader_processes_read_documents_from_the_bucket(s3_config):
    """The reading stage hands ``archive.get`` to forked reader processes: the S3 archive crosses over."""
    archive = S3Archive(s3_config)
    archive.client  # noqa: B018  (a client made in this process must not be what the children use)
    clone = pickle.loads(pickle.dumps(archive))
    assert clone._client is None
    spec = ReportSpec(
        template="2021", year=2024, agency="淄川区招商局", cells=consistent_cells("2021", random.Random(3))
    )
    sha = archive.put(render_html(spec))
    pool = ReaderPool(archive.get, 1)
    ((job, reading),) = list(pool.read([Job(sha, "report.html")]))
    assert reading.error is None, reading.error
    assert reading.year == 2024 and reading.template == "2021"


def test_open_archive_chooses_the_configured_store(s3_config, tmp_path):
    assert isinstance(open_archive(Config(archive_dir=tmp_path)), Archive)
    assert isinstance(open_archive(Config(archive_dir=tmp_path, archive_s3=s3_config)), S3Archive)


def test_the_web_page_streams_archived_files_from_the_bucket(s3_config, tmp_path):
    from fastapi.testclient import TestClient

    from monitor.web.app import create_app

    config = Config(
        path=tmp_path / "config.yaml", database_url=f"sqlite:///{tmp_path / 'gk.db'}", archive_s3=s3_config
    )
    data = "<html>淄川区招商局2024年报</html>".encode() * 50_000  # 1.8 MB: streamed in chunks
    sha = S3Archive(s3_config).put(data)
    with TestClient(create_app(config)) as client:
        r = client.get(f"/archive/{sha}")
        assert r.status_code == 200 and r.content == data
        assert r.headers["content-disposition"].startswith("attachment")
        assert r.headers["x-content-type-options"] == "nosniff"
        assert client.get(f"/archive/{'1' * 64}").status_code == 404


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_archive_s3_and_queue_keys_are_checked(tmp_path):
    cfg = load_config(
        _write(
            tmp_path,
            "archive:\n  s3: {endpoint_url: 'http://127.0.0.1:9000', bucket: gk, addressing_style: path}\n"
            "queue: {enabled: true, concurrency: 2, retry_attempts: 3, read_batch_documents: 20}\n",
        )
    )
    assert cfg.archive_s3.bucket == "gk" and cfg.archive_s3.addressing_style == "path"
    assert (cfg.queue.concurrency, cfg.queue.retry_attempts, cfg.queue.read_batch_documents) == (2, 3, 20)
    for bad, said in (
        ("archive:\n  s3: {bucket: gk, addressing_style: sideways}\n", "archive.s3.addressing_style"),
        ("archive:\n  s3: {bucket: gk, access_key_id: x}\n", "both access_key_id and secret_access_key"),
        ("queue: {heartbeat_seconds: 30, stalled_after_seconds: 10}\n", "longer than heartbeat_seconds"),
        ("queue: {standby_retry_secs: 3}\n", "did you mean 'standby_retry_seconds'"),
    ):
        with pytest.raises(ConfigError, match=said):
            load_config(_write(tmp_path, bad))


def test_gkwatch_worker_refuses_a_database_without_the_queue(tmp_path, capsys):
    from monitor.cli import main

    path = _write(
        tmp_path, f"database: {{url: 'sqlite:///{tmp_path / 'gk.db'}'}}\nqueue: {{enabled: true}}\n"
    )
    assert main(["worker", "--config", str(path)]) == 2
    assert "needs PostgreSQL" in capsys.readouterr().err
    path = _write(tmp_path, "database: {url: 'postgresql+psycopg://u@127.0.0.1/db'}\n")
    assert main(["worker", "--config", str(path)]) == 2
    assert "queue.enabled" in capsys.readouterr().err
