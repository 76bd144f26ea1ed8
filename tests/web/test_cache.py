"""The per-process cache behind the page's counts and ``/api/status``."""

from __future__ import annotations

import threading
import time

from monitor.web.queries import TTLCache


def test_cache_expires_and_computes_once_per_key_under_concurrency():
    cache = TTLCache(seconds=0.3)
    calls: list[int] = []

    def slow() -> int:
        calls.append(1)
        time.sleep(0.1)
        return len(calls)

    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get_or_compute("k", slow))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [1] * 8 and len(calls) == 1  # single flight
    time.sleep(0.35)
    assert cache.get_or_compute("k", slow) == 2  # expired: computed again


def test_zero_seconds_means_no_caching():
    cache = TTLCache(seconds=0)
    n = iter(range(10))
    assert cache.get_or_compute("k", lambda: next(n)) == 0
    assert cache.get_or_compute("k", lambda: next(n)) == 1
