"""The SQLite store (standard library): the embedded default, one file per installation.

URL: `sqlite:///relative/path.db` or `sqlite:////absolute/path.db` (three
slashes, then the path). WAL mode, so readers never wait for the one writer;
foreign keys on. The per-provider processing lock is a `flock`ed file in
`<db>.locks/`: one file per provider, so different providers never wait for
each other, and the kernel drops the lock when its process dies, even by
kill -9. SQLite still serialises the writes themselves (an import holds the
write lock while it runs); other writers wait up to BUSY_TIMEOUT seconds.
"""
from __future__ import annotations

import fcntl
import re
import sqlite3
from contextlib import contextmanager
from pathlib import Path

from disval.core.plugins import hookimpl
from disval.core.store import StoreError
from disval.core.store_schema import MIGRATIONS, Dialect, Migration
from disval.core.store_sql import SqlStore

SCHEME = "sqlite:///"
BUSY_TIMEOUT = 600.0

SQLITE = Dialect(
    name="sqlite",
    placeholder="?",
    begin="BEGIN IMMEDIATE",  # take the write lock up front: no deadlock when a reader starts writing
    types={
        "id": "INTEGER PRIMARY KEY", "ref": "INTEGER", "bool": "INTEGER", "date": "DATE",
        "timestamp": "TIMESTAMP", "json": "TEXT", "blob": "BLOB", "bigint": "INTEGER",
    },
    has_table="SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
)


class SqliteStore(SqlStore):
    """A delivery store in one SQLite file."""

    def __init__(self, path: Path, migrations: tuple[Migration, ...] = MIGRATIONS):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT)
            conn.execute("PRAGMA journal_mode = WAL")
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the SQLite store {self.path}: {exc}") from None
        # Foreign keys go on after the migrations: a migration that rebuilds a table (SQLite cannot
        # alter a constraint) must run with them off, as SQLite's documentation prescribes.
        super().__init__(conn, SQLITE, f"{SCHEME}{self.path}", migrations)
        conn.execute("PRAGMA foreign_keys = ON")

    @classmethod
    def from_url(cls, url: str, migrations: tuple[Migration, ...] = MIGRATIONS) -> "SqliteStore":
        """Open the store at `sqlite:///PATH`."""
        path = url[len(SCHEME):]
        if not url.startswith(SCHEME) or not path:
            raise StoreError(f"not an SQLite store URL: {url!r} (expected sqlite:///PATH)")
        return cls(Path(path), migrations)

    @contextmanager
    def lock_provider(self, agb, branch):
        locks = self.path.with_name(self.path.name + ".locks")
        locks.mkdir(exist_ok=True)
        name = "_".join(re.sub(r"[^0-9A-Za-z]", "-", part) for part in (agb, branch))
        with open(locks / f"{name}.lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


@hookimpl(trylast=True)
def disval_store(url: str):
    """The SQLite store for `sqlite:///...` URLs; None for any other."""
    return SqliteStore.from_url(url) if url.startswith(SCHEME) else None
