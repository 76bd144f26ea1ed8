"""Reading documents in worker processes, each document under a time cap.

Reading a report (lxml, python-docx, pdfplumber, LibreOffice, OCR) is CPU work that can hang or crash on a
hostile file: a 41-byte RTF holds LibreOffice at full CPU, a C extension dies on a broken PDF. So documents
are read in worker processes (one per core by default), a few at a time (one LibreOffice start serves a
task's .doc/.wps files), and the parent watches the clock:

* a task that outlives its time cap (``seconds_per_document`` × its size) has its worker killed — with the
  worker's whole process group, LibreOffice included — and each of its documents is tried once more alone;
  a document that times out alone becomes a ``Reading`` with an ``error`` saying so, never a stalled run;
* a worker that dies (a crash, the OOM killer) is replaced the same way;
* workers read the bytes from the archive themselves (only sha256s cross the pipe) and are replaced after
  ``MAX_TASKS_PER_WORKER`` tasks, so a long reparse keeps its memory flat.

Workers are forked from a ``forkserver`` that has already imported the readers (fast start, and never a fork
of a threaded parent). ``processes=0`` reads in this process (tests, tools), without the time cap.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection, wait

from crawler.reading.model import Reading
from crawler.reading.read import read_bytes, read_many

log = logging.getLogger(__name__)

SECONDS_PER_DOCUMENT = 120.0  # a real report reads in well under 10 s; OCR of a scanned one in ~a minute
TASK_SIZE = 8  # documents per task: LibreOffice starts once per task
MAX_TASKS_PER_WORKER = 50
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # a placeholder: the reading stage stamps the time it stores


@dataclass(frozen=True)
class Job:
    """One document to read: its bytes are the archive's file ``sha256``; ``filename`` is a hint."""

    sha256: str
    filename: str | None = None


Loader = Callable[[str], bytes]  # sha256 -> the document's bytes (the archive's ``get``)


def default_workers() -> int:
    """One worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def read_jobs(jobs: list[Job], load: Loader) -> list[Reading]:
    """Read jobs in this process (the LibreOffice formats of the batch in one conversion run)."""
    items: list[tuple[str, bytes]] = []
    failed: dict[int, Reading] = {}
    for i, job in enumerate(jobs):
        try:
            items.append((job.filename or job.sha256, load(job.sha256)))
        except OSError as e:
            failed[i] = Reading(file=job.filename, error=f"the archived file cannot be read: {e}")
            items.append((job.filename or job.sha256, b""))
    readings = read_many(items) if len(items) > 1 else [read_bytes(items[0][1], items[0][0])] if items else []
    return [failed.get(i, r) for i, r in enumerate(readings)]


def _worker_main(
    conn: Connection,
    load: Loader,
    ocr: object = None,
    cap: float | None = None,
    conversion_seconds: float | None = None,
) -> None:
    """A worker: read the tasks the parent sends until it sends None (or goes away)."""
    os.setpgid(0, 0)  # its own process group: a kill at the time cap takes LibreOffice with it
    _configure_ocr(ocr, cap)
    _configure_conversions(conversion_seconds)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    while True:
        try:
            jobs = conn.recv()
        except (EOFError, OSError):
            return
        if jobs is None:
            return
        # readings travel as their table rows (lists of values, not 200 objects each): cheap to pickle
        conn.send([r.to_row("", _EPOCH) for r in read_jobs(jobs, load)])


def _configure_ocr(ocr: object, cap: float | None) -> None:
    """OCR's page cap and time budget (``config.ocr``) in this process, kept inside the pool's time cap
    per document ``cap`` so that a long scan ends with the pages read, not killed (documents.ocr)."""
    if ocr is not None or cap is not None:
        from crawler.reading.documents.ocr import configure

        configure(ocr, deadline_seconds=cap)


def _configure_conversions(seconds: float | None) -> None:
    """LibreOffice's budget per file in this process (``crawl.seconds_per_conversion``): a hostile file is
    killed at it, long before the worker's time cap per document would take the whole task."""
    if seconds is not None:
        from crawler.reading.documents.office import set_conversion_seconds

        set_conversion_seconds(seconds)


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["crawler.reading.read", "crawler.reading.documents"])
        return ctx
    return multiprocessing.get_context("spawn")


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    tasks: int = 0
    jobs: list[Job] | None = None  # the task in hand
    alone: bool = False  # the task is the retry of one document
    deadline: float = 0.0

    def kill(self) -> None:
        pid = self.process.pid
        if pid is not None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.process.join(5)
        self.conn.close()


class ReaderPool:
    """``for job, reading in pool.read(jobs): …`` — readings in the order they finish."""

    def __init__(
        self,
        load: Loader,
        processes: int | None = None,
        *,
        seconds_per_document: float = SECONDS_PER_DOCUMENT,
        task_size: int = TASK_SIZE,
        ocr: object = None,
        conversion_seconds: float | None = None,
    ):
        self.load = load
        self.ocr = ocr  # ``config.ocr``: OCR's page cap and time budget, set in every worker
        self.conversion_seconds = conversion_seconds  # ``crawl.seconds_per_conversion``, in every worker
        self.processes = default_workers() if processes is None else max(0, int(processes))
        self.seconds_per_document = seconds_per_document
        self.task_size = max(1, task_size)
        self.timeouts = 0  # documents given up at the time cap
        self.crashes = 0  # workers that died under a document
        self.workers: list[_Worker] = []  # the running workers (while ``read`` runs)

    def read(self, jobs: Iterable[Job]) -> Iterator[tuple[Job, Reading]]:
        if self.processes == 0:
            _configure_ocr(self.ocr, None)  # no time cap in this process
            _configure_conversions(self.conversion_seconds)
            for task in _tasks(jobs, self.task_size):
                yield from zip(task, read_jobs(task, self.load), strict=True)
            return
        yield from self._read_in_workers(jobs)

    def _start(self, ctx: multiprocessing.context.BaseContext) -> _Worker:
        parent, child = ctx.Pipe()
        args = (child, self.load, self.ocr, self.seconds_per_document, self.conversion_seconds)
        process = ctx.Process(target=_worker_main, args=args, daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent)

    def _read_in_workers(self, jobs: Iterable[Job]) -> Iterator[tuple[Job, Reading]]:
        ctx = _context()
        queue: deque[tuple[list[Job], bool]] = deque()  # (task, alone: a retry of one document)
        source = _tasks(jobs, self.task_size)
        workers = self.workers = [self._start(ctx) for _ in range(self.processes)]
        try:
            while True:
                for i, w in enumerate(workers):
                    if w.jobs is None:
                        if not queue:
                            nxt = next(source, None)
                            if nxt is not None:
                                queue.append((nxt, False))
                        if not queue:
                            continue
                        if w.tasks >= MAX_TASKS_PER_WORKER:
                            w.conn.send(None)
                            w.process.join(5)
                            w.conn.close()
                            workers[i] = w = self._start(ctx)
                        task, alone = queue.popleft()
                        w.jobs, w.tasks = task, w.tasks + 1
                        w.deadline = time.monotonic() + self.seconds_per_document * len(task) + 5
                        w.alone = alone
                        w.conn.send(task)
                busy = [w for w in workers if w.jobs is not None]
                if not busy:
                    return
                timeout = max(0.0, min(w.deadline for w in busy) - time.monotonic())
                ready = wait([w.conn for w in busy], timeout=timeout)
                for i, w in enumerate(workers):
                    if w.jobs is None:
                        continue
                    if w.conn in ready:
                        try:
                            readings = w.conn.recv()
                        except (EOFError, OSError):
                            readings = None
                        if readings is not None:
                            task, w.jobs = w.jobs, None
                            yield from zip(task, map(Reading.from_row, readings), strict=True)
                            continue
                        self.crashes += 1
                        yield from self._give_up(w, queue, "the reader process crashed on this document")
                        workers[i] = self._start(ctx)
                    elif time.monotonic() >= w.deadline:
                        yield from self._give_up(
                            w,
                            queue,
                            f"reading took longer than {self.seconds_per_document:.0f} s: given up",
                            timeout=True,
                        )
                        workers[i] = self._start(ctx)
        finally:
            for w in workers:
                if w.jobs is not None:
                    w.kill()
                else:
                    try:
                        w.conn.send(None)
                    except OSError:
                        pass
                    w.process.join(5)
                    if w.process.is_alive():
                        w.kill()
                    w.conn.close()

    def _give_up(
        self, w: _Worker, queue: deque, error: str, *, timeout: bool = False
    ) -> Iterator[tuple[Job, Reading]]:
        """A task failed with its worker: retry each document alone once; a lone document is given up."""
        task, alone = w.jobs or [], w.alone
        w.jobs = None
        w.kill()
        if alone:
            job = task[0]
            self.timeouts += timeout
            log.warning("reading %s (%s): %s", job.filename, job.sha256[:12], error)
            yield job, Reading(file=job.filename, error=error)
            return
        for job in task:
            queue.append(([job], True))


def _tasks(jobs: Iterable[Job], size: int) -> Iterator[list[Job]]:
    task: list[Job] = []
    for job in jobs:
        task.append(job)
        if len(task) >= size:
            yield task
            task = []
    if task:
        yield task
