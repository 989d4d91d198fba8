"""procrastinate's tables in the store: applied when a PostgreSQL store is opened, upgraded with disval.

procrastinate's schema is not part of disval's numbered migrations: it is
procrastinate's, versioned with the procrastinate release installed, and its
SQL is not ours to copy. The store records which procrastinate release it was
last brought to (table `job_queue_schema`) and, when a newer procrastinate is
installed, applies the migration files procrastinate ships for the releases
in between (`procrastinate/sql/migrations/VERSION_NN_*.sql`, in name order),
in one transaction under disval's migration lock, so that two processes
opening the store at once do it once. A store that has the tables without
that record (`procrastinate schema --apply` run by hand) is taken as it is.

procrastinate splits an upgrade into "pre" migrations (safe while old workers
run) and "post" ones (once no old worker runs); disval applies both at once,
so stop the old workers before the first upgraded process opens the store.
"""
from __future__ import annotations

import importlib.util
import re
from importlib import metadata, resources

from ..store.delivery_store import StoreError

_MIGRATION = re.compile(r"^(\d+)\.(\d+)\.(\d+)_\d+_.*\.sql$")


def available() -> bool:
    """Whether procrastinate is installed (the `postgresql` extra brings it)."""
    return importlib.util.find_spec("procrastinate") is not None


def installed_version() -> tuple[int, int, int]:
    """The installed procrastinate release, as numbers."""
    return _numbers(metadata.version("procrastinate"))


def _numbers(version: str) -> tuple[int, int, int]:
    parts = re.findall(r"\d+", version)[:3]
    return tuple(int(p) for p in parts + ["0"] * (3 - len(parts)))  # type: ignore[return-value]


def ensure_job_schema(store) -> None:
    """Create or upgrade procrastinate's tables in this PostgreSQL store; cheap when they are current.

    Does nothing when procrastinate is not installed: the store works without
    the job queue, and `disval worker` says what to install.
    """
    if not available():
        return
    wanted = installed_version()
    if _recorded(store) == wanted:
        return
    with store.transaction():
        store._exec(store.dialect.migration_lock)  # one process applies it; the others find it done
        store._exec("CREATE TABLE IF NOT EXISTS job_queue_schema (procrastinate TEXT NOT NULL,"
                    " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        recorded = _recorded(store)
        if recorded == wanted:
            return
        has_jobs = store._exec("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()[0]
        if not has_jobs:
            _run(store, (resources.files("procrastinate.sql") / "schema.sql").read_text(encoding="utf-8"))
        elif recorded is not None:
            if recorded > wanted:
                raise StoreError(
                    f"the store's job queue tables are procrastinate {'.'.join(map(str, recorded))}'s; this "
                    f"process has procrastinate {'.'.join(map(str, wanted))}: install the newer one")
            for sql in _migrations_between(recorded, wanted):
                _run(store, sql)
        store._exec("INSERT INTO job_queue_schema (procrastinate) VALUES (?)", (".".join(map(str, wanted)),))


def _recorded(store) -> tuple[int, int, int] | None:
    """The procrastinate release the store's job tables were last brought to; None: never by disval."""
    if store._exec("SELECT to_regclass('job_queue_schema') IS NOT NULL").fetchone()[0] is not True:
        return None
    row = store._exec("SELECT procrastinate FROM job_queue_schema ORDER BY applied_at DESC LIMIT 1").fetchone()
    return _numbers(row[0]) if row else None


def _migrations_between(old: tuple[int, int, int], new: tuple[int, int, int]) -> list[str]:
    """The SQL of procrastinate's migrations for releases after `old` up to `new`, in order."""
    folder = resources.files("procrastinate.sql") / "migrations"
    chosen = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        m = _MIGRATION.match(entry.name)
        if m and old < tuple(int(g) for g in m.groups()) <= new:
            chosen.append(entry.read_text(encoding="utf-8"))
    return chosen


def _run(store, script: str) -> None:
    # Without parameters psycopg sends the script as it is (several statements, '%' and '?' untouched).
    store._conn.execute(script)
