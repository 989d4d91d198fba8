"""The portal's accounts, kept in the store (schema migration 5): users, memberships, API tokens, audit log.

Users sign in to the portal; a membership gives a user a role for one
provider (AGB code + instelling volgnr): `data_manager` (deliver and read),
`viewer` (read), `org_admin` (a data manager who also manages the provider's
API tokens), `vendor` (a software vendor delivering for the providers it is
listed for). An operator (the receiving side) sees every provider. An API
token belongs to one provider, carries scopes (`upload`, `read`) and is kept
only as its sha256; revoking it keeps the row, for the audit log.

Passwords arrive here already hashed (`disval.core.portal.accounts` hashes
with argon2): the store never sees a password or a token in the clear.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .values import _now, _ts

ROLES = ("data_manager", "viewer", "org_admin", "vendor")
SCOPES = ("upload", "read")


@dataclass(frozen=True)
class User:
    """A portal user; `operator` is the receiving side's role, over every provider."""

    id: int
    login: str
    name: str
    email: str
    password_hash: str
    operator: bool
    active: bool
    created_at: dt.datetime


@dataclass(frozen=True)
class Membership:
    """A user's role for one provider."""

    login: str
    agb: str
    branch: str
    role: str


@dataclass(frozen=True)
class ApiToken:
    """A provider's API token, without the token: its hash, a hint (its first characters) and scopes."""

    id: int
    agb: str
    branch: str
    token_hash: str
    hint: str
    scopes: tuple[str, ...]
    label: str
    created_by: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None

    @property
    def active(self) -> bool:
        """Not revoked."""
        return self.revoked_at is None


@dataclass(frozen=True)
class AuditEntry:
    """Who did what, when, to what."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    target: str
    detail: str


class AccountError(ValueError):
    """A request on accounts that cannot be carried out; the message says why."""


_USER = "id, login, name, email, password_hash, operator, active, created_at"
_TOKEN = ("t.id, p.agb, p.branch, t.token_hash, t.hint, t.scopes, t.label, t.created_by, t.created_at,"
          " t.revoked_at, t.last_used_at")


def _user(row) -> User:
    return User(row[0], row[1], row[2], row[3], row[4], bool(row[5]), bool(row[6]), _ts(row[7]))


def _token(row) -> ApiToken:
    return ApiToken(row[0], row[1], row[2], row[3], row[4], tuple(s for s in row[5].split(",") if s), row[6],
                    row[7], _ts(row[8]), _ts(row[9]), _ts(row[10]))


# ---------------------------------------------------------------- users


def add_user(store, login: str, name: str, email: str, password_hash: str, *, operator: bool = False) -> User:
    """Create a user; AccountError if the login is taken."""
    with store._transaction():
        if user(store, login) is not None:
            raise AccountError(f"user {login!r} already exists")
        store._exec(f"INSERT INTO users ({_USER.removeprefix('id, ')}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (login, name, email, password_hash, bool(operator), True, _now()))
    return user(store, login)


def user(store, login: str) -> User | None:
    """The user with this login, or None."""
    row = store._exec(f"SELECT {_USER} FROM users WHERE login = ?", (login,)).fetchone()
    return _user(row) if row else None


def user_by_id(store, user_id: int) -> User | None:
    """The user with this id, or None."""
    row = store._exec(f"SELECT {_USER} FROM users WHERE id = ?", (user_id,)).fetchone()
    return _user(row) if row else None


def users(store) -> list[User]:
    """Every user, by login."""
    return [_user(r) for r in store._exec(f"SELECT {_USER} FROM users ORDER BY login").fetchall()]


def set_password_hash(store, login: str, password_hash: str) -> None:
    """Replace a user's password hash (a rehash with newer argon2 parameters, or a new password)."""
    with store._transaction():
        store._exec("UPDATE users SET password_hash = ? WHERE login = ?", (password_hash, login))


def set_user_active(store, login: str, active: bool) -> None:
    """Let a user sign in, or not."""
    with store._transaction():
        store._exec("UPDATE users SET active = ? WHERE login = ?", (bool(active), login))


# ---------------------------------------------------------------- memberships


def _provider_id(store, agb: str, branch: str) -> int:
    row = store._exec("SELECT id FROM providers WHERE agb = ? AND branch = ?", (agb, branch)).fetchone()
    if row is None:
        raise AccountError(f"provider {agb} {branch} is not registered")
    return row[0]


def grant(store, login: str, agb: str, branch: str, role: str) -> Membership:
    """Give `login` the role `role` for the provider (replacing a role it had there)."""
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    with store._transaction():
        u = user(store, login)
        if u is None:
            raise AccountError(f"there is no user {login!r}")
        pid = _provider_id(store, agb, branch)
        store._exec("INSERT INTO memberships (user_id, provider_id, role) VALUES (?, ?, ?) ON CONFLICT"
                    " (user_id, provider_id) DO UPDATE SET role = excluded.role", (u.id, pid, role))
    return Membership(login, agb, branch, role)


def revoke_membership(store, login: str, agb: str, branch: str) -> None:
    """Take away the user's role for the provider."""
    with store._transaction():
        u = user(store, login)
        if u is not None:
            store._exec("DELETE FROM memberships WHERE user_id = ? AND provider_id = ?",
                        (u.id, _provider_id(store, agb, branch)))


def memberships(store, login: str) -> list[Membership]:
    """The user's roles, by provider."""
    rows = store._exec(
        "SELECT u.login, p.agb, p.branch, m.role FROM memberships m JOIN users u ON u.id = m.user_id"
        " JOIN providers p ON p.id = m.provider_id WHERE u.login = ? ORDER BY p.agb, p.branch", (login,)).fetchall()
    return [Membership(*r) for r in rows]


def members(store, agb: str, branch: str) -> list[tuple[User, str]]:
    """The provider's users and their roles (e.g. whom to e-mail: the data managers), by login."""
    rows = store._exec(
        f"SELECT {', '.join('u.' + c for c in _USER.split(', '))}, m.role FROM memberships m"
        " JOIN users u ON u.id = m.user_id JOIN providers p ON p.id = m.provider_id"
        " WHERE p.agb = ? AND p.branch = ? ORDER BY u.login", (agb, branch)).fetchall()
    return [(_user(r[:-1]), r[-1]) for r in rows]


# ---------------------------------------------------------------- API tokens


def add_token(store, agb: str, branch: str, token_hash: str, hint: str, scopes, label: str,
              created_by: str) -> ApiToken:
    """Keep a new token's hash for the provider."""
    scopes = tuple(dict.fromkeys(scopes))
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise AccountError(f"scopes must be among {', '.join(SCOPES)}, not {', '.join(unknown) or '(none)'}")
    with store._transaction():
        row = store._exec(
            "INSERT INTO api_tokens (provider_id, token_hash, hint, scopes, label, created_by, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (_provider_id(store, agb, branch), token_hash, hint, ",".join(scopes), label, created_by, _now()),
        ).fetchone()
    return token(store, row[0])


def token(store, token_id: int) -> ApiToken | None:
    """The token with this id, or None."""
    row = store._exec(f"SELECT {_TOKEN} FROM api_tokens t JOIN providers p ON p.id = t.provider_id"
                      " WHERE t.id = ?", (token_id,)).fetchone()
    return _token(row) if row else None


def token_by_hash(store, token_hash: str) -> ApiToken | None:
    """The token whose sha256 this is (revoked or not), or None."""
    row = store._exec(f"SELECT {_TOKEN} FROM api_tokens t JOIN providers p ON p.id = t.provider_id"
                      " WHERE t.token_hash = ?", (token_hash,)).fetchone()
    return _token(row) if row else None


def tokens(store, agb: str, branch: str) -> list[ApiToken]:
    """The provider's tokens, newest first, revoked ones too."""
    rows = store._exec(f"SELECT {_TOKEN} FROM api_tokens t JOIN providers p ON p.id = t.provider_id"
                       " WHERE p.agb = ? AND p.branch = ? ORDER BY t.id DESC", (agb, branch)).fetchall()
    return [_token(r) for r in rows]


def revoke_token(store, token_id: int) -> ApiToken | None:
    """Revoke a token (it stays listed as revoked); None if there is no such token."""
    with store._transaction():
        store._exec("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (_now(), token_id))
    return token(store, token_id)


def token_used(store, token_id: int) -> bool:
    """Note when a token was last used; False when the note was skipped because another writer holds
    the store (an import into SQLite): every API request passes here, and none may wait for an import.
    The next request writes the note, so the time shown lags at most by the length of an import."""
    return store.write_now(lambda: store._exec("UPDATE api_tokens SET last_used_at = ? WHERE id = ?",
                                               (_now(), token_id)))


# ---------------------------------------------------------------- audit log


def audit(store, actor: str, action: str, target: str, detail: str = "", at: dt.datetime | None = None,
          wait: bool = True) -> bool:
    """Write who did what to what (at `at`, default now); never a password or a token. With `wait`
    False the entry is not written, and False returned, when another writer holds the store."""
    def write():
        store._exec("INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
                    (_now(at), actor, action, target, detail))

    if not wait:
        return store.write_now(write)
    with store._transaction():
        write()
    return True


def audit_log(store, limit: int = 200) -> list[AuditEntry]:
    """The newest `limit` entries, newest first."""
    rows = store._exec("SELECT id, at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT ?",
                       (limit,)).fetchall()
    return [AuditEntry(r[0], _ts(r[1]), r[2], r[3], r[4], r[5]) for r in rows]


# ---------------------------------------------------------------- the queue


def queued_providers(store) -> list[tuple[str, str]]:
    """The providers (AGB, volgnr) with deliveries waiting: queued, or a production import left undone."""
    rows = store._exec(
        "SELECT DISTINCT agb, branch FROM deliveries WHERE agb IS NOT NULL AND (status = 'queued' OR"
        " (status = 'accepted' AND phase = 'production' AND assessment = 'positive' AND processed_at IS NULL))"
        " ORDER BY agb, branch").fetchall()
    return [(r[0], r[1]) for r in rows]


def queued_deliveries(store, limit: int = 500) -> list[int]:
    """The ids of queued deliveries across providers, oldest first (the operator's view of the queue)."""
    rows = store._exec("SELECT id FROM deliveries WHERE status = 'queued' ORDER BY id LIMIT ?", (limit,)).fetchall()
    return [r[0] for r in rows]


def recent_deliveries(store, limit: int = 100) -> list[int]:
    """The ids of the newest deliveries across providers, newest first."""
    rows = store._exec("SELECT id FROM deliveries ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    return [r[0] for r in rows]
