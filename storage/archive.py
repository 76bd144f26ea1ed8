"""The evidence archive: raw fetched bytes stored once, by their sha256.

``data/archive/ab/cd/abcd…`` — content-addressed, so a report fetched twice unchanged costs nothing and a
changed report is simply another file. Writes go through a temporary file and an atomic rename, so an
interrupted crawl never leaves a half-written blob under a valid name.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


class Archive:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

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
