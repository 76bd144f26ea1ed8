"""Operator login: scrypt password hashes, the signed session, CSRF tokens and a login rate limit.

The session cookie is Starlette's ``SessionMiddleware`` (itsdangerous-signed, HttpOnly, SameSite=Lax): it
holds only the username and the CSRF token, never a password. Every POST form carries the token, compared
in constant time, so a page on another site cannot act in an operator's name.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections import defaultdict, deque

from fastapi import HTTPException, Request

# scrypt cost: n=2**14, r=8, p=1 (~16 MiB, ~50 ms) — the interactive-login figures of RFC 7914.
_N, _R, _P = 2**14, 8, 1
_DKLEN = 32


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def hash_password(password: str) -> str:
    """A salted scrypt hash as ``scrypt$n$r$p$salt$hash`` (base64), safe to paste into config.yaml."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=_DKLEN)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored``; a malformed hash is simply a mismatch."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
            maxmem=256 * 1024 * 1024,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


# A hash to check against when the username is unknown, so both cases cost the same time.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def check_login(users: dict[str, str], username: str, password: str) -> bool:
    stored = users.get(username)
    ok = verify_password(password, stored or _DUMMY_HASH)
    return ok and stored is not None


class LoginLimiter:
    """Failed logins counted per client address and per username in a sliding window.

    In memory: enough for one ``gkwatch serve`` process; a restart forgets (and costs an attacker nothing
    they could not get by waiting the window out).
    """

    def __init__(self, max_failures: int, window_seconds: float):
        self.max_failures = max_failures
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures[key]
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        with self._lock:
            return any(len(self._recent(k, now)) >= self.max_failures for k in keys)

    MAX_KEYS = 10_000  # made-up usernames must not grow the table without bound

    def fail(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._failures) >= self.MAX_KEYS:
                for k in [k for k in self._failures if not self._recent(k, now)]:
                    del self._failures[k]
            for k in keys:
                self._recent(k, now).append(now)

    def clear(self, *keys: str) -> None:
        with self._lock:
            for k in keys:
                self._failures.pop(k, None)


def current_user(request: Request) -> str | None:
    return request.session.get("user") if "session" in request.scope else None


def csrf_token(request: Request) -> str:
    """The session's CSRF token (created on first use: this is what starts an anonymous session)."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = request.session.get("csrf")
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
        raise HTTPException(
            status_code=403, detail="表单已失效或来源不明（CSRF 校验失败），请刷新页面后重试。"
        )


def require_user(request: Request) -> str:
    user = current_user(request)
    if not user:
        raise HTTPException(status_code=401, detail="请先登录。")
    return user


if __name__ == "__main__":  # pragma: no cover - ``python -m monitor.web.auth``: a hash for config.yaml
    import getpass

    pw = getpass.getpass("password: ")
    if pw != getpass.getpass("again: "):
        raise SystemExit("the two entries differ")
    print(hash_password(pw))
