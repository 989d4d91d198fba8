"""Mutations (status vlag): ' ' inserts or replaces, 'V' deletes, a delivered parent replaces its children,
records not delivered stay; each scenario leaves exactly the expected rows and the history rules agree."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from store_support import ACT, AGB, BRANCH, TIJD, TRAJ, USER, batch, mutations_standard, open_url, zip_name

WORKER = Path(__file__).with_name("store_support.py")
STD = mutations_standard()
_sequence = iter(range(1, 10 ** 6))


def deliver(store, *records):
    """Import one mutation delivery of (file, {DDID: text}) records; returns the counts per file."""
    n = next(_sequence)  # every delivery its own name: 2018 + a day number
    z = zip_name(f"2018{1 + n // 28 % 12:02d}{1 + n % 28:02d}", f"{n // 336 % 100:02d}")
    d = store.add_delivery(z.name, z.name.encode(), z, status="accepted", standard=STD.id)
    per_file: dict[str, list] = {}
    for file, rec in records:
        per_file.setdefault(file, []).append(rec)
    return store.import_delivery(d.id, STD, [batch(STD, f, recs) for f, recs in per_file.items()])


def traject(key, koppel="K1", flag=" ", begin="20180101"):
    return TRAJ, {"9100": flag, "9101": key, "9102": koppel, "9103": begin}


def activity(key, parent, minutes="10", flag=" "):
    return ACT, {"9200": flag, "9201": key, "9202": parent, "9203": "20180102", "9204": minutes}


def tijd(key, parent):
    return TIJD, {"9301": key, "9302": parent, "9303": "5"}


def rows(store, file):
    """The stored records of `file`: key -> the values that tell them apart."""
    out = {}
    for _, key, f in store.records(AGB, BRANCH, file):
        out[key] = {TRAJ: lambda: f["9102"], ACT: lambda: (f["9202"], f["9204"]), TIJD: lambda: f["9302"]}[file]()
    return out


@pytest.fixture
def base(store):
    """T1 (K1) with activities A1, A2 and A1's time record M1; T2 (K2) with A3."""
    store.add_provider(AGB, BRANCH, USER)
    deliver(store, traject("T1"), traject("T2", "K2"), activity("A1", "T1"), activity("A2", "T1"),
            activity("A3", "T2"), tijd("M1", "A1"))
    return store


def test_new_records_are_added_and_the_rest_stays(base):
    counts = deliver(base, traject("T3", "K3"), activity("A4", "T3"))
    assert rows(base, TRAJ) == {"T1": "K1", "T2": "K2", "T3": "K3"}
    assert rows(base, ACT) == {"A1": ("T1", 10), "A2": ("T1", 10), "A3": ("T2", 10), "A4": ("T3", 10)}
    assert rows(base, TIJD) == {"M1": "A1"}
    assert counts[TRAJ].as_dict() == {"delivered": 1, "inserted": 1, "changed": 0, "unchanged": 0, "deleted": 0}


def test_a_changed_record_replaces_the_stored_one(base):
    counts = deliver(base, activity("A3", "T2", minutes="45"))
    assert rows(base, ACT)["A3"] == ("T2", 45)
    assert counts[ACT].as_dict() == {"delivered": 1, "inserted": 0, "changed": 1, "unchanged": 0, "deleted": 0}
    assert rows(base, TRAJ) == {"T1": "K1", "T2": "K2"}


def test_v_deletes_the_record_and_everything_under_it(base):
    counts = deliver(base, traject("T1", flag="V"))
    assert rows(base, TRAJ) == {"T2": "K2"}
    assert rows(base, ACT) == {"A3": ("T2", 10)}
    assert rows(base, TIJD) == {}  # A1's time record went with A1
    assert (counts[TRAJ].deleted, counts[ACT].deleted, counts[TIJD].deleted) == (1, 2, 1)


def test_a_redelivered_parent_replaces_its_dependent_records(base):
    # As a DBC-traject delivered again brings its whole set of profiles: A1's time records are M2, M3 now.
    counts = deliver(base, activity("A1", "T1", minutes="20"), tijd("M2", "A1"), tijd("M3", "A1"))
    assert rows(base, TIJD) == {"M2": "A1", "M3": "A1"}
    assert rows(base, ACT)["A1"] == ("T1", 20) and len(rows(base, ACT)) == 3
    assert counts[ACT].as_dict() == {"delivered": 1, "inserted": 0, "changed": 1, "unchanged": 0, "deleted": 0}
    assert counts[TIJD].as_dict() == {"delivered": 2, "inserted": 2, "changed": 0, "unchanged": 0, "deleted": 1}


def test_a_redelivered_parent_keeps_children_that_have_their_own_status_vlag(base):
    # As a zorgtraject changed without its DBC-trajecten: they are mutated on their own.
    counts = deliver(base, traject("T1", "K1", begin="20180201"))
    assert rows(base, ACT) == {"A1": ("T1", 10), "A2": ("T1", 10), "A3": ("T2", 10)}
    assert rows(base, TIJD) == {"M1": "A1"}
    assert counts[TRAJ].changed == 1 and counts[ACT].deleted == 0


def test_a_redelivered_parent_with_the_same_dependents_counts_them_unchanged(base):
    counts = deliver(base, activity("A1", "T1"), tijd("M1", "A1"))
    assert rows(base, TIJD) == {"M1": "A1"}
    assert counts[TIJD].as_dict() == {"delivered": 1, "inserted": 0, "changed": 0, "unchanged": 1, "deleted": 0}


def test_a_record_moved_to_another_parent_by_v_then_new(base):
    # GA: moving a traject to another patient is a deletion followed by a new delivery.
    deliver(base, traject("T2", "K2", flag="V"), traject("T2", "K7"), activity("A3", "T2"))
    assert rows(base, TRAJ) == {"T1": "K1", "T2": "K7"}
    assert rows(base, ACT)["A3"] == ("T2", 10)
    history = base.history(AGB, BRANCH, standard=STD.id)
    assert history.stored_with_other(TRAJ, "9101", "9102", [("T2", "K7")]) == set()  # no false 1656
    assert history.stored_with_other(TRAJ, "9101", "9102", [("T2", "K2")]) == {"T2"}


def test_an_activity_moved_to_another_traject_in_two_deliveries(base):
    deliver(base, activity("A2", "T1", flag="V"))
    history = base.history(AGB, BRANCH, standard=STD.id)
    assert history.stored_with_other(ACT, "9201", "9202", [("A2", "T2")]) == set()  # 2054 sees the delete
    deliver(base, activity("A2", "T2"))
    assert rows(base, ACT)["A2"] == ("T2", 10)
    assert rows(base, TRAJ) == {"T1": "K1", "T2": "K2"}


def test_v_for_an_unknown_key_changes_nothing_and_the_history_names_it(base):
    history = base.history(AGB, BRANCH, standard=STD.id)
    assert history.not_stored(TRAJ, "9101", ["T1", "T8        ", "T2"]) == {"T8        "}
    counts = deliver(base, traject("T8", flag="V"))
    assert rows(base, TRAJ) == {"T1": "K1", "T2": "K2"} and len(rows(base, ACT)) == 3
    assert counts[TRAJ].as_dict() == {"delivered": 0, "inserted": 0, "changed": 0, "unchanged": 0, "deleted": 0}
    deliver(base, traject("T1", flag="V"))
    assert history.not_stored(TRAJ, "9101", ["T1"]) == {"T1"}  # deleted now


def test_mutations_touch_only_this_provider(base):
    base.add_provider("03001234", "00", "ander")
    z = zip_name("20180401", agb="03001234")
    d = base.add_delivery(z.name, z.name.encode(), z, status="accepted", standard=STD.id)
    base.import_delivery(d.id, STD, [batch(STD, TRAJ, [{"9100": "V", "9101": "T1"}])])
    assert rows(base, TRAJ) == {"T1": "K1", "T2": "K2"}


@pytest.mark.parametrize("when", ["merged", "committed"])
def test_kill_during_or_right_after_a_mutation_import(base, store_url, when):
    before = {f: rows(base, f) for f in (TRAJ, ACT, TIJD)}
    z = zip_name("20180420")
    d = base.add_delivery(z.name, z.name.encode(), z, status="accepted", standard=STD.id)
    worker = subprocess.Popen([sys.executable, str(WORKER), "mutate", store_url, str(d.id), when],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout.readline().strip() == when
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(timeout=60)
    reopened = open_url(store_url)
    try:
        done = reopened.delivery(d.id)
        if when == "merged":  # killed inside the transaction: nothing of it happened
            assert {f: rows(reopened, f) for f in (TRAJ, ACT, TIJD)} == before
            assert (done.status, done.reports) == ("accepted", {})
        else:  # killed right after the commit: the import and its report are both there
            assert rows(reopened, TRAJ) == {"T2": "K2", "T9": "K9"}
            assert rows(reopened, ACT) == {"A3": ("T2", 10), "A9": ("T9", 30)}
            assert done.status == "imported"
            assert reopened.read_blob(done.reports["import.json"]) == b'{"import": "report"}'
    finally:
        reopened.close()
