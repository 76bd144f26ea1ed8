"""Portals that cannot be read (blocked, robots.txt, down, refused) and the faults portal's traps."""

from __future__ import annotations

import http.client
import io
import socket
import zipfile

import pytest

from monitor.judgement.report import parse_bytes
from testbed.simulator import SamplePortals
from testbed.simulator.scenario import CORRUPT, GBK_AS_UTF8
from testbed.simulator.sites.faults import HUGE_BYTES, OFFSITE_HOST, PRIVATE_URL
from tests.simulator.conftest import fetch


def test_blocked_portal_answers_a_captcha_with_200_and_403(sim):
    first, second = sim.start_urls("tongjiang")
    page = fetch(first)
    assert page.status == 200 and "访问验证" in page.body.decode() and "滑动验证" in page.body.decode()
    variant = fetch(second)
    assert variant.status == 403 and "访问验证" in variant.body.decode()
    assert "Disallow: /\n" not in fetch(sim.base_url("tongjiang") + "/robots.txt").body.decode()


def test_one_portal_forbids_everything_in_robots_txt(sim):
    robots = fetch(sim.base_url("fuyuan") + "/robots.txt")
    assert robots.status == 200 and robots.body.decode().splitlines() == ["User-agent: *", "Disallow: /"]
    # behind the robots.txt there is a real column: only politeness keeps the crawler out
    assert "年度" in fetch(sim.start_urls("fuyuan")[0]).body.decode()


def test_portal_states_down_refused_blocked_ok():
    with SamplePortals(prepare=False) as fresh:
        url = fresh.start_urls("zichuan")[0]
        assert fetch(url).status == 200
        fresh.set_portal_state("zichuan", "down")
        assert fetch(url).status == 503
        fresh.set_portal_state("zichuan", "blocked")
        assert "访问验证" in fetch(url).body.decode()
        fresh.set_portal_state("zichuan", "refused")
        with pytest.raises(ConnectionRefusedError):
            fetch(url)
        fresh.set_portal_state("zichuan", "ok")
        assert fetch(url).status == 200
        with pytest.raises(ValueError):
            fresh.set_portal_state("zichuan", "sleepy")


def test_faults_listing_names_every_trap(sim):
    got = fetch(sim.start_urls("fujin")[0])
    text = got.body.decode()
    for name in (
        "slow.html",
        "reset.html",
        "truncated.html",
        "moved.html",
        "internal.html",
        "huge.pdf",
        "bomb.docx",
    ):
        assert name in text


def test_slow_page_hangs_past_the_timeout(sim):
    with pytest.raises(TimeoutError):
        fetch(sim.start_urls("fujin")[0] + "slow.html", timeout=0.5)


def test_reset_truncated_and_redirects(sim):
    col = sim.start_urls("fujin")[0]
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected)):
        fetch(col + "reset.html")
    with pytest.raises(http.client.IncompleteRead):
        fetch(col + "truncated.html")
    moved = fetch(col + "moved.html")
    assert moved.status == 302 and moved.headers["Location"].startswith(f"http://{OFFSITE_HOST}/")
    internal = fetch(col + "internal.html")
    assert internal.status == 302 and internal.headers["Location"] == PRIVATE_URL


def test_huge_attachment_is_streamed_and_can_be_abandoned(sim):
    url = sim.start_urls("fujin")[0] + "P020250120huge.pdf"
    host, port = url.split("/")[2].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(f"GET /{url.split('/', 3)[3]} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        received = b""
        while len(received) < 1_000_000:
            chunk = s.recv(65536)
            assert chunk, "the server closed before sending a megabyte"
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert f"Content-Length: {HUGE_BYTES}".encode() in head and body.startswith(b"%PDF-")
    # the server survived the hang-up
    assert fetch(sim.start_urls("fujin")[0]).status == 200


def test_zip_bomb_and_corrupt_docx(sim):
    col = sim.start_urls("fujin")[0]
    bomb = fetch(col + "P020250121bomb.docx").body
    with zipfile.ZipFile(io.BytesIO(bomb)) as z:
        declared = sum(i.file_size for i in z.infolist())
    assert declared / len(bomb) > 200  # beyond any real document's compression ratio
    site = sim.sites["fujin"]
    corrupt = next(r for r in sim.scenario.reports_on("fujin") if CORRUPT in r.defects)
    data = fetch(sim.base_url("fujin") + site.attachment_path(corrupt)).body
    assert data[:2] == b"PK"
    assert parse_bytes(data, "report.docx").error


def test_gbk_page_served_as_utf8(sim):
    site = sim.sites["fujin"]
    r = next(r for r in sim.scenario.reports_on("fujin") if GBK_AS_UTF8 in r.defects)
    got = fetch(sim.base_url("fujin") + site.article_path(r))
    assert "charset=utf-8" in got.content_type and b"charset=" not in got.body
    with pytest.raises(UnicodeDecodeError):
        got.body.decode("utf-8")
    assert "政府信息公开工作年度报告" in got.body.decode("gbk")
