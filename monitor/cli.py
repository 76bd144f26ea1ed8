"""The ``gkwatch`` command line (contract: docs/contract.md, "Command line").

Each sub-command is a thin wrapper: argument parsing here, the work in the module it names, imported
lazily so that ``gkwatch parse`` starts without loading Scrapy or the web stack.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path

from domain.config import ConfigError, default_config_path, load_config


def _iso_date(s: str) -> date:
    try:
        return date.fromisoformat(s)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {s!r}") from e


def _config_option(default: object) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        default=default,
        help="config file (default: $GKWATCH_CONFIG, else ./config.yaml)",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gkwatch",
        description="Watchdog for 政府信息公开工作年度报告: who published late, who never did, whose report does not add up.",
        parents=[_config_option(None)],
    )
    # ``--config`` is accepted before and after the command; the sub-command's copy must not overwrite
    # one given before it with its default (argparse would), hence SUPPRESS there
    common = _config_option(argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sp = sub.add_parser("parse", parents=[common], help="parse report documents, print JSON Lines")
    sp.add_argument("files", nargs="+", type=Path, metavar="FILE")

    sp = sub.add_parser("crawl", parents=[common], help="crawl the configured portals")
    sp.add_argument("--agency", action="append", default=[], metavar="ID", help="only this agency's portal")
    sp.add_argument("--portal", action="append", default=[], metavar="ID", help="only this portal")

    sp = sub.add_parser("reparse", parents=[common], help="read the archived documents again, then check")
    sp.add_argument(
        "--portal", action="append", default=[], metavar="ID", help="only this portal's documents"
    )
    sp.add_argument(
        "--since", type=_iso_date, default=None, metavar="DATE", help="only documents fetched since"
    )

    sp = sub.add_parser("check", parents=[common], help="recompute every agency-year's status (no network)")
    sp.add_argument("--as-of", type=_iso_date, default=None, metavar="DATE")

    sp = sub.add_parser("status", parents=[common], help="print the status table")
    sp.add_argument("--year", type=int, default=None)
    sp.add_argument("--as-of", type=_iso_date, default=None, metavar="DATE")
    sp.add_argument("--format", choices=("table", "json", "csv"), default="table")

    for name, help_ in (
        ("serve", "run the scheduler and the web page"),
        ("demo", "offline demo on sample portals"),
    ):
        sp = sub.add_parser(name, parents=[common], help=help_)
        sp.add_argument("--host", default="127.0.0.1")
        sp.add_argument("--port", type=int, default=8000)
        if name == "demo":
            sp.add_argument("--data-dir", type=Path, default=None, help="where the demo keeps its database")
            sp.add_argument("--no-serve", action="store_true", help="stop after crawl, check and mail")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "parse":
            from monitor.commands import run_parse

            return run_parse(args.files)

        if args.command == "demo":  # writes its own config
            from testbed.demo import run_demo_command

            return run_demo_command(
                host=args.host, port=args.port, data_dir=args.data_dir, serve=not args.no_serve
            )

        # no config file is an error, never "no portals yet": a fresh empty database would be the result
        config = load_config(args.config or default_config_path())
        if args.command == "crawl":
            from monitor.commands import run_crawl

            return run_crawl(config, agency_ids=args.agency, portal_ids=args.portal)
        if args.command == "reparse":
            from monitor.commands import run_reparse

            return run_reparse(config, portal_ids=args.portal, since=args.since)
        if args.command == "check":
            from monitor.status.check import run_check_command

            return run_check_command(config, as_of=args.as_of)
        if args.command == "status":
            from monitor.status.table import run_status_command

            return run_status_command(config, year=args.year, as_of=args.as_of, fmt=args.format)
        if args.command == "serve":
            from monitor.service import run_serve_command

            return run_serve_command(config, host=args.host, port=args.port)
    except ConfigError as e:
        print(f"gkwatch: configuration error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # ``gkwatch status | head``: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
