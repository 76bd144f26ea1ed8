"""Parsing crawled documents off the reactor, in worker processes.

Reading a report (lxml, python-docx, pdfplumber, the table recognizer) is pure-Python CPU work: in threads
it holds the GIL and starves the reactor and the store, so fetching slows to the parser's pace. A pool of
worker processes (one per core but one, created once per crawl) parses in parallel instead: a heavy
document (a long PDF, a spreadsheet) never stalls fetching. ``parse_bytes`` is a pure function of
bytes → ``ParsedReport``, so only bytes go in and a picklable dataclass comes out.

Workers are forked from a ``forkserver`` that has already imported the parser (fast start, and never a
fork of the threaded reactor process). A worker that dies (a crash in a C extension, the OOM killer)
breaks the pool: it is replaced and the document tried again; a document that keeps killing workers
becomes a ``parse_failed`` report, never a stalled crawl. Workers leave by themselves when the crawl
process is killed outright.

As with any ``multiprocessing`` start method but fork, a script that runs a crawl must guard its entry
point (``if __name__ == "__main__":``); ``gkwatch``, ``python -m monitor`` and ``scrapy`` do.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import resource
import signal
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from crawler.reading.parse import ParsedReport, parse_bytes

log = logging.getLogger(__name__)

ATTEMPTS = 2  # a document is tried this often in a fresh pool before it counts as crashing the parser
WATCH_SECONDS = 1.0  # how often a worker checks that the crawl that started it still runs


def default_workers() -> int:
    """One worker per core this process may run on, less the core the crawl itself keeps busy.

    Measured on 2 cores (bench/bench_crawl.py, first crawl): 1 worker 62 pages/s, 2 workers 57, in a
    thread 41 — a second worker only competes with the reactor and the store for the same cores.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


def parse_document(data: bytes, filename: str) -> ParsedReport:
    """What a worker runs (module-level, so it pickles by name)."""
    return parse_bytes(data, filename)


def _parse_measured(data: bytes, filename: str) -> tuple[ParsedReport, float, int]:
    """``parse_document``, the CPU seconds it took and the process's peak memory (KB) after it: what
    parsing costs a crawl, for its stats (workers are not the crawl's children: rusage cannot see them)."""
    start = time.thread_time()  # this thread's CPU only: in-thread mode shares the process with the reactor
    parsed = parse_document(data, filename)
    return parsed, time.thread_time() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (one we may not signal counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _exit_with(crawl_pid: int) -> None:
    """A worker's watch on the crawl process: a crawl killed outright (SIGKILL, OOM) cannot shut its pool
    down, and the workers, holding their own queue's ends, would wait for work forever."""
    while pid_alive(crawl_pid):
        time.sleep(WATCH_SECONDS)
    os._exit(0)


def _worker_init(crawl_pid: int) -> None:
    # Ctrl-C reaches the whole process group: the crawl's own shutdown decides, workers keep parsing
    # what is in flight instead of dying with a KeyboardInterrupt (which would break the pool).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(crawl_pid,), daemon=True, name="watch-crawl").start()


def _warm_up() -> int:
    return os.getpid()


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])
        return ctx
    return multiprocessing.get_context("spawn")


class ParserPool:
    """``await pool.parse(data, filename)`` from the reactor's asyncio loop.

    ``processes=0`` parses in one thread of this process instead (no extra processes: small runs, or
    where processes are not allowed).
    """

    def __init__(self, processes: int | None = None):
        self.processes = default_workers() if processes is None else max(0, int(processes))
        self._executor: Executor | None = None
        self._generation = 0
        self.cpu_seconds = 0.0  # spent parsing, in whichever process did it
        self.peak_kb = 0  # the largest peak memory of a process that parsed

    def _make(self) -> Executor:
        if self.processes == 0:
            return ThreadPoolExecutor(max_workers=1, thread_name_prefix="gkwatch-parse")
        return ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=_context(),
            initializer=_worker_init,
            initargs=(os.getpid(),),
        )

    def start(self) -> None:
        """Create the pool and start its workers now (while the first listing pages are fetched)."""
        if self._executor is None:
            self._executor = self._make()
            for _ in range(max(self.processes, 1)):
                self._executor.submit(_warm_up)

    def _replace(self, generation: int) -> None:
        """A worker died: every future of that pool failed; the first to notice builds a new pool."""
        if generation != self._generation:
            return  # already replaced
        old, self._executor = self._executor, self._make()
        self._generation += 1
        if old is not None:
            old.shutdown(wait=False, cancel_futures=True)

    async def parse(self, data: bytes, filename: str) -> ParsedReport:
        self.start()
        for attempt in range(1, ATTEMPTS + 1):
            generation, executor = self._generation, self._executor
            assert executor is not None
            try:
                future = executor.submit(_parse_measured, data, filename)
                parsed, cpu, peak_kb = await asyncio.wrap_future(future)
                self.cpu_seconds += cpu
                self.peak_kb = max(self.peak_kb, peak_kb)
                return parsed
            except BrokenProcessPool as e:
                log.warning("parser worker died reading %s (attempt %d): %s", filename, attempt, e)
                self._replace(generation)
            except Exception as e:  # parse_bytes should not raise; if it does, the report is still kept
                log.exception("parser failed on %s", filename)
                return ParsedReport(file=filename, error=f"parser error: {type(e).__name__}: {e}")
        return ParsedReport(file=filename, error="the parser process crashed on this document")

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
