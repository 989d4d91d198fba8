"""The history rules against the typed tables of a mutations standard: a 'V' record is a deletion, not data;
a move ('V' under the old parent, then new) is no 1656; 'V' for a key DIS does not hold is found."""
from __future__ import annotations

import numpy as np
import pytest

from disval.core.engine.common import Batch, Context, RecordMarks
from disval.core.engine.history import HistoryChecks, unknown_deletions
from disval.core.findings import FindingCollector
from disval.core.language.compiler import compile_text
from store_support import AGB, BRANCH, TRAJ, USER, batch, mutations_standard, zip_name

STD = mutations_standard()
RULE = '9101 stored with other 9102 => ERR 9656 OH "9101 komt in DIS voor bij een ander 9102"'


@pytest.fixture
def stored(store):
    """The provider's store holds T1 under K1 and T2 under K2."""
    store.add_provider(AGB, BRANCH, USER)
    z = zip_name()
    d = store.add_delivery(z.name, z.name.encode(), z, status="accepted", standard=STD.id)
    store.import_delivery(d.id, STD, [batch(STD, TRAJ, [{"9101": "T1", "9102": "K1"}, {"9101": "T2", "9102": "K2"}])])
    return store


def records(*recs):
    """A validation batch of TRAJECT.txt records (flag, traject, koppel), as the engine sees them."""
    layout = STD.layout.file(TRAJ)
    raw = b"".join(f.encode().ljust(1) + t.encode().ljust(10) + k.encode().ljust(10) + b" " * 8 for f, t, k in recs)
    return Batch(layout, np.frombuffer(raw, np.uint8).reshape(len(recs), layout.record_length),
                 np.arange(1, len(recs) + 1))


def stored_elsewhere(store, *recs, memory=None) -> list[tuple[int, str]]:
    """(line, key) of the 1656-like findings the history checks report for these records."""
    (rule,) = compile_text(STD, RULE)
    collector = FindingCollector()
    ctx = Context(zip_parts=None, slip=None, slip_row=None)
    checks = HistoryChecks([rule], STD.layout, ctx, store.history(AGB, BRANCH, standard=STD.id), collector,
                           RecordMarks(), memory)
    checks.record_batch(records(*recs))
    checks.finish()
    return [(f.line, f.value) for f in collector.findings()]


def test_pairs_and_deletions_spilled_to_disk_give_the_same_findings(stored):
    """With no memory for keys (the run's budget spent) the pairs, the deleted keys and the deletion
    records go to disk, and the history is asked a hash partition at a time: the same findings."""
    from disval.core.engine.key_spill import KeyMemory

    recs = [(" ", "T1", "K9"), ("V", "T2", "K2"), (" ", "T2", "K8"), (" ", "T3", "K3"), (" ", "T1", "K7")]
    recs += [(" ", f"N{i}", f"K{i}") for i in range(200)]
    memory = KeyMemory(limit=0)
    spilled = stored_elsewhere(stored, *recs, memory=memory)
    assert memory.spilled
    memory.close()
    assert spilled == stored_elsewhere(stored, *recs) == [(1, "T1"), (5, "T1")]

    (rule,) = compile_text(STD, '9101 deleted but not stored => ERR 9573 OH "9101 is geen bestaand traject"')
    found = []
    for memory in (KeyMemory(limit=0), None):
        collector = FindingCollector()
        checks = HistoryChecks([rule], STD.layout, Context(zip_parts=None, slip=None, slip_row=None),
                               stored.history(AGB, BRANCH, standard=STD.id), collector, RecordMarks(), memory)
        checks.record_batch(records(*[("V", f"U{i}", "K1") for i in range(50)], ("V", "T1", "K1")))
        checks.finish()
        found.append([(f.line, f.value) for f in collector.findings()])
    assert found[0] == found[1] == [(i + 1, f"U{i}") for i in range(50)]


def test_a_traject_delivered_under_another_koppelnummer_is_reported(stored):
    assert stored_elsewhere(stored, (" ", "T1", "K9"), (" ", "T2", "K2"), (" ", "T3", "K3")) == [(1, "T1")]


def test_a_move_by_v_then_new_in_one_delivery_is_not_reported(stored):
    # GA: moving a traject to another patient is a deletion under the old koppelnummer, then a new delivery.
    assert stored_elsewhere(stored, ("V", "T1", "K1"), (" ", "T1", "K9")) == []


def test_a_v_record_itself_is_never_compared(stored):
    assert stored_elsewhere(stored, ("V", "T2", "K7")) == []


def test_unknown_deletions_are_the_v_records_whose_key_is_not_stored(stored):
    history = stored.history(AGB, BRANCH, standard=STD.id)
    keys = np.array([b"T1", b"T8", b"T2", b"T9", b""])
    flags = np.array([b"V", b"V", b"", b"", b"V"])
    assert unknown_deletions(history, TRAJ, "9101", keys, flags).tolist() == [1]  # T8: never delivered
    assert unknown_deletions(history, TRAJ, "9101", keys, np.array([b""] * 5)).tolist() == []


def test_after_a_v_import_the_key_is_unknown_and_1656_is_silent(stored):
    z = zip_name("20180401")
    d = stored.add_delivery(z.name, z.name.encode(), z, status="accepted", standard=STD.id)
    stored.import_delivery(d.id, STD, [batch(STD, TRAJ, [{"9100": "V", "9101": "T1"}])])
    history = stored.history(AGB, BRANCH, standard=STD.id)
    assert unknown_deletions(history, TRAJ, "9101", np.array([b"T1"]), np.array([b"V"])).tolist() == [0]
    assert stored_elsewhere(stored, (" ", "T1", "K9")) == []  # the traject was deleted: a new one, not a move


def test_the_rule_form_deleted_but_not_stored_against_the_typed_tables(stored):
    (rule,) = compile_text(STD, '9101 deleted but not stored => ERR 9573 OH "9101 is geen bestaand traject"')
    collector = FindingCollector()
    checks = HistoryChecks([rule], STD.layout, Context(zip_parts=None, slip=None, slip_row=None),
                           stored.history(AGB, BRANCH, standard=STD.id), collector, RecordMarks())
    checks.record_batch(records(("V", "T1", "K1"), ("V", "T8", "K1"), (" ", "T9", "K1")))
    checks.finish()
    assert [(f.rule, f.line, f.value) for f in collector.findings()] == [("9573", 2, "T8")]
