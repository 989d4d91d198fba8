"""Versioned schema, migrations, and how a store is found and opened."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from disval.core.plugins import DEFAULT_PLUGINS, hookimpl
from disval.core.store.delivery_store import StoreError, default_store_url, open_store, redact_url
from disval.core.store.schema import MIGRATIONS, SCHEMA_VERSION_TABLE, Migration
from disval.plugins.stores.postgresql import POSTGRES
from disval.plugins.stores.sqlite import SQLITE, SqliteStore
from store_support import AGB, BRANCH, USER, open_url, store_plugins

CURRENT = len(MIGRATIONS)
NEXT = MIGRATIONS + (
    Migration(CURRENT + 1, "test: a note per provider", ("ALTER TABLE providers ADD COLUMN note TEXT",)),
)


def _raw(url: str):
    """A plain driver connection in autocommit mode, and the dialect, to build a store by hand."""
    if url.startswith("sqlite"):
        return sqlite3.connect(url[len("sqlite:///"):], isolation_level=None), SQLITE
    import psycopg

    return psycopg.connect(url, autocommit=True), POSTGRES


def _has_table(store, name: str) -> bool:
    return store._exec(store.dialect.has_table, (name,)).fetchone() is not None


def test_a_new_store_is_created_at_the_current_version(store):
    assert store.schema_version() == CURRENT
    assert [s.agb for s in store.providers()] == []


def test_opening_an_older_store_upgrades_it_and_keeps_its_data(store_url):
    # An older disval's store, built by hand: its schema, its version row, a provider.
    conn, dialect = _raw(store_url)
    conn.execute(SCHEMA_VERSION_TABLE.format(**dialect.types))
    for step in MIGRATIONS[0].steps:
        conn.execute(step.format(**dialect.types))
    conn.execute(dialect.sql("INSERT INTO schema_version VALUES (?, ?, ?)"), (1, "0.1.0", "2026-01-01T00:00:00+00:00"))
    conn.execute(
        dialect.sql(
            "INSERT INTO providers (agb, branch, username, name, active, created_at) VALUES (?, ?, ?, ?, ?, ?)"
        ),
        (AGB, BRANCH, USER, "Praktijk De Linde", True, "2026-01-01T00:00:00+00:00"),
    )
    conn.close()

    store = open_url(store_url, migrations=NEXT)  # this disval knows one step more
    try:
        assert store.schema_version() == CURRENT + 1
        assert store.provider(AGB, BRANCH).name == "Praktijk De Linde"
        assert store._exec("SELECT note FROM providers").fetchall() == [(None,)]
        rows = store._exec("SELECT version, disval FROM schema_version ORDER BY version").fetchall()
        assert [r[0] for r in rows] == list(range(1, CURRENT + 2))
    finally:
        store.close()


def test_a_failed_upgrade_changes_nothing(store_url):
    open_url(store_url).close()
    broken = MIGRATIONS + (Migration(CURRENT + 1, "test: broken", ("CREATE TABLE half_done (x INTEGER)", "NOT SQL")),)
    with pytest.raises(Exception):
        open_url(store_url, migrations=broken)
    store = open_url(store_url)
    try:
        assert store.schema_version() == CURRENT
        assert not _has_table(store, "half_done")
    finally:
        store.close()


def test_a_store_newer_than_this_disval_is_refused_naming_the_version_needed(store_url):
    store = open_url(store_url)
    with store._transaction():
        store._exec(
            "INSERT INTO schema_version (version, disval, applied_at) VALUES (?, ?, ?)",
            (CURRENT + 5, "9.4.0", "2030-01-01T00:00:00+00:00"),
        )
    store.close()
    expected = rf"schema version {CURRENT + 5}, written by disval 9\.4\.0.*'disval>=9\.4\.0'"
    with pytest.raises(StoreError, match=expected):
        open_url(store_url)


def test_each_builtin_store_answers_only_its_own_scheme(tmp_path):
    pm = store_plugins()
    store = pm.hook.disval_store(url=f"sqlite:///{tmp_path}/x.db")
    assert isinstance(store, SqliteStore) and (tmp_path / "x.db").exists()
    store.close()
    assert pm.hook.disval_store(url="mysql://someone@somewhere/db") is None
    with pytest.raises(StoreError, match="no store plugin handles mysql://someone@somewhere/db"):
        open_store("mysql://someone@somewhere/db", pm=pm)


def test_the_builtin_stores_are_default_plugins(tmp_path):
    assert {"disval.plugins.stores.sqlite", "disval.plugins.stores.postgresql"} <= set(DEFAULT_PLUGINS)
    with open_store(f"sqlite:///{tmp_path}/d.db") as store:  # through get_plugin_manager()
        assert isinstance(store, SqliteStore)


def test_an_installed_plugin_can_take_over_a_scheme(tmp_path):
    class Mine:
        @hookimpl
        def disval_store(self, url):
            return "my store" if url.startswith("sqlite:///") else None

    pm = store_plugins()
    pm.register(Mine())
    assert pm.hook.disval_store(url=f"sqlite:///{tmp_path}/d.db") == "my store"
    assert not (tmp_path / "d.db").exists()


def test_postgresql_without_psycopg_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg now raises ImportError
    with pytest.raises(StoreError, match=r"pip install 'disval\[postgresql\]'"):
        store_plugins().hook.disval_store(url="postgresql://nobody@localhost/nothing")


def test_disval_loads_its_store_plugins_without_psycopg():
    code = "import sys; sys.modules['psycopg'] = None; import disval.plugins.stores.postgresql"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_an_unwritable_sqlite_location_is_a_store_error(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(StoreError, match="cannot open the SQLite store"):
        SqliteStore.from_url(f"sqlite:///{tmp_path}/file/disval.db")


def test_default_store_url(monkeypatch, tmp_path):
    assert default_store_url({"DISVAL_STORE": "postgresql://dis@db/dis"}) == "postgresql://dis@db/dis"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_store_url({}) == f"sqlite:///{tmp_path}/disval/disval.db"
    monkeypatch.setenv("HOME", str(tmp_path))
    expected = f"sqlite:///{tmp_path}/.local/share/disval/disval.db"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_store_url({}) == expected
    monkeypatch.setenv("XDG_DATA_HOME", "relative/dir")
    assert default_store_url({}) == expected  # XDG: relative paths are ignored
    monkeypatch.setenv("DISVAL_STORE", "sqlite:///elsewhere.db")
    assert default_store_url() == "sqlite:///elsewhere.db"


def test_urls_in_messages_carry_no_password():
    assert redact_url("postgresql://dis:s3cret@db:5432/dis") == "postgresql://dis:***@db:5432/dis"
    assert redact_url("sqlite:///x.db") == "sqlite:///x.db"


def test_the_sqlite_store_is_in_wal_mode_with_foreign_keys(tmp_path):
    store = SqliteStore(Path(tmp_path) / "d.db")
    try:
        assert store._exec("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store._exec("PRAGMA foreign_keys").fetchone()[0] == 1
    finally:
        store.close()


def test_upgrading_to_status_failed_keeps_deliveries_and_what_refers_to_them(store_url):
    # A store as disval wrote it before status `failed` existed (schema 2), with a delivery that
    # imported records and fixed a provider's settings: both refer to the delivery by id.
    old = open_url(store_url, migrations=MIGRATIONS[:2])
    old.add_provider(AGB, BRANCH, USER, "Praktijk De Linde")
    with old._transaction():
        delivery_id = old._exec(
            "INSERT INTO deliveries (name, sha256, size, agb, branch, phase, created, sequence, standard, status,"
            " reasons, counts, imported, packing_slip, reports, disval, submitted_at, validation)"
            " VALUES (?, 'abc', 3, ?, ?, 'production', '2018-03-01', '01', 'x', 'imported', '[]', '{}',"
            " '{\"BEHANDELTRAJECT.txt\": 1}', '{}', '{}', '0.1', '2026-01-01T00:00:00+00:00', '{}') RETURNING id",
            ("DIS_GBG_OHW_PROD_010_94001234_00_20180301_01.zip", AGB, BRANCH),
        ).fetchone()[0]
        provider_id = old._provider_id(AGB, BRANCH)
        old._exec("INSERT INTO records (provider_id, delivery_id, file, record_key, fields) VALUES (?, ?, ?, ?, ?)",
                  (provider_id, delivery_id, "BEHANDELTRAJECT.txt", "T1", '{"3257": "T1"}'))
    old._exec("UPDATE deliveries SET status = 'queued' WHERE id = ?", (delivery_id,))
    with pytest.raises(Exception):  # what the old schema refuses
        old._exec("UPDATE deliveries SET status = 'failed' WHERE id = ?", (delivery_id,))
    old._exec("UPDATE deliveries SET status = 'imported' WHERE id = ?", (delivery_id,))
    old.close()

    store = open_url(store_url)
    try:
        assert store.schema_version() == CURRENT
        kept = store.delivery(delivery_id)
        assert (kept.status, kept.imported, kept.failure) == ("imported", {"BEHANDELTRAJECT.txt": 1}, None)
        # the record of standard 'x' (installed nowhere) waits in legacy_records for its standard's tables
        assert store._exec("SELECT record_key FROM legacy_records").fetchall() == [("T1",)]
        store.fix_provider_settings(AGB, BRANCH, "x", "S", "P", delivery_id=delivery_id)
        from disval.core.store.delivery_store import Failure

        failed = store.update_delivery(delivery_id, status="failed", failure=Failure("ValueError", "boom", "a.py:1 in f"))
        assert (failed.status, failed.failure.summary()) == ("failed", "ValueError: boom (at a.py:1 in f)")
        with pytest.raises(Exception):  # the constraints still hold: a delivery that does not exist
            with store._transaction():
                store._exec("INSERT INTO legacy_records (provider_id, delivery_id, file, record_key, fields)"
                            " VALUES (?, ?, 'F', 'K', '{}')", (provider_id, delivery_id + 99))
        with pytest.raises(Exception):  # and a status that does not
            store._exec("UPDATE deliveries SET status = 'lost' WHERE id = ?", (delivery_id,))
    finally:
        store.close()


def test_a_schema_2_store_upgrades_with_its_records_moved_into_the_typed_tables(store_url):
    """Today's stores (schema 2) kept imported records as JSON in `records`; they move into typed tables."""
    import datetime as dt

    from disval.core.plugins import get_plugin_manager

    conn, dialect = _raw(store_url)
    conn.execute(SCHEMA_VERSION_TABLE.format(**dialect.types))
    for migration in MIGRATIONS[:2]:
        for step in migration.steps:
            conn.execute(step.format(**dialect.types))
        conn.execute(dialect.sql("INSERT INTO schema_version VALUES (?, ?, ?)"),
                     (migration.version, "0.1.0", "2026-01-01T00:00:00+00:00"))
    q = dialect.sql
    conn.execute(q("INSERT INTO providers (agb, branch, username, name, active, created_at) VALUES (?, ?, ?, ?, ?, ?)"),
                 (AGB, BRANCH, USER, "Praktijk", True, "2026-01-01T00:00:00+00:00"))
    conn.execute(q(
        "INSERT INTO deliveries (name, sha256, size, agb, branch, phase, created, sequence, standard, status, reasons,"
        " counts, imported, packing_slip, reports, disval, submitted_at) VALUES"
        " (?, 'x', 1, ?, ?, 'production', '2018-03-01', '01', 'GA-OHW-GBG-1.0', 'imported', '[]', '{}',"
        " '{}', '{}', '{}', '0.1.0', '2026-01-01T00:00:00+00:00')"), ("DIS_GBG_OHW_PROD_010.zip", AGB, BRANCH))
    legacy = [
        ("BEHANDELTRAJECT.txt", "T1", {"3257": "T1", "3258": "K1", "3262": "20180105", "3263": "", "4046": "J"}),
        ("BEHANDELTRAJECT.txt", "T2", {"3257": "T2", "3258": "K2", "3262": "20180106"}),
        ("GELEVERD_ZORGPROFIEL.txt", "C1", {"3310": "C1", "3309": "T1", "3312": "20180107", "3315": "0045",
                                            "3355": "", "3316": "7"}),
    ]
    import json

    for file, key, fields in legacy:
        conn.execute(q("INSERT INTO records (provider_id, delivery_id, file, record_key, fields) VALUES (1, 1, ?, ?, ?)"),
                     (file, key, json.dumps(fields)))
    conn.close()

    store = open_store(store_url, pm=get_plugin_manager())  # as `disval` opens it
    try:
        assert store.schema_version() == CURRENT
        assert not _has_table(store, "legacy_records")  # every record moved
        stored = {(f, k): fields for f, k, fields in store.records(AGB, BRANCH)}
        assert stored[("BEHANDELTRAJECT.txt", "T1")] == {
            "3257": "T1", "3258": "K1", "3262": dt.date(2018, 1, 5), "3263": None, "4046": "J", "3266": None,
            "3272": None}
        profile = stored[("GELEVERD_ZORGPROFIEL.txt", "C1")]
        assert (profile["3309"], profile["3312"], profile["3315"], profile["3355"], profile["3316"]) == (
            "T1", dt.date(2018, 1, 7), 45, None, 7)
        assert len(stored) == 3
        # and the history rules see them
        assert store.history(AGB, BRANCH).stored_with_other("BEHANDELTRAJECT.txt", "3257", "3258",
                                                            [("T2", "K9")]) == {"T2"}
    finally:
        store.close()
