"""PostgreSQL's typed tables keep room on every page for changed records (schema migration 8): new tables
are made so, the tables of a store an older disval made get it when the store is upgraded, and their
records stay as they were and take the next delivery as before."""
from __future__ import annotations

import pytest

from disval.core.store.schema import MIGRATIONS, PG_FILLFACTOR
from disval.core.store.tables import catalogue
from store_support import AGB, BRANCH, PROFIEL, TRAJECT, USER, open_url
from test_store_import import accepted, keys, load, trajects


@pytest.fixture
def pg_url(store_url):
    if not store_url.startswith("postgresql"):
        pytest.skip("the storage parameter is PostgreSQL's")
    return store_url


def storage(store) -> dict[str, list[str]]:
    """{typed table: its storage parameters}."""
    return {t.table: store._exec("SELECT COALESCE(reloptions, '{}') FROM pg_class WHERE relname = ?",
                                 (t.table,)).fetchone()[0] for t in catalogue(store)}


def test_new_typed_tables_keep_room_for_changed_records(pg_url):
    store = open_url(pg_url)
    try:
        store.add_provider(AGB, BRANCH, USER)
        load(store, accepted(store), *trajects("T1"))
        options = storage(store)
        assert options and all(o == [PG_FILLFACTOR.replace(" ", "")] for o in options.values()), options
    finally:
        store.close()


def test_an_older_stores_typed_tables_get_the_room_when_it_is_upgraded(pg_url):
    # A store of schema 7, its tables as disval made them then: no storage parameter.
    old = open_url(pg_url, migrations=MIGRATIONS[:7])
    try:
        old.add_provider(AGB, BRANCH, USER)
        load(old, accepted(old, "20180301"), *trajects("T1", "T2"), (PROFIEL, {"3310": "C1", "3309": "T1"}))
        for table in storage(old):
            old._exec(f"ALTER TABLE {table} RESET (fillfactor)")
        assert set(map(tuple, storage(old).values())) == {()}
        assert old.schema_version() == 7
    finally:
        old.close()

    store = open_url(pg_url)
    try:
        assert store.schema_version() == len(MIGRATIONS)
        assert set(map(tuple, storage(store).values())) == {(PG_FILLFACTOR.replace(" ", ""),)}
        assert keys(store, file=TRAJECT) == ["T1", "T2"] and keys(store, file=PROFIEL) == ["C1"]
        counts = load(store, accepted(store, "20180401"), *trajects("T2", "T3", koppel="K9"))
        assert counts[TRAJECT].as_dict() == {"delivered": 2, "inserted": 1, "changed": 1, "unchanged": 0,
                                             "deleted": 1}
        assert [(k, f["3258"]) for _, k, f in store.records(AGB, BRANCH, TRAJECT)] == [("T2", "K9"), ("T3", "K9")]
    finally:
        store.close()
