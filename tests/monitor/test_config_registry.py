"""config.yaml, the agencies file (CSV in UTF-8 or GBK, .xlsx), the registry sync and the deadline engine."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import pytest
import yaml
from sqlmodel import Session, select

from domain.clock import shanghai_date
from domain.config import ConfigError, load_config
from monitor.status.deadlines import DeadlineEngine
from storage.db import init_db, make_engine
from storage.models import Agency
from storage.registry import sync_registry

HEADER = "id,name,aliases,kind,region,portal\n"


def write_config(folder: Path, **extra: object) -> Path:
    data = {
        "database": {"url": "sqlite:///gk.db"},
        "portals": [{"id": "zc", "name": "淄川区人民政府", "start_urls": ["http://127.0.0.2/"]}],
        "agencies": [
            {
                "id": "zc-zsj",
                "name": "淄川区招商局",
                "aliases": ["区招商局"],
                "kind": "department",
                "region": "山东省/淄博市/淄川区",
                "portal": "zc",
            }
        ],
        **extra,
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_relative_paths_are_resolved_against_the_config_file(tmp_path: Path) -> None:
    cfg = load_config(write_config(tmp_path))
    assert cfg.database_url == f"sqlite:///{tmp_path / 'gk.db'}"
    assert cfg.agencies[0].aliases == ["区招商局"]


def test_gbk_csv_agencies_file_with_aliases(tmp_path: Path) -> None:
    csv = HEADER + "zc-sw,淄川区商务局,区商务局;商务局,department,山东省/淄博市/淄川区,zc\n"
    (tmp_path / "agencies.csv").write_bytes(csv.encode("gbk"))
    cfg = load_config(write_config(tmp_path, agencies_file="agencies.csv"))
    extra = [a for a in cfg.agencies if a.id == "zc-sw"]
    assert extra and extra[0].name == "淄川区商务局"
    assert extra[0].aliases == ["区商务局", "商务局"]
    assert extra[0].source == "agencies_file"


def test_xlsx_agencies_file(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER.strip().split(","))
    ws.append(["zc-jd", "淄川区般阳路街道办事处", "", "township", "山东省/淄博市/淄川区", "zc"])
    wb.save(tmp_path / "agencies.xlsx")
    cfg = load_config(write_config(tmp_path, agencies_file="agencies.xlsx"))
    jd = next(a for a in cfg.agencies if a.id == "zc-jd")
    assert (jd.kind, jd.aliases) == ("township", [])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"agencies_file": "nowhere.csv"}, "does not exist"),
        ({"portals": [{"id": "x"}]}, "start_urls"),
    ],
)
def test_config_errors_say_where(tmp_path: Path, extra: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write_config(tmp_path, **extra))


def test_an_agency_naming_an_unknown_portal_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["agencies"][0]["portal"] = "nope"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match="nope"):
        load_config(path)


def test_registry_sync_adds_updates_deactivates_and_reactivates(tmp_path: Path) -> None:
    csv_path = tmp_path / "agencies.csv"
    csv_path.write_text(HEADER + "zc-sw,淄川区商务局,,department,山东省/淄博市/淄川区,zc\n", encoding="utf-8")
    config_path = write_config(tmp_path, agencies_file="agencies.csv")
    engine = make_engine(load_config(config_path).database_url)
    init_db(engine)

    def sync() -> object:
        with Session(engine) as s:
            changes = sync_registry(s, load_config(config_path))
            s.commit()
            return changes

    first = sync()
    assert sorted(first.added) == ["zc-sw", "zc-zsj"]
    assert sync().added == []  # idempotent

    # 商务局 is gone from this season's list: kept, with its history, but inactive and reported.
    csv_path.write_text(HEADER, encoding="utf-8")
    gone = sync()
    assert gone.deactivated == ["zc-sw"]
    with Session(engine) as s:
        row = s.get(Agency, "zc-sw")
        assert row is not None and row.active is False
        # An agency the crawler discovered is never deactivated by a sync.
        s.add(Agency(id="found-1", name="某某局", source="discovered"))
        s.commit()

    csv_path.write_text(
        HEADER + "zc-sw,淄川区商务局,新名,department,山东省/淄博市/淄川区,zc\n", encoding="utf-8"
    )
    back = sync()
    assert back.reactivated == ["zc-sw"]
    with Session(engine) as s:
        active = {a.id for a in s.exec(select(Agency).where(Agency.active == True))}  # noqa: E712
        assert active == {"zc-sw", "zc-zsj", "found-1"}


def _engine(tmp_path: Path, overrides: list[dict]) -> DeadlineEngine:
    cfg = load_config(write_config(tmp_path, deadlines={"overrides": overrides}))
    return DeadlineEngine.from_config(cfg)


def test_default_deadlines_by_kind_are_explained(tmp_path: Path) -> None:
    engine = _engine(tmp_path, [])
    dept = engine.deadline("department", "山东省/淄博市", 2020)
    assert dept.due == date(2021, 1, 31)
    assert dept.explain() == "due 2021-01-31: department, 条例 art. 49"
    assert engine.deadline("township", "山东省", 2020).due == date(2021, 1, 31)
    assert engine.deadline("government", "山东省", 2020).due == date(2021, 3, 31)


def test_the_due_day_closes_at_shanghai_midnight(tmp_path: Path) -> None:
    d = _engine(tmp_path, []).deadline("department", "", 2020)
    # 31 January 23:59 Shanghai is 15:59 UTC: still that day; 00:00 on 1 February is 16:00 UTC on 31 January.
    assert shanghai_date(datetime(2021, 1, 31, 15, 59, tzinfo=UTC)) == date(2021, 1, 31)
    assert d.is_met_by(shanghai_date(datetime(2021, 1, 31, 15, 59, tzinfo=UTC)))
    assert not d.is_met_by(shanghai_date(datetime(2021, 1, 31, 16, 0, tzinfo=UTC)))
    assert d.closes_at == datetime(2021, 1, 31, 16, 0, tzinfo=UTC)
    assert not d.is_past(date(2021, 1, 31)) and d.is_past(date(2021, 2, 1))


def test_local_overrides_most_specific_wins_and_leap_days(tmp_path: Path) -> None:
    engine = _engine(
        tmp_path,
        [
            {
                "region": "湖南省/怀化市",
                "year": 2021,
                "kind": "department",
                "due": "2022-01-28",
                "reason": "怀化 local notice",
            },
            {"region": "湖南省", "kind": "department", "due": "02-29", "reason": "湖南 rule"},
        ],
    )
    hh = engine.deadline("department", "湖南省/怀化市/鹤城区", 2021)
    assert hh.explain() == "due 2022-01-28: 怀化 local notice"
    # the province rule elsewhere, and in other years; 29 February only where the year has one
    assert engine.deadline("department", "湖南省/长沙市", 2023).due == date(2024, 2, 29)
    assert engine.deadline("department", "湖南省/长沙市", 2022).due == date(2023, 2, 28)
    # whole path segments: 湖南省x is not inside 湖南省
    assert engine.deadline("department", "湖南省x/某市", 2023).due == date(2024, 1, 31)
    # governments are untouched by a department rule
    assert engine.deadline("government", "湖南省/怀化市", 2021).due == date(2022, 3, 31)


def test_a_full_due_date_needs_one_year(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="exactly one"):
        _engine(tmp_path, [{"region": "湖南省", "due": "2022-01-28"}])
