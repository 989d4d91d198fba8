"""Processing as jobs: deliveries received on a PostgreSQL store are drained by `disval worker`s.

The job queue is procrastinate (a PostgreSQL-based job queue: no broker but
the store itself). A job is only a wake-up for one provider: it carries the
provider (AGB code + volgnr) and calls `disval.core.gate.process.drain`, which
reads that provider's queue from disval's own store in GA order, under the
provider's advisory lock. procrastinate's `lock` and `queueing_lock` are both
the provider, so at most one drain per provider runs and at most one waits.

- `job_schema`: procrastinate's tables, applied and upgraded by the store.
- `wakeups`: defer a provider's drain, in the caller's transaction.
- `job_app`: the procrastinate app and its drain task.
- `sweeper`: stalled jobs failed, providers with waiting deliveries and no job woken.
- `command`: `disval worker`.

SQLite stores need none of this: `disval submit` processes in process there.
"""
