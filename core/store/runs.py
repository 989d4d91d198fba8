"""Processing runs: every time processing of a delivery began, in which process, and when it ended.

The gate records a run as it starts on a delivery (committed at once, so a
run survives the process that died in it) and ends it with the status the
delivery was left in. With several workers on one store this is the record
of who processed what: per provider, no two runs may overlap, and runs start
in GA order; a run without `ended_at` belongs to a process that died (the
next drain of the provider redoes that delivery). Times are the worker's
clock, in UTC.
"""
from __future__ import annotations

import datetime as dt
import os
import socket
from dataclasses import dataclass

from .values import _now, _ts

_RUN = "id, delivery_id, agb, branch, worker, started_at, ended_at, status"


@dataclass(frozen=True)
class Run:
    """One processing of one delivery."""

    id: int
    delivery: int
    agb: str | None
    branch: str | None
    worker: str  # "HOST pid PID", the process that processed it
    started_at: dt.datetime
    ended_at: dt.datetime | None  # None: still running, or its process died
    status: str | None  # the delivery's status when the run ended


def this_process() -> str:
    """How a run names the process doing it: host name and pid."""
    return f"{socket.gethostname()} pid {os.getpid()}"


def begin_run(store, delivery) -> int:
    """Record that processing of `delivery` begins in this process; the run's id."""
    with store.transaction():
        row = store._exec(
            "INSERT INTO processing_runs (delivery_id, agb, branch, worker, started_at) VALUES (?, ?, ?, ?, ?)"
            " RETURNING id", (delivery.id, delivery.agb, delivery.branch, this_process(), _now()),
        ).fetchone()
    return row[0]


def end_run(store, run_id: int, status: str | None) -> None:
    """Record that the run ended, leaving its delivery in `status`."""
    with store.transaction():
        store._exec("UPDATE processing_runs SET ended_at = ?, status = ? WHERE id = ?", (_now(), status, run_id))


def runs(store, agb: str | None = None, branch: str | None = None) -> list[Run]:
    """Every run (or the provider's), in the order they started."""
    query, params = f"SELECT {_RUN} FROM processing_runs", []
    if agb is not None:
        query += " WHERE agb = ? AND branch = ?"
        params = [agb, branch]
    rows = store._exec(query + " ORDER BY started_at, id", params).fetchall()
    return [Run(r[0], r[1], r[2], r[3], r[4], _ts(r[5]), _ts(r[6]), r[7]) for r in rows]
