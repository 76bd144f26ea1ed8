"""Loading config.yaml: the encodings, duplicate keys, the agencies file (CSV/GBK/.xlsx) with its lines, the
README's example, a missing file, and the typed sections the rest of gkwatch reads."""

from __future__ import annotations

import re
from datetime import date
from ipaddress import ip_address
from pathlib import Path

import openpyxl
import pytest

from domain.config import (
    PLATFORMS,
    AgencyConfig,
    Config,
    ConfigError,
    CrawlConfig,
    PortalConfig,
    Subscriber,
    _ConfigFile,
    _Section,
    _section_at,
    load_config,
)
from monitor.scheduler import ScheduleSettings, schedule_settings
from monitor.status.deadlines import DeadlineEngine, parse_override
from monitor.web.settings import web_settings
from tests.config.base import assert_config_error, config_text, gkwatch, write
from tests.conftest import ROOT

HEADER = "id,name,aliases,kind,region,portal\n"


# --- the file itself ------------------------------------------------------------------------------------


def test_a_config_saved_in_gbk_is_refused_with_its_line(tmp_path: Path) -> None:
    text = config_text()
    path = write(tmp_path, text, encoding="gbk")
    first_chinese = next(
        n for n, line in enumerate(text.splitlines(), 1) if re.search(r"[\u4e00-\u9fff]", line)
    )
    line = assert_config_error(gkwatch("check", "--config", str(path)), str(path), "UTF-8", "GBK")
    assert f"line {first_chinese}:" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]


def test_utf8_with_a_byte_order_mark_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + config_text().encode("utf-8"))
    assert load_config(path).agencies[0].name == "淄川区招商局"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("portals: []\ncrawl:\n  delay_seconds: 1\nportals: []\n", 4),  # a whole section twice
        ("crawl:\n  delay_seconds: 1\n  obey_robots: true\n  delay_seconds: 9\n", 4),  # a key inside one
        ("portals:\n  - id: zc\n    start_urls: [http://a.example/]\n    id: zc2\n", 4),  # inside a list item
    ],
)
def test_a_key_given_twice_is_refused(tmp_path: Path, text: str, line: int) -> None:
    path = write(tmp_path, text)
    assert_config_error(gkwatch("check", "--config", str(path)), str(path), f"line {line}", "duplicate key")


def test_yaml_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    text = config_text(
        "portals:\n  - &p {id: a, start_urls: ['http://a.example/']}\n  - {<<: *p, id: b}\nagencies: []\n"
    )
    assert [p.id for p in load_config(write(tmp_path, text)).portals] == ["a", "b"]


def test_missing_config_file_is_an_error_for_every_command_that_needs_one(tmp_path: Path) -> None:
    for args in (["check"], ["status"], ["crawl"], ["reparse"], ["serve", "--port", "1"]):
        res = gkwatch(*args, cwd=tmp_path)  # no ./config.yaml, no $GKWATCH_CONFIG
        assert_config_error(res, "config.yaml", "no such config file")
    res = gkwatch("check", cwd=tmp_path, env={"GKWATCH_CONFIG": str(tmp_path / "gone.yaml")})
    assert_config_error(res, str(tmp_path / "gone.yaml"), "no such config file")
    res = gkwatch("--config", str(tmp_path / "typo.yaml"), "status", cwd=tmp_path)
    assert_config_error(res, "typo.yaml", "no such config file")
    assert list(tmp_path.iterdir()) == []  # no database made anywhere


def test_parse_needs_no_config(tmp_path: Path) -> None:
    doc = tmp_path / "r.txt"
    doc.write_text("淄川区招商局2020年政府信息公开工作年度报告\n", encoding="utf-8")
    res = gkwatch("parse", str(doc), cwd=tmp_path)
    assert res.returncode in (0, 1) and "configuration error" not in res.stderr
    assert '"file"' in res.stdout


def test_gkwatch_config_names_the_file_used(tmp_path: Path) -> None:
    path = write(tmp_path, config_text("crawl:\n  delay_seconds: fast\n"))
    res = gkwatch("check", cwd=tmp_path, env={"GKWATCH_CONFIG": str(path)})
    assert_config_error(res, str(path), "crawl.delay_seconds")


def test_secrets_are_not_repeated_in_messages(tmp_path: Path) -> None:
    path = write(tmp_path, config_text("alerts:\n  smtp: {host: 127.0.0.1, password: [hunter2]}\n"))
    with pytest.raises(ConfigError, match=r"alerts\.smtp\.password") as e:
        load_config(path)
    assert "hunter2" not in str(e.value)
    path = write(tmp_path, config_text("database:\n  url: 'postgresq://gk:hunter2@db.example.org/gk'\n"))
    with pytest.raises(ConfigError, match="database.url") as e:
        load_config(path)
    assert "hunter2" not in str(e.value)


# --- the agencies file ----------------------------------------------------------------------------------


def _with_file(tmp_path: Path, name: str) -> Path:
    return write(tmp_path, config_text(f"agencies_file: {name}\n"))


def test_a_csv_row_with_a_bad_kind_names_the_file_and_line(tmp_path: Path) -> None:
    rows = HEADER + "zc-a,甲局,,department,山东省,zc\n" + '"zc-b","乙局","别名一;\n别名二",bureau,山东省,zc\n'
    (tmp_path / "agencies.csv").write_bytes(rows.encode("gbk"))
    path = _with_file(tmp_path, "agencies.csv")
    line = assert_config_error(
        gkwatch("check", "--config", str(path)), str(tmp_path / "agencies.csv"), "line 3", "kind", "'bureau'"
    )
    assert "config.yaml" not in line.split("agencies.csv")[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agencies.csv", "config.yaml"]


@pytest.mark.parametrize(
    ("rows", "needles"),
    [
        (HEADER + "zc-a,,,department,山东省,zc\n", ("line 2", "name", "required")),
        (HEADER + "zc-a,甲局,,department,山东省,nope\n", ("line 2", "portal", "'nope'")),
        (HEADER + "zc-zsj,又一个招商局,,department,山东省,zc\n", ("line 2", "'zc-zsj'", "agencies[0]")),
        ("id,name,alias\nzc-a,甲局,x\n", ("line 1", "'alias'", "did you mean 'aliases'")),
        ("name,kind\n甲局,department\n", ("line 1", "'id'")),
        (HEADER + "zc-a,甲局,,department,山东省,zc,extra\n", ("line 2", "7 cells")),
    ],
    ids=["no-name", "missing-portal", "duplicate-of-config", "unknown-column", "no-id-column", "extra-cell"],
)
def test_broken_csv_rows(tmp_path: Path, rows: str, needles: tuple[str, ...]) -> None:
    (tmp_path / "agencies.csv").write_text(rows, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(_with_file(tmp_path, "agencies.csv"))
    message = str(e.value)
    assert str(tmp_path / "agencies.csv") in message and "\n" not in message
    for needle in needles:
        assert needle in message, (needle, message)


def _xlsx(path: Path, *rows: list[object]) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER.strip().split(","))
    for r in rows:
        ws.append(r)
    wb.save(path)


def test_an_xlsx_registry_loads_with_numeric_ids(tmp_path: Path) -> None:
    _xlsx(
        tmp_path / "agencies.xlsx",
        [370302, "淄川区般阳路街道办事处", "般阳路街道", "township", "山东省/淄博市/淄川区", "zc"],
        [None, None, None, None, None, None],  # an empty row in the middle is skipped
        ["zc-gov", "淄川区人民政府", "区政府；区人民政府", "government", "山东省/淄博市/淄川区", "zc"],
    )
    cfg = load_config(_with_file(tmp_path, "agencies.xlsx"))
    by_id = {a.id: a for a in cfg.agencies}
    assert by_id["370302"].kind == "township" and by_id["370302"].aliases == ["般阳路街道"]
    assert by_id["zc-gov"].aliases == ["区政府", "区人民政府"] and by_id["zc-gov"].source == "agencies_file"
    assert by_id["zc-zsj"].source == "config"
    assert cfg.agencies_file == tmp_path / "agencies.xlsx"


def test_a_broken_xlsx_row_names_its_line(tmp_path: Path) -> None:
    _xlsx(
        tmp_path / "agencies.xlsx",
        ["a", "甲局", "", "department", "山东省", "zc"],
        ["b", "乙局", "", "ministry", "山东省", "zc"],
    )
    path = _with_file(tmp_path, "agencies.xlsx")
    assert_config_error(
        gkwatch("check", "--config", str(path)),
        str(tmp_path / "agencies.xlsx"),
        "line 3",
        "kind",
        "'ministry'",
    )


def test_a_file_that_is_not_a_spreadsheet(tmp_path: Path) -> None:
    (tmp_path / "agencies.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ConfigError, match="not a readable spreadsheet"):
        load_config(_with_file(tmp_path, "agencies.xlsx"))


# --- the README's example -------------------------------------------------------------------------------


def _readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Configuration") :]
    return section[section.index("```yaml\n") + 8 : section.index("```\n", section.index("```yaml\n") + 8)]


def test_the_readme_example_config_loads(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(_readme_example(), encoding="utf-8")
    (tmp_path / "agencies.csv").write_text(
        HEADER + "zc-sw,淄川区商务局,,department,山东省,zichuan\n", "utf-8"
    )
    cfg = load_config(tmp_path / "config.yaml")
    assert cfg.portal("zichuan").platform == "trs"
    assert {a.id for a in cfg.agencies} == {"zichuan-zsj", "zc-sw"}
    assert cfg.crawl.max_document_bytes == 52428800 and cfg.schedule.season_end == (4, 15)
    assert cfg.alerts.smtp.from_addr == "gkwatch@example.org" and cfg.web.users[0].username == "alice"
    assert [str(n) for n in cfg.web.trusted_proxies] == ["127.0.0.1/32"]
    assert cfg.database_url == f"sqlite:///{(tmp_path / 'data' / 'gkwatch.db').resolve()}"


def _all_keys(model: type[_Section], prefix: str = "") -> list[str]:
    out = []
    for key in model.file_keys():
        out.append(prefix + key)
        inner = _section_at(model, (key,)) or _section_at(model, (key, 0))
        if inner is not None:
            out.extend(_all_keys(inner, f"{prefix}{key}."))
    return out


def test_every_key_of_the_schema_is_documented_in_the_readme() -> None:
    example = _readme_example()
    keys = _all_keys(_ConfigFile)
    assert "alerts.smtp.from" in keys and "deadlines.overrides.due" in keys and "archive.s3.bucket" in keys
    undocumented = [
        k for k in keys if not re.search(rf"(^|[\s{{,]){re.escape(k.split('.')[-1])}:", example, re.M)
    ]
    assert undocumented == []


# --- the typed sections ---------------------------------------------------------------------------------


def test_platforms_are_those_the_crawler_knows() -> None:
    from crawler.portal.platforms import PLATFORMS as CRAWLER_PLATFORMS

    assert set(PLATFORMS) == set(CRAWLER_PLATFORMS)


def test_defaults_of_the_new_keys_and_the_old_name_of_the_size_cap(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, config_text()))
    c = cfg.crawl
    assert (c.max_pages_per_portal, c.max_requests_per_portal, c.max_links_per_listing_page) == (
        3000,
        6000,
        1000,
    )
    assert (c.max_listing_pages_per_portal, c.max_document_bytes, c.seconds_per_document) == (
        500,
        52428800,
        120,
    )
    assert (c.concurrent_sites, c.revalidate_known_after_days) == (16, 7)
    assert (cfg.web.session_idle_minutes, cfg.web.session_max_hours, cfg.web.trusted_proxies) == (60, 12, [])
    assert (cfg.ocr.enabled, cfg.ocr.max_pages, cfg.ocr.seconds_per_page) == (True, 20, 30)
    assert (cfg.queue.enabled, cfg.queue.concurrency, cfg.queue.heartbeat_seconds) == (False, 1, 10)
    assert cfg.queue.stalled_after_seconds == 60 and cfg.archive_s3 is None
    old = load_config(write(tmp_path, config_text("crawl:\n  max_attachment_bytes: 1000\n")))
    assert old.crawl.max_document_bytes == old.crawl.max_attachment_bytes == 1000
    with pytest.raises(ConfigError, match="not both"):
        load_config(
            write(tmp_path, config_text("crawl:\n  max_attachment_bytes: 1\n  max_document_bytes: 2\n"))
        )
    assert CrawlConfig(max_attachment_bytes=5).max_document_bytes == 5


def test_blank_values_mean_the_default(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, config_text("alerts:\ncrawl:\n  delay_seconds:\nweb:\n  users:\n")))
    assert cfg.crawl.delay_seconds == 1.0 and cfg.alerts.subscribers == [] and cfg.web.users == []


def test_relative_paths_and_database_urls(tmp_path: Path) -> None:
    sub = tmp_path / "etc"
    sub.mkdir()
    cfg = load_config(
        write(sub, config_text("database:\n  url: sqlite+pysqlite:///../gk.db\narchive:\n  dir: arc\n"))
    )
    assert cfg.database_url == f"sqlite+pysqlite:///{(tmp_path / 'gk.db').resolve()}"
    assert cfg.archive_dir == sub / "arc" and cfg.path == sub / "config.yaml"
    pg = "postgresql+psycopg://gk:p%40ss@db.example.org:5432/gk?sslmode=require"
    assert load_config(write(sub, config_text(f"database:\n  url: '{pg}'\n"))).database_url == pg
    mem = load_config(write(sub, config_text("database:\n  url: 'sqlite://'\n")))
    assert mem.database_url == "sqlite://"


def test_sections_reach_their_modules(tmp_path: Path) -> None:
    text = config_text(
        "deadlines:\n  - {region: 广东省, kind: [department, township], due: 01-20, reason: 广东 rule}\n"
        "schedule:\n  season_start: 11-15\n  season_end: 02-28\n  hour: 9\n"
        "web:\n  secret_key: s\n  users: [{username: alice, password_hash: h}]\n  trusted_proxies: [10.0.0.0/8]\n"
        "  session_idle_minutes: 5\n"
        "archive:\n  dir: arc\n  s3: {bucket: b, endpoint_url: 'http://127.0.0.1:9000'}\n"
    )
    cfg = load_config(write(tmp_path, text))
    engine = DeadlineEngine.from_config(cfg)
    assert engine.deadline("township", "广东省/广州市", 2022).explain() == "due 2023-01-20: 广东 rule"
    assert engine.deadline("government", "广东省", 2022).due.isoformat() == "2023-03-31"
    s = schedule_settings(cfg)
    assert isinstance(s, ScheduleSettings) and s.hour == 9 and s.in_season(date(2024, 1, 5))
    w = web_settings(cfg)
    assert w.users == {"alice": "h"} and w.secret_key == "s" and w.session_idle_minutes == 5
    assert ip_address("10.1.2.3") in w.trusted_proxies[0]
    assert cfg.archive_s3 is not None and cfg.archive_s3.bucket == "b" and cfg.archive_s3.prefix == ""


def test_parse_override_checks_like_the_config(tmp_path: Path) -> None:
    o = parse_override({"region": "湖南省/", "years": [2021], "due": "2022-02-01"}, "simulator[0]")
    assert o.region == "湖南省" and o.years == frozenset({2021}) and o.reason == "local deadline for 湖南省"
    with pytest.raises(ConfigError, match=r"^simulator\[0\]: due: '2022-02-30' is not a date"):
        parse_override({"year": 2021, "due": "2022-02-30"}, "simulator[0]")


def test_config_is_built_in_code_with_keyword_arguments(tmp_path: Path) -> None:
    cfg = Config(
        path=tmp_path / "c.yaml",
        database_url="sqlite://",
        archive_dir=tmp_path,
        portals=[PortalConfig(id="p", start_urls=["http://p.example/"])],
        agencies=[AgencyConfig(id="a", name="甲局", portal="p")],
        deadlines={"first_year": 2022},
        web={"users": [{"username": "u", "password_hash": "h"}]},
    )
    assert (
        cfg.portal("p").name == "p" and cfg.deadlines.first_year == 2022 and cfg.web.users[0].username == "u"
    )
    assert Subscriber("a@example.org", ["山东省"]).regions == ["山东省"]
    assert Subscriber(email="b@example.org").regions == []
    with pytest.raises(ConfigError):
        cfg.portal("nope")
    with pytest.raises(ValueError):
        Config(raw={})  # the raw mapping is gone: every section is typed
