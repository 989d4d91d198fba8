"""What the job queue's tests share: the job table as the operator sees it, workers as real processes."""
from __future__ import annotations

import os
import subprocess
import sys

DISVAL = [sys.executable, "-m", "disval.core.cli"]


def jobs(store, status: str | None = None) -> list[dict]:
    """procrastinate's drain jobs: id, status, lock, queueing lock, args; oldest first."""
    rows = store._exec("SELECT id, status::text, lock, queueing_lock, args FROM procrastinate_jobs"
                       + (" WHERE status = ?" if status else "") + " ORDER BY id",
                       (status,) if status else ()).fetchall()
    return [dict(zip(("id", "status", "lock", "queueing_lock", "args"), r)) for r in rows]


def run_disval(*args, store_url: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """`disval ARGS --store URL` as its own process; finished."""
    return subprocess.run([*DISVAL, *map(str, args), "--store", store_url], capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ))


def start_worker(store_url: str, *extra: str, env: dict | None = None) -> subprocess.Popen:
    """`disval worker --store URL` as its own process, running (`env`: added to the environment)."""
    return subprocess.Popen([*DISVAL, "worker", "--store", store_url, *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})


def overlaps(runs) -> list[tuple]:
    """Pairs of runs of one provider whose times overlap (there must be none)."""
    found = []
    by_provider: dict = {}
    for r in runs:
        by_provider.setdefault((r.agb, r.branch), []).append(r)
    for same in by_provider.values():
        same.sort(key=lambda r: r.started_at)
        for a, b in zip(same, same[1:]):
            if a.ended_at is None or b.started_at < a.ended_at:
                found.append((a, b))
    return found
