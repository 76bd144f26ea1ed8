"""Fixtures for the sample-portal simulator tests: running portals and a plain HTTP client.

The client is the standard library's, deliberately not the crawler's: these tests check what the
simulator serves on the wire (status codes, headers, raw bytes), independently of how gkwatch reads it.
"""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from testbed.simulator import SamplePortals


@dataclass
class Fetched:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


def fetch(url: str, *, method: str = "GET", data: bytes | None = None, timeout: float = 10.0) -> Fetched:
    """One request, no redirects followed, the whole body read."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if data is not None else {}
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        return Fetched(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


@pytest.fixture(scope="package")
def sim() -> SamplePortals:
    """The portals with the faults portal, shared by the read-only tests (hooks get their own)."""
    with SamplePortals(faults=True, slow_seconds=1.5) as portals:
        yield portals
