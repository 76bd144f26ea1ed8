"""``gkwatch serve``: the web status page and the scheduler, together on one asyncio loop.

One loop, one process: uvicorn serves the FastAPI app (``monitor.web.app.create_app``) and APScheduler's
``AsyncIOScheduler`` (``monitor.scheduler``) fires its jobs on the same loop. The heavy work — crawls and
checks — runs in child processes, so the page stays responsive while they run.

``Service`` holds what one running service has (its scheduler, its loop, the tasks it started) and hands the
web app what the app needs from it — the "crawl now" trigger — so that no route imports the service.

With the job queue (PostgreSQL, ``queue.enabled``: ``monitor.queue``) the service crawls nothing itself: its
dispatcher defers crawl jobs that ``gkwatch worker`` processes run, and several services may share one
database — only the one holding the scheduler lock (``monitor.queue.leader``) runs its scheduler; the others
serve the web page and stand by, asking for the lock every ``queue.standby_retry_seconds``.

Signals: uvicorn's own handling is replaced by ours (``_Server.capture_signals``), because uvicorn restores
the previous handlers on exit and re-raises the signal, which would kill the process on SIGTERM before the
scheduler is stopped. Here SIGINT/SIGTERM ask the server to finish its requests, then the scheduler stops
(its running jobs are cancelled, their child processes terminated), then ``serve`` returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import uvicorn

from domain.config import Config
from monitor import scheduler as schedule
from monitor.queue import queue_in_use

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 60.0


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """``serve`` installs the handlers (see the module docstring)."""
        yield


def page_url(host: str, port: int) -> str:
    """The URL a person opens: a wildcard bind is reached on loopback; IPv6 literals need brackets."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}/"


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:  # noqa: S310 - our own loopback server
            return r.status < 500
    except urllib.error.HTTPError as e:
        return e.code < 500
    except OSError:
        return False


async def _announce(server: uvicorn.Server, url: str, on_ready: Callable[[str], None] | None) -> None:
    """Print the URL once the page really answers (not merely once the socket is bound)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT_S
    while loop.time() < deadline and not server.should_exit:
        if server.started and await asyncio.to_thread(_answers, url):
            print(f"gkwatch: serving at {url}", flush=True)
            if on_ready is not None:
                on_ready(url)
            return
        await asyncio.sleep(0.1)
    if not server.should_exit:
        log.error("the web page did not answer at %s within %.0f s", url, READY_TIMEOUT_S)


def _install_signal_handlers(loop: asyncio.AbstractEventLoop, server: uvicorn.Server) -> Callable[[], None]:
    """SIGINT/SIGTERM: finish gracefully; a second SIGINT: stop at once. Main thread only."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def _stop(sig: signal.Signals) -> None:
        if server.should_exit and sig == signal.SIGINT:
            server.force_exit = True
        server.should_exit = True
        log.info("received %s: shutting down", sig.name)

    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, _stop, sig)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not on this platform / loop
            pass

    def restore() -> None:
        for sig in installed:
            loop.remove_signal_handler(sig)

    return restore


class Service:
    """One running ``gkwatch serve``: its scheduler (or none, as in the demo) on the loop it runs on."""

    LEAD_CHECK_SECONDS = 5.0  # how often the acting scheduler makes sure it still holds the lock

    def __init__(self, config: Config, *, with_scheduler: bool = True) -> None:
        self.config = config
        self.with_scheduler = with_scheduler
        self.queue = queue_in_use(config)  # workers crawl; this service defers jobs
        self.scheduler = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Future] = set()
        self._lead: asyncio.Task | None = None
        self._paused = False

    @property
    def acting(self) -> bool:
        """Whether this service's scheduler runs (with the job queue: it holds the scheduler lock)."""
        return self.scheduler is not None and self.scheduler.running

    def start(self, *, paused: bool = False) -> None:
        """Start the scheduler on the running loop (its job stores open, its jobs installed); with the job
        queue, start asking for the scheduler lock instead (the scheduler starts once it is held)."""
        self.loop = asyncio.get_running_loop()
        if not self.with_scheduler:
            return
        self._paused = paused
        if self.queue:
            self._lead = asyncio.create_task(self._stand_by_or_act(), name="gkwatch scheduler lock")
        else:
            self._start_scheduler()

    def _start_scheduler(self) -> None:
        self.scheduler = schedule.build_scheduler(self.config)
        self.scheduler.start(paused=True)  # job stores open: stored jobs can be looked up before any runs
        dispatch = "monitor.queue.schedule:dispatch" if self.queue else schedule.DISPATCH_REF
        schedule.install_jobs(self.scheduler, self.config, dispatch)
        if not self._paused:
            self.scheduler.resume()

    def _stop_scheduler(self) -> None:
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.scheduler = None

    async def _stand_by_or_act(self) -> None:
        """Act while holding the scheduler lock; stand by (asking again now and then) while another does."""
        from monitor.queue.leader import SchedulerLock

        lock = SchedulerLock(self.config.database_url)
        standby = self.config.queue.standby_retry_seconds
        try:
            while True:
                if self.scheduler is None:
                    if await lock.acquire():
                        log.info("this service is the acting scheduler of its database")
                        self._start_scheduler()
                elif not await lock.held():
                    log.warning("the scheduler lock is lost (database session ended): standing by")
                    self._stop_scheduler()
                await asyncio.sleep(min(standby, self.LEAD_CHECK_SECONDS) if self.scheduler else standby)
        finally:
            self._stop_scheduler()
            await lock.release()

    def stop(self) -> None:
        self._stop_scheduler()
        if self._lead is not None:
            self._lead.cancel()
        for task in list(self._tasks):
            task.cancel()

    async def aclose(self) -> None:
        """Stop, and wait until the scheduler lock (if held) is given back."""
        self.stop()
        if self._lead is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._lead
            self._lead = None

    def trigger_crawl_now(self, portal_id: str | None = None) -> bool:
        """Start a crawl cycle right away (the web page's button) — of every portal, or of ``portal_id``
        alone; False when one is queued or running.

        With the scheduler, a one-off job; without it (the demo), a task on the service's loop. Safe from any
        thread (the web app runs sync routes in a thread pool).
        """
        if self.loop is None or self.loop.is_closed():
            log.warning("trigger_crawl_now: the service is not running")
            return False
        portals = [portal_id] if portal_id else None
        if self.queue and self.with_scheduler:
            return self._crawl_jobs_now(portals)
        if self.scheduler is not None and self.scheduler.running:
            return schedule.queue_crawl_now(self.scheduler, self.config, portal_id)
        if any(not t.done() for t in self._tasks):
            return False
        config_path = str(Path(self.config.path).resolve())
        only = {"portal_ids": portals} if portals else {}
        cycle = schedule.run_cycle(config_path, True, **only)
        fut = asyncio.run_coroutine_threadsafe(cycle, self.loop)
        self._tasks.add(fut)  # type: ignore[arg-type]
        fut.add_done_callback(self._tasks.discard)  # type: ignore[arg-type]
        return True

    def _crawl_jobs_now(self, portals: list[str] | None = None) -> bool:
        """With the job queue: a crawl job for each portal (or each of ``portals``) without one (any
        service may defer)."""
        from monitor.queue.schedule import crawl_now

        config_path = str(Path(self.config.path).resolve())
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:  # on the loop itself: cannot wait for the answer here
            task = self.loop.create_task(crawl_now(config_path, portals))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return True
        fut = asyncio.run_coroutine_threadsafe(crawl_now(config_path, portals), self.loop)
        return bool(fut.result(timeout=60))

    def app(self):  # noqa: ANN201 - a FastAPI app
        """The web app, handed the crawl trigger and the test mail of this service."""
        from monitor.web.app import create_app

        app = create_app(self.config, crawl_trigger=self.trigger_crawl_now)
        app.state.web.test_mail = self.send_test_mail
        return app

    def send_test_mail(self, email: str) -> str:
        """A test mail to one subscriber, now (the subscribers page's button); the outcome in words."""
        from monitor.alerts import send_test_mail
        from storage.db import make_engine

        engine = make_engine(self.config.database_url)
        try:
            return send_test_mail(self.config, engine, email)
        finally:
            engine.dispose()


async def serve(
    config: Config,
    host: str,
    port: int,
    *,
    scheduler: bool = True,
    on_ready: Callable[[str], None] | None = None,
    service: Service | None = None,
) -> None:
    """Serve the web page (and run the scheduler) until SIGINT/SIGTERM; reusable by ``gkwatch demo``.

    ``service``: the service to run (tests hold it to press its buttons); a new one by default."""
    if scheduler:
        schedule.schedule_settings(config)  # a bad ``schedule:`` fails here, before anything starts
    service = service or Service(config, with_scheduler=scheduler)
    # proxy_headers off: uvicorn would otherwise take X-Forwarded-For from any loopback peer as the client
    # address; the app believes it only from ``web.trusted_proxies`` (monitor.web.auth.client_address).
    server = _Server(
        uvicorn.Config(
            service.app(), host=host, port=port, log_level="info", access_log=False, proxy_headers=False
        )
    )
    loop = asyncio.get_running_loop()
    restore = _install_signal_handlers(loop, server)
    announce = asyncio.create_task(_announce(server, page_url(host, port), on_ready))
    try:
        service.start()
        await server.serve()
    finally:
        announce.cancel()
        await service.aclose()
        await asyncio.sleep(0)  # the scheduler's shutdown runs on the loop's next turn
        restore()


def run_serve_command(config: Config, host: str, port: int) -> int:
    """``gkwatch serve``: 0 after a clean shutdown, 1 when the server could not start."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # a dozen lines of set-up on every start otherwise
    try:
        asyncio.run(serve(config, host, port))
    except SystemExit as e:  # uvicorn exits when it cannot bind or the app fails to start
        if e.code in (0, None):
            return 0
        print(
            f"gkwatch serve: could not start the web server on {host}:{port} (port in use?)", file=sys.stderr
        )
        return 1
    return 0
