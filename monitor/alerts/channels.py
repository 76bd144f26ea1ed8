"""Optional non-mail channels (DingTalk, WeCom, Feishu …) through Apprise.

Apprise is an optional extra (``pip install gkwatch[notify]``), imported only when a message is sent, so
the rest of gkwatch never needs it. The outbox stores a channel's sha256 rather than its URL, because those
URLs carry access tokens and the database is not the place for secrets.
"""

from __future__ import annotations

import hashlib
import logging

log = logging.getLogger(__name__)


def url_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def apprise_url_for_key(urls: list[str], key: str) -> str | None:
    for u in urls:
        if url_key(u) == key:
            return u
    return None


def send_apprise(url: str, title: str, body: str) -> None:
    """Send one notification; raises RuntimeError when Apprise is missing or the service refuses."""
    try:
        import apprise
    except ImportError as e:
        log.error("alerts.apprise_urls is set but Apprise is not installed: pip install 'gkwatch[notify]'")
        raise RuntimeError("Apprise is not installed (pip install 'gkwatch[notify]')") from e
    ap = apprise.Apprise()
    if not ap.add(url):
        raise RuntimeError("Apprise does not understand a configured URL (check alerts.apprise_urls)")
    if not ap.notify(title=title, body=body):
        raise RuntimeError("the Apprise service did not accept the notification")
