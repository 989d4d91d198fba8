"""A provider's first delivery is written straight into the typed tables while it is validated (`Stage.fresh`):
the same rows as the staged import would write, nothing left when it is not imported or the process is
killed, and the history rules never take its own uncommitted rows for stored ones."""
from __future__ import annotations

import numpy as np
import pytest

from disval.core.store.typed_columns import column
from disval.core.store.values import _typed
from disval.plugins.ga_ohw_gbg import standard as ohw_gbg
from store_support import AGB, BRANCH, PROFIEL, TRAJECT, USER, mutations_standard, open_url
from test_store_import import _kill_worker, accepted, keys

TRAJECT_TABLE, PROFIEL_TABLE = "ga_ohw_gbg_1_0__behandeltraject", "ga_ohw_gbg_1_0__geleverd_zorgprofiel"


def records(standard, file: str, recs: list[dict[str, str]]) -> tuple:
    """The layout and the uint8 rows (as a reader yields them) of `recs` ({DDID: text as delivered, padded
    as the GA pads when shorter than the field}), and their line numbers."""
    layout = standard.layout.file(file)
    rows = np.full((len(recs), layout.record_length), 32, np.uint8)
    for i, rec in enumerate(recs):
        for f in layout.fields:
            v = rec.get(f.ddid, "").encode("latin-1")
            rows[i, f.start:f.end] = np.frombuffer((v.rjust(f.length) if f.type == "N" else v.ljust(f.length))
                                                   [:f.length], np.uint8)
    return layout, rows, np.arange(1, len(recs) + 1)


def stored_rows(store, file: str) -> dict:
    """{key: {DDID: value}} of the provider's records of `file`, dates as dates."""
    return {k: fields for f, k, fields in store.records(AGB, BRANCH, file)}


def expected_rows(layout, batches, skip=lambda rec: False) -> dict:
    """What the import must hold: every batch's records typed by `typed_columns` (the reference), the
    last record of a key winning, records `skip` says are not written left out."""
    out = {}
    table = {c.ddid: c for c in _columns(layout)}
    keys_ = set(layout.key)
    for rows, _ in batches:
        typed = {f.ddid: column(rows, f, f.ddid in keys_) for f in layout.fields}
        for i in range(len(rows)):
            rec = {d: _typed(table[d], v[i]) for d, v in typed.items() if d in table}
            if not skip({d: v[i] for d, v in typed.items()}):
                out["|".join(str(rec[k]) for k in layout.key)] = rec
    return out


def _columns(layout):
    from disval.core.store.tables import file_tables

    std = ohw_gbg() if layout.name in (TRAJECT, PROFIEL) else mutations_standard()
    return next(t for t in file_tables(std) if t.file == layout.name).columns


@pytest.fixture
def provider(store):
    store.add_provider(AGB, BRANCH, USER)
    return store


def test_a_first_delivery_holds_the_values_the_typed_columns_give(provider):
    """Edge values of every type, a key repeated within a batch and across batches (the last wins), and
    batches PostgreSQL cannot take as COPY text as they are (a backslash, a byte above 127)."""
    store, std = provider, ohw_gbg()
    d = accepted(store)
    stage = store.stage(std, AGB, BRANCH, d.id)
    assert stage.fresh
    trajects = [
        [{"3257": "T1", "3258": "K1", "3262": "20180229", "3263": "20180101", "4046": "J", "3266": "DIAG  X"},
         {"3257": "  T2", "3258": " K2", "3262": "20240229", "3263": "", "3266": ""},  # leading spaces: key T2
         {"3257": "T3", "3258": "K3", "3262": "2018013", "3263": "20181301"},  # invalid dates: NULL
         {"3257": "", "3258": "K4"}],  # an empty key is the key ''
        [{"3257": "T4", "3258": "K4"}, {"3257": "T1", "3258": "K1B", "3262": "20180301"},
         {"3257": "T4", "3258": "K4B"}],  # T1 again (of the batch before), T4 twice: the last one wins
        [{"3257": "T5", "3258": "K\\5"}],  # a backslash
        [{"3257": "T6", "3258": "Kéé", "3272": "é"}],  # not ASCII
    ]
    profiles = [[{"3310": "C1", "3309": "T1", "3312": "20180105", "3315": "000012", "3355": "  7", "3316": "1 2"},
                 {"3310": "C2", "3309": " T2", "3315": "", "3316": "x"}]]  # N: empty and not a number are NULL
    copied = []  # batches PostgreSQL took as COPY text
    if store.copy_text:
        as_text = store._copy_text
        store._copy_text = lambda *args: (copied.append(args[0]), as_text(*args))
    batches = {}
    for file, recs in ((TRAJECT, trajects), (PROFIEL, profiles)):
        for batch in recs:
            layout, rows, lines = records(std, file, batch)
            stage.add_rows(layout, rows, lines)
            batches.setdefault(file, (layout, []))[1].append((rows, lines))
    counts = store.import_delivery(d.id, std, stage)
    for file, (layout, done) in batches.items():
        want = expected_rows(layout, done)
        assert stored_rows(store, file) == want
        assert (counts[file].delivered, counts[file].inserted, counts[file].changed) == (len(want), len(want), 0)
    assert stored_rows(store, TRAJECT)["T1"]["3258"] == "K1B" and stored_rows(store, TRAJECT)["T4"]["3258"] == "K4B"
    assert copied == ([TRAJECT_TABLE, PROFIEL_TABLE] if store.copy_text else [])  # the other batches could not be
    assert store.delivery(d.id).status == "imported"


def test_a_first_mutation_delivery_writes_its_live_records_only(provider):
    store, std = provider, mutations_standard()
    d = store.add_delivery("m.zip", b"m", None, status="accepted", standard=std.id)
    store._exec("UPDATE deliveries SET phase = 'production', agb = ?, branch = ? WHERE id = ?", (AGB, BRANCH, d.id))
    stage = store.stage(std, AGB, BRANCH, d.id)
    assert stage.fresh
    recs = [{"9100": "V", "9101": "T1", "9102": "OLD"}, {"9101": "T1", "9102": "NEW", "9103": "20190101"},
            {"9100": "V", "9101": "T7"}]
    layout, rows, lines = records(std, "TRAJECT.txt", recs)
    stage.add_rows(layout, rows, lines)
    counts = store.import_delivery(d.id, std, stage)
    stored = {k: f for _, k, f in store.records(AGB, BRANCH, "TRAJECT.txt")}
    assert stored == expected_rows(layout, [(rows, lines)], skip=lambda rec: rec["9100"] == "V")
    assert list(stored) == ["T1"] and stored["T1"]["9102"] == "NEW"
    assert (counts["TRAJECT.txt"].delivered, counts["TRAJECT.txt"].deleted) == (1, 0)


def test_a_first_delivery_not_imported_leaves_nothing(provider):
    """The gate drops the stage of a delivery assessed negative: its records go, the store stays usable."""
    store, std = provider, ohw_gbg()
    d = accepted(store)
    stage = store.stage(std, AGB, BRANCH, d.id)
    layout, rows, lines = records(std, TRAJECT, [{"3257": "T1", "3258": "K1"}])
    stage.add_rows(layout, rows, lines)
    stage.drop()
    assert keys(store) == []
    assert store._exec(f"SELECT COUNT(*) FROM {TRAJECT_TABLE}").fetchone()[0] == 0
    store.update_delivery(d.id, status="assessed_negative")  # no transaction left open: this is kept
    reopened = open_url(store.url) if not store.url.startswith("postgresql") else None
    try:
        if reopened is not None:
            assert reopened.delivery(d.id).status == "assessed_negative"
    finally:
        if reopened is not None:
            reopened.close()


def test_the_history_does_not_take_the_uncommitted_first_delivery_for_stored_records(provider):
    """A first delivery that moves T1 to another patient ('V', then T1 anew) and deletes T7: nothing was
    stored, so 1656 finds no clash and both deletions are of keys the store does not hold."""
    store, std = provider, ohw_gbg()
    d = accepted(store)
    stage = store.stage(std, AGB, BRANCH, d.id)
    try:
        layout, rows, lines = records(std, TRAJECT, [{"3257": "T1", "3258": "K1"}, {"3257": "T2", "3258": "K2"}])
        stage.add_rows(layout, rows, lines)
        history = store.history(AGB, BRANCH, before=d.id, standard=std.id, stage=stage)
        assert keys(store) == ["T1", "T2"]  # written, not committed: this connection sees them
        assert history.stored_with_other_at(TRAJECT, "3257", "3258") == set()
        assert history.nothing_stored(TRAJECT)  # so the validation collects no (key, other) pairs for 1656
        assert history.stored_with_other(TRAJECT, "3257", "3258", [("T1", "K9"), ("T2", "K2")]) == set()
        assert history.not_stored(TRAJECT, "3257", ["T1", "T7"]) == {"T1", "T7"}
    finally:
        stage.drop()
    assert keys(store) == []


def test_a_first_import_killed_while_writing_leaves_nothing(provider, store_url):
    store = provider
    first = accepted(store)
    store.close()
    # Another process writes 200,000 records of the provider's first delivery straight into the table and
    # is killed with SIGKILL after 50,000.
    _kill_worker(["load", store_url, first.id, 200000, 50000])
    nothing_was_kept(store_url, first)


def nothing_was_kept(store_url: str, first) -> None:
    """After a first import was killed: no record is stored, the store is sound, the delivery is still
    `accepted` and still its provider's first, and importing it again works."""
    reopened = open_url(store_url)
    try:
        assert reopened._exec(f"SELECT COUNT(*) FROM {TRAJECT_TABLE}").fetchone()[0] == 0
        assert reopened.delivery(first.id).status == "accepted"
        if store_url.startswith("sqlite"):
            assert reopened._exec("PRAGMA integrity_check").fetchone()[0] == "ok"
        stage = reopened.stage(ohw_gbg(), AGB, BRANCH, first.id)
        assert stage.fresh  # still the first delivery: nothing of the killed one counts as stored
        layout, rows, lines = records(ohw_gbg(), TRAJECT, [{"3257": "T1", "3258": "K1"}])
        stage.add_rows(layout, rows, lines)
        assert reopened.import_delivery(first.id, ohw_gbg(), stage)[TRAJECT].inserted == 1
        assert keys(reopened) == ["T1"]
    finally:
        reopened.close()


def test_a_later_delivery_staged_from_its_bytes_holds_the_typed_values(provider):
    """Not a first delivery: staged (PostgreSQL: as COPY text with line numbers), then merged. The
    history answers by line from that stage, and a key repeated across batches still counts once."""
    store, std = provider, ohw_gbg()
    first = accepted(store)
    stage = store.stage(std, AGB, BRANCH, first.id)
    layout, rows, lines = records(std, TRAJECT, [{"3257": "T1", "3258": "K1"}, {"3257": "T2", "3258": "K2"}])
    stage.add_rows(layout, rows, lines)
    store.import_delivery(first.id, std, stage)

    second = accepted(store, "20180401")
    stage = store.stage(std, AGB, BRANCH, second.id)
    assert not stage.fresh
    done = []
    try:
        for n, batch in enumerate([
                [{"3257": " T2", "3258": "K9", "3262": "20180230", "3263": "20180101"},  # T2 under another patient
                 {"3257": "T3", "3258": "K3", "3266": "D  1"}, {"3257": "", "3258": "K4"}],
                [{"3257": "T3", "3258": "K3B", "3262": "20200229"}],  # T3 again: the last one wins
                [{"3257": "T5", "3258": "Kéé"}]]):  # not ASCII: typed, not COPY text
            layout, rows, lines = records(std, TRAJECT, batch)
            lines = lines + 10 * n  # lines go on from batch to batch
            stage.add_rows(layout, rows, lines)
            done.append((rows, lines))
        history = store.history(AGB, BRANCH, before=second.id, standard=std.id, stage=stage)
        assert history.stored_with_other_at(TRAJECT, "3257", "3258") == {1}
        assert not history.nothing_stored(TRAJECT)
        counts = store.import_delivery(second.id, std, stage)
    finally:
        stage.drop()
    want = expected_rows(layout, done)
    assert stored_rows(store, TRAJECT) == want
    assert counts[TRAJECT].as_dict() == {"delivered": 4, "inserted": 3, "changed": 1, "unchanged": 0, "deleted": 1}
