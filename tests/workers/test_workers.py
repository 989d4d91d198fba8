"""`disval worker` processes: GA order per provider whatever the arrival order, the discard chain, two
workers never on one provider at once, the sweeper's recovery, a clean stop, and clear refusals."""
from __future__ import annotations

import datetime as dt
import random
import signal
import time

from disval.core.gate.process import submit_many
from disval.core.store.runs import runs
from disval.core.workers.sweeper import sweep
from disval.core.workers.wakeups import defer_drain, provider_key
from gate_support import BRANCH, delivery, register
from jobs_support import jobs, overlaps, run_disval, start_worker

PROVIDERS = ("94001234", "03001234", "94005678")
RUN_OF = "94009876"  # the provider whose second delivery is rejected at receipt


def _rejected_at_receipt(zip_path):
    """The delivery's name on bytes that are no zip: rejected at receipt (ZIP-UNREADABLE)."""
    zip_path.write_bytes(b"not a zip at all")
    return zip_path


def test_two_workers_process_each_provider_in_ga_order_one_at_a_time(pg_store, pg_url, pm, tmp_path):
    zips = {}
    for agb in PROVIDERS + (RUN_OF,):
        register(pg_store, agb)
        days = ("20180201", "20180301", "20180302", "20180303")
        zips[agb] = [delivery(tmp_path / agb, "test" if day.endswith("0201") else "production", day, agb=agb)
                     for day in days]
    _rejected_at_receipt(zips[RUN_OF][1])
    arrivals = [z for chain in zips.values() for z in chain]
    random.Random(15).shuffle(arrivals)  # arrival order never decides
    first = submit_many(arrivals, pg_store, pm=pm, wake=defer_drain)
    assert {o.status for o in first} == {"queued"} and {o.exit_code for o in first} == {0}
    assert len(jobs(pg_store, "todo")) == len(zips)  # one waiting drain per provider, however many arrived
    # A second wave, later in GA order, arrives while the workers drain: a provider's drain may be running
    # as its next delivery arrives, and then a second job of that provider waits for the first.
    wave = []
    for agb in PROVIDERS:
        chain = [delivery(tmp_path / agb, "production", day, agb=agb) for day in ("20180310", "20180311")]
        zips[agb] += chain
        wave += chain
    random.Random(16).shuffle(wave)

    workers = [start_worker(pg_url, "--sweep-interval", "1", "--heartbeat-timeout", "5") for _ in range(2)]
    try:
        _wait(lambda: _registered(pg_store) == 2, "both workers to start")
        for z in wave:
            assert submit_many([z], pg_store, pm=pm, wake=defer_drain)[0].status == "queued"
        _wait(lambda: not jobs(pg_store, "todo") and not jobs(pg_store, "doing"), "the queue to empty")
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        logs = [w.communicate(timeout=60) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], logs

    everything = runs(pg_store)
    assert overlaps(everything) == []
    for agb, chain in zips.items():
        ga_order = [z.name for z in chain]  # the days ascend: creation date order
        delivered = {d.name: d for d in pg_store.deliveries(agb, BRANCH)}
        started = [pg_store.delivery(r.delivery).name for r in runs(pg_store, agb, BRANCH)]
        if agb == RUN_OF:  # rejected at receipt: the ones queued behind it are discarded, never processed
            assert started == ga_order[:2]
            assert [delivered[n].status for n in ga_order] == ["accepted", "rejected", "discarded", "discarded"]
            assert all(f"({ga_order[1]} was rejected at receipt)" in delivered[n].reasons[0] for n in ga_order[2:])
        else:
            assert started == ga_order, f"provider {agb}: processed out of GA order"
            assert [delivered[n].status for n in ga_order] == ["accepted"] + ["imported"] * 5
    assert all(r.ended_at is not None for r in everything)
    assert {j["status"] for j in jobs(pg_store)} == {"succeeded"}
    assert len({r.worker for r in everything}) == 2, "one worker did everything: the test proved nothing"
    # Each job logged its start and its end on stderr.
    err = "".join(e for _, e in logs)
    assert err.count("drain of provider") == 2 * len(jobs(pg_store))

    # A drain woken again finds nothing to do: running a job twice is harmless.
    assert defer_drain(pg_store, PROVIDERS[0], BRANCH)
    again = run_disval("worker", "--until-empty", store_url=pg_url)
    assert again.returncode == 0, again.stderr
    assert "0 processed" in again.stderr and len(runs(pg_store)) == len(everything)


def _wait(condition, what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _registered(store) -> int:
    """How many workers procrastinate has registered (each at its start, with its heartbeat)."""
    return store._exec("SELECT count(*) FROM procrastinate_workers").fetchone()[0]


def test_the_sweeper_fails_a_dead_workers_job_and_wakes_its_provider(pg_store, pm, tmp_path):
    register(pg_store)
    received = submit_many([delivery(tmp_path, "test", "20180201")], pg_store, pm=pm, wake=defer_drain)[0]
    # A worker took the job and died: its heartbeat stopped an hour ago, its job stays 'doing'.
    worker = pg_store._exec("INSERT INTO procrastinate_workers (last_heartbeat) VALUES (?) RETURNING id",
                            (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1),)).fetchone()[0]
    pg_store._exec("UPDATE procrastinate_jobs SET status = 'doing', worker_id = ?", (worker,))
    (dead,) = jobs(pg_store)
    failed, woken = sweep(pg_store, heartbeat_timeout=30)
    assert failed == [dead["id"]] and woken == [(received.agb, received.branch)]
    after = {j["id"]: j for j in jobs(pg_store)}
    assert after[dead["id"]]["status"] == "failed"  # not retried: a new wake-up replaces it
    (new,) = [j for j in after.values() if j["status"] == "todo"]
    assert new["lock"] == provider_key(received.agb, received.branch)
    assert sweep(pg_store, heartbeat_timeout=30) == ([], [])  # a waiting job: nothing to do
    # A live worker's job is left alone.
    pg_store._exec("UPDATE procrastinate_workers SET last_heartbeat = now()")
    pg_store._exec("UPDATE procrastinate_jobs SET status = 'doing', worker_id = ? WHERE id = ?", (worker, new["id"]))
    assert sweep(pg_store, heartbeat_timeout=30) == ([], [])


def test_a_job_whose_worker_row_procrastinate_removed_is_failed_too(pg_store, pm, tmp_path):
    """procrastinate deletes the row of a worker it judged dead; that worker's job keeps `doing` with no
    worker (procrastinate issue #1518). The sweep must not leave the provider waiting behind it."""
    register(pg_store)
    received = submit_many([delivery(tmp_path, "test", "20180201")], pg_store, pm=pm, wake=defer_drain)[0]
    worker = pg_store._exec("INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now()) RETURNING id"
                            ).fetchone()[0]
    pg_store._exec("UPDATE procrastinate_jobs SET status = 'doing', worker_id = ?", (worker,))
    pg_store._exec("DELETE FROM procrastinate_workers WHERE id = ?", (worker,))  # worker_id becomes NULL
    (orphan,) = jobs(pg_store)
    failed, woken = sweep(pg_store, heartbeat_timeout=30)
    assert failed == [orphan["id"]] and woken == [(received.agb, received.branch)]
    assert [j["status"] for j in jobs(pg_store)] == ["failed", "todo"]


def test_the_sweep_deletes_drain_jobs_that_ended_longer_ago_than_kept(pg_store, pm, tmp_path):
    register(pg_store)
    for day in ("20180201", "20180301", "20180401"):
        submit_many([delivery(tmp_path, "test", day)], pg_store, pm=pm, wake=defer_drain)
        pg_store._exec("UPDATE procrastinate_jobs SET status = 'succeeded' WHERE status = 'todo'")
    old, recent, waiting = (j["id"] for j in jobs(pg_store))
    pg_store._exec("UPDATE procrastinate_jobs SET status = 'todo' WHERE id = ?", (waiting,))
    # Every job has events from its deferral on; the old one's are two days old, as is the waiting one's.
    pg_store._exec("UPDATE procrastinate_events SET at = now() - interval '2 days' WHERE job_id IN (?, ?)",
                   (old, waiting))
    assert sweep(pg_store, heartbeat_timeout=30, keep_hours=24) == ([], [])
    assert [j["id"] for j in jobs(pg_store)] == [recent, waiting]  # a waiting job is never deleted
    assert not pg_store._exec("SELECT 1 FROM procrastinate_events WHERE job_id = ?", (old,)).fetchall()
    assert sweep(pg_store, heartbeat_timeout=30) == ([], [])  # without a retention nothing more goes
    assert [j["id"] for j in jobs(pg_store)] == [recent, waiting]
    sweep(pg_store, heartbeat_timeout=30, keep_hours=0)
    assert [j["id"] for j in jobs(pg_store)] == [waiting]


def test_a_worker_stops_cleanly_on_sigterm(pg_store, pg_url):
    worker = start_worker(pg_url, "--sweep-interval", "1", "--heartbeat-timeout", "3")
    _wait(lambda: _registered(pg_store) == 1, "the worker to start")
    worker.send_signal(signal.SIGTERM)
    out, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    assert "started on" in err and "stopped" in err and "Traceback" not in err
    # It unregistered: no dead worker is left for the sweeper.
    assert _registered(pg_store) == 0


def test_the_embedded_store_is_told_it_needs_no_workers(tmp_path):
    url = f"sqlite:///{tmp_path}/disval.db"
    done = run_disval("worker", store_url=url)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "the embedded store needs no workers" in done.stderr and "disval submit" in done.stderr
    zip_path = delivery(tmp_path, "test", "20180201")
    queued = run_disval("submit", zip_path, "--queue", store_url=url)
    assert queued.returncode == 2 and "Traceback" not in queued.stderr
    assert "has no job queue and needs none" in queued.stderr


def test_a_worker_killed_mid_delivery_is_recovered_with_nothing_lost(pg_store, pg_url, pm, tmp_path):
    register(pg_store)
    received = submit_many([delivery(tmp_path, "test", "20180201")], pg_store, pm=pm, wake=defer_drain)[0]
    marker = tmp_path / "paused"
    doomed = start_worker(pg_url, "--heartbeat-timeout", "3", env={"DISVAL_PAUSE_AT": f"gate-working-copy={marker}"})
    try:
        _wait(marker.exists, "the first worker to hold the delivery's working copy")
    finally:
        doomed.kill()  # kill -9, mid-delivery: its job stays 'doing', its run never ends
        doomed.communicate(timeout=30)
    assert [j["status"] for j in jobs(pg_store)] == ["doing"]
    killed_at = time.monotonic()
    rescuer = start_worker(pg_url, "--sweep-interval", "1", "--heartbeat-timeout", "3")
    try:
        _wait(lambda: pg_store.delivery(received.delivery).status == "accepted", "the delivery to be processed again")
    finally:
        rescuer.send_signal(signal.SIGTERM)
        _, err = rescuer.communicate(timeout=60)
    assert time.monotonic() - killed_at < 3 + 1 + 15  # heartbeat timeout + sweep interval + starting a worker
    assert "was stalled" in err and "drain deferred" in err
    first, second = runs(pg_store, received.agb, received.branch)
    assert first.ended_at is None and second.ended_at is not None and second.status == "accepted"
    assert first.worker != second.worker and pg_store.delivery(received.delivery).attempts == 2
    assert [j["status"] for j in jobs(pg_store)] == ["failed", "succeeded"]


def test_a_worker_whose_connections_are_cut_comes_back_and_goes_on(pg_store, pg_url, pm, tmp_path):
    register(pg_store)
    worker = start_worker(pg_url, "--sweep-interval", "1", "--heartbeat-timeout", "3")
    try:
        _wait(lambda: _registered(pg_store) == 1, "the worker to start")
        cut = pg_store._exec(  # as a database restart or a network cut would: every session of the worker ends
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name LIKE ?",
            (f"disval% pid {worker.pid} on %",)).fetchone()[0]
        assert cut >= 2
        received = submit_many([delivery(tmp_path, "test", "20180201")], pg_store, pm=pm, wake=defer_drain)[0]
        _wait(lambda: pg_store.delivery(received.delivery).status == "accepted", "the worker to process again",
              timeout=60)
        assert worker.poll() is None, "the worker gave up"
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
