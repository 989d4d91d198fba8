"""Receiving with the job queue: the delivery and its provider's drain job commit together, and a
second wake-up while one waits is absorbed (never an error to the submitter)."""
from __future__ import annotations

import pytest

from disval.core.gate.process import submit
from disval.core.gate.receiving import make_request, receive
from disval.core.store.delivery_store import StoreError, open_store
from disval.core.workers import job_schema
from disval.core.workers.wakeups import defer_drain, provider_key
from gate_support import AGB, BRANCH, OTHER_AGB, delivery, register
from jobs_support import jobs


def test_a_received_delivery_and_its_drain_job_commit_together(pg_store, pm, tmp_path):
    register(pg_store)
    request = make_request(pm)
    first = receive(delivery(tmp_path, day="20180301"), pg_store, pm=pm, request=request, wake=defer_drain)
    second = receive(delivery(tmp_path, day="20180302"), pg_store, pm=pm, request=request, wake=defer_drain)
    other = receive(delivery(tmp_path, day="20180301", agb=OTHER_AGB), pg_store, pm=pm, request=request,
                    wake=defer_drain)
    assert [d.status for d in (first, second, other)] == ["queued"] * 3
    waiting = jobs(pg_store, "todo")
    # One waiting drain per provider, carrying only the provider; its locks are the provider.
    assert [j["args"] for j in waiting] == [{"agb": AGB, "branch": BRANCH}, {"agb": OTHER_AGB, "branch": BRANCH}]
    assert all(j["lock"] == j["queueing_lock"] == provider_key(j["args"]["agb"], j["args"]["branch"])
               for j in waiting)
    # Seen from another session: both committed.
    with open_store(pg_store.url, pm=pm) as other_session:  # the tests' URL has no password to redact
        assert len(jobs(other_session, "todo")) == 2
        assert {d.id for d in other_session.deliveries(AGB, BRANCH, statuses=("queued",))} == {first.id, second.id}


def test_a_receipt_that_fails_after_the_wake_up_keeps_neither(pg_store, pm, tmp_path):
    register(pg_store)

    def wake_then_fail(store, agb, branch):
        assert defer_drain(store, agb, branch)
        raise RuntimeError("the receipt's transaction fails after the job was deferred")

    with pytest.raises(RuntimeError):
        receive(delivery(tmp_path), pg_store, pm=pm, request=make_request(pm), wake=wake_then_fail)
    assert pg_store.deliveries(AGB, BRANCH) == []
    assert jobs(pg_store) == []


def test_a_second_wake_up_inside_a_transaction_leaves_it_usable(pg_store):
    with pg_store.transaction():
        assert defer_drain(pg_store, AGB, BRANCH) is True
        assert defer_drain(pg_store, AGB, BRANCH) is False  # absorbed in its savepoint
        register(pg_store)  # the transaction goes on after the absorbed one
    assert len(jobs(pg_store, "todo")) == 1 and pg_store.provider(AGB, BRANCH) is not None


def test_submit_without_the_queue_still_processes_in_process_on_postgresql(pg_store, pm, tmp_path):
    register(pg_store)
    assert submit(delivery(tmp_path, "test", "20180201"), pg_store, pm=pm).status == "accepted"
    assert jobs(pg_store) == []  # nothing deferred: nothing left for a worker


def test_the_job_tables_are_applied_once_and_a_newer_release_is_refused(pg_url, pm):
    with open_store(pg_url, pm=pm) as store:
        tables = store._exec("SELECT count(*) FROM information_schema.tables WHERE left(table_name, 14) = 'procrastinate_'"
                             ).fetchone()[0]
        assert tables >= 4
        assert job_schema._recorded(store) == job_schema.installed_version()
    with open_store(pg_url, pm=pm) as store:  # a second open changes nothing
        assert store._exec("SELECT count(*) FROM job_queue_schema").fetchone()[0] == 1
        store._exec("INSERT INTO job_queue_schema (procrastinate, applied_at) VALUES ('99.0.0', now() + interval '1 s')")
    with pytest.raises(StoreError, match=r"procrastinate 99\.0\.0.*install the newer one"):
        open_store(pg_url, pm=pm)

