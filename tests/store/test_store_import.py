"""Full load into the typed tables: the delivery's records replace the provider's, in one transaction,
even under kill -9; the counts say what changed."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from disval.core.store.delivery_store import StoreError
from disval.plugins.ga_ohw_gbg import standard as ohw_gbg
from store_support import AGB, BRANCH, PROFIEL, TRAJECT, USER, gbg_batches, open_url, zip_name

WORKER = Path(__file__).with_name("store_support.py")


def accepted(store, day="20180301", seq="01", phase="PROD", agb=AGB):
    z = zip_name(day, seq, phase, agb=agb)
    return store.add_delivery(z.name, z.name.encode(), z, status="accepted", standard="GA-OHW-GBG-1.0")


def trajects(*keys, koppel="K1"):
    return [(TRAJECT, {"3257": k, "3258": koppel, "3262": "20180101"}) for k in keys]


def load(store, delivery, *records, finish=None):
    return store.import_delivery(delivery.id, ohw_gbg(), gbg_batches(*records), finish)


def keys(store, agb=AGB, file=None):
    return [k for _, k, _ in store.records(agb, BRANCH, file)]


@pytest.fixture
def provider(store):
    store.add_provider(AGB, BRANCH, USER)
    return store


def test_a_full_load_replaces_the_providers_previous_records(provider):
    store = provider
    store.add_provider("03001234", "00", "ziekenhuis")
    load(store, accepted(store, agb="03001234"), *trajects("ELSEWHERE"))

    first = accepted(store, "20180301")
    counts = load(store, first, *trajects("T1", "T2"), (PROFIEL, {"3310": "C1", "3309": "T1", "3315": "12"}))
    assert {f: (c.delivered, c.inserted) for f, c in counts.items()} == {TRAJECT: (2, 2), PROFIEL: (1, 1)}
    second = accepted(store, "20180401")
    counts = load(store, second, *trajects("T2", "T3", koppel="K9"))
    assert {f: c.as_dict() for f, c in counts.items()} == {
        TRAJECT: {"delivered": 2, "inserted": 1, "changed": 1, "unchanged": 0, "deleted": 1},
        PROFIEL: {"delivered": 0, "inserted": 0, "changed": 0, "unchanged": 0, "deleted": 1},
    }

    stored = list(store.records(AGB, BRANCH))
    assert [(f, k, fields["3258"]) for f, k, fields in stored] == [(TRAJECT, "T2", "K9"), (TRAJECT, "T3", "K9")]
    assert keys(store, file=PROFIEL) == []
    assert keys(store, "03001234") == ["ELSEWHERE"]  # another provider's stay
    done = store.delivery(second.id)
    assert (done.status, done.imported) == ("imported", {TRAJECT: 2, PROFIEL: 0}) and done.processed_at is not None
    assert store.delivery(first.id).status == "imported"


def test_counts_of_a_redelivery_tell_unchanged_from_changed(provider):
    load(provider, accepted(provider, "20180301"), *trajects("T1", "T2", "T3"))
    counts = load(provider, accepted(provider, "20180401"), *trajects("T1", "T2"), *trajects("T3", koppel="K7"),
                  *trajects("T4"))
    assert counts[TRAJECT].as_dict() == {"delivered": 4, "inserted": 1, "changed": 1, "unchanged": 2, "deleted": 0}


def test_a_key_delivered_twice_is_stored_once_the_last_one_winning(provider):
    counts = load(provider, accepted(provider), *trajects("T1"), *trajects("T1", koppel="K2"), *trajects("T2"))
    assert counts[TRAJECT].delivered == 2
    assert [(k, f["3258"]) for _, k, f in provider.records(AGB, BRANCH)] == [("T1", "K2"), ("T2", "K1")]


def test_padded_keys_are_stored_trimmed(provider):
    load(provider, accepted(provider), (TRAJECT, {"3257": "T1                  "}))
    assert keys(provider) == ["T1"]


def test_a_test_delivery_is_never_imported(provider):
    store = provider
    load(store, accepted(store), *trajects("T1"))
    test = accepted(store, "20180201", phase="TEST")
    with pytest.raises(StoreError, match="only an accepted production delivery is imported"):
        load(store, test, *trajects("X"))
    assert keys(store) == ["T1"]
    assert store.delivery(test.id).status == "accepted"


def test_only_an_accepted_delivery_is_imported(provider):
    z = zip_name()
    queued = provider.add_delivery(z.name, b"q", z)
    with pytest.raises(StoreError, match="status queued"):
        load(provider, queued, *trajects("X"))
    with pytest.raises(StoreError, match="no delivery 4711"):
        provider.import_delivery(4711, ohw_gbg(), [])


def test_a_failure_during_import_leaves_the_previous_records(provider):
    store = provider
    load(store, accepted(store), *trajects("T1", "T2"))
    second = accepted(store, "20180401")

    def failing(counts):
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        load(store, second, *trajects(*(f"N{n}" for n in range(2500))), finish=failing)
    assert keys(store) == ["T1", "T2"]
    assert store.delivery(second.id).status == "accepted"
    load(store, second, *trajects("T3"))  # the store goes on working
    assert keys(store) == ["T3"]


def test_the_reports_finish_returns_are_kept_in_the_import_transaction(provider):
    d = accepted(provider)
    seen = {}

    def finish(counts):
        seen.update(counts)
        return {"reports": {"import.txt": provider.put_blob(b"3 trajects")}}

    load(provider, d, *trajects("T1", "T2", "T3"), finish=finish)
    assert seen[TRAJECT].inserted == 3
    done = provider.delivery(d.id)
    assert done.status == "imported" and provider.read_blob(done.reports["import.txt"]) == b"3 trajects"


def _kill_worker(args, expect="mid"):
    worker = subprocess.Popen([sys.executable, str(WORKER), *map(str, args)], stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout.readline().strip() == expect
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(timeout=60)
    assert worker.returncode == -signal.SIGKILL


@pytest.mark.parametrize("pause_at", [50000, -1], ids=["while-staging", "after-the-merge"])
def test_a_killed_import_leaves_the_previous_state_intact(provider, store_url, pause_at):
    store = provider
    load(store, accepted(store), *trajects("T1", "T2"))
    second = accepted(store, "20180401")
    store.close()

    # Another process imports 200,000 records and is killed with SIGKILL: after 50,000 were staged,
    # or inside the transaction once all of them were merged into the tables.
    _kill_worker(["load", store_url, second.id, 200000, pause_at])

    reopened = open_url(store_url)
    try:
        assert keys(reopened) == ["T1", "T2"]
        assert reopened.delivery(second.id).status == "accepted"
        table = "ga_ohw_gbg_1_0__behandeltraject"
        assert reopened._exec(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 2
        if store_url.startswith("sqlite"):
            assert reopened._exec("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert load(reopened, second, *trajects("T3"))[TRAJECT].delivered == 1  # no lock or debris left behind
    finally:
        reopened.close()
