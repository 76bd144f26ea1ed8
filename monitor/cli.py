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

from domain.clock import FIRST_DAY, FIRST_YEAR, LAST_DAY, LAST_YEAR
from domain.config import ConfigError, default_config_path, load_config


def _iso_date(s: str) -> date:
    """A day within 2000-01-01 … 2100-12-31 (``domain.clock``): beyond, deadline arithmetic overflows."""
    try:
        day = date.fromisoformat(s)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {s[:40]!r}") from e
    if not FIRST_DAY <= day <= LAST_DAY:
        raise argparse.ArgumentTypeError(f"{s[:40]!r} is not between {FIRST_DAY} and {LAST_DAY}")
    return day


def _year(s: str) -> int:
    """A report year within 2000–2100 (``domain.clock``)."""
    try:
        year = int(s) if s.isascii() and len(s) <= 12 else None
    except ValueError:
        year = None
    if year is None or not FIRST_YEAR <= year <= LAST_YEAR:
        raise argparse.ArgumentTypeError(f"{s[:40]!r} is not a year between {FIRST_YEAR} and {LAST_YEAR}")
    return year


def _positive(s: str) -> int:
    """A whole number from 1 to 1000."""
    n = int(s) if s.isascii() and s.isdigit() and len(s) <= 4 else 0
    if not 1 <= n <= 1000:
        raise argparse.ArgumentTypeError(f"{s[:40]!r} is not a whole number from 1 to 1000")
    return n


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
    sp.add_argument(
        "--pretty", action="store_true", help="a readable summary per file (Chinese) instead of JSON Lines"
    )

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
    sp.add_argument("--year", type=_year, default=None)
    sp.add_argument("--as-of", type=_iso_date, default=None, metavar="DATE")
    sp.add_argument("--format", choices=("table", "json", "csv"), default="table")

    sp = sub.add_parser(
        "worker",
        parents=[common],
        help="run crawl jobs from the shared job queue (PostgreSQL); start any number, on any number of machines",
    )
    sp.add_argument(
        "--queue",
        action="append",
        default=[],
        choices=("crawl", "read"),
        help="take only these jobs (repeatable; default both): crawl = portals, read = documents (OCR where installed)",
    )
    sp.add_argument(
        "--concurrency",
        type=_positive,
        default=None,
        metavar="N",
        help="jobs at a time (default queue.concurrency)",
    )

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

    sp = sub.add_parser("user", parents=[common], help="operators who may log in to the web page")
    users = sp.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    add = users.add_parser("add", parents=[common], help="add an operator (or give one a new password)")
    add.add_argument("name", metavar="NAME")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input (one line)"
    )
    remove = users.add_parser(
        "remove", parents=[common], help="deactivate an operator (their web sessions end at once)"
    )
    remove.add_argument("name", metavar="NAME")
    users.add_parser("list", parents=[common], help="list the operators")
    _with_examples(p, sub)
    return p


# what ``gkwatch COMMAND --help`` shows under "examples"
EXAMPLES = {
    "": """examples:
  gkwatch demo                                   everything, offline, on sample portals
  gkwatch crawl && gkwatch status --year 2024    crawl the configured portals, then look
  gkwatch parse --pretty report.docx             what one report says, and what is wrong with it
  gkwatch user add alice                         an operator for the web page (asks for a password)
  gkwatch serve --host 0.0.0.0 --port 8000       the service: schedule, mail and the web page""",
    "parse": """examples:
  gkwatch parse report.docx report.pdf           one JSON object per file (JSON Lines)
  gkwatch parse --pretty report.docx             a readable summary: template, year, agency, findings
  gkwatch parse *.doc | jq .findings             the findings of many files""",
    "crawl": """examples:
  gkwatch crawl                                  every configured portal
  gkwatch crawl --portal zichuan                  one portal
  gkwatch crawl --agency zichuan-zsj             the portal of one agency""",
    "reparse": """examples:
  gkwatch reparse                                every archived document, with the current readers
  gkwatch reparse --portal zichuan --since 2025-01-01""",
    "check": """examples:
  gkwatch check                                  as of today (Asia/Shanghai)
  gkwatch check --as-of 2025-02-01               as of a day: deadlines judged on that day""",
    "status": """examples:
  gkwatch status --year 2024                     a table fitted to the terminal, Chinese status words
  gkwatch status --format csv > status.csv       the web page's CSV export (UTF-8 with BOM, for Excel)
  gkwatch status --format json --as-of 2025-04-01 | jq '.[] | select(.status == "missing")'""",
    "serve": """examples:
  gkwatch serve                                  http://127.0.0.1:8000/
  gkwatch serve --host 0.0.0.0 --port 80""",
    "demo": """examples:
  gkwatch demo                                   http://127.0.0.1:8000/ (prints a one-time operator login)
  gkwatch demo --no-serve --data-dir /tmp/demo   crawl, check and mail only""",
    "user": """examples:
  gkwatch user add alice                         asks for the password twice (on a terminal)
  printf '%s\\n' "$PASSWORD" | gkwatch user add alice --password-stdin
  gkwatch user remove alice                      deactivated; logged out everywhere at once
  gkwatch user list""",
}


def _with_examples(p: argparse.ArgumentParser, sub) -> None:  # noqa: ANN001
    """Examples under each command's help (kept in one table, above)."""
    for name, text in EXAMPLES.items():
        parser = p if not name else sub.choices.get(name)
        if parser is not None:
            parser.epilog = text
            parser.formatter_class = argparse.RawDescriptionHelpFormatter


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "parse":
            from monitor.commands import run_parse

            return run_parse(args.files, pretty=args.pretty)

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
        if args.command == "worker":
            from monitor.queue.worker import run_worker_command

            return run_worker_command(config, queues=args.queue, concurrency=args.concurrency)
        if args.command == "user":
            return run_user_command(config, args)
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


def read_password(from_stdin: bool) -> str | None:
    """The new password: one line of standard input, or typed twice on a terminal (never echoed)."""
    import getpass

    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        print(
            "gkwatch user add: no terminal to ask for the password on; use --password-stdin", file=sys.stderr
        )
        return None
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        print("gkwatch user add: the two entries differ", file=sys.stderr)
        return None
    return first


MIN_PASSWORD = 10


def run_user_command(config, args) -> int:  # noqa: ANN001
    """``gkwatch user add NAME [--password-stdin]``, ``gkwatch user remove NAME`` and ``gkwatch user list``
    (accounts in the database)."""
    import re

    from monitor.web.accounts import operator_hashes, remove_account, set_account
    from monitor.web.auth import hash_password
    from storage.db import init_db, make_engine

    engine = make_engine(config.database_url)
    try:
        init_db(engine)
        if args.user_command == "list":
            for name in sorted(operator_hashes(engine)):
                print(name)
            return 0
        if args.user_command == "remove":
            if not remove_account(engine, args.name.strip()):
                print(f"gkwatch user remove: no active operator {args.name.strip()!r}", file=sys.stderr)
                return 1
            print(f"operator {args.name.strip()} deactivated; their web sessions have ended")
            return 0
        name = args.name.strip()
        if not re.fullmatch(r"[\w.@-]{1,64}", name):
            print("gkwatch user add: a name is 1–64 letters, digits, '.', '@', '-' or '_'", file=sys.stderr)
            return 2
        password = read_password(args.password_stdin)
        if password is None:
            return 2
        if len(password) < MIN_PASSWORD:
            print(
                f"gkwatch user add: the password must have at least {MIN_PASSWORD} characters",
                file=sys.stderr,
            )
            return 2
        new = set_account(engine, name, hash_password(password), source="cli")
    finally:
        engine.dispose()
    print(f"operator {name} {'added' if new else 'given a new password'}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
