"""``gkwatch parse`` as users run it: a real subprocess, JSON Lines on stdout, exit 0/1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from domain.template import cell_keys
from tests.conftest import ROOT, SAMPLES
from tests.documents.builders import lo_documents, needs_soffice, render_module, report_cells, report_spec

GKWATCH = Path(sys.executable).with_name("gkwatch")
CONTRACT_KEYS = {"file", "format", "template", "year", "agency", "title", "cells", "findings", "error"}


def run_parse(*paths: Path, cwd: Path) -> tuple[int, list[dict]]:
    if not GKWATCH.exists():
        pytest.skip(f"console script {GKWATCH} not installed")
    env = {k: v for k, v in os.environ.items() if k != "GKWATCH_CONFIG"}
    res = subprocess.run(
        [str(GKWATCH), "parse", *map(str, paths)], capture_output=True, cwd=cwd, env=env, timeout=300
    )
    lines = res.stdout.decode("utf-8").splitlines()
    return res.returncode, [json.loads(line) for line in lines]


def check_shape(obj: dict) -> None:
    assert set(obj) == CONTRACT_KEYS
    if obj["template"] is not None:
        assert set(obj["cells"]) == set(cell_keys(obj["template"]))
    for f in obj["findings"]:
        assert {"rule", "severity", "cells", "message"} <= set(f)


def test_readable_files_exit_0_with_one_object_per_file(tmp_path):
    render = render_module()
    html = tmp_path / "报告.html"
    html.write_bytes(render.render_html(report_spec("2021"), encoding="gb18030", declared_charset="utf-8"))
    docx = tmp_path / "report.docx"
    docx.write_bytes(render.render_docx(report_spec("2019")))
    paths = [html, docx]
    if SAMPLES.is_dir():
        paths.append(SAMPLES / "zichuan_zsj_2020.txt")
    code, objs = run_parse(*paths, cwd=tmp_path)
    assert code == 0
    assert [o["file"] for o in objs] == [str(p) for p in paths]
    for o in objs:
        check_shape(o)
        assert o["error"] is None
    assert (objs[0]["format"], objs[0]["template"], objs[0]["year"]) == ("html", "2021", 2023)
    assert objs[0]["cells"] == report_cells("2021")
    assert (objs[1]["format"], objs[1]["template"], objs[1]["year"]) == ("docx", "2019", 2020)
    assert objs[1]["cells"] == report_cells("2019")
    if SAMPLES.is_dir():
        assert objs[2]["agency"] == "淄川区招商局" and objs[2]["cells"]["s2.procurement.amount"] == 26.8


def test_unreadable_files_give_error_objects_and_exit_1(tmp_path):
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(os.urandom(3000))
    empty = tmp_path / "empty.docx"
    empty.write_bytes(b"")
    missing = tmp_path / "missing.doc"
    news = tmp_path / "news.html"
    news.write_text(
        "<html><body><h1>市长调研</h1><p>市长到企业调研，共走访企业12家。</p></body></html>", "utf-8"
    )
    code, objs = run_parse(junk, empty, missing, news, cwd=tmp_path)
    assert code == 1
    assert [o["file"] for o in objs] == [str(junk), str(empty), str(missing), str(news)]
    for o in objs:
        check_shape(o)
    assert "unknown file format" in objs[0]["error"]
    assert objs[1]["error"] == "empty file"
    assert "cannot open the file" in objs[2]["error"]
    assert objs[3]["error"] is None and objs[3]["template"] is None and objs[3]["cells"] == {}


@pytest.mark.libreoffice
@needs_soffice
def test_two_doc_files_in_one_batch(tmp_path):
    docs = lo_documents()
    a, b = tmp_path / "a.doc", tmp_path / "b.wps"
    a.write_bytes(docs["report2019.doc"])
    b.write_bytes(docs["report2021.doc"])
    code, objs = run_parse(a, b, cwd=ROOT)
    assert code == 0
    for o in objs:
        check_shape(o)
    assert [(o["format"], o["template"], o["error"]) for o in objs] == [
        ("doc", "2019", None),
        ("wps", "2021", None),
    ]
    assert [o["cells"] for o in objs] == [report_cells("2019"), report_cells("2021")]
