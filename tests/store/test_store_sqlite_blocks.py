"""SQLite takes a first delivery's records as fixed-width blocks that SQL types, written on a second thread
(plugins/stores/sqlite_blocks.py, sqlite_writer.py): the rows must be exactly those the typed columns give,
whatever form each field takes in a batch, and a write that fails on the thread must not be lost."""
from __future__ import annotations

import random
import sqlite3

import pytest

from disval.plugins.ga_ohw_gbg import standard as ohw_gbg
from disval.plugins.stores import sqlite_blocks
from disval.plugins.stores.sqlite_writer import Guarded, Writer
from store_support import AGB, BRANCH, PROFIEL, TRAJECT, USER, open_url
from test_store_fresh import expected_rows, nothing_was_kept, records, stored_rows
from test_store_import import _kill_worker, accepted

TRAJECT_TABLE = "ga_ohw_gbg_1_0__behandeltraject"


@pytest.fixture
def sqlite_store(tmp_path):
    store = open_url(f"sqlite:///{tmp_path}/disval.db")
    store.add_provider(AGB, BRANCH, USER)
    yield store
    store.close()


def _value(rng: random.Random, fld, style: str) -> str:
    """One delivered value of `fld` in a batch whose field is written in `style`."""
    if style == "blank" or (style == "mixed" and rng.random() < 0.3):
        return ""
    if fld.type == "D":
        if style == "mixed" and rng.random() < 0.2:
            return rng.choice(["20180230", "2018013", "abcdefgh", "00000000"])  # no calendar day: NULL
        return f"{rng.randint(1990, 2030)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    if fld.type == "N":
        if style == "mixed" and rng.random() < 0.2:
            return rng.choice(["1 2", "x", "-5", "12a"])  # no number: NULL
        digits = "9" * fld.length if style == "full" else str(rng.randint(0, 10 ** min(fld.length, 6) - 1))
        return digits.zfill(fld.length) if style == "full" else digits
    if style == "full":  # every record fills the field: no trimming needed
        return "".join(rng.choice("ABC 12.") for _ in range(fld.length - 1)) + "Z"
    width = rng.randint(1, fld.length)
    text = "".join(rng.choice("AB C1.") for _ in range(width)).rstrip() or "Q"
    return (" " * rng.randint(0, 2) + text)[:fld.length] if style == "mixed" else text


@pytest.mark.parametrize("seed", range(6))
def test_blocks_hold_what_the_typed_columns_give_in_every_form(sqlite_store, seed):
    """Random batches in which each field is blank throughout, filled throughout, or mixed (padded,
    leading spaces, empty, invalid numbers and dates): the stored rows equal the typed reference, and
    every batch went in as a block."""
    store, std, rng = sqlite_store, ohw_gbg(), random.Random(seed)
    d = accepted(store)
    stage = store.stage(std, AGB, BRANCH, d.id)
    assert stage.fresh
    written = []
    submit = store._writer.submit
    store._writer.submit = lambda sql, params: (written.append(sql), submit(sql, params))
    batches = {}
    for file, key in ((TRAJECT, "3257"), (PROFIEL, "3310")):
        layout = std.layout.file(file)
        for b in range(3):
            styles = {f.ddid: rng.choice(["blank", "full", "mixed"]) for f in layout.fields if f.ddid != key}
            recs = []
            for i in range(40):
                rec = {f.ddid: _value(rng, f, styles[f.ddid]) for f in layout.fields if f.ddid != key}
                rec[key] = f"{'  ' if i % 7 == 0 else ''}{file[:2]}{rng.randint(0, 60)}"  # repeats: the last wins
                recs.append(rec)
            _, rows, lines = records(std, file, recs)
            stage.add_rows(layout, rows, lines + 40 * b)
            batches.setdefault(file, (layout, []))[1].append((rows, lines))
    store.import_delivery(d.id, std, stage)
    assert len(written) == 6  # no batch fell back to Python values
    for file, (layout, done) in batches.items():
        assert stored_rows(store, file) == expected_rows(layout, done)


def test_a_batch_that_is_not_plain_ascii_is_written_from_typed_values(sqlite_store):
    store, std = sqlite_store, ohw_gbg()
    layout, rows, lines = records(std, TRAJECT, [{"3257": "T1", "3258": "Kéé", "3266": "D1"}])
    assert sqlite_blocks.block(rows, layout.fields, set(layout.key)) is None
    d = accepted(store)
    stage = store.stage(std, AGB, BRANCH, d.id)
    stage.add_rows(layout, rows, lines)
    store.import_delivery(d.id, std, stage)
    assert stored_rows(store, TRAJECT) == expected_rows(layout, [(rows, lines)])
    assert stored_rows(store, TRAJECT)["T1"]["3258"] == "Kéé"


def test_a_write_that_fails_on_the_writer_thread_is_raised_and_stops_the_rest(tmp_path):
    conn = sqlite3.connect(tmp_path / "w.db", isolation_level=None, check_same_thread=False)
    conn.execute("CREATE TABLE t (a INTEGER NOT NULL)")
    writer = Writer(conn)
    guarded = Guarded(conn, writer)
    guarded.execute("BEGIN")
    writer.submit("INSERT INTO t VALUES (?)", (1,))
    writer.submit("INSERT INTO t VALUES (?)", (None,))  # fails: NOT NULL
    writer.submit("INSERT INTO t VALUES (?)", (3,))  # skipped after the failure
    with pytest.raises(sqlite3.IntegrityError):
        guarded.execute("SELECT 1")  # the connection is handed back only with the error
    assert [r[0] for r in guarded.execute("SELECT a FROM t")] == [1]
    guarded.execute("ROLLBACK")
    guarded.close()


def test_a_first_import_killed_while_the_writer_thread_writes_leaves_nothing(sqlite_store, tmp_path):
    store = sqlite_store
    first = accepted(store)
    url = store.url
    store.close()
    # Another process writes 200,000 records of the provider's first delivery as blocks on its writer
    # thread and is killed with SIGKILL after 50,000 were handed to it.
    _kill_worker(["load_rows", url, first.id, 200000, 50000])
    nothing_was_kept(url, first)


def _deliveries(rng: random.Random, std, files: list[tuple[str, str, str]], count: int) -> list[list]:
    """`count` deliveries of random batches [(file, recs)]: keys from a small pool (so later deliveries
    change, keep and, with a status vlag, delete earlier records; children move between parents)."""
    out = []
    for _ in range(count):
        delivery = []
        for file, key, parent in files:
            layout = std.layout.file(file)
            for _ in range(2):
                styles = {f.ddid: rng.choice(["blank", "full", "mixed"]) for f in layout.fields}
                recs = []
                for _ in range(30):
                    rec = {f.ddid: _value(rng, f, styles[f.ddid]) for f in layout.fields}
                    rec[key] = f"{file[0]}{rng.randint(0, 40)}"
                    if parent:
                        rec[parent] = f"{'T' if file != 'TIJD.txt' else 'A'}{rng.randint(0, 40)}"
                    if layout.status_flag:
                        rec[layout.status_flag] = "V" if rng.random() < 0.25 else ""
                    recs.append(rec)
                delivery.append((file, recs))
        out.append(delivery)
    return out


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("which", ["full load", "mutations"])
def test_blocks_import_what_the_typed_path_imports(tmp_path, seed, which):
    """Three deliveries (the first written straight into the tables, the others staged and merged), once
    as blocks and once from typed values: the same rows and the same counts after each."""
    from store_support import ACT, TIJD, TRAJ, mutations_standard

    if which == "mutations":
        std, files = mutations_standard(), [(TRAJ, "9101", ""), (ACT, "9201", "9202"), (TIJD, "9301", "9302")]
    else:
        std, files = ohw_gbg(), [(TRAJECT, "3257", ""), (PROFIEL, "3310", "3309")]
    deliveries = _deliveries(random.Random(seed), std, files, 3)
    results = {}
    for blocks in (True, False):
        store = open_url(f"sqlite:///{tmp_path}/{blocks}.db")
        store.takes_blocks = blocks
        submitted = []
        submit = store._writer.submit
        store._writer.submit = lambda sql, params: (submitted.append(sql), submit(sql, params))
        try:
            store.add_provider(AGB, BRANCH, USER)
            seen = []
            for n, delivery in enumerate(deliveries):
                d = store.add_delivery(f"d{n}.zip", f"d{n}".encode(), None, status="accepted", standard=std.id)
                store._exec("UPDATE deliveries SET phase = 'production', agb = ?, branch = ? WHERE id = ?",
                            (AGB, BRANCH, d.id))
                stage = store.stage(std, AGB, BRANCH, d.id)
                assert stage.fresh == (n == 0)
                line = 1
                for file, recs in delivery:
                    layout, rows, lines = records(std, file, recs)
                    stage.add_rows(layout, rows, lines + line)
                    line += len(recs)
                counts = store.import_delivery(d.id, std, stage)
                seen.append(({f: c.as_dict() for f, c in counts.items()},
                             sorted((f, k, sorted(v.items(), key=str)) for f, k, v in store.records(AGB, BRANCH))))
            results[blocks] = seen
            assert (len(submitted) == sum(len(d) for d in deliveries)) == blocks  # every batch, or none
        finally:
            store.close()
    assert results[True] == results[False]
    assert any(rows for _, rows in results[True])
