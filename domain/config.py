"""config.yaml: one typed schema (pydantic v2), read and checked in one place.

Every section is declared here and nowhere else; the modules that use a section get typed objects
(``config.deadlines``, ``config.schedule``, ``config.web`` …), never a raw mapping. The schema refuses what a
person cannot have meant — an unknown or misspelled key (``subscriber:`` for ``subscribers:`` would otherwise
mean no mail, ever), a key given twice, a wrong type (``start_urls`` as one string would be read as a list of
characters), an impossible date, an e-mail address that cannot receive mail, an agency on a portal that is not
configured — with one line that names the file, the key path (``alerts.subscribers[0].email``) or the line, and
what is wrong. ``gkwatch`` prints that line and exits with status 2, before anything is created.

The keys of the contract ("config.yaml keys that must work") are the public surface; the README's
Configuration section documents every key. Relative paths (SQLite file, archive, agencies_file) are resolved
against the config file's folder, so ``gkwatch --config /etc/gkwatch/config.yaml`` behaves the same from any
working directory.
"""

from __future__ import annotations

import csv
import difflib
import io
import ipaddress
import os
import types
import typing
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    PlainValidator,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from domain.codes import AGENCY_KINDS

__all__ = [
    "AGENCY_KINDS",
    "PLATFORMS",
    "AgencyConfig",
    "AlertsConfig",
    "Config",
    "ConfigError",
    "CrawlConfig",
    "DeadlineOverride",
    "DeadlinesConfig",
    "OcrConfig",
    "PortalConfig",
    "QueueConfig",
    "S3Config",
    "ScheduleSettings",
    "SmtpConfig",
    "Subscriber",
    "WebConfig",
    "WebUser",
    "default_config_path",
    "load_agencies_file",
    "load_config",
    "validate_section",
]

# The CMS families the crawler knows (crawler/portal/platforms); a test keeps the two lists equal.
PLATFORMS = ("trs", "hanweb", "generic")
AGENCY_FILE_COLUMNS = ("id", "name", "aliases", "kind", "region", "portal")
DEFAULT_DATABASE_URL = "sqlite:///data/gkwatch.db"
DEFAULT_USER_AGENT = "gkwatch/0.1 (+https://github.com/gkwatch/gkwatch; watchdog of 政府信息公开工作年度报告)"
# values never repeated in an error message
SECRET_KEYS = frozenset(
    {"password", "password_hash", "secret_key", "secret_access_key", "access_key_id", "unsubscribe_secret"}
)


class ConfigError(ValueError):
    """config.yaml (or the agencies file) is wrong; the message is one line: file, key path or line, what."""


# --- value types --------------------------------------------------------------------------------------


def _show(value: Any) -> str:
    """A value as the person wrote it in YAML, short and on one line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 80 else text[:77] + "…"


def _not_bool(value: Any) -> Any:
    """YAML's ``yes``/``true`` is a bool, and a bool is not a number (pydantic would read it as 1)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {_show(value)}")
    return value


def _stripped(value: str) -> str:
    return value.strip()


def _http_url(value: str) -> str:
    """An http(s) URL with a host, kept as written (crawled links are compared with it)."""
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{_show(value)} is not an http:// or https:// URL")
    if any(c.isspace() for c in value):
        raise ValueError(f"{_show(value)} contains spaces")
    try:
        parts.port  # noqa: B018  (raises on a port that is not a number 0–65535)
    except ValueError as e:
        raise ValueError(f"{_show(value)} has a bad port number") from e
    return value


def _domain(value: str) -> str:
    value = value.strip().lower()
    if not value or any(c in value for c in "/:@ \t") or value.startswith("."):
        raise ValueError(f"{_show(value)} is not a host name (write zichuan.gov.cn: no scheme, port or path)")
    return value


def _ip_network(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    if not isinstance(value, str):
        raise ValueError(f"expected an IP address or network as text, got {_show(value)}")
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError as e:
        raise ValueError(
            f"{_show(value)} is not an IP address or network (like 10.0.0.1 or 10.0.0.0/8)"
        ) from e


def _email_text(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _as_list(value: Any) -> Any:
    """``year: 2021`` and ``year: [2021, 2022]`` both mean a set of years."""
    return value if value is None or isinstance(value, list | tuple | set | frozenset) else [value]


def _path(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        raise ValueError("must not be empty")
    return value


Text = Annotated[str, AfterValidator(_stripped)]
Name = Annotated[str, AfterValidator(_stripped), Field(min_length=1)]
Int = Annotated[int, BeforeValidator(_not_bool)]
PositiveInt = Annotated[int, BeforeValidator(_not_bool), Field(ge=1)]
NonNegativeInt = Annotated[int, BeforeValidator(_not_bool), Field(ge=0)]
Seconds = Annotated[float, BeforeValidator(_not_bool), Field(gt=0)]
NonNegativeSeconds = Annotated[float, BeforeValidator(_not_bool), Field(ge=0)]
HttpUrlText = Annotated[str, AfterValidator(_http_url)]
Domain = Annotated[str, AfterValidator(_domain)]
IpNetwork = Annotated[ipaddress.IPv4Network | ipaddress.IPv6Network, PlainValidator(_ip_network)]
Email = Annotated[EmailStr, BeforeValidator(_email_text)]
PathValue = Annotated[Path, BeforeValidator(_path)]
AgencyKind = Literal[AGENCY_KINDS]  # type: ignore[valid-type]
Platform = Literal[PLATFORMS]  # type: ignore[valid-type]


class _Section(BaseModel):
    """Every section: unknown keys refused; ``key:`` with no value means the default, as leaving it out."""

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, coerce_numbers_to_str=True, allow_inf_nan=False
    )
    # attributes gkwatch sets itself: not keys of the file
    _internal: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _blank_means_default(cls, data: Any) -> Any:
        if isinstance(data, dict):
            keys = cls._file_keys_with_default()
            return {k: v for k, v in data.items() if v is not None or k not in keys}
        return data

    @classmethod
    def _file_keys_with_default(cls) -> frozenset[str]:
        return frozenset(
            k for name, f in cls.model_fields.items() if not f.is_required() for k in _keys_of(name, f)
        )

    @classmethod
    def file_keys(cls) -> list[str]:
        """The keys a person may write in this section (for "did you mean …?")."""
        return [
            k
            for name, f in cls.model_fields.items()
            if name not in cls._internal
            for k in _keys_of(name, f)[:1]
        ]


def _keys_of(name: str, f: Any) -> list[str]:
    if isinstance(f.validation_alias, AliasChoices):
        return [str(c) for c in f.validation_alias.choices]
    return [f.alias or name, name] if f.alias else [name]


# --- sections -----------------------------------------------------------------------------------------


class PortalConfig(_Section):
    """A government portal whose annual-report listing is crawled."""

    id: Name
    name: Text = ""  # the id when left out
    start_urls: Annotated[list[HttpUrlText], Field(min_length=1)]
    allowed_domains: list[Domain] = Field(default_factory=list)
    platform: Platform | None = None  # force a CMS family; detected from the pages when None
    obey_robots: bool | None = None  # per-portal override of crawl.obey_robots (logged when it overrides)
    delay_seconds: NonNegativeSeconds | None = None

    @model_validator(mode="after")
    def _name_defaults_to_id(self) -> PortalConfig:
        if not self.name:
            self.name = self.id
        return self


class AgencyConfig(_Section):
    """An agency whose reports are watched; ``source`` says where it was listed (config | agencies_file)."""

    _internal: ClassVar[frozenset[str]] = frozenset({"source"})

    id: Name
    name: Name
    aliases: list[Name] = Field(default_factory=list)  # other names the portal prints for it
    kind: AgencyKind = "department"
    region: Text = ""
    portal: Text | None = None
    source: Literal["config", "agencies_file"] = "config"
    _where: str = PrivateAttr(default="")  # agencies[3] / agencies.csv line 7, for later messages

    @field_validator("id")
    @classmethod
    def _addressable_id(cls, value: str) -> str:
        """The id is the web page's path (``/agency/{id}``, percent-encoded, so "/" or "?" are fine); "."
        and ".." alone are dot segments that browsers resolve away, encoded or not: no URL reaches them."""
        if value in (".", ".."):
            raise ValueError(f"{value!r} cannot be an agency id (no web address can name it)")
        return value

    @field_validator("aliases", mode="before")
    @classmethod
    def _split_aliases(cls, value: Any) -> Any:
        """In the agencies file (and accepted in YAML too) aliases are one ';'-separated cell."""
        if isinstance(value, str):
            return [a.strip() for a in value.replace("；", ";").split(";") if a.strip()]
        return value

    @field_validator("portal")
    @classmethod
    def _blank_portal(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("source", mode="before")
    @classmethod
    def _source_is_not_a_key(cls, value: Any, info: ValidationInfo) -> Any:
        if info.context and info.context.get("file"):
            raise ValueError("unknown key (gkwatch records where an agency was listed by itself)")
        return value


class CrawlConfig(_Section):
    """``crawl:`` — politeness and the bounds of one crawl of one portal."""

    delay_seconds: NonNegativeSeconds = 1.0
    obey_robots: bool = True
    user_agent: Name = DEFAULT_USER_AGENT
    contact: Text = ""
    timeout_seconds: Seconds = 30.0
    retries: NonNegativeInt = 2
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    max_pages_per_portal: PositiveInt = 3000
    max_requests_per_portal: PositiveInt = 6000
    max_links_per_listing_page: PositiveInt = 1000
    max_listing_pages_per_portal: PositiveInt = 500
    max_document_bytes: PositiveInt = Field(
        50 * 1024 * 1024, validation_alias=AliasChoices("max_document_bytes", "max_attachment_bytes")
    )
    seconds_per_document: Seconds = 120.0
    seconds_per_conversion: Seconds = 20.0  # one LibreOffice conversion (crawler.reading.documents.office)
    concurrent_sites: PositiveInt = 16
    revalidate_known_after_days: NonNegativeSeconds = 7

    @model_validator(mode="before")
    @classmethod
    def _one_name_for_the_size_cap(cls, data: Any) -> Any:
        if isinstance(data, dict) and "max_document_bytes" in data and "max_attachment_bytes" in data:
            raise ValueError("give max_document_bytes or its old name max_attachment_bytes, not both")
        return data

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @property
    def max_attachment_bytes(self) -> int:
        """The old name of ``max_document_bytes``."""
        return self.max_document_bytes

    @max_attachment_bytes.setter
    def max_attachment_bytes(self, value: int) -> None:
        self.max_document_bytes = value


class SmtpConfig(_Section):
    host: Name = "127.0.0.1"
    port: Annotated[int, BeforeValidator(_not_bool), Field(ge=1, le=65535)] = 25
    from_addr: Email = Field("gkwatch@example.org", alias="from")
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    ssl: bool = False
    timeout_seconds: Seconds = 30.0

    @model_validator(mode="after")
    def _one_kind_of_tls(self) -> SmtpConfig:
        if self.starttls and self.ssl:
            raise ValueError("starttls and ssl exclude each other: ssl for port 465, starttls for 587")
        return self


class Subscriber(_Section):
    email: Email
    regions: list[Name] = Field(default_factory=list)  # region prefixes; empty = every region

    def __init__(self, email: str | None = None, regions: list[str] | None = None, /, **data: Any) -> None:
        """``Subscriber("a@example.org", ["山东省"])`` as well as by keyword."""
        if email is not None:
            data["email"] = email
        if regions is not None:
            data["regions"] = regions
        super().__init__(**data)


class AlertsConfig(_Section):
    smtp: SmtpConfig = Field(default_factory=SmtpConfig)
    subscribers: list[Subscriber] = Field(default_factory=list)
    operator: Email | None = None  # receives crawler-problem mail
    problem_threshold: PositiveInt = 3  # consecutive failed crawls of a portal before the operator is told
    apprise_urls: list[Name] = Field(default_factory=list)
    base_url: HttpUrlText = "http://127.0.0.1:8000"  # links in mail point here
    contact: Text = ""  # an address or a sentence shown in the footer of every mail
    unsubscribe_secret: str | None = None  # signs the unsubscribe links in mail


def _due(value: Any) -> date | tuple[int, int]:
    """``due``: a full date (one year) or ``MM-DD`` of the year after the report's year (every year)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected YYYY-MM-DD or MM-DD, got {_show(value)}")
    s = value.strip()
    try:
        if len(s) == 10:
            return date.fromisoformat(s)
        mm, dd = (int(x) for x in s.split("-"))
        date(2024, mm, dd)  # validates, 2024 being a leap year (29 February falls back to 28 in others)
        return mm, dd
    except ValueError:
        raise ValueError(
            f"{_show(value)} is not a date: write YYYY-MM-DD (one year) or MM-DD (every year)"
        ) from None


class DeadlineOverride(_Section):
    """A local deadline: region prefix (whole path segments), years, kinds, and when it falls."""

    region: Text = ""  # '' = everywhere
    year: Annotated[list[Int], BeforeValidator(_as_list)] | None = None
    years: Annotated[list[Int], BeforeValidator(_as_list)] | None = None
    kind: Annotated[list[AgencyKind], BeforeValidator(_as_list)] | None = None  # type: ignore[valid-type]
    kinds: Annotated[list[AgencyKind], BeforeValidator(_as_list)] | None = None  # type: ignore[valid-type]
    due: Annotated[date | tuple[int, int], PlainValidator(_due)]
    reason: Text = ""

    @model_validator(mode="after")
    def _consistent(self) -> DeadlineOverride:
        if self.year is not None and self.years is not None:
            raise ValueError("give year or years, not both")
        if self.kind is not None and self.kinds is not None:
            raise ValueError("give kind or kinds, not both")
        self.region = self.region.strip("/")
        if isinstance(self.due, date) and (self.year_set is None or len(self.year_set) != 1):
            raise ValueError(
                f"a full due date ({self.due}) needs exactly one year: add year: {self.due.year - 1}"
            )
        return self

    @property
    def year_set(self) -> frozenset[int] | None:
        values = self.year if self.year is not None else self.years
        return frozenset(values) if values else None

    @property
    def kind_set(self) -> frozenset[str] | None:
        values = self.kind if self.kind is not None else self.kinds
        return frozenset(values) if values else None

    @property
    def due_date(self) -> date | None:
        return self.due if isinstance(self.due, date) else None

    @property
    def month_day(self) -> tuple[int, int] | None:
        return None if isinstance(self.due, date) else self.due

    @property
    def reason_text(self) -> str:
        return self.reason.replace("\n", " ") or f"local deadline for {self.region or 'all regions'}"


class DeadlinesConfig(_Section):
    first_year: Annotated[int, BeforeValidator(_not_bool), Field(ge=2000, le=2100)] | None = None
    overrides: list[DeadlineOverride] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _bare_list(cls, data: Any) -> Any:
        """A bare list under ``deadlines:`` is read as its ``overrides``."""
        return {"overrides": data} if isinstance(data, list) else data


def _season_day(value: Any) -> Any:
    """``MM-DD`` (a YAML date or YYYY-MM-DD is accepted, its year ignored)."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.month, value.day
    if isinstance(value, str):
        try:
            month, day = (int(x) for x in value.strip().split("-")[-2:])
            date(2000, month, day)  # a leap year, so 02-29 is accepted
        except ValueError:
            raise ValueError(f"expected MM-DD, got {_show(value)}") from None
        return month, day
    return value


SeasonDay = Annotated[tuple[int, int], BeforeValidator(_season_day)]


class ScheduleSettings(_Section):
    """``schedule:`` of ``gkwatch serve`` (see monitor/scheduler.py); Asia/Shanghai calendar days."""

    model_config = ConfigDict(frozen=True)

    season_start: SeasonDay = (1, 1)
    season_end: SeasonDay = (4, 15)
    season_every_days: PositiveInt = 1
    off_season_every_days: PositiveInt = 7
    hour: Annotated[int, BeforeValidator(_not_bool), Field(ge=0, le=23)] = 6
    dispatch_every_minutes: PositiveInt = 60
    outbox_every_minutes: PositiveInt = 5
    crawl_timeout_minutes: PositiveInt = 180
    check_timeout_minutes: PositiveInt = 30
    misfire_grace_minutes: NonNegativeInt = 60
    first_dispatch_seconds: NonNegativeInt = 5

    def in_season(self, day: date) -> bool:
        md = (day.month, day.day)
        if self.season_start <= self.season_end:
            return self.season_start <= md <= self.season_end
        return md >= self.season_start or md <= self.season_end  # a season across New Year

    def every_days(self, day: date) -> int:
        return self.season_every_days if self.in_season(day) else self.off_season_every_days


class WebUser(_Section):
    username: Name
    password_hash: Name


class WebConfig(_Section):
    secret_key: str | None = None  # random per process when absent (sessions end at a restart)
    users: list[WebUser] = Field(default_factory=list)
    page_size: Annotated[int, BeforeValidator(_not_bool), Field(ge=1, le=500)] = 50
    stats_cache_seconds: NonNegativeSeconds = 30.0
    login_max_failures: PositiveInt = 5
    login_window_seconds: Seconds = 300.0
    https_only: bool = False
    trusted_proxies: list[IpNetwork] = Field(default_factory=list)
    session_idle_minutes: Seconds = 60.0
    session_max_hours: Seconds = 12.0

    @field_validator("users")
    @classmethod
    def _distinct_users(cls, users: list[WebUser]) -> list[WebUser]:
        seen: set[str] = set()
        for u in users:
            if u.username in seen:
                raise ValueError(f"user {u.username!r} appears twice")
            seen.add(u.username)
        return users


class OcrConfig(_Section):
    enabled: bool = True
    max_pages: PositiveInt = 20
    seconds_per_page: Seconds = 30.0


class QueueConfig(_Section):
    """``queue:`` — crawl and reading jobs on a PostgreSQL job queue shared by ``gkwatch worker`` processes
    on any number of machines (``monitor/queue``); ignored on SQLite."""

    enabled: bool = False
    concurrency: PositiveInt = 1  # jobs one worker runs at a time (each on a different site)
    heartbeat_seconds: Seconds = 10.0  # a worker says it is alive this often …
    stalled_after_seconds: Seconds = 60.0  # … and the jobs of a worker silent this long go to another
    retry_attempts: NonNegativeInt = 6  # a failed crawl job is tried again this many times …
    retry_backoff_seconds: Seconds = 4.0  # … after 10 s + this ** attempt (4: 14 s, 26 s, 74 s … 68 min)
    read_batch_documents: PositiveInt = 50  # documents per reading job (reparse, a crawl's new documents)
    standby_retry_seconds: Seconds = (
        10.0  # a standing-by ``gkwatch serve`` asks to be the scheduler this often
    )
    settle_poll_seconds: Seconds = 10.0  # the final check waits this long again while jobs still run

    @model_validator(mode="after")
    def _heartbeats_fit(self) -> QueueConfig:
        if self.stalled_after_seconds <= self.heartbeat_seconds:
            raise ValueError("stalled_after_seconds must be longer than heartbeat_seconds")
        return self


class S3Config(_Section):
    """``archive.s3:`` — the archive in an S3-compatible bucket (AWS, MinIO, Ceph, OSS …), same keys as the
    folder's paths, so that workers on several machines share it."""

    endpoint_url: HttpUrlText | None = None  # None: AWS itself
    bucket: Name
    prefix: Text = ""
    region: Text | None = None
    access_key_id: str | None = None  # both or neither (then from the environment)
    secret_access_key: str | None = None
    addressing_style: Literal["auto", "path", "virtual"] = "auto"  # MinIO and most self-hosted stores: path
    timeout_seconds: Seconds = 60.0  # per request

    @model_validator(mode="after")
    def _both_keys(self) -> S3Config:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("give both access_key_id and secret_access_key, or neither")
        return self


def _database_url(value: str) -> str:
    """Any SQLAlchemy URL whose dialect SQLAlchemy knows (the driver itself is imported on first use)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        url = make_url(value.strip())
    except ArgumentError:
        raise ValueError(
            "not a database URL: write sqlite:///data/gkwatch.db or postgresql+psycopg://user@host/db"
        ) from None
    try:
        url.get_dialect()
    except NoSuchModuleError:
        raise ValueError(
            f"unknown kind of database {url.drivername!r} (sqlite, postgresql+psycopg …)"
        ) from None
    return value.strip()


class _DatabaseSection(_Section):
    url: Annotated[str, AfterValidator(_database_url)] = DEFAULT_DATABASE_URL


class _ArchiveSection(_Section):
    dir: PathValue = Path("data/archive")
    s3: S3Config | None = None  # an S3-compatible bucket instead of ``dir`` (storage.archive.S3Archive)


class _ConfigFile(_Section):
    """The file as written: section by section."""

    database: _DatabaseSection = Field(default_factory=_DatabaseSection)
    archive: _ArchiveSection = Field(default_factory=_ArchiveSection)
    portals: list[PortalConfig] = Field(default_factory=list)
    agencies: list[AgencyConfig] = Field(default_factory=list)
    agencies_file: PathValue | None = None
    crawl: CrawlConfig = Field(default_factory=CrawlConfig)
    deadlines: DeadlinesConfig = Field(default_factory=DeadlinesConfig)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    web: WebConfig = Field(default_factory=WebConfig)
    ocr: OcrConfig = Field(default_factory=OcrConfig)
    queue: QueueConfig = Field(default_factory=QueueConfig)


class Config(_Section):
    """The loaded configuration, paths resolved. Tests build one directly with keyword arguments."""

    path: Path = Path("config.yaml")
    database_url: str = DEFAULT_DATABASE_URL
    archive_dir: Path = Path("data/archive")
    archive_s3: S3Config | None = None
    portals: list[PortalConfig] = Field(default_factory=list)
    agencies: list[AgencyConfig] = Field(default_factory=list)
    agencies_file: Path | None = None
    crawl: CrawlConfig = Field(default_factory=CrawlConfig)
    deadlines: DeadlinesConfig = Field(default_factory=DeadlinesConfig)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    web: WebConfig = Field(default_factory=WebConfig)
    ocr: OcrConfig = Field(default_factory=OcrConfig)
    queue: QueueConfig = Field(default_factory=QueueConfig)

    def portal(self, portal_id: str) -> PortalConfig:
        for p in self.portals:
            if p.id == portal_id:
                return p
        raise ConfigError(f"no portal with id {portal_id!r}")


# --- pydantic's errors as one plain line ----------------------------------------------------------------


def key_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """``('alerts', 'subscribers', 0, 'email')`` → ``alerts.subscribers[0].email``."""
    out = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _unwrap(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _section_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that holds the key at ``loc`` (to suggest the key that was meant)."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            args = typing.get_args(current)
            current = args[0] if args else None
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = next(
            (f for n, f in current.model_fields.items() if part in _keys_of(n, f)),
            None,
        )
        if field is None:
            return None
        current = field.annotation
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, _Section) else None


def _what(err: dict[str, Any], model: type[BaseModel]) -> str:
    """One pydantic error in plain words."""
    kind, ctx, loc = err["type"], err.get("ctx") or {}, tuple(err["loc"])
    secret = bool(loc) and str(loc[-1]) in SECRET_KEYS
    got = "a value that is hidden here" if secret else _show(err.get("input"))
    if kind == "missing":
        return "is required but missing"
    if kind == "extra_forbidden":
        section = _section_at(model, loc[:-1])
        known = section.file_keys() if section else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
        if close:
            return f"unknown key — did you mean {close[0]!r}?"
        return "unknown key" + (f" (known here: {', '.join(known)})" if known else "")
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"expected a whole number, got {got}"
    if kind in ("float_parsing", "float_type"):
        return f"expected a number, got {got}"
    if kind == "finite_number":
        return "must be a finite number"
    if kind in ("bool_parsing", "bool_type"):
        return f"expected true or false, got {got}"
    if kind == "string_type":
        return f"expected text, got {got}"
    if kind in ("list_type", "tuple_type", "set_type", "frozen_set_type"):
        return f"expected a list ([a, b] or one '- item' per line), got {got}"
    if kind in ("dict_type", "model_type", "model_attributes_type", "dataclass_type"):
        return f"expected a mapping (key: value lines), got {got}"
    if kind == "literal_error":
        return f"{got} is not one of {ctx.get('expected', '').replace(' or ', ', ')}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}, got {got}"
    if kind == "greater_than":
        return f"must be more than {ctx.get('gt')}, got {got}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}, got {got}"
    if kind == "less_than":
        return f"must be less than {ctx.get('lt')}, got {got}"
    if kind in ("string_too_short", "too_short"):
        return "must not be empty" if ctx.get("min_length", 1) <= 1 else f"needs at least {ctx['min_length']}"
    if kind == "value_error":
        msg = str(ctx.get("error") or err.get("msg", ""))
        if msg.startswith("value is not a valid email address"):
            reason = msg.split(":", 1)[-1].strip()
            return f"{got} is not a valid e-mail address: {reason}"
        return msg.removeprefix("Value error, ")
    msg = str(err.get("msg", "invalid value"))
    return f"{msg[:1].lower()}{msg[1:]}, got {got}"


def _one_line(where: str, e: ValidationError, model: type[BaseModel], fix_loc: Any = None) -> str:
    # a misspelled key first: it explains the "missing" one beside it
    errors = sorted(e.errors(), key=lambda err: err["type"] != "extra_forbidden")
    first = errors[0]
    loc = tuple(first["loc"])
    if fix_loc is not None:
        loc = fix_loc(loc)
    path = key_path(loc)
    line = f"{where}: {path + ': ' if path else ''}{_what(first, model)}"
    if len(errors) > 1:
        line += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return " ".join(line.split())


def validate_section(model: type[_Section], data: Any, where: str) -> Any:
    """``model`` from ``data``, or a ConfigError ``where: key.path: what`` (for sections read elsewhere)."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_one_line(where, e, model)) from None


# --- reading the file -----------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (YAML would silently keep the last), and
    leaves an impossible date (``2025-13-45``) as text for the schema to report with its key path."""

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node.start_mark.line)
                except TypeError:  # an unhashable key: SafeLoader reports it
                    continue
                if first != key_node.start_mark.line:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"duplicate key {_show(key)} (first on line {first + 1})",
                        key_node.start_mark,
                    )
        return super().construct_mapping(node, deep=deep)

    def construct_timestamp_or_text(self, node: yaml.ScalarNode) -> Any:
        try:
            return self.construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _StrictLoader.construct_timestamp_or_text)


def default_config_path() -> Path:
    return Path(os.environ.get("GKWATCH_CONFIG", "config.yaml"))


def _read_yaml(p: Path) -> dict[str, Any]:
    if not p.exists():
        raise ConfigError(
            f"{p}: no such config file (give --config PATH or set $GKWATCH_CONFIG; "
            "`gkwatch demo` writes a working example)"
        )
    if not p.is_file():
        raise ConfigError(f"{p}: not a regular file")
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise ConfigError(f"{p}: cannot be read: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        try:
            raw.decode("gb18030")
            hint = "it looks like GBK: save it as UTF-8"
        except UnicodeDecodeError:
            hint = "save it as UTF-8"
        raise ConfigError(f"{p}: line {line}: not UTF-8 text ({hint})") from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506  (a SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = " ".join(str(e.problem or e.context).split())
        if "'\\t'" in problem:
            problem = "a tab character: YAML indents with spaces only"
        raise ConfigError(f"{p}: {at}{problem}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: not valid YAML: {' '.join(str(e).split())}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: the top level must be a mapping of sections (database:, portals:, …)")
    return data


def _resolve(base: Path, value: str | os.PathLike) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p


def _resolve_db_url(base: Path, url: str) -> str:
    """Make a relative SQLite path relative to the config file's folder."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    db = u.database
    if u.get_backend_name() != "sqlite" or not db or db == ":memory:" or db.startswith("file:"):
        return url
    if Path(db).is_absolute():
        return url
    return u.set(database=str((base / db).resolve())).render_as_string(hide_password=False)


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Read and check a config file (default: ``$GKWATCH_CONFIG``, else ./config.yaml).

    Every problem is a ConfigError with one line: the file, the key path or line, what is wrong. A missing
    file is one too: silently running with no portals would make an empty database somewhere.
    """
    p = Path(path) if path else default_config_path()
    data = _read_yaml(p)

    def fix_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
        # the bare-list form of ``deadlines:`` has no ``overrides`` key to name
        if isinstance(data.get("deadlines"), list) and loc[:2] == ("deadlines", "overrides"):
            return ("deadlines", *loc[2:])
        return loc

    try:
        section = _ConfigFile.model_validate(data, context={"file": True})
    except ValidationError as e:
        raise ConfigError(_one_line(str(p), e, _ConfigFile, fix_loc)) from None

    base = p.resolve().parent
    portal_ids: dict[str, int] = {}
    for i, portal in enumerate(section.portals):
        if portal.id in portal_ids:
            raise ConfigError(
                f"{p}: portals[{i}].id: {portal.id!r} is already used by portals[{portal_ids[portal.id]}]"
            )
        portal_ids[portal.id] = i
    agencies = list(section.agencies)
    for i, a in enumerate(agencies):
        a._where = f"{p}: agencies[{i}]"
    agencies_file = _resolve(base, section.agencies_file) if section.agencies_file else None
    if agencies_file is not None:
        agencies.extend(load_agencies_file(agencies_file, where=f"{p}: agencies_file"))
    _check_agencies(agencies, portal_ids)

    return Config(
        path=p,
        database_url=_resolve_db_url(base, section.database.url),
        archive_dir=_resolve(base, section.archive.dir),
        archive_s3=section.archive.s3,
        portals=section.portals,
        agencies=agencies,
        agencies_file=agencies_file,
        crawl=section.crawl,
        deadlines=section.deadlines,
        schedule=section.schedule,
        alerts=section.alerts,
        web=section.web,
        ocr=section.ocr,
        queue=section.queue,
    )


def _check_agencies(agencies: list[AgencyConfig], portal_ids: dict[str, int]) -> None:
    """Agency ids are unique across config.yaml and the agencies file; each names a configured portal."""
    first: dict[str, AgencyConfig] = {}
    for a in agencies:
        sep = "." if a._where.endswith("]") else ": "
        if a.id in first:
            raise ConfigError(f"{a._where}{sep}id: {a.id!r} is already used ({first[a.id]._where})")
        first[a.id] = a
        if a.portal and a.portal not in portal_ids:
            known = ", ".join(portal_ids) or "none"
            raise ConfigError(
                f"{a._where}{sep}portal: no portal {a.portal!r} is configured (portals: {known})"
            )


# --- the agencies file ----------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    """A spreadsheet cell as text: 370302.0 (how .xlsx stores a number) is the id 370302."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _csv_rows(path: Path) -> list[tuple[int, list[str]]]:
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise ConfigError(f"{path}: neither UTF-8 nor GBK text")
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for row in reader:
            rows.append((start, [c.strip() for c in row]))
            start = reader.line_num + 1
    except csv.Error as e:
        raise ConfigError(f"{path} line {start}: not readable as CSV: {e}") from None
    return rows


def _xlsx_rows(path: Path) -> list[tuple[int, list[str]]]:
    from python_calamine import CalamineWorkbook

    try:
        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as e:  # noqa: BLE001  (calamine raises its own types for every kind of broken file)
        raise ConfigError(f"{path}: not a readable spreadsheet: {' '.join(str(e).split())}") from None
    return [(n, [_cell(v) for v in row]) for n, row in enumerate(sheet, start=1)]


def load_agencies_file(path: Path, where: str = "agencies_file") -> list[AgencyConfig]:
    """Agencies from a CSV (UTF-8 or GBK, as spreadsheets export it) or an .xlsx sheet.

    Columns: id, name, aliases (';'-separated), kind, region, portal; a broken row is reported with its line.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"{where}: {path} does not exist" if not path.exists() else f"{where}: {path} is not a file"
        )
    rows = _xlsx_rows(path) if path.suffix.lower() in (".xlsx", ".xls", ".xlsm", ".ods") else _csv_rows(path)
    rows = [(n, r) for n, r in rows if any(r)]
    if not rows:
        return []
    header_line, header = rows[0]
    header = [h.strip().lower() for h in header]
    while header and not header[-1]:
        header.pop()
    for h in header:
        if h not in AGENCY_FILE_COLUMNS:
            close = difflib.get_close_matches(h, AGENCY_FILE_COLUMNS, n=1)
            hint = (
                f" — did you mean {close[0]!r}?" if close else f" (columns: {', '.join(AGENCY_FILE_COLUMNS)})"
            )
            raise ConfigError(f"{path} line {header_line}: unknown column {h!r}{hint}")
        if header.count(h) > 1:
            raise ConfigError(f"{path} line {header_line}: column {h!r} appears twice")
    for needed in ("id", "name"):
        if needed not in header:
            raise ConfigError(f"{path} line {header_line}: the header needs an {needed!r} column")
    out = []
    for n, row in rows[1:]:
        extra = [c for c in row[len(header) :] if c]
        if extra:
            raise ConfigError(f"{path} line {n}: {len(header) + len(extra)} cells but {len(header)} columns")
        values = {h: v for h, v in zip(header, row, strict=False) if v}
        try:
            agency = AgencyConfig.model_validate({**values, "source": "agencies_file"})
        except ValidationError as e:
            err = e.errors()[0]
            column = str(err["loc"][0]) if err["loc"] else ""
            what = _what(err, AgencyConfig)
            raise ConfigError(
                " ".join(f"{path} line {n}: {column + ': ' if column else ''}{what}".split())
            ) from None
        agency._where = f"{path} line {n}"
        out.append(agency)
    return out
