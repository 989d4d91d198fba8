"""Who is asking, and what they may see: passwords, sessions' users, API tokens, roles, login throttling.

A `Principal` is a signed-in user (with their memberships) or an API token
(one provider, its scopes). Every page and API route asks it before reading
a provider's deliveries; a refusal looks exactly like a delivery that does not
exist (404), so that ids cannot be probed.

Signing in is `authenticate` plus the session's "login": an OpenID Connect
sign-in can be added beside it (it would set the same session key for a user
it maps to), without changing what a `Principal` may do.
"""
from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

from ..store import accounts as book

TOKEN_PREFIX = "dv_"  # recognisable in a leaked file or a secret scanner's rules
READ_ROLES = ("data_manager", "viewer", "org_admin", "vendor")
UPLOAD_ROLES = ("data_manager", "org_admin", "vendor")
TOKEN_ROLES = ("org_admin",)  # who manages a provider's API tokens (besides operators)


def _hasher():
    from argon2 import PasswordHasher  # the serve extra; imported when a password is first handled

    return PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of `password`, with a fresh salt."""
    return _hasher().hash(password)


def check_password(stored_hash: str, password: str) -> bool:
    """Whether `password` matches `stored_hash`; never raises for a wrong one."""
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# Verifying against this when the login is unknown makes a wrong login cost as long as a wrong password.
_DUMMY_HASH: list[str] = []


def authenticate(store, login: str, password: str):
    """The active user with this login and password, else None (the same time either way)."""
    u = book.user(store, login)
    if u is None or not u.active:
        if not _DUMMY_HASH:
            _DUMMY_HASH.append(hash_password(secrets.token_hex(8)))
        check_password(_DUMMY_HASH[0], password)
        return None
    return u if check_password(u.password_hash, password) else None


def new_token() -> str:
    """A fresh API token: shown once, kept only as `token_hash(token)`."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """How a token is kept: its sha256 (a random token needs no slow hash)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(store, agb: str, branch: str, scopes, label: str, created_by: str) -> tuple[str, book.ApiToken]:
    """Make a token for the provider and keep its hash; returns (the token, to show once; its record)."""
    token = new_token()
    kept = book.add_token(store, agb, branch, token_hash(token), token[:len(TOKEN_PREFIX) + 4], scopes, label,
                          created_by)
    book.audit(store, created_by, "token created", f"{agb} {branch}",
               f"token #{kept.id} ({kept.hint}...) scopes {','.join(kept.scopes)}")
    return token, kept


@dataclass
class Principal:
    """Who a request comes from: a user (session) or an API token."""

    name: str  # the user's login, or "token #id" (for the audit log)
    operator: bool = False
    roles: dict[tuple[str, str], str] = field(default_factory=dict)  # (agb, branch) -> role
    scopes: tuple[str, ...] = ()  # an API token's; empty for a user
    token_id: int | None = None

    @classmethod
    def of_user(cls, store, u) -> "Principal":
        """A signed-in user with their memberships."""
        roles = {(m.agb, m.branch): m.role for m in book.memberships(store, u.login)}
        return cls(name=u.login, operator=u.operator, roles=roles)

    @classmethod
    def of_token(cls, t) -> "Principal":
        """An API token: its one provider, with its scopes."""
        return cls(name=f"token #{t.id}", roles={(t.agb, t.branch): "token"}, scopes=t.scopes, token_id=t.id)

    def can_read(self, agb: str | None, branch: str | None) -> bool:
        """May see this provider's deliveries and reports."""
        if self.token_id is not None:
            return "read" in self.scopes and (agb, branch) in self.roles
        return self.operator or self.roles.get((agb, branch)) in READ_ROLES

    def can_upload(self, agb: str, branch: str) -> bool:
        """May deliver for this provider."""
        if self.token_id is not None:
            return "upload" in self.scopes and (agb, branch) in self.roles
        return self.roles.get((agb, branch)) in UPLOAD_ROLES

    def can_manage_tokens(self, agb: str, branch: str) -> bool:
        """May create and revoke this provider's API tokens and give its people roles."""
        return self.token_id is None and (self.operator or self.roles.get((agb, branch)) in TOKEN_ROLES)

    def providers(self, store) -> list:
        """The registered providers this principal may see."""
        return [p for p in store.providers() if self.can_read(p.agb, p.branch)]


class LoginThrottle:
    """At most `limit` failed sign-ins per login and per client address in `window` seconds.

    The failures are counted in the store's live state (`live()` returns it), so that every process
    serving the portal counts the same ones: an attacker gains nothing by reaching another process.
    A store that keeps no live state (`live()` is None) is counted here, per process.
    """

    def __init__(self, limit: int = 5, window: float = 900.0, live=lambda: None):
        self.limit, self.window, self._live = limit, window, live
        self._failures: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    @staticmethod
    def _keys(login: str, client: str) -> tuple[str, str]:
        return f"login:{login}", f"client:{client}"

    def _recent(self, key: str, now: float) -> deque:
        q = self._failures[key]
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def wait(self, login: str, client: str) -> int:
        """Seconds until another attempt is allowed for this login or address (0: now)."""
        live = self._live()
        if live is not None:
            return live.sign_in_wait(self._keys(login, client), self.limit, self.window)
        now = time.monotonic()
        with self._lock:
            waits = [int(q[-self.limit] + self.window - now) + 1 for key in self._keys(login, client)
                     if len(q := self._recent(key, now)) >= self.limit]
        return max(waits, default=0)

    def failed(self, login: str, client: str) -> None:
        """Count a failed attempt."""
        live = self._live()
        if live is not None:
            live.sign_in_failed(self._keys(login, client), self.window)
            return
        now = time.monotonic()
        with self._lock:
            for key in self._keys(login, client):
                self._recent(key, now).append(now)

    def succeeded(self, login: str) -> None:
        """Forget the login's failures after a good sign-in."""
        live = self._live()
        if live is not None:
            live.sign_in_succeeded(self._keys(login, "")[0])
            return
        with self._lock:
            self._failures.pop(f"login:{login}", None)
