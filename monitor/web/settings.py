"""The ``web:`` section of config.yaml, read once into typed settings.

```yaml
web:
  secret_key: "long random string"      # signs the session cookie; random per process when absent
  users:                                # operators; hash with monitor.web.auth.hash_password
    - {username: alice, password_hash: "scrypt$16384$8$1$…"}
  page_size: 50                         # rows per page of the status table
  stats_cache_seconds: 30               # counts, anonymous pages, /api/status kept this long (table changes on check)
  login_max_failures: 5                 # failed logins per client and per username …
  login_window_seconds: 300             # … within this window before logins are refused (HTTP 429)
  https_only: false                     # mark the session cookie Secure (behind HTTPS)
```
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from domain.config import Config, ConfigError


@dataclass(frozen=True)
class WebSettings:
    secret_key: str
    users: dict[str, str] = field(default_factory=dict)  # username -> password hash
    page_size: int = 50
    max_page_size: int = 500
    stats_cache_seconds: float = 30.0
    login_max_failures: int = 5
    login_window_seconds: float = 300.0
    https_only: bool = False


def web_settings(config: Config) -> WebSettings:
    """Validate ``config.raw['web']``; a missing section gives a read-only page with no operators."""
    raw: dict[str, Any] = (config.raw or {}).get("web") or {}
    if not isinstance(raw, dict):
        raise ConfigError("web: must be a mapping")
    users: dict[str, str] = {}
    for i, u in enumerate(raw.get("users") or []):
        if not isinstance(u, dict) or not u.get("username") or not u.get("password_hash"):
            raise ConfigError(f"web.users[{i}] needs a username and a password_hash")
        users[str(u["username"])] = str(u["password_hash"])
    try:
        page_size = int(raw.get("page_size", 50))
        settings = WebSettings(
            secret_key=str(raw.get("secret_key") or secrets.token_urlsafe(32)),
            users=users,
            page_size=max(1, min(page_size, 500)),
            stats_cache_seconds=float(raw.get("stats_cache_seconds", 30)),
            login_max_failures=int(raw.get("login_max_failures", 5)),
            login_window_seconds=float(raw.get("login_window_seconds", 300)),
            https_only=bool(raw.get("https_only", False)),
        )
    except (TypeError, ValueError) as e:
        raise ConfigError(f"web: {e}") from e
    return settings
