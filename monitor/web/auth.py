"""Operator login: scrypt password hashes, server-side sessions, CSRF tokens and the login limits.

The cookie is Starlette's ``SessionMiddleware`` (itsdangerous-signed, HttpOnly, SameSite=Lax, ``Secure``
behind HTTPS): it holds a random session token and the CSRF token, never a username or a password. Who is
logged in is the database's answer (``SessionStore`` over ``WebSession``), so logout and the idle and
absolute timeouts end a session for every copy of its cookie. Every POST form carries the CSRF token,
compared in constant time, so a page on another site cannot act in an operator's name.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi import HTTPException, Request
from sqlalchemy import delete, update
from sqlalchemy.engine import Engine

from storage.db import session_scope
from storage.models import WebSession
from storage.types import utcnow

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
    """Failed logins slowed down per account *and* address, so that no stranger can lock the operator out.

    Three rules, all in memory (enough for one ``gkwatch serve`` process; a restart forgets, which gives
    an attacker nothing they could not get by waiting):

    * per (account, address) pair, a backoff: the first ``max_failures`` wrong passwords cost nothing
      (typos), then each one doubles the wait before the next try (1 s, 2 s, 4 s … at most ``MAX_DELAY``).
      A success clears it; a day without failures forgets it.
    * per address, a coarse limit: ``ADDRESS_FACTOR × max_failures`` failures within the window, whatever
      the accounts, and that address waits until the oldest leaves the window (password spraying).
    * per account, a gentle limit: while ``max_failures`` failures from *other* addresses lie within the
      window (a distributed attack), an address that has itself failed on the account backs off from its
      first failure instead of its ``max_failures``-th. An address with no failures is never slowed, so
      the right password from the operator's own machine still logs in.

    IPv6 addresses count by their /64 (one host usually holds a whole /64). Every table is bounded
    (``MAX_KEYS``, the least recently failed dropped first): made-up usernames cannot grow it.
    """

    MAX_DELAY = 900.0  # seconds: the longest wait one pair can be given
    PAIR_MEMORY = 24 * 3600.0  # a pair quiet this long starts over
    ADDRESS_FACTOR = 4
    MAX_KEYS = 10_000
    _ACCOUNT_HISTORY = 1000  # failures remembered per account (enough to tell an attack)

    def __init__(self, max_failures: int, window_seconds: float, clock: Callable[[], float] = time.monotonic):
        self.max_failures = max_failures
        self.window = window_seconds
        self._clock = clock
        self._pairs: OrderedDict[tuple[str, str], tuple[int, float]] = OrderedDict()  # -> (failures, last)
        self._addresses: OrderedDict[str, deque[float]] = OrderedDict()
        self._accounts: OrderedDict[str, deque[tuple[float, str]]] = OrderedDict()
        self._lock = threading.Lock()

    def wait(self, username: str, address: str) -> float:
        """Seconds before this account may be tried from this address (0: now)."""
        user, addr, now = _account_key(username), _address_key(address), self._clock()
        with self._lock:
            return max(self._address_wait(addr, now), self._pair_wait(user, addr, now))

    def fail(self, username: str, address: str) -> None:
        user, addr, now = _account_key(username), _address_key(address), self._clock()
        with self._lock:
            count, last = self._pairs.get((user, addr), (0, now))
            if now - last > self.PAIR_MEMORY:
                count = 0
            _put(self._pairs, (user, addr), (count + 1, now), self.MAX_KEYS)
            _put(self._addresses, addr, self._addresses.get(addr) or deque(), self.MAX_KEYS).append(now)
            history = self._accounts.get(user) or deque(maxlen=self._ACCOUNT_HISTORY)
            _put(self._accounts, user, history, self.MAX_KEYS).append((now, addr))

    def succeed(self, username: str, address: str) -> None:
        """The right password: this pair starts over (the address and account counts stay)."""
        with self._lock:
            self._pairs.pop((_account_key(username), _address_key(address)), None)

    def size(self) -> int:
        with self._lock:
            return len(self._pairs) + len(self._addresses) + len(self._accounts)

    def _address_wait(self, addr: str, now: float) -> float:
        q = self._addresses.get(addr)
        if not q:
            return 0.0
        while q and q[0] <= now - self.window:
            q.popleft()
        if len(q) < self.ADDRESS_FACTOR * self.max_failures:
            return 0.0
        return max(0.0, q[0] + self.window - now)

    def _pair_wait(self, user: str, addr: str, now: float) -> float:
        count, last = self._pairs.get((user, addr), (0, now))
        if count == 0 or now - last > self.PAIR_MEMORY:
            return 0.0
        free = 1 if self._under_attack(user, addr, now) else self.max_failures
        if count < free:
            return 0.0
        return max(0.0, last + min(self.MAX_DELAY, 2.0 ** min(count - free, 30)) - now)  # no float overflow

    def _under_attack(self, user: str, addr: str, now: float) -> bool:
        since = now - self.window
        others = sum(1 for t, a in self._accounts.get(user, ()) if t > since and a != addr)
        return others >= self.max_failures


def _put(table: OrderedDict, key: Any, value: Any, max_keys: int) -> Any:
    """Set ``key`` as the most recent entry, dropping the least recent ones beyond ``max_keys``."""
    table[key] = value
    table.move_to_end(key)
    while len(table) > max_keys:
        table.popitem(last=False)
    return value


def _account_key(username: str) -> str:
    return username[:200]  # a megabyte of username costs no more memory than a name


def _address_key(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:100]
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    return (ip.ipv4_mapped or ip) if ip.version == 6 else ip  # ::ffff:127.0.0.1 is 127.0.0.1


def _trusted(ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None, proxies: Networks) -> bool:
    return ip is not None and any(ip.version == net.version and ip in net for net in proxies)


def client_address(request: Request, trusted_proxies: Networks) -> str:
    """The address a request came from, for the login limits.

    The TCP peer, unless the peer is one of ``web.trusted_proxies``: then ``X-Forwarded-For`` is read from
    the right (each proxy appends the address it saw) and the first hop that is not a trusted proxy is the
    client. Whatever a client writes further left is ignored, and an unreadable hop stops the walk at the
    last proxy that vouched for it. (``gkwatch serve`` runs uvicorn with its own proxy-header handling off,
    so the peer here is the real one.)
    """
    peer = request.client.host if request.client else ""
    ip = _ip(peer)
    if not _trusted(ip, trusted_proxies):
        return str(ip) if ip is not None else peer
    client = str(ip)
    hops = [h for line in request.headers.getlist("x-forwarded-for") for h in line.split(",")]
    for hop in reversed(hops):
        hop_ip = _ip(hop)
        if hop_ip is None:
            return client
        client = str(hop_ip)
        if not _trusted(hop_ip, trusted_proxies):
            return client
    return client


# --- server-side sessions ------------------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SessionStore:
    """Operators' sessions in the database (``WebSession``): the cookie carries only a random token.

    So logging out ends the session for every copy of the cookie, a timeout ends it whatever the cookie
    says, and several ``serve`` processes over one database agree. ``last_seen_at`` is written at most once
    a minute per session (reads stay cheap); the idle timeout is measured from it.
    """

    KEEP_ENDED = timedelta(days=7)  # ended sessions kept this long (who was logged in when), then deleted

    def __init__(
        self,
        engine: Engine,
        idle: timedelta,
        max_age: timedelta,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.engine = engine
        self.idle = idle
        self.max_age = max_age
        self.touch_every = min(timedelta(minutes=1), idle / 4)
        self._clock = clock

    def start(self, username: str) -> str:
        """A new session for ``username``; the token to put in the cookie."""
        token = secrets.token_urlsafe(32)
        now = self._clock()
        with session_scope(self.engine) as s:
            s.execute(delete(WebSession).where(WebSession.created_at < now - self.max_age - self.KEEP_ENDED))
            s.add(WebSession(id=_digest(token), username=username, created_at=now, last_seen_at=now))
        return token

    def user(self, token: str) -> str | None:
        """The operator a live session belongs to; None (and the session ended) when it timed out."""
        now = self._clock()
        with session_scope(self.engine) as s:
            row = s.get(WebSession, _digest(token))
            if row is None or row.ended_at is not None:
                return None
            if now - row.last_seen_at > self.idle or now - row.created_at > self.max_age:
                row.ended_at = now
                s.add(row)
                return None
            if now - row.last_seen_at > self.touch_every:
                row.last_seen_at = now
                s.add(row)
            return row.username

    def end(self, token: str) -> None:
        with session_scope(self.engine) as s:
            s.execute(
                update(WebSession)
                .where(WebSession.id == _digest(token), WebSession.ended_at.is_(None))
                .values(ended_at=self._clock())
            )


_USER = "gkwatch.user"  # the request's operator, looked up once per request


def current_user(request: Request) -> str | None:
    """The operator of this request: the cookie's token must name a live session (``SessionStore``)."""
    if "session" not in request.scope:
        return None
    if _USER not in request.scope:
        token = request.session.get("sid")
        store: SessionStore = request.app.state.web.sessions
        request.scope[_USER] = store.user(token) if isinstance(token, str) and token else None
    return request.scope[_USER]


def log_in(request: Request, username: str) -> None:
    """A fresh session (and CSRF token) on login, the previous one ended: no fixation."""
    store: SessionStore = request.app.state.web.sessions
    log_out(request)
    request.session["sid"] = store.start(username)
    request.scope[_USER] = username


def log_out(request: Request) -> None:
    store: SessionStore = request.app.state.web.sessions
    token = request.session.get("sid")
    if isinstance(token, str) and token:
        store.end(token)
    request.session.clear()
    request.scope[_USER] = None


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
