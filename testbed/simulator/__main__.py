"""``python -m testbed.simulator [--faults] [--cases] [--data-dir D]``: serve the sample portals until Ctrl-C,
print their URLs and write a config.yaml that points gkwatch at them."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from testbed.simulator.portals import SamplePortals


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m testbed.simulator", description=__doc__)
    ap.add_argument("--faults", action="store_true", help="also serve the faults portal (127.0.0.6)")
    ap.add_argument(
        "--cases", action="store_true", help="also serve the evidence-case portals (127.0.0.8, 127.0.0.9)"
    )
    ap.add_argument("--data-dir", type=Path, default=Path("data/simulator"), help="where config.yaml goes")
    ap.add_argument("--delay", type=float, default=0.0, help="crawl.delay_seconds written to the config")
    ap.add_argument("--lazy", action="store_true", help="render attachments on first request, not at start")
    args = ap.parse_args(argv)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with SamplePortals(faults=args.faults, cases=args.cases, prepare=not args.lazy) as sim:
        config = sim.write_config(args.data_dir, delay_seconds=args.delay)
        for p in sim.portals:
            state = sim.hosts[p.id].state
            note = " (robots.txt forbids all)" if p.robots_disallow_all else ""
            print(f"{p.id:10} {p.name:12} {state:8} {' '.join(sim.start_urls(p.id))}{note}")
        print(f"config: {config}")
        print("serving until Ctrl-C", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
