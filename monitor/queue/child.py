"""``python -m monitor.queue.child --config PATH --portal ID``: the portal stage of one crawl job.

What ``gkwatch crawl --portal ID`` runs first (fetch, archive, the portal's read recorded), in a child of the
worker — without the reading stage and the check after it: the crawl job queues the portal's documents for
every worker to read, and one settle job checks once for all portals.

It dies with its worker: on Linux the kernel sends it SIGTERM when the worker process ends
(``PR_SET_PDEATHSIG``; elsewhere a thread watches the parent), so a worker killed with SIGKILL does not leave
a crawl running that nobody waits for. SIGTERM ends the crawl gracefully: its run and the portal's read are
recorded as interrupted and the portal's lock is released at once — the job, put back in the queue by
another worker, crawls it again. The exit status is the crawl's: 0 finished, 1 interrupted or failed,
2 a configuration error.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """SIGTERM to this process when its parent ends (and now, if it has already ended)."""
    parent = os.getppid()
    armed = False
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    if not armed:

        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(1.0)
            os.kill(os.getpid(), signal.SIGTERM)

        threading.Thread(target=watch, name="gkwatch-parent-watch", daemon=True).start()
    if os.getppid() != parent or parent == 1:  # orphaned before the death signal was armed
        os.kill(os.getpid(), signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m monitor.queue.child", description=__doc__.split("\n\n")[0])
    p.add_argument("--config", required=True)
    p.add_argument("--portal", required=True)
    args = p.parse_args(argv)
    die_with_parent()
    from domain.config import ConfigError, load_config

    try:
        config = load_config(args.config)
    except ConfigError as e:
        print(f"gkwatch worker: {e}", file=sys.stderr)
        return 2
    from crawler.portal.run import run_crawl

    return run_crawl(config, portal_ids=[args.portal]).exit_code


if __name__ == "__main__":
    sys.exit(main())
