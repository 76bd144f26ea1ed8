"""``python -m crawler.portal --config config.yaml [--portal P …] [--agency A …]``: the portal stage alone.

What ``gkwatch crawl`` runs first — fetch and archive, each portal's read recorded — without the reading
stage and ``check`` after it: for benchmarks, fault tests and looking at the crawler by itself. The exit
status is the crawl's: 0 finished, 1 interrupted or failed, 2 a configuration error.
"""

from __future__ import annotations

import argparse
import sys

from domain.config import ConfigError, load_config


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m crawler.portal", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--config", default=None, help="config.yaml (default: $GKWATCH_CONFIG, else ./config.yaml)"
    )
    p.add_argument("--portal", action="append", default=[], help="crawl this portal (repeatable)")
    p.add_argument("--agency", action="append", default=[], help="crawl this agency's portal (repeatable)")
    args = p.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as e:
        print(f"crawler.portal: {e}", file=sys.stderr)
        return 2
    from crawler.portal.run import run_crawl

    return run_crawl(config, agency_ids=args.agency, portal_ids=args.portal).exit_code


if __name__ == "__main__":
    sys.exit(main())
