"""Full load: the delivery's records replace the provider's, in one transaction, even under kill -9."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from disval.core.store import StoreError
from store_support import AGB, BRANCH, USER, open_url, zip_name

WORKER = Path(__file__).with_name("store_support.py")
TRAJECT, PROFIEL = "BEHANDELTRAJECT.txt", "GELEVERD_ZORGPROFIEL.txt"


def accepted(store, day="20180301", seq="01", phase="PROD", agb=AGB):
    z = zip_name(day, seq, phase, agb=agb)
    return store.add_delivery(z.name, z.name.encode(), z, status="accepted")


def trajects(*keys, koppel="K1"):
    return [(TRAJECT, k, {"3257": k, "3258": koppel}) for k in keys]


@pytest.fixture
def provider(store):
    store.add_provider(AGB, BRANCH, USER)
    return store


def test_a_full_load_replaces_the_providers_previous_records(provider):
    store = provider
    store.add_provider("03001234", "00", "ziekenhuis")
    other = accepted(store, agb="03001234")
    store.full_load(other.id, trajects("ELSEWHERE"))

    first = accepted(store, "20180301")
    assert store.full_load(first.id, trajects("T1", "T2") + [(PROFIEL, "C1", {"3310": "C1", "3309": "T1"})]) == {
        TRAJECT: 2, PROFIEL: 1,
    }
    second = accepted(store, "20180401")
    assert store.full_load(second.id, trajects("T2", "T3", koppel="K9")) == {TRAJECT: 2}

    assert list(store.records(AGB, BRANCH)) == [
        (TRAJECT, "T2", {"3257": "T2", "3258": "K9"}), (TRAJECT, "T3", {"3257": "T3", "3258": "K9"}),
    ]
    assert list(store.records(AGB, BRANCH, PROFIEL)) == []
    assert [k for _, k, _ in store.records("03001234", "00")] == ["ELSEWHERE"]  # another provider's stay
    done = store.delivery(second.id)
    assert (done.status, done.imported) == ("imported", {TRAJECT: 2}) and done.processed_at is not None
    assert store.delivery(first.id).status == "imported"


def test_padded_keys_are_stored_trimmed(provider):
    d = accepted(provider)
    provider.full_load(d.id, [(TRAJECT, "T1                  ", {"3257": "T1                  "})])
    assert [k for _, k, _ in provider.records(AGB, BRANCH)] == ["T1"]


def test_a_test_delivery_is_never_imported(provider):
    store = provider
    base = accepted(store)
    store.full_load(base.id, trajects("T1"))
    test = accepted(store, "20180201", phase="TEST")
    with pytest.raises(StoreError, match="only an accepted production delivery is imported"):
        store.full_load(test.id, trajects("X"))
    assert [k for _, k, _ in store.records(AGB, BRANCH)] == ["T1"]
    assert store.delivery(test.id).status == "accepted"


def test_only_an_accepted_delivery_is_imported(provider):
    z = zip_name()
    queued = provider.add_delivery(z.name, b"q", z)
    with pytest.raises(StoreError, match="status queued"):
        provider.full_load(queued.id, trajects("X"))
    with pytest.raises(StoreError, match="no delivery 4711"):
        provider.full_load(4711, trajects("X"))


def test_a_failure_during_import_leaves_the_previous_records(provider):
    store = provider
    store.full_load(accepted(store).id, trajects("T1", "T2"))
    second = accepted(store, "20180401")

    def failing():
        yield from trajects(*(f"N{n}" for n in range(2500)))
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        store.full_load(second.id, failing(), batch_size=1000)
    assert [k for _, k, _ in store.records(AGB, BRANCH)] == ["T1", "T2"]
    assert store.delivery(second.id).status == "accepted"
    store.full_load(second.id, trajects("T3"))  # the store goes on working
    assert [k for _, k, _ in store.records(AGB, BRANCH)] == ["T3"]


def test_a_killed_import_leaves_the_previous_state_intact(provider, store_url):
    store = provider
    store.full_load(accepted(store).id, trajects("T1", "T2"))
    second = accepted(store, "20180401")
    store.close()

    # Another process imports 200,000 records and is killed with SIGKILL after 50,000 were written.
    worker = subprocess.Popen(
        [sys.executable, str(WORKER), "load", store_url, str(second.id), "200000", "50000"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert worker.stdout.readline().strip() == "mid"
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(timeout=60)
    assert worker.returncode == -signal.SIGKILL

    reopened = open_url(store_url)
    try:
        assert [k for _, k, _ in reopened.records(AGB, BRANCH)] == ["T1", "T2"]
        assert reopened.delivery(second.id).status == "accepted"
        assert reopened._exec("SELECT COUNT(*) FROM records").fetchone()[0] == 2
        if store_url.startswith("sqlite"):
            assert reopened._exec("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert reopened.full_load(second.id, trajects("T3")) == {TRAJECT: 1}  # no lock or debris left behind
    finally:
        reopened.close()
