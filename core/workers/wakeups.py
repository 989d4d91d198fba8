"""Waking a provider's drain: deferring a procrastinate job, in the transaction of the caller.

A job carries only the provider. Its `lock` is the provider (procrastinate
runs one job per lock at a time, in the order deferred) and so is its
`queueing_lock` (at most one job per lock waits, status `todo`). A second
wake-up while one waits is therefore redundant: the waiting drain will read
the new delivery from the store. procrastinate refuses it with a unique
violation on its queueing-lock index; it is absorbed inside a savepoint, so
the caller's transaction (the receipt of a delivery) goes on untouched.

The job is inserted with procrastinate's own SQL function, on the store's
connection: the delivery row and its job commit together or not at all.
procrastinate's insert trigger sends its NOTIFY at that commit, and an idle
worker picks the job up at once.
"""
from __future__ import annotations

import json

QUEUE = "disval"  # the procrastinate queue of disval's jobs
DRAIN_TASK = "disval.drain"  # the task's name in the job table, and in the app that runs it
QUEUEING_LOCK_INDEX = "procrastinate_jobs_queueing_lock_idx_v1"  # procrastinate.manager's constant


def provider_key(agb: str, branch: str) -> str:
    """The lock and queueing lock of a provider's drain jobs."""
    return f"disval provider {agb} {branch}"


def defer_drain(store, agb: str, branch: str) -> bool:
    """Wake the provider's drain: True when a job was deferred, False when one was already waiting.

    Runs in the caller's transaction when there is one (`store.transaction()`),
    else in its own.
    """
    import psycopg

    key = provider_key(agb, branch)
    with store.transaction():
        store._exec("SAVEPOINT disval_wake")
        try:
            store._exec(
                "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW(?, ?, 0, ?, ?, ?::jsonb, NULL)"
                "::procrastinate_job_to_defer_v1])",
                (QUEUE, DRAIN_TASK, key, key, json.dumps({"agb": agb, "branch": branch})))
        except psycopg.errors.UniqueViolation as exc:
            if exc.diag.constraint_name != QUEUEING_LOCK_INDEX:
                raise
            store._exec("ROLLBACK TO SAVEPOINT disval_wake")
            return False
        store._exec("RELEASE SAVEPOINT disval_wake")
    return True


def providers_without_job(store) -> list[tuple[str, str]]:
    """Providers with waiting deliveries (queued, or an import left undone) and no drain waiting or running."""
    rows = store._exec(
        "SELECT DISTINCT d.agb, d.branch FROM deliveries d WHERE d.agb IS NOT NULL AND (d.status = 'queued' OR"
        " (d.status = 'accepted' AND d.phase = 'production' AND d.assessment = 'positive'"
        " AND d.processed_at IS NULL)) AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs j"
        " WHERE j.lock = 'disval provider ' || d.agb || ' ' || d.branch AND j.status IN ('todo', 'doing'))"
        " ORDER BY d.agb, d.branch").fetchall()
    return [(r[0], r[1]) for r in rows]


def uses_jobs(store) -> bool:
    """Whether this store drains through jobs (PostgreSQL with procrastinate's tables), not in process."""
    if getattr(store, "dialect", None) is None or store.dialect.name != "postgresql":
        return False
    return store._exec("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()[0] is True


def job_queue_of(store):
    """`defer_drain`, for `receive(..., wake=)`, when the store drains through jobs; else a UsageError."""
    from ..errors import UsageError

    if getattr(getattr(store, "dialect", None), "name", None) != "postgresql":
        raise UsageError(f"{store.url}: the embedded store has no job queue and needs none: 'disval submit' "
                         "without --queue processes in process (the queue is for a PostgreSQL store)")
    if not uses_jobs(store):
        raise UsageError("the job queue needs procrastinate: pip install 'disval[postgresql]'")
    return defer_drain
