"""Reading in worker processes: the same readings as in this process, a killed worker loses nothing, and a
document that takes too long is given up with a reason instead of stalling the run."""

from __future__ import annotations

import os
import signal
import threading
import time

from crawler.reading.read import read_bytes
from crawler.reading.workers import Job, ReaderPool
from tests.conftest import read_sample

SAMPLE = "zichuan_zsj_2020.txt"
DAMAGED_DOCX = b"PK\x03\x04" + b"\x00" * 200  # a zip header, then nothing


class Store:
    """A stand-in archive: sha256 → bytes (a module-level class, so workers can unpickle it)."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files

    def get(self, sha256: str) -> bytes:
        if sha256 == "sleep":
            time.sleep(60)
        return self.files[sha256]


def _files() -> dict[str, bytes]:
    return {"good": read_sample(SAMPLE), "bad": DAMAGED_DOCX}


def test_workers_read_exactly_what_this_process_reads():
    files = _files()
    pool = ReaderPool(Store(files).get, processes=2)
    got = dict((job.sha256, r) for job, r in pool.read([Job("good", SAMPLE), Job("bad", "x.docx")]))
    assert got["good"] == read_bytes(files["good"], SAMPLE)
    assert got["good"].error is None and got["good"].year == 2020 and got["good"].cells
    assert got["bad"].error and got["bad"] == read_bytes(DAMAGED_DOCX, "x.docx")  # an error, not an exception


def test_a_killed_worker_is_replaced_and_the_document_still_read():
    files = _files()
    pool = ReaderPool(Store(files).get, processes=1, task_size=1)
    killed: list[int] = []

    def kill_first_worker() -> None:
        # as the OOM killer would: the worker, while it reads
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not killed:
            busy = [w.process.pid for w in pool.workers if w.jobs is not None and w.process.pid]
            if busy:
                os.kill(busy[0], signal.SIGKILL)
                killed.append(busy[0])
                return
            time.sleep(0.001)

    jobs = [Job("good", SAMPLE)] * 3
    threading.Thread(target=kill_first_worker, daemon=True).start()
    results = list(pool.read(jobs))
    assert len(results) == 3 and killed
    assert all(r.error is None and r.year == 2020 for _, r in results)


def test_a_document_over_the_time_cap_is_given_up_and_the_rest_read():
    pool = ReaderPool(Store(_files()).get, processes=1, seconds_per_document=1.0, task_size=2)
    started = time.monotonic()
    got = dict((job.sha256, r) for job, r in pool.read([Job("sleep", "slow.txt"), Job("good", SAMPLE)]))
    assert time.monotonic() - started < 30
    assert "longer than 1 s" in got["sleep"].error
    assert got["good"].error is None and got["good"].year == 2020
    assert pool.timeouts == 1


def test_in_process_mode_needs_no_processes():
    pool = ReaderPool(Store(_files()).get, processes=0)
    ((_, reading),) = list(pool.read([Job("good", SAMPLE)]))
    assert reading.year == 2020 and reading.error is None
