"""The sweeper: jobs of dead workers are failed, providers left with waiting deliveries are woken.

A worker killed (`kill -9`, a lost machine) leaves its job `doing` for good,
and procrastinate's `lock` then holds that provider's next drain back. Every
worker has a heartbeat (procrastinate updates `procrastinate_workers`); the
sweep, every `interval` seconds in each worker:

1. fails the drain jobs whose worker's heartbeat is older than
   `heartbeat_timeout` (procrastinate's own stalled-job query), without retry:
   a job is only a wake-up, there is nothing in it to retry;
2. defers a drain for every provider that has waiting deliveries (queued, or a
   production import left undone) and no drain waiting or running: those of
   the failed jobs, and any queued without a job (a `disval submit` without
   `--queue` that was killed between receipt and processing);
3. deletes the drain jobs that ended (succeeded, failed, cancelled, aborted)
   longer than `keep_hours` ago (`disval worker --keep-jobs`, a week by
   default): a job is only a wake-up, and what happened to each delivery stays
   in disval's own tables (`processing_runs`, the deliveries, their reports).
   Without it the job table grows by a row and a few events per delivery.

A job left `doing` by a worker whose row procrastinate removed (it judged the
worker dead; the job's `worker_id` became NULL) counts as stalled too:
procrastinate's query takes jobs without a worker, so it cannot stay `doing`.

The killed worker's deliveries are safe to redo: a delivery being validated
is still `queued` (its attempt counted), and an import is one transaction, so
a positive production delivery is either imported or still `accepted` with
its import undone, which the next drain finishes first. Its advisory lock went
with its database session: the server ends that session once the connection
is seen dead (immediately for a killed process, after the TCP keepalive for a
lost machine); until then a new drain of that provider waits for the lock.

So a provider whose worker died is processed again within heartbeat timeout
plus sweep interval (30 s + 30 s by default), plus the time a free worker
needs to take the job (at once: procrastinate's NOTIFY).

The sweeps of several workers do not collide: each takes a transaction-level
advisory lock first and skips the round when another worker holds it.

The sweep is a loop beside procrastinate's worker (`command`), not a
procrastinate periodic task: a periodic task is a job, which waits for a free
slot behind long drains, and the recovery bound would then grow by the
longest import running.
"""
from __future__ import annotations

import logging

from .wakeups import DRAIN_TASK, QUEUE, defer_drain, providers_without_job

log = logging.getLogger("disval.worker")

SWEEP_LOCK = (0x64697376, 0x73776565)  # "disv", "swee": the advisory lock of one sweep at a time
ENDED = ("succeeded", "failed", "cancelled", "aborted")


def sweep(store, heartbeat_timeout: float, keep_hours: float | None = None) -> tuple[list[int], list[tuple[str, str]]]:
    """One sweep; the ids of the jobs failed and the providers woken (empty when another worker sweeps).

    With `keep_hours`, drain jobs that ended longer ago than that are deleted as well (`forget_ended`).
    """
    from procrastinate.sql import queries

    with store.transaction():
        if not store._exec("SELECT pg_try_advisory_xact_lock(?, ?)", SWEEP_LOCK).fetchone()[0]:
            return [], []
        stalled = [row[0] for row in store._conn.execute(
            queries["select_stalled_jobs_by_heartbeat"],
            {"queue": None, "task_name": DRAIN_TASK, "seconds_since_heartbeat": heartbeat_timeout}).fetchall()]
        for job in stalled:
            store._exec("SELECT procrastinate_finish_job_v1(?, 'failed', false)", (job,))
        woken = providers_without_job(store)
        for agb, branch in woken:
            defer_drain(store, agb, branch)
        forgotten = forget_ended(store, keep_hours) if keep_hours is not None else 0
    for job in stalled:
        log.warning("sweep: job %s was stalled (no heartbeat for %s s): failed", job, heartbeat_timeout)
    for agb, branch in woken:
        log.info("sweep: provider %s %s has waiting deliveries and no job: drain deferred", agb, branch)
    if forgotten:
        log.info("sweep: %d drain job(s) that ended over %g h ago deleted", forgotten, keep_hours)
    return stalled, woken


def forget_ended(store, keep_hours: float) -> int:
    """Delete the drain jobs that ended over `keep_hours` ago (their events go with them); how many.

    When a job ended is its last event's time (procrastinate records one per change of status).
    """
    return store._exec(
        "DELETE FROM procrastinate_jobs WHERE id IN ("
        " SELECT job.id FROM procrastinate_jobs job JOIN procrastinate_events event ON event.job_id = job.id"
        " WHERE job.queue_name = ? AND job.task_name = ? AND job.status::text IN (?, ?, ?, ?)"
        " GROUP BY job.id HAVING max(event.at) < now() - make_interval(secs => ?))",
        (QUEUE, DRAIN_TASK, *ENDED, keep_hours * 3600)).rowcount
