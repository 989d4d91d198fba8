"""Real `disval submit` processes: one delivery per provider at a time, in order, and a kill -9 mid-import."""
from __future__ import annotations

import os
import signal
import sqlite3
import time

import pytest

from disval.core.gate.process import submit
from gate_support import AGB, BRANCH, BT, OTHER_AGB, delivery, disval, register, start_disval


@pytest.fixture
def connected(store, tmp_path, pm):
    """A provider past its connect phase, and another provider, both registered."""
    register(store)
    register(store, OTHER_AGB)
    assert submit(delivery(tmp_path, "test", "20180201"), store, pm=pm).status == "accepted"
    return store


def wait_for(condition, timeout=60.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def status_of(store, name):
    found = [d for d in store.deliveries(AGB, BRANCH) if d.name == name]
    return found[-1].status if found else None


def finished(process, timeout=120):
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def test_two_submits_at_the_same_moment_take_turns(connected, store_url, tmp_path):
    # Different phases, so that either order is a correct one: both must end accepted.
    zips = [delivery(tmp_path, "test", "20180301", trajects=20000, profiles=20000),
            delivery(tmp_path, "production", "20180301", trajects=20000, profiles=20000)]
    processes = [start_disval("submit", z, store_url=store_url) for z in zips]
    results = [finished(p) for p in processes]
    assert [r[0] for r in results] == [0, 0], results
    done = {d.name: d for d in connected.deliveries(AGB, BRANCH)}
    first, second = sorted((done[z.name] for z in zips), key=lambda d: d.started_at)
    assert first.processed_at <= second.started_at, "processing intervals overlap"
    assert (done[zips[0].name].status, done[zips[1].name].status) == ("accepted", "imported")


def test_a_queued_earlier_delivery_is_processed_first_whoever_submitted_it(connected, store_url, tmp_path):
    later, earlier = delivery(tmp_path, day="20180305"), delivery(tmp_path, day="20180302")
    with connected.lock_provider(AGB, BRANCH):  # as if a long delivery of this provider were being processed
        p_later = start_disval("submit", later, store_url=store_url)
        wait_for(lambda: status_of(connected, later.name) == "queued", what="the later delivery to be queued")
        p_earlier = start_disval("submit", earlier, store_url=store_url)
        wait_for(lambda: status_of(connected, earlier.name) == "queued", what="the earlier delivery to be queued")
        time.sleep(0.2)
        assert p_later.poll() is None and p_earlier.poll() is None  # both wait for the provider
    assert finished(p_later)[0] == 0 and finished(p_earlier)[0] == 0
    done = {d.name: d for d in connected.deliveries(AGB, BRANCH)}
    assert done[earlier.name].status == done[later.name].status == "imported"
    assert done[earlier.name].processed_at <= done[later.name].started_at


def test_another_provider_is_not_blocked(connected, store_url, tmp_path):
    mine, theirs = delivery(tmp_path, "production", "20180301"), delivery(tmp_path, "test", "20180301", agb=OTHER_AGB)
    with connected.lock_provider(AGB, BRANCH):
        waiting = start_disval("submit", mine, store_url=store_url)
        # Received and waiting for its provider's lock (on a busy machine the process takes a while to start).
        wait_for(lambda: status_of(connected, mine.name) == "queued", what="this provider's delivery to be queued")
        other = disval("submit", theirs, store_url=store_url, timeout=60)
        assert other.returncode == 0, other.stderr
        assert waiting.poll() is None and status_of(connected, mine.name) == "queued"
    assert finished(waiting)[0] == 0
    assert status_of(connected, mine.name) == "imported"


def _writing(store_url: str) -> bool:
    """Whether another connection holds an open write transaction on the store."""
    if store_url.startswith("sqlite"):
        probe = sqlite3.connect(store_url[len("sqlite:///"):], timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:  # database is locked
            return True
        finally:
            probe.close()
    import psycopg

    with psycopg.connect(store_url, autocommit=True) as probe:
        return probe.execute(
            "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_xid IS NOT NULL"
        ).fetchone() is not None


def test_a_killed_import_leaves_the_previous_records_and_a_later_submit_works(connected, store_url, tmp_path, pm):
    assert submit(delivery(tmp_path, "production", "20180301"), connected, pm=pm).status == "imported"
    before = sorted(connected.records(AGB, BRANCH))
    big = delivery(tmp_path, "production", "20180302", trajects=25000, profiles=25000, seed=7)
    # guidance: the big delivery reuses traject numbers under other koppelnummers (1656), not blocking here
    process = start_disval("submit", "--policy", "guidance", big, store_url=store_url)

    def importing():
        d = next((d for d in connected.deliveries(AGB, BRANCH) if d.name == big.name), None)
        return d is not None and d.status == "accepted" and d.assessment == "positive" and _writing(store_url)

    wait_for(importing, what="the import to start")
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL

    killed = next(d for d in connected.deliveries(AGB, BRANCH) if d.name == big.name)
    assert (killed.status, killed.imported, killed.processed_at) == ("accepted", {}, None)
    assert sorted(connected.records(AGB, BRANCH)) == before

    # The next submit finishes the interrupted import first (it is owed), then processes its own delivery.
    later = delivery(tmp_path, "production", "20180303", trajects=25000, profiles=25000, seed=7)
    done = disval("submit", "--policy", "guidance", later, store_url=store_url)
    assert done.returncode == 0, done.stderr
    resumed = connected.delivery(killed.id)
    assert (resumed.status, resumed.imported) == ("imported", {BT: 25000, "GELEVERD_ZORGPROFIEL.txt": 25000})
    assert status_of(connected, later.name) == "imported"
    assert sum(1 for _ in connected.records(AGB, BRANCH, BT)) == 25000
