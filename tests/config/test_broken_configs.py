"""Broken config files, as people really break them: each is refused by the real ``gkwatch check`` with one
line naming the file, the key path (or line) and what is wrong — exit 2, no traceback, nothing created.

Each case replaces whole top-level sections of a valid config (tests/config/base.py); the table gives the
YAML a person wrote and the words the message must hold.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.config import ConfigError, load_config
from tests.config.base import assert_config_error, config_text, gkwatch, write

PORTAL = """\
portals:
  - id: zc
    name: 淄川区人民政府
    start_urls: ["http://127.0.0.2/xxgknb/"]
"""

CASES: list[tuple[str, str, tuple[str, ...]]] = [
    # --- unknown or misspelled keys: silently ignored, they would mean "no mail, ever" and the like
    (
        "subscriber-for-subscribers",
        "alerts:\n  subscriber:\n    - email: someone@example.org\n",
        ("alerts.subscriber:", "did you mean 'subscribers'"),
    ),
    ("unknown-section", "alert:\n  operator: ops@example.org\n", ("alert:", "unknown key", "'alerts'")),
    (
        "start-url-singular",
        "portals:\n  - id: zc\n    start_url: http://127.0.0.2/\n",
        ("portals[0].start_url:", "did you mean 'start_urls'"),
    ),
    ("crawl-typo", "crawl:\n  delay_second: 2\n", ("crawl.delay_second:", "'delay_seconds'")),
    (
        "smtp-typo",
        "alerts:\n  smtp: {host: 127.0.0.1, prot: 25}\n",
        ("alerts.smtp.prot:", "did you mean 'port'"),
    ),
    (
        "deadline-override-typo",
        "deadlines:\n  overrides:\n    - {region: 湖南省, kind: department, dué: 01-20}\n",
        ("deadlines.overrides[0]",),
    ),
    ("schedule-unknown", "schedule:\n  weekly: 1\n", ("schedule.weekly:", "unknown key")),
    (
        "agency-source-is-not-a-key",
        "agencies:\n  - {id: a, name: 甲局, portal: zc, source: discovered}\n",
        ("agencies[0].source:", "unknown key"),
    ),
    # --- wrong types
    (
        "delay-fast",
        "crawl:\n  delay_seconds: fast\n",
        ("crawl.delay_seconds:", "expected a number", "'fast'"),
    ),
    (
        "port-twenty-five",
        "alerts:\n  smtp: {host: 127.0.0.1, port: twenty-five}\n",
        ("alerts.smtp.port:", "whole number", "'twenty-five'"),
    ),
    (
        "start-urls-a-string",
        "portals:\n  - id: zc\n    start_urls: http://127.0.0.2/xxgknb/\n",
        ("portals[0].start_urls:", "expected a list"),
    ),
    ("robots-maybe", "crawl:\n  obey_robots: maybe\n", ("crawl.obey_robots:", "true or false")),
    ("port-yes", "alerts:\n  smtp: {port: yes}\n", ("alerts.smtp.port:", "number")),
    (
        "regions-a-string",
        "alerts:\n  subscribers:\n    - {email: a@example.org, regions: 山东省}\n",
        ("alerts.subscribers[0].regions:", "expected a list"),
    ),
    ("portals-a-mapping", "portals:\n  id: zc\n", ("portals:", "expected a list")),
    ("ocr-pages-many", "ocr:\n  max_pages: many\n", ("ocr.max_pages:", "whole number")),
    ("first-year-text", "deadlines:\n  first_year: twenty\n", ("deadlines.first_year:", "whole number")),
    ("infinite-timeout", "crawl:\n  timeout_seconds: .inf\n", ("crawl.timeout_seconds:", "finite")),
    # --- values out of range or not among the allowed
    (
        "unknown-platform",
        PORTAL + "    platform: wordpress\n",
        ("portals[0].platform:", "'wordpress'", "trs"),
    ),
    (
        "agency-kind",
        "agencies:\n  - {id: a, name: 甲局, kind: bureau, portal: zc}\n",
        ("agencies[0].kind:", "'bureau'", "department"),
    ),
    ("negative-delay", PORTAL + "    delay_seconds: -1\n", ("portals[0].delay_seconds:", "at least 0")),
    (
        "ftp-start-url",
        "portals:\n  - {id: zc, start_urls: ['ftp://127.0.0.2/']}\n",
        ("portals[0].start_urls[0]:", "http"),
    ),
    (
        "url-as-domain",
        PORTAL + "    allowed_domains: ['http://zichuan.gov.cn/']\n",
        ("portals[0].allowed_domains[0]:", "host name"),
    ),
    ("hour-24", "schedule:\n  hour: 24\n", ("schedule.hour:", "at most 23")),
    ("season-13-01", "schedule:\n  season_start: 13-01\n", ("schedule.season_start:", "MM-DD")),
    ("no-pages", "crawl:\n  max_pages_per_portal: 0\n", ("crawl.max_pages_per_portal:", "at least 1")),
    ("page-size-0", "web:\n  page_size: 0\n", ("web.page_size:", "at least 1")),
    ("log-level", "crawl:\n  log_level: LOUD\n", ("crawl.log_level:", "'LOUD'")),
    ("queue-concurrency", "queue:\n  concurrency: 0\n", ("queue.concurrency:", "at least 1")),
    # --- dates
    (
        "due-2025-13-45",
        "deadlines:\n  overrides:\n    - {region: 湖南省, year: 2024, due: 2025-13-45}\n",
        ("deadlines.overrides[0].due:", "'2025-13-45'", "not a date"),
    ),
    (
        "due-bare-list-form",
        "deadlines:\n  - {region: 广东省, kind: department, due: 02-30}\n",
        ("deadlines[0].due:", "'02-30'"),
    ),
    (
        "full-date-without-year",
        "deadlines:\n  overrides:\n    - {region: 湖南省, due: 2022-01-28}\n",
        ("deadlines.overrides[0]:", "exactly one year"),
    ),
    # --- e-mail addresses
    (
        "subscriber-email",
        "alerts:\n  subscribers:\n    - email: someone-at-example.org\n",
        ("alerts.subscribers[0].email:", "not a valid e-mail address"),
    ),
    ("operator-email", "alerts:\n  operator: ops@localhost\n", ("alerts.operator:", "e-mail")),
    ("from-email", "alerts:\n  smtp: {from: gkwatch}\n", ("alerts.smtp.from:", "e-mail")),
    ("base-url", "alerts:\n  base_url: gkwatch.example.org\n", ("alerts.base_url:", "http")),
    # --- the registry
    (
        "agency-missing-portal",
        "agencies:\n  - {id: a, name: 甲局, portal: nope}\n",
        ("agencies[0].portal:", "'nope'"),
    ),
    (
        "agency-without-name",
        "agencies:\n  - {id: a, portal: zc}\n",
        ("agencies[0].name:", "required"),
    ),
    (
        "duplicate-agency-id",
        "agencies:\n  - {id: a, name: 甲局}\n  - {id: a, name: 乙局}\n",
        ("agencies[1].id:", "'a'", "agencies[0]"),
    ),
    (
        "duplicate-portal-id",
        PORTAL + "  - {id: zc, start_urls: ['http://127.0.0.3/']}\n",
        ("portals[1].id:", "'zc'"),
    ),
    (
        "agencies-file-missing",
        "agencies_file: nowhere.csv\n",
        ("agencies_file:", "nowhere.csv", "does not exist"),
    ),
    # --- the rest
    ("bad-database-url", "database:\n  url: not a url\n", ("database.url:", "not a database URL")),
    ("unknown-database", "database:\n  url: sqlit:///gk.db\n", ("database.url:", "'sqlit'")),
    (
        "password-hash-missing",
        "web:\n  users:\n    - {username: alice}\n",
        ("web.users[0].password_hash:", "required"),
    ),
    ("bad-proxy", "web:\n  trusted_proxies: [10.0.0.300]\n", ("web.trusted_proxies[0]:", "IP address")),
    (
        "s3-without-bucket",
        "archive:\n  dir: archive\n  s3: {prefix: gk/}\n",
        ("archive.s3.bucket:", "required"),
    ),
    (
        "starttls-and-ssl",
        "alerts:\n  smtp: {host: 127.0.0.1, starttls: true, ssl: true}\n",
        ("alerts.smtp:", "exclude each other"),
    ),
    ("top-level-list", "- database\n- portals\n", ("top level",)),
    ("yaml-syntax", "portals: [\n  - id: zc\n", ("line ",)),
    ("tab-indent", "crawl:\n\tdelay_seconds: 1\n", ("line ", "tab")),
]


def test_the_table_is_at_least_the_issue_s_32_kinds() -> None:
    assert len(CASES) >= 32
    assert len({name for name, _, _ in CASES}) == len(CASES)


def test_the_base_config_is_valid(tmp_path: Path) -> None:
    """Control: each broken case is broken by its own snippet, not by the rest of the file."""
    cfg = load_config(write(tmp_path, config_text()))
    assert [p.id for p in cfg.portals] == ["zc"] and cfg.alerts.subscribers[0].email == "someone@example.org"
    res = gkwatch("check", "--config", str(tmp_path / "config.yaml"))
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "gk.db").exists()  # the same command does create the database on a good config


@pytest.mark.parametrize(("snippet", "needles"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_broken_config_is_one_line_and_exit_2(
    tmp_path: Path, snippet: str, needles: tuple[str, ...]
) -> None:
    path = write(tmp_path, config_text(snippet))
    with pytest.raises(ConfigError):
        load_config(path)
    res = gkwatch("check", "--config", str(path))
    assert_config_error(res, str(path), *needles)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]  # no database, no archive
