"""``gkwatch check`` and ``gkwatch status`` as a user runs them (subprocess), in all three formats."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import yaml

from monitor.cli import main
from monitor.status.table import CONTRACT_KEYS, EXPORT_HEADER, display_width
from tests.monitor.builders import portal_read, report, version

ROOT = Path(__file__).resolve().parents[2]
REGION = "山东省/淄博市/淄川区"


def gkwatch(*args: str) -> subprocess.CompletedProcess:
    """The real command in its own process (slow to start: used for check and json only)."""
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def gkwatch_here(capsys, *args: str) -> tuple[int, str]:
    """The same entry point (``monitor.cli.main``) in this process: exit code and stdout."""
    capsys.readouterr()
    code = main(list(args))
    return code, capsys.readouterr().out


def write_config(tmp_path: Path, db_url: str) -> Path:
    cfg = {
        "database": {"url": db_url},
        "archive": {"dir": str(tmp_path / "archive")},
        "portals": [{"id": "p1", "name": "淄川区人民政府", "start_urls": ["http://p1.example/"]}],
        "agencies": [
            {"id": "zc-zsj", "name": "淄川区招商局", "kind": "department", "region": REGION, "portal": "p1"},
            {
                "id": "zc-gov",
                "name": "淄川区人民政府",
                "kind": "government",
                "region": REGION,
                "portal": "p1",
            },
            # a hostile name: escape sequences must never reach the terminal
            {"id": "evil", "name": "坏\x1b[31m机关", "kind": "township", "region": "山东省", "portal": "p1"},
        ],
        "deadlines": {"first_year": 2021},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


def populate(engine) -> None:
    portal_read(engine, "p1", "2022-04-01 08:00")  # read completely after both due dates
    report(engine, "zc-zsj", 2021, published=date(2022, 2, 3), versions=[version(2021, broken=True)])
    report(engine, "zc-gov", 2021, published=date(2022, 3, 1))


def test_check_then_status_in_every_format(engine, db_url, tmp_path, capsys):
    cfg = write_config(tmp_path, db_url)
    done = gkwatch("check", "--config", str(cfg), "--as-of", "2022-04-01")
    assert done.returncode == 0, done.stderr
    assert "3 agency-years" in done.stdout and "unknown 3" in done.stdout  # portal never read yet
    populate(engine)  # the portal read and reports arrive after the check: status computes live

    out = gkwatch("status", "--config", str(cfg), "--as-of", "2022-04-01", "--format", "json")
    assert out.returncode == 0, out.stderr
    objs = json.loads(out.stdout)
    assert all(list(o) == [*CONTRACT_KEYS, "evidence"] for o in objs)  # the contract's keys, then the proof
    assert [(o["agency"], o["status"]) for o in objs] == [
        ("坏\x1b[31m机关", "missing"),  # region 山东省 sorts first
        ("淄川区人民政府", "on_time"),
        ("淄川区招商局", "late"),
    ]
    late = objs[2]
    assert late["due"] == "2022-01-31" and late["published"] == "2022-02-03"
    assert late["inconsistent"] is True and late["findings"] == ["s4.total"]

    args = ("status", "--config", str(cfg), "--as-of", "2022-04-01", "--format")
    code, out = gkwatch_here(capsys, *args, "csv")
    assert code == 0
    assert out.startswith("\ufeff")  # Excel reads it as UTF-8
    rows = list(csv.reader(io.StringIO(out[1:])))
    assert tuple(rows[0]) == EXPORT_HEADER  # the web's export columns, Chinese
    by_id = {r[0]: dict(zip(EXPORT_HEADER, r, strict=True)) for r in rows[1:]}
    late = by_id["zc-zsj"]
    assert late["规则编号"] == "s4.total" and late["数据一致性"].startswith("不一致")
    assert late["状态"] == "逾期发布" and late["逾期天数"] == "3" and late["截止日"] == "2022-01-31"
    assert "表四" in late["发现的问题（含数字）"] and "依据" in late["证据"]
    assert by_id["evil"]["数据一致性"] == "未解析" and by_id["evil"]["状态"] == "未发布"
    assert "完整读取" in by_id["evil"]["证据"]  # the listing read that proves it

    code, out = gkwatch_here(capsys, *args, "table", "--year", "2021")
    assert code == 0
    assert "\x1b" not in out
    lines = out.splitlines()
    header, body = lines[0], lines[2:5]
    # every row's "year" column starts at the same terminal column despite the CJK names
    col = display_width(header[: header.index("年度")])
    for line in body:
        assert display_width(line[: line.index("2021")]) == col
    assert "逾期发布" in out and "未发布" in out and "late" not in out  # Chinese status words
    assert lines[-1].startswith("（共 3 条")


def test_status_table_fits_the_terminal(engine, db_url, tmp_path, capsys, monkeypatch):
    cfg = write_config(tmp_path, db_url)
    populate(engine)
    assert gkwatch_here(capsys, "check", "--config", str(cfg), "--as-of", "2022-04-01")[0] == 0
    for width in (60, 80, 100):
        monkeypatch.setenv("COLUMNS", str(width))
        code, out = gkwatch_here(capsys, "status", "--config", str(cfg), "--as-of", "2022-04-01")
        assert code == 0
        assert max(display_width(line) for line in out.splitlines()) <= width, width
    assert "…" in out or width >= 100  # names were cut where the terminal is narrow


def test_cli_csv_is_the_web_export(engine, db_url, tmp_path, capsys):
    """``gkwatch status --format csv`` and the web page's ``/export.csv`` give the same file."""
    from fastapi.testclient import TestClient

    from domain.config import load_config
    from monitor.web import create_app

    cfg = write_config(tmp_path, db_url)
    populate(engine)
    assert gkwatch_here(capsys, "check", "--config", str(cfg), "--as-of", "2022-04-01")[0] == 0
    code, out = gkwatch_here(
        capsys, "status", "--config", str(cfg), "--as-of", "2022-04-01", "--format", "csv"
    )
    web = TestClient(create_app(load_config(cfg), engine=engine)).get("/export.csv", params={"year": "all"})
    assert code == 0 and web.status_code == 200
    assert web.content.decode("utf-8") == out  # BOM, header, rows, order


def test_year_filter_and_as_of_before_any_deadline(engine, db_url, tmp_path, capsys):
    cfg = write_config(tmp_path, db_url)
    assert gkwatch_here(capsys, "check", "--config", str(cfg), "--as-of", "2022-01-10")[0] == 0
    args = ("status", "--config", str(cfg), "--as-of", "2022-01-10", "--format", "json", "--year")
    objs = json.loads(gkwatch_here(capsys, *args, "2021")[1])
    assert {o["status"] for o in objs} == {"not_due"} and len(objs) == 3
    assert json.loads(gkwatch_here(capsys, *args, "2019")[1]) == []  # before deadlines.first_year


def test_config_before_the_command_is_honoured(engine, db_url, tmp_path, capsys):
    cfg = write_config(tmp_path, db_url)
    populate(engine)
    assert gkwatch_here(capsys, "--config", str(cfg), "check", "--as-of", "2022-06-01")[0] == 0
    code, out = gkwatch_here(
        capsys, "--config", str(cfg), "status", "--as-of", "2022-06-01", "--format", "json"
    )
    assert code == 0 and {o["agency_id"] for o in json.loads(out)} == {"zc-zsj", "zc-gov", "evil"}


def test_a_config_path_that_is_not_there_is_an_error(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["check", "--config", str(tmp_path / "typo.yaml")]) == 2
    assert "no such config file" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # no database made anywhere


def test_help_has_examples(capsys):
    for command in ([], ["status"], ["parse"], ["user"], ["crawl"], ["demo"]):
        capsys.readouterr()
        try:
            main([*command, "--help"])
        except SystemExit as e:
            assert e.code == 0
        out = capsys.readouterr().out
        assert "examples:" in out and "gkwatch " in out.split("examples:", 1)[1], command


def test_parse_pretty_is_readable_chinese(tmp_path, capsys):
    """``gkwatch parse --pretty``: what the report is, its headline figures and each finding in the page's
    words — a cell printed ``——`` and one in full-width digits, said in Chinese."""
    sample = (ROOT / "tests" / "fixtures" / "samples" / "zichuan_zsj_2020.txt").read_text(encoding="utf-8")
    lines = sample.splitlines()
    target = next(i for i, line in enumerate(lines) if "本年新收" in line)  # its seven figures follow
    assert [x.strip() for x in lines[target + 1 : target + 8]] == ["1", "0", "0", "0", "0", "0", "1"]
    lines[target + 1], lines[target + 7] = "\t——", "\t１"  # 自然人 a dash, 总计 in full-width digits
    doc = tmp_path / "report.txt"
    doc.write_text("\n".join(lines), encoding="utf-8")
    capsys.readouterr()
    assert main(["parse", "--pretty", str(doc)]) == 0
    out = capsys.readouterr().out
    assert "标题：淄川区招商局2020年政府信息公开工作年度报告" in out and "年度：2020" in out
    assert "读出的单元格：" in out and "主要数字：" in out
    assert "填了「——」而不是数字" in out and "全角数字" in out
    assert "instead of" not in out and "full-width" not in out and "in the cell" not in out
    assert re.search(r"【(警告|提示|错误)】.+  \[cell\.\w+\]", out)  # the rule id, at the end
    assert main(["parse", str(doc)]) == 0  # without --pretty: the contract's JSON Lines
    assert json.loads(capsys.readouterr().out)["year"] == 2020
