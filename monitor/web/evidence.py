"""``GET /agency/{id}/{year}/evidence.zip``: one agency-year's evidence as one file a watchdog can cite.

The zip holds, byte for byte from the archive, every page and attachment fetched for the report that stands
for the year (each version), the listing pages that date it (the read that proves a report absent, the
listing page on which it was first seen) — and ``manifest.json`` (each file's URL, fetch time, HTTP headers,
sha256; the status, the due date and its reason, the findings with their numbers, the evidence of the
verdict) and ``summary.html``, the same in plain Chinese. Every sha256 in the manifest is the archive's
name for the file and the digest of the bytes in the zip (a test checks both).
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, or_, select

from domain import codes
from monitor.status import wording
from storage.archive import Archive
from storage.models import AgencyYearStatus, Fetch, ListingSnapshot, Report, ReportVersion

MAX_BYTES = (
    100 * 1024 * 1024
)  # a report's evidence is a few megabytes; past this the rest is listed, not packed
_EXT = {"text/html": "html", "application/pdf": "pdf", "application/msword": "doc", "text/plain": "txt"}


@dataclass
class Item:
    path: str  # in the zip
    role: str  # report_page | document | listing
    url: str
    final_url: str | None
    fetched_at: datetime
    http_status: int | None
    headers: dict[str, str]
    sha256: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "role": self.role,
            "url": self.url,
            "final_url": self.final_url,
            "fetched_at": self.fetched_at.isoformat(),
            "http_status": self.http_status,
            "headers": self.headers,
            "sha256": self.sha256,
            "size": self.size,
        }


def _name(role: str, n: int, url: str, content_type: str | None) -> str:
    tail = url.rsplit("?", 1)[0].rsplit("/", 1)[-1]
    ext = tail.rsplit(".", 1)[-1].lower() if "." in tail else ""
    if not ext.isalnum() or len(ext) > 5:
        ext = _EXT.get((content_type or "").split(";")[0].strip().lower(), "bin")
    return f"{role}/{n:02d}.{ext}"


def _fetches(session: Session, report: Report) -> list[tuple[str, Fetch]]:
    """Every response fetched for the report: its page(s) and its document(s), oldest first."""
    urls = {report.url, *(report.attachment_urls or [])}
    docs = {
        v.document_url
        for v in session.exec(select(ReportVersion).where(ReportVersion.report_id == report.id))
        if v.document_url
    }
    urls |= docs
    rows = session.exec(
        select(Fetch)
        .where(or_(Fetch.url.in_(sorted(urls)), Fetch.final_url.in_(sorted(urls))))
        .order_by(Fetch.fetched_at, Fetch.id)
    )
    out, seen = [], set()
    for f in rows:
        if f.sha256 in seen:
            continue
        seen.add(f.sha256)
        role = "report_page" if f.url == report.url or f.final_url == report.url else "document"
        out.append((role, f))
    return out


def _listings(session: Session, status: AgencyYearStatus, report: Report | None) -> list[ListingSnapshot]:
    """The listing pages that date the verdict: the read that proves absence, and where the report was first
    seen (the first snapshot of its listing that showed it, and the last before that did not)."""
    out: list[ListingSnapshot] = []
    evidence = status.evidence or {}
    for key in ("absence", "last_complete_read"):
        proof = evidence.get(key)
        if proof and proof.get("run_id") is not None:
            out += session.exec(
                select(ListingSnapshot)
                .where(ListingSnapshot.run_id == proof["run_id"])
                .order_by(ListingSnapshot.fetched_at)
            ).all()
    if report is not None and report.listing_url:
        snaps = session.exec(
            select(ListingSnapshot)
            .where(ListingSnapshot.url == report.listing_url)
            .order_by(ListingSnapshot.fetched_at)
        ).all()
        showing = [i for i, s in enumerate(snaps) if report.url in (s.report_urls or [])]
        if showing:
            i = showing[0]
            out += [snaps[i - 1], snaps[i]] if i > 0 else [snaps[i]]
    unique: dict[int, ListingSnapshot] = {s.id: s for s in out if s.sha256}  # type: ignore[misc]
    return sorted(unique.values(), key=lambda s: s.fetched_at)


def build_evidence_zip(session: Session, archive: Archive, agency_id: str, year: int) -> bytes | None:
    """The zip's bytes; None when gkwatch has no status for that agency-year."""
    status = session.get(AgencyYearStatus, (agency_id, year))
    if status is None:
        return None
    report = session.get(Report, status.report_id) if status.report_id else None
    items: list[Item] = []
    blobs: dict[str, str] = {}  # path -> sha256
    left_out: list[dict[str, Any]] = []
    total = 0

    def add(item: Item) -> None:
        nonlocal total
        if not archive.has(item.sha256) or total + item.size > MAX_BYTES:
            left_out.append(
                {
                    **item.to_json(),
                    "why": "not in the archive" if not archive.has(item.sha256) else "too large",
                }
            )
            return
        total += item.size
        items.append(item)
        blobs[item.path] = item.sha256

    if report is not None:
        for n, (role, f) in enumerate(_fetches(session, report), start=1):
            add(
                Item(
                    _name(role, n, f.final_url or f.url, f.content_type),
                    role,
                    f.url,
                    f.final_url,
                    f.fetched_at,
                    f.http_status,
                    dict(f.headers or {}),
                    f.sha256,
                    f.size,
                )
            )
    for n, s in enumerate(_listings(session, status, report), start=1):
        fetch = session.exec(select(Fetch).where(Fetch.sha256 == s.sha256).order_by(Fetch.fetched_at)).first()
        add(
            Item(
                _name("listing", n, s.url, "text/html"),
                "listing",
                s.url,
                fetch.final_url if fetch else None,
                s.fetched_at,
                fetch.http_status if fetch else None,
                dict(fetch.headers or {}) if fetch else {},
                s.sha256 or "",
                fetch.size if fetch else 0,
            )
        )
    manifest = _manifest(status, items, left_out)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for path, sha in blobs.items():
            data = archive.get(sha)
            if hashlib.sha256(data).hexdigest() != sha:  # a damaged archive file is not evidence
                raise ValueError(f"archive file {sha} does not match its name")
            z.writestr(path, data)
        z.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
        z.writestr("summary.html", summary_html(manifest))
    return out.getvalue()


def _manifest(status: AgencyYearStatus, items: list[Item], left_out: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "agency_id": status.agency_id,
        "agency": status.agency,
        "region": status.region,
        "year": status.year,
        "status": status.status,
        "status_label": codes.label(codes.STATUS, status.status),
        "due": status.due.isoformat() if status.due else None,
        "due_reason": status.due_reason,
        "published": status.published.isoformat() if status.published else None,
        "published_evidence": status.published_evidence,
        "days_late": status.days_late,
        "first_seen": status.first_seen.isoformat() if status.first_seen else None,
        "inconsistent": status.inconsistent,
        "findings": list(status.details or []),
        "crawl_problem": status.crawl_problem,
        "report_url": status.report_url,
        "evidence": status.evidence or {},
        "judged_as_of": status.as_of.isoformat() if status.as_of else None,
        "computed_at": status.computed_at.isoformat() if status.computed_at else None,
        "files": [i.to_json() for i in items],
        "not_included": left_out,
    }


def summary_html(m: dict[str, Any]) -> str:
    """The manifest for people: Chinese, in the words of the web page (``monitor.status.wording``), escaped
    (every value came from a portal we do not control)."""
    e = html.escape
    rows = [
        ("机关", f"{m['agency']}（{m['agency_id']}）"),
        ("地区", m["region"]),
        ("年度", str(m["year"])),
        ("结论", wording.verdict_sentence(m)),
        ("截止日", f"{m['due']}（{wording.due_reason(m['due_reason'])}）"),
        ("发布日期", m["published"] or "—"),
        ("日期依据", codes.label(codes.EVIDENCE, m["published_evidence"])),
        ("逾期天数", "—" if m["days_late"] is None else str(m["days_late"])),
        ("报告网址", m["report_url"] or "—"),
        ("数据一致性", wording.consistency(m["inconsistent"], m["findings"]).text),
        ("抓取问题", codes.label(codes.PROBLEM, m["crawl_problem"])),
    ]
    rows += [("证据", line) for line in wording.evidence_lines(m)]
    table = "".join(f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in rows)
    findings = "".join(
        f"<li>[{e(codes.label(codes.SEVERITY, f.get('severity')))}] {e(codes.explain(str(f.get('rule'))))}："
        f"{e(str(f.get('message') or ''))} <code>{e(str(f.get('rule')))}</code></li>"
        for f in m["findings"]
    )
    files = "".join(
        f"<tr><td>{e(f['path'])}</td><td>{e(f['url'])}</td><td>{e(f['fetched_at'])}</td><td><code>{e(f['sha256'])}</code></td></tr>"
        for f in m["files"]
    )
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>gkwatch 证据</title></head><body>'
        f"<h1>{e(m['agency'])} {m['year']} 年度政府信息公开工作年度报告：证据</h1>"
        f"<table>{table}</table><h2>发现的问题</h2><ul>{findings or '<li>无</li>'}</ul>"
        f"<h2>文件（与存档逐字节一致，sha256 可核对）</h2><table><tr><th>文件</th><th>网址</th><th>抓取时间</th>"
        f"<th>sha256</th></tr>{files}</table></body></html>"
    )
