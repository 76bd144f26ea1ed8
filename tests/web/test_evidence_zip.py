"""``GET /agency/{id}/{year}/evidence.zip``: the archived bytes, byte for byte, with a manifest that names
them by the archive's sha256 and a readable summary."""

from __future__ import annotations

import hashlib
import html
import io
import json
import zipfile

from monitor.status import wording
from tests.web.seed import HOSTILE, REPORT_HTML


def _zip(client, agency: str, year: int) -> zipfile.ZipFile:  # noqa: ANN001
    r = client.get(f"/agency/{agency}/{year}/evidence.zip")
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"] == "application/zip"
    assert r.headers["content-disposition"].startswith("attachment;")
    return zipfile.ZipFile(io.BytesIO(r.content))


def test_the_zip_holds_the_archived_bytes_named_by_their_sha256(client, seeded):
    z = _zip(client, "zichuan-zsj", 2021)
    manifest = json.loads(z.read("manifest.json"))
    assert (manifest["agency_id"], manifest["year"], manifest["status"]) == ("zichuan-zsj", 2021, "late")
    assert manifest["due"] == "2022-01-31" and manifest["due_reason"]
    assert {f["rule"] for f in manifest["findings"]} == {"s3.row_total", "cell.blank"}
    (page,) = [f for f in manifest["files"] if f["role"] == "report_page"]
    assert page["sha256"] == seeded.archive_sha == hashlib.sha256(REPORT_HTML).hexdigest()
    assert z.read(page["path"]) == REPORT_HTML  # byte for byte
    for f in manifest["files"]:  # every file's digest is its name in the archive
        assert hashlib.sha256(z.read(f["path"])).hexdigest() == f["sha256"]
        assert seeded.engine is not None and f["url"] and f["fetched_at"]
    summary = z.read("summary.html").decode("utf-8")
    assert "逾期发布" in summary and "淄川区招商局" in summary
    # the facts behind the verdict, in the web page's words (monitor.status.wording), each line in the summary
    lines = wording.evidence_lines(manifest)
    assert lines and all(html.escape(line) in summary for line in lines)
    assert wording.verdict_sentence(manifest) in summary


def test_crawled_text_is_escaped_in_the_summary(client, seeded):
    z = _zip(client, "hostile", 2021)
    summary = z.read("summary.html").decode("utf-8")
    assert HOSTILE not in summary and "&lt;script&gt;" in summary


def test_unknown_agency_year_is_404(client):
    assert client.get("/agency/nobody/2021/evidence.zip").status_code == 404
    assert client.get("/agency/zichuan-zsj/2005/evidence.zip").status_code == 404
    assert client.get("/agency/zichuan-zsj/1999/evidence.zip").status_code == 400  # outside 2000–2100
