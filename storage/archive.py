"""The evidence archive: raw fetched bytes stored once, by their sha256.

``ab/cd/abcd…`` — content-addressed, so a report fetched twice unchanged costs nothing and a changed report
is simply another file. Two stores keep the same keys:

* ``Archive`` — a folder (``archive.dir``): writes go through a temporary file and an atomic rename, so an
  interrupted crawl never leaves a half-written blob under a valid name;
* ``S3Archive`` — an S3-compatible bucket (``archive.s3``: AWS, MinIO, Ceph …), for workers on several
  machines (``gkwatch worker``) that must all reach every document. An object appears whole or not at all
  (S3 PUT is atomic), and the bucket checks each upload against its sha256 (``ChecksumSHA256``), so a
  corrupted transfer is refused instead of stored under the digest of other bytes. The key layout is the
  folder's (``prefix`` + ``ab/cd/abcd…``): an existing archive folder moves to a bucket with a plain sync.

Both answer ``put``, ``get``, ``has``, ``path_for`` (a file path, or the object key), ``stream`` (the bytes in
chunks, for the web page's download) and ``local_path`` (the file to hand to a file response, or None).
A document that is not there raises ``FileNotFoundError`` from either; a bucket that cannot be reached
raises ``ArchiveUnavailable`` (an ``OSError``, as a failing disk would).
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from domain.config import Config, S3Config

CHUNK_BYTES = 1024 * 1024


class ArchiveUnavailable(OSError):
    """The archive's store could not be reached or refused the request (not: the document is absent)."""


def _key(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


class Archive:
    """The archive in a local (or mounted) folder."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        return self.root / _key(sha256)

    def put(self, data: bytes, sha256: str | None = None) -> str:
        """Store bytes (if new) and return their sha256.

        ``sha256``: the digest of ``data`` when the caller already has it (the crawler hashes each response
        once, to look its version up before parsing), so that large bodies are not hashed twice.
        """
        digest = sha256 or hashlib.sha256(data).hexdigest()
        path = self.path_for(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return digest

    def get(self, sha256: str) -> bytes:
        return self.path_for(sha256).read_bytes()

    def has(self, sha256: str) -> bool:
        return self.path_for(sha256).exists()

    def local_path(self, sha256: str) -> Path | None:
        path = self.path_for(sha256)
        return path if path.is_file() else None

    def stream(self, sha256: str, chunk: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The file in chunks; it is opened at once (a missing file raises here, not later)."""
        f = self.path_for(sha256).open("rb")

        def chunks() -> Iterator[bytes]:
            with f:
                while block := f.read(chunk):
                    yield block

        return chunks()


class S3Archive:
    """The archive in an S3-compatible bucket (boto3).

    Picklable (the reading stage hands ``archive.get`` to its worker processes): the client is made lazily
    in each process that uses it — a boto3 client must not cross a fork.
    """

    def __init__(self, s3: S3Config):
        self.s3 = s3
        self.prefix = s3.prefix
        self._client: Any = None
        self._pid = 0

    def __getstate__(self) -> dict[str, Any]:
        return {"s3": self.s3, "prefix": self.prefix, "_client": None, "_pid": 0}

    @property
    def client(self) -> Any:
        if self._client is None or self._pid != os.getpid():
            import boto3
            from botocore.config import Config as BotoConfig

            s = self.s3
            self._client = boto3.session.Session().client(
                "s3",
                endpoint_url=s.endpoint_url,
                region_name=s.region or "us-east-1",
                aws_access_key_id=s.access_key_id,
                aws_secret_access_key=s.secret_access_key,
                config=BotoConfig(
                    s3={"addressing_style": s.addressing_style},
                    retries={"max_attempts": 5, "mode": "standard"},
                    connect_timeout=s.timeout_seconds,
                    read_timeout=s.timeout_seconds,
                ),
            )
            self._pid = os.getpid()
        return self._client

    def path_for(self, sha256: str) -> str:
        """The object's key in the bucket (the folder archive's relative path, under ``prefix``)."""
        return self.prefix + _key(sha256)

    def _call(self, method: str, sha256: str, **kw: Any) -> Any:
        """One request; a missing object is FileNotFoundError, every other failure ArchiveUnavailable."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, method)(Bucket=self.s3.bucket, Key=self.path_for(sha256), **kw)
        except ClientError as e:
            err = e.response.get("Error", {})
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if err.get("Code") in ("NoSuchKey", "404", "NotFound") or status == 404:
                raise FileNotFoundError(f"not in the archive bucket: {self.path_for(sha256)}") from None
            raise ArchiveUnavailable(f"S3 {method} {self.path_for(sha256)}: {err.get('Code')}") from e
        except BotoCoreError as e:
            raise ArchiveUnavailable(f"S3 {method} {self.path_for(sha256)}: {e}") from e

    def has(self, sha256: str) -> bool:
        try:
            self._call("head_object", sha256)
        except FileNotFoundError:
            return False
        return True

    def put(self, data: bytes, sha256: str | None = None) -> str:
        """Store bytes (if new) and return their sha256; the bucket verifies them against it."""
        digest = sha256 or hashlib.sha256(data).hexdigest()
        if not self.has(digest):
            checksum = base64.b64encode(bytes.fromhex(digest)).decode("ascii")
            self._call(
                "put_object",
                digest,
                Body=data,
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=checksum,
                ContentType="application/octet-stream",
            )
        return digest

    def get(self, sha256: str) -> bytes:
        body = self._call("get_object", sha256)["Body"]
        try:
            return body.read()
        finally:
            body.close()

    def local_path(self, sha256: str) -> Path | None:
        return None

    def stream(self, sha256: str, chunk: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The object in chunks; the request is made at once (a missing object raises here, not later)."""
        body = self._call("get_object", sha256)["Body"]

        def chunks() -> Iterator[bytes]:
            try:
                yield from body.iter_chunks(chunk)
            finally:
                body.close()

        return chunks()


ArchiveStore = Archive | S3Archive


def open_archive(config: Config) -> ArchiveStore:
    """The configured archive: the bucket of ``archive.s3`` when given, else the folder ``archive.dir``."""
    if config.archive_s3 is not None:
        return S3Archive(config.archive_s3)
    return Archive(config.archive_dir)
