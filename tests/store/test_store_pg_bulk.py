"""PostgreSQL's bulk import. Its typed tables keep room on every page for changed records (schema
migration 8): new tables are made so, the tables of a store an older disval made get it when the store is
upgraded, and their records stay as they were and take the next delivery as before. A first delivery into
tables that hold nothing is copied in without their indexes, which are back when it is imported, and
untouched when it is not or when another session is using the table."""
from __future__ import annotations

import pytest

from disval.core.store.schema import MIGRATIONS, PG_FILLFACTOR
from disval.core.store.tables import catalogue
from disval.plugins.ga_ohw_gbg import standard as ohw_gbg
from store_support import AGB, BRANCH, PROFIEL, TRAJECT, USER, open_url
from test_store_fresh import records
from test_store_import import accepted, keys, load, trajects


@pytest.fixture
def pg_url(fresh_pg_url):
    """A new, empty PostgreSQL database (these are PostgreSQL's own: no SQLite variant to skip)."""
    return fresh_pg_url


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


TRAJECT_TABLE, PROFIEL_TABLE = "ga_ohw_gbg_1_0__behandeltraject", "ga_ohw_gbg_1_0__geleverd_zorgprofiel"


def indexes(store) -> dict[str, set[str]]:
    """{typed table: the definitions of its indexes}."""
    return {t.table: {r[0] for r in store._exec("SELECT indexdef FROM pg_indexes WHERE tablename = ?",
                                                 (t.table,)).fetchall()} for t in catalogue(store)}


def first_delivery(store, n: int = 300):
    """A provider's first delivery, staged (written straight into the tables): n trajects with a profile each."""
    std = ohw_gbg()
    d = accepted(store)
    stage = store.stage(std, AGB, BRANCH, d.id)
    assert stage.fresh
    for file, recs in ((TRAJECT, [{"3257": f"T{i:05}", "3258": f"K{i}"} for i in range(n)]),
                       (PROFIEL, [{"3310": f"C{i:05}", "3309": f"T{i:05}", "3315": "12"} for i in range(n)])):
        stage.add_rows(*records(std, file, recs))
    return std, d, stage


@pytest.fixture
def pg_store(pg_url):
    store = open_url(pg_url)
    store.add_provider(AGB, BRANCH, USER)
    store.prepare(ohw_gbg())  # its tables, empty
    yield store
    store.close()


def test_a_first_import_into_empty_tables_ends_with_their_indexes(pg_store):
    store = pg_store
    before = indexes(store)
    assert len(before) == 2 and all(before.values())  # a primary key each, and the profiles' index on their traject
    std, d, stage = first_delivery(store)
    # Copied in without them; the trajects' were built again when the profiles' COPY began.
    assert indexes(store) == {TRAJECT_TABLE: before[TRAJECT_TABLE], PROFIEL_TABLE: set()}
    counts = store.import_delivery(d.id, std, stage)
    assert {f: c.inserted for f, c in counts.items()} == {TRAJECT: 300, PROFIEL: 300}
    assert indexes(store) == before
    assert keys(store, file=TRAJECT)[:2] == ["T00000", "T00001"] and len(keys(store, file=PROFIEL)) == 300
    # The primary key holds again: the next delivery's records replace these by key.
    counts = load(store, accepted(store, "20180401"), *trajects("T00001", "NEW"))
    assert counts[TRAJECT].as_dict() == {"delivered": 2, "inserted": 1, "changed": 1, "unchanged": 0,
                                         "deleted": 299}


def test_a_first_delivery_not_imported_leaves_the_indexes(pg_store):
    store = pg_store
    before = indexes(store)
    _, d, stage = first_delivery(store)
    stage.drop()  # a negative assessment
    assert indexes(store) == before
    assert keys(store) == [] and store.delivery(d.id).status == "accepted"


def test_a_first_import_does_not_wait_for_a_session_reading_the_table(pg_store, pg_url):
    import psycopg

    store = pg_store
    before = indexes(store)
    with psycopg.connect(pg_url) as reader:  # an analyst's open transaction holds a lock on the table
        reader.execute("SELECT COUNT(*) FROM ga_ohw_gbg_1_0__behandeltraject").fetchone()
        std, d, stage = first_delivery(store)
        held = indexes(store)
        counts = store.import_delivery(d.id, std, stage)
        reader.rollback()
    assert held[TRAJECT_TABLE] == before[TRAJECT_TABLE]  # the table in use kept its indexes
    assert held[PROFIEL_TABLE] == set()  # the other one was free
    assert {f: c.inserted for f, c in counts.items()} == {TRAJECT: 300, PROFIEL: 300}
    assert indexes(store) == before


def test_a_first_import_leaves_the_planner_statistics_of_the_keys(pg_store):
    """The next delivery's joins need the statistics of the provider, key and foreign-key columns at once;
    the other columns' are the server's autovacuum's to take, later (the import's rows count as changed
    when it commits)."""
    store = pg_store
    std, d, stage = first_delivery(store)
    store.import_delivery(d.id, std, stage)
    analysed = {t: {r[0] for r in store._exec("SELECT attname FROM pg_stats WHERE tablename = ?", (t,)).fetchall()}
                for t in (TRAJECT_TABLE, PROFIEL_TABLE)}
    assert analysed == {TRAJECT_TABLE: {"provider_id", "d3257_behandeltrajectnummer"},
                        PROFIEL_TABLE: {"provider_id", "d3310_behandelcomponentnummer", "d3309_behandeltrajectnummer"}}
    assert store._exec("SELECT reltuples FROM pg_class WHERE relname = ?", (PROFIEL_TABLE,)).fetchone()[0] == 300
    unique = {r[0] for r in store._exec("SELECT attname FROM pg_stats WHERE tablename = ? AND n_distinct = -1",
                                        (PROFIEL_TABLE,)).fetchall()}
    assert unique == {"d3310_behandelcomponentnummer", "d3309_behandeltrajectnummer"}  # one profile per traject here


def blob_storage(store) -> str:
    """How PostgreSQL stores the kept zips' parts: 'x' (compressed when it can), 'e' (out of line as they are)."""
    return store._exec("SELECT attstorage FROM pg_attribute WHERE attrelid = 'blobs'::regclass"
                       " AND attname = 'data'").fetchone()[0]


def test_kept_zips_are_stored_as_they_are_also_in_an_upgraded_store(pg_url, tmp_path):
    """A zip is compressed already: its parts are not compressed again (schema migration 9), in a new store
    and in one an older disval made, whose zips kept before read back unchanged."""
    import os

    older = os.urandom(3 << 20)  # three parts, as incompressible as a zip
    old = open_url(pg_url, migrations=MIGRATIONS[:8])
    try:
        assert blob_storage(old) == "x"
        kept_before = old.put_blob(older)
    finally:
        old.close()
    store = open_url(pg_url)
    try:
        assert store.schema_version() == len(MIGRATIONS) and blob_storage(store) == "e"
        newer = os.urandom((1 << 20) + 5)
        kept = store.put_blob(newer)
        assert store.read_blob(kept_before) == older and store.read_blob(kept) == newer
        assert store.save_blob(kept, tmp_path / "z.zip").read_bytes() == newer
    finally:
        store.close()
