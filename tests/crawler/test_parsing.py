"""Parsing in worker processes: the same result as in this process, and a killed worker does not lose it."""

from __future__ import annotations

import asyncio
import os
import signal

from crawler.reading.workers import ParserPool, parse_document
from tests.conftest import read_sample

SAMPLE = "zichuan_zsj_2020.txt"
DAMAGED_DOCX = b"PK\x03\x04" + b"\x00" * 200  # a zip header, then nothing


def test_workers_parse_exactly_what_this_process_parses():
    data = read_sample(SAMPLE)
    pool = ParserPool(processes=2)

    async def both():
        return await asyncio.gather(pool.parse(data, SAMPLE), pool.parse(DAMAGED_DOCX, "x.docx"))

    try:
        good, bad = asyncio.run(both())
    finally:
        pool.close()
    assert good == parse_document(data, SAMPLE)
    assert good.error is None and good.year == 2020 and good.cells
    assert bad.error and bad == parse_document(DAMAGED_DOCX, "x.docx")  # an error, not an exception


def test_a_killed_worker_is_replaced_and_the_document_still_parsed():
    data = read_sample(SAMPLE)
    pool = ParserPool(processes=1)
    try:
        first = asyncio.run(pool.parse(data, SAMPLE))
        (pid,) = pool._executor._processes  # the one worker (as the OOM killer would pick it)
        os.kill(pid, signal.SIGKILL)
        again = asyncio.run(pool.parse(data, SAMPLE))
        assert pid not in pool._executor._processes  # a new pool, a new worker
    finally:
        pool.close()
    assert again == first and again.error is None


def test_in_thread_mode_needs_no_processes():
    pool = ParserPool(processes=0)
    try:
        parsed = asyncio.run(pool.parse(read_sample(SAMPLE), SAMPLE))
    finally:
        pool.close()
    assert parsed.year == 2020 and parsed.error is None
