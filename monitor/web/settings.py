"""The ``web:`` section of config.yaml as the web app's settings.

The section is declared and checked in ``domain/config.py`` (``WebConfig``) with the rest of the file; this
module only turns it into the shape the app uses (users by name, a secret even when none is configured).

```yaml
web:
  secret_key: "long random string"      # signs the session cookie; random per process when absent
  users:                                # operators; hash with monitor.web.auth.hash_password
    - {username: alice, password_hash: "scrypt$16384$8$1$…"}
  page_size: 50                         # rows per page of the status table (1–500)
  stats_cache_seconds: 30               # counts, anonymous pages, /api/status kept this long (table changes on check)
  login_max_failures: 5                 # failed logins per client and per username …
  login_window_seconds: 300             # … within this window before logins are slowed down
  https_only: false                     # mark the session cookie Secure (behind HTTPS)
  trusted_proxies: [127.0.0.1]          # X-Forwarded-For is believed only from these addresses / networks
  session_idle_minutes: 60              # a session unused this long ends
  session_max_hours: 12                 # and any session ends this long after login
```
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network

from domain.config import Config


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
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = ()
    session_idle_minutes: float = 60.0
    session_max_hours: float = 12.0


def web_settings(config: Config) -> WebSettings:
    """``config.web`` for the app; no ``web:`` section gives a read-only page with no operators."""
    web = config.web
    return WebSettings(
        secret_key=web.secret_key or secrets.token_urlsafe(32),
        users={u.username: u.password_hash for u in web.users},
        page_size=web.page_size,
        stats_cache_seconds=web.stats_cache_seconds,
        login_max_failures=web.login_max_failures,
        login_window_seconds=web.login_window_seconds,
        https_only=web.https_only,
        trusted_proxies=tuple(web.trusted_proxies),
        session_idle_minutes=web.session_idle_minutes,
        session_max_hours=web.session_max_hours,
    )
