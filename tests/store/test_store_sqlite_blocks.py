"""SQLite takes a first delivery's records as fixed-width blocks that SQL types, written on a second thread
(plugins/stores/sqlite_blocks.py, sqlite_writer.py): the rows must be exactly those the typed columns give,
whatever form each field takes in a batch, and a write that fails on the thread must not be lost."""
from __future__ import annotations

import random
import sqlite3
from contextlib import closing

import numpy as np
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


def test_each_form_a_field_can_take_stores_what_the_typed_columns_give(sqlite_store):
    """One batch per file whose fields each take another form (a key padded or with leading spaces, codes
    that fill their slot or are blank, values padded but never blank, free text both, dates, numbers all
    valid or some not, a field blank throughout): SQL does only what each form needs, and the stored
    rows equal the typed reference."""
    store, std = sqlite_store, ohw_gbg()
    made = []
    block = sqlite_blocks.block

    def spy(*args, **kwargs):
        made.append(block(*args, **kwargs))
        return made[-1]

    trajects = [{"3257": f"T{i}", "3258": ["K1", "", "KOPPEL77"][i % 3], "3262": "20180101",
                 "3266": ["015", ""][i % 2], "3272": ["ab", "ab c"][i % 2], "4046": "J"} for i in range(12)]
    profiles = [{"3310": f"{' ' * (i % 2)}P{i}", "3309": f"T{i}", "3311": "BC07", "3312": "20180229" if i == 3
                 else "20180301", "3315": "   160", "3355": ["12", "1x"][i % 2], "3316": "7", "3348": "AF1"}
                for i in range(12)]
    d = accepted(store)
    stage = store.stage(std, AGB, BRANCH, d.id)
    sqlite_blocks.block = spy
    try:
        done = {}
        for file, recs in ((TRAJECT, trajects), (PROFIEL, profiles)):
            layout, rows, lines = records(std, file, recs)
            stage.add_rows(layout, rows, lines)
            done[file] = (layout, [(rows, lines)])
    finally:
        sqlite_blocks.block = block
    store.import_delivery(d.id, std, stage)
    forms = {form for b in made for form, *_ in b.forms}
    assert forms == {sqlite_blocks.EXACT, sqlite_blocks.KEY, sqlite_blocks.TRIMMED, sqlite_blocks.BLANKABLE,
                     sqlite_blocks.PADDED, sqlite_blocks.NULL}
    assert {blob for b in made for _, blob, _, width in b.forms if width} == {"b", "x"}  # as read, and made
    for file, (layout, batches) in done.items():
        assert stored_rows(store, file) == expected_rows(layout, batches)
    assert stored_rows(store, PROFIEL)["P1"]["3355"] is None  # "1x" is no number
    assert stored_rows(store, PROFIEL)["P3"]["3312"] is None  # 2018 has no 29 February


@pytest.mark.parametrize("gaps", [False, True])
def test_a_staged_block_keeps_the_records_line_numbers(sqlite_store, gaps):
    """A re-delivery's records are staged as blocks with their line numbers, counted by SQL when they run
    on without gaps, carried in the block when they do not: 1656 names the right line either way."""
    store, std = sqlite_store, ohw_gbg()
    first = accepted(store)
    stage = store.stage(std, AGB, BRANCH, first.id)
    layout, rows, lines = records(std, TRAJECT, [{"3257": f"T{i}", "3258": "K1"} for i in range(6)])
    stage.add_rows(layout, rows, lines)
    store.import_delivery(first.id, std, stage)
    second = accepted(store, day="20180401")
    stage = store.stage(std, AGB, BRANCH, second.id)
    assert not stage.fresh
    try:
        layout, rows, _ = records(std, TRAJECT, [{"3257": f"T{i}", "3258": "K2" if i == 4 else "K1"}
                                                 for i in range(6)])
        lines = np.array([3, 5, 8, 9, 20, 21]) if gaps else np.arange(11, 17)
        stage.add_rows(layout, rows, lines)
        history = store.history(AGB, BRANCH, before=second.id, standard=std.id, stage=stage)
        assert history.stored_with_other_at(TRAJECT, "3257", "3258") == {int(lines[4])}
    finally:
        stage.drop()


def test_a_block_larger_than_any_before_and_a_rolled_back_one_leave_the_right_rows(sqlite_store):
    """The record numbers SQL walks a block by (a temporary table) grow with the largest block, and are
    made again after a rolled-back import took them along: every record of the next import is stored."""
    store, std = sqlite_store, ohw_gbg()
    layout = std.layout.file(TRAJECT)

    def batch(n, prefix):
        rows = np.full((n, layout.record_length), 32, np.uint8)
        key, koppel = layout.fields[0], layout.fields[1]
        rows[:, key.start:key.start + 8] = np.frombuffer(
            b"".join(f"{prefix}{i:07d}".encode() for i in range(n)), np.uint8).reshape(n, 8)
        rows[:, koppel.start] = ord("K")
        return rows, np.arange(1, n + 1)

    d = accepted(store)
    stage = store.stage(std, AGB, BRANCH, d.id)
    stage.add_rows(layout, *batch(10, "A"))
    stage.drop()  # a negative assessment: rolled back, the temporary table with it
    assert stored_rows(store, TRAJECT) == {}
    stage = store.stage(std, AGB, BRANCH, d.id)
    small, big = batch(5, "B"), batch(70_000, "C")  # more than the batches the engine makes
    stage.add_rows(layout, *small)
    stage.add_rows(layout, *big)
    counts = store.import_delivery(d.id, std, stage)
    assert counts[TRAJECT].inserted == 70_005
    assert stored_rows(store, TRAJECT) == expected_rows(layout, [small, big])


def test_a_new_store_gets_large_pages_and_an_old_one_keeps_its_own(tmp_path, monkeypatch):
    """The page size is chosen when a store is made (PAGE_SIZE); a store made with SQLite's default of
    4096 keeps it (SQLite cannot change it in WAL mode) and imports as before."""
    from disval.plugins.stores import sqlite as sqlite_store_module

    def page_size(path):
        with closing(sqlite3.connect(path)) as conn:
            return conn.execute("PRAGMA page_size").fetchone()[0]

    new = open_url(f"sqlite:///{tmp_path}/new.db")
    new.close()
    assert page_size(tmp_path / "new.db") == sqlite_store_module.PAGE_SIZE == 65536
    monkeypatch.setattr(sqlite_store_module, "PAGE_SIZE", 4096)  # as disval made stores before
    open_url(f"sqlite:///{tmp_path}/old.db").close()
    monkeypatch.undo()
    store = open_url(f"sqlite:///{tmp_path}/old.db")
    try:
        store.add_provider(AGB, BRANCH, USER)
        std = ohw_gbg()
        d = accepted(store)
        stage = store.stage(std, AGB, BRANCH, d.id)
        layout, rows, lines = records(std, TRAJECT, [{"3257": f"T{i}", "3258": "K1", "3262": "20180101"}
                                                     for i in range(50)])
        stage.add_rows(layout, rows, lines)
        store.import_delivery(d.id, std, stage)
        assert stored_rows(store, TRAJECT) == expected_rows(layout, [(rows, lines)])
    finally:
        store.close()
    assert page_size(tmp_path / "old.db") == 4096
