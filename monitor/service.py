"""``gkwatch serve``: the web status page and the scheduler, together on one asyncio loop.

One loop, one process: uvicorn serves the FastAPI app (``monitor.web.app.create_app``) and APScheduler's
``AsyncIOScheduler`` (``monitor.scheduler``) fires its jobs on the same loop. The heavy work — crawls and
checks — runs in child processes, so the page stays responsive while they run.

``Service`` holds what one running service has (its scheduler, its loop, the tasks it started) and hands the
web app what the app needs from it — the "crawl now" trigger — so that no route imports the service.

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

    def __init__(self, config: Config, *, with_scheduler: bool = True) -> None:
        self.config = config
        self.with_scheduler = with_scheduler
        self.scheduler = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Future] = set()

    def start(self, *, paused: bool = False) -> None:
        """Start the scheduler on the running loop (its job stores open, its jobs installed)."""
        self.loop = asyncio.get_running_loop()
        if not self.with_scheduler:
            return
        self.scheduler = schedule.build_scheduler(self.config)
        self.scheduler.start(paused=True)  # job stores open: stored jobs can be looked up before any runs
        schedule.install_jobs(self.scheduler, self.config)
        if not paused:
            self.scheduler.resume()

    def stop(self) -> None:
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.scheduler = None
        for task in list(self._tasks):
            task.cancel()

    def trigger_crawl_now(self) -> bool:
        """Start a crawl cycle right away (the web page's button); False when one is queued or running.

        With the scheduler, a one-off job; without it (the demo), a task on the service's loop. Safe from any
        thread (the web app runs sync routes in a thread pool).
        """
        if self.loop is None or self.loop.is_closed():
            log.warning("trigger_crawl_now: the service is not running")
            return False
        if self.scheduler is not None and self.scheduler.running:
            return schedule.queue_crawl_now(self.scheduler, self.config)
        if any(not t.done() for t in self._tasks):
            return False
        config_path = str(Path(self.config.path).resolve())
        fut = asyncio.run_coroutine_threadsafe(schedule.run_cycle(config_path, True), self.loop)
        self._tasks.add(fut)  # type: ignore[arg-type]
        fut.add_done_callback(self._tasks.discard)  # type: ignore[arg-type]
        return True

    def app(self):  # noqa: ANN201 - a FastAPI app
        """The web app, handed the crawl trigger of this service."""
        from monitor.web.app import create_app

        return create_app(self.config, crawl_trigger=self.trigger_crawl_now)


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
    server = _Server(uvicorn.Config(service.app(), host=host, port=port, log_level="info", access_log=False))
    loop = asyncio.get_running_loop()
    restore = _install_signal_handlers(loop, server)
    announce = asyncio.create_task(_announce(server, page_url(host, port), on_ready))
    try:
        service.start()
        await server.serve()
    finally:
        announce.cancel()
        service.stop()
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
