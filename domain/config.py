"""config.yaml: loading, defaults and validation.

The keys of ``../shared/spec/contract.md`` are the public surface; everything here is optional beyond them.
Relative paths (database file, archive, agencies_file) are resolved against the config file's folder, so
``gkwatch --config /etc/gkwatch/config.yaml`` behaves the same from any working directory.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

AGENCY_KINDS = ("department", "township", "government")


class ConfigError(ValueError):
    """config.yaml (or the agencies file) is wrong; the message says where."""


@dataclass
class PortalConfig:
    id: str
    name: str
    start_urls: list[str]
    allowed_domains: list[str] = field(default_factory=list)
    platform: str | None = None  # force a CMS family (trs | hanweb | generic); detected when None
    obey_robots: bool | None = None  # per-portal override of crawl.obey_robots (logged when it overrides)
    delay_seconds: float | None = None


@dataclass
class AgencyConfig:
    id: str
    name: str
    aliases: list[str] = field(default_factory=list)
    kind: str = "department"
    region: str = ""
    portal: str | None = None
    source: str = "config"


@dataclass
class CrawlConfig:
    delay_seconds: float = 1.0
    obey_robots: bool = True
    user_agent: str = (
        "gkwatch/0.1 (+https://github.com/gkwatch/gkwatch; watchdog of 政府信息公开工作年度报告)"
    )
    contact: str = ""
    timeout_seconds: float = 30.0
    max_attachment_bytes: int = 50 * 1024 * 1024
    retries: int = 2
    log_level: str = "INFO"  # Scrapy's log level for `gkwatch crawl` (WARNING keeps only trouble)


@dataclass
class SmtpConfig:
    host: str = "127.0.0.1"
    port: int = 25
    from_addr: str = "gkwatch@example.org"
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    ssl: bool = False
    timeout_seconds: float = 30.0


@dataclass
class Subscriber:
    email: str
    regions: list[str] = field(default_factory=list)


@dataclass
class AlertsConfig:
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    subscribers: list[Subscriber] = field(default_factory=list)
    operator: str | None = None  # receives crawler-problem mail
    problem_threshold: int = 3  # consecutive failed crawls of a portal before the operator is told
    apprise_urls: list[str] = field(default_factory=list)
    base_url: str = "http://127.0.0.1:8000"  # links in mail point here


@dataclass
class Config:
    path: Path
    database_url: str = "sqlite:///data/gkwatch.db"
    archive_dir: Path = Path("data/archive")
    portals: list[PortalConfig] = field(default_factory=list)
    agencies: list[AgencyConfig] = field(default_factory=list)
    agencies_file: Path | None = None
    crawl: CrawlConfig = field(default_factory=CrawlConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    # Sections owned by the monitor (deadlines, schedule) and the web (web: secret, users) stay raw here
    # and are interpreted by their modules.
    raw: dict[str, Any] = field(default_factory=dict)

    def portal(self, portal_id: str) -> PortalConfig:
        for p in self.portals:
            if p.id == portal_id:
                return p
        raise ConfigError(f"no portal with id {portal_id!r}")


def default_config_path() -> Path:
    return Path(os.environ.get("GKWATCH_CONFIG", "config.yaml"))


def _resolve(base: Path, value: str | os.PathLike) -> Path:
    p = Path(value)
    return p if p.is_absolute() else base / p


def _resolve_db_url(base: Path, url: str) -> str:
    """Make a relative SQLite path relative to the config file's folder."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith("sqlite:////"):
        rest = url[len(prefix) :]
        if rest and rest != ":memory:" and not rest.startswith("/"):
            return prefix + str((base / rest).resolve())
    return url


def _agency_from_mapping(m: dict[str, Any], where: str, source: str) -> AgencyConfig:
    if not m.get("id") or not m.get("name"):
        raise ConfigError(f"{where}: an agency needs an id and a name")
    aliases = m.get("aliases") or []
    if isinstance(aliases, str):
        aliases = [a.strip() for a in aliases.split(";") if a.strip()]
    kind = (m.get("kind") or "department").strip()
    if kind not in AGENCY_KINDS:
        raise ConfigError(f"{where}: kind {kind!r} is not one of {', '.join(AGENCY_KINDS)}")
    return AgencyConfig(
        id=str(m["id"]).strip(),
        name=str(m["name"]).strip(),
        aliases=[str(a).strip() for a in aliases],
        kind=kind,
        region=str(m.get("region") or "").strip(),
        portal=(str(m["portal"]).strip() if m.get("portal") else None),
        source=source,
    )


def load_agencies_file(path: Path) -> list[AgencyConfig]:
    """Agencies from a CSV (UTF-8 or GBK, as spreadsheets export it) or an .xlsx sheet.

    Columns: id, name, aliases (';'-separated), kind, region, portal.
    """
    if not path.exists():
        raise ConfigError(f"agencies_file {path} does not exist")
    if path.suffix.lower() in (".xlsx", ".xls"):
        from python_calamine import CalamineWorkbook

        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
        if not sheet:
            return []
        header = [str(h).strip() for h in sheet[0]]
        rows = [
            {header[i]: ("" if v is None else str(v)) for i, v in enumerate(r) if i < len(header)}
            for r in sheet[1:]
        ]
    else:
        raw = path.read_bytes()
        for enc in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:  # pragma: no cover - gb18030 decodes any byte string
            raise ConfigError(f"{path}: cannot decode")
        rows = list(csv.DictReader(io.StringIO(text)))
    out = []
    for n, r in enumerate(rows, start=2):
        if not any((v or "").strip() for v in r.values()):
            continue
        out.append(_agency_from_mapping(r, f"{path.name} line {n}", "agencies_file"))
    return out


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Read and validate a config file. A missing file gives the defaults (no portals)."""
    p = Path(path) if path else default_config_path()
    data: dict[str, Any] = {}
    if p.exists():
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{p}: not valid YAML: {e}") from e
        if not isinstance(data, dict):
            raise ConfigError(f"{p}: the top level must be a mapping")
    base = p.resolve().parent
    cfg = Config(path=p, raw=data)

    db = data.get("database") or {}
    cfg.database_url = _resolve_db_url(base, db.get("url") or cfg.database_url)
    arch = data.get("archive") or {}
    cfg.archive_dir = _resolve(base, arch.get("dir") or cfg.archive_dir)

    seen: set[str] = set()
    for i, m in enumerate(data.get("portals") or []):
        if not m.get("id") or not m.get("start_urls"):
            raise ConfigError(f"{p}: portals[{i}] needs an id and start_urls")
        if m["id"] in seen:
            raise ConfigError(f"{p}: portal id {m['id']!r} appears twice")
        seen.add(m["id"])
        cfg.portals.append(
            PortalConfig(
                id=str(m["id"]),
                name=str(m.get("name") or m["id"]),
                start_urls=list(m["start_urls"]),
                allowed_domains=list(m.get("allowed_domains") or []),
                platform=m.get("platform"),
                obey_robots=m.get("obey_robots"),
                delay_seconds=m.get("delay_seconds"),
            )
        )

    for i, m in enumerate(data.get("agencies") or []):
        cfg.agencies.append(_agency_from_mapping(m, f"{p}: agencies[{i}]", "config"))
    if data.get("agencies_file"):
        cfg.agencies_file = _resolve(base, data["agencies_file"])
        cfg.agencies.extend(load_agencies_file(cfg.agencies_file))
    ids: set[str] = set()
    for a in cfg.agencies:
        if a.id in ids:
            raise ConfigError(f"agency id {a.id!r} appears twice")
        ids.add(a.id)
        if a.portal and a.portal not in seen:
            raise ConfigError(f"agency {a.id!r} names portal {a.portal!r}, which is not configured")

    crawl = data.get("crawl") or {}
    for k, v in crawl.items():
        if hasattr(cfg.crawl, k):
            setattr(cfg.crawl, k, v)

    alerts = data.get("alerts") or {}
    smtp = alerts.get("smtp") or {}
    cfg.alerts.smtp = SmtpConfig(
        host=smtp.get("host", "127.0.0.1"),
        port=int(smtp.get("port", 25)),
        from_addr=smtp.get("from", "gkwatch@example.org"),
        username=smtp.get("username"),
        password=smtp.get("password"),
        starttls=bool(smtp.get("starttls", False)),
        ssl=bool(smtp.get("ssl", False)),
    )
    cfg.alerts.subscribers = [
        Subscriber(email=s["email"], regions=list(s.get("regions") or []))
        for s in alerts.get("subscribers") or []
    ]
    cfg.alerts.operator = alerts.get("operator")
    cfg.alerts.problem_threshold = int(alerts.get("problem_threshold", 3))
    cfg.alerts.apprise_urls = list(alerts.get("apprise_urls") or [])
    cfg.alerts.base_url = alerts.get("base_url", cfg.alerts.base_url)
    return cfg
