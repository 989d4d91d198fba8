"""A worker killed with SIGKILL in the middle of an import: another worker recovers, nothing lost or doubled.

The import is held open by the pausing plugin (cluster_support): the killed worker is inside the
import's transaction, with the provider's advisory lock and a procrastinate job in `doing`. The
second worker's sweeper must find that job stalled (no heartbeat for --heartbeat-timeout), fail it
and wake the provider again; its drain then redoes the delivery (the killed transaction was rolled
back) and goes on with the rest of the queue, in GA order.
"""
from __future__ import annotations

import datetime as dt
import subprocess

import psycopg

from cluster_support import (DISVAL, connect, deliveries, env_with, pending, production, queue, runs_of, stop,
                             typed_rows, wait_for)

AGB = "78000001"
HEARTBEAT, SWEEP = 2.0, 1.0
# Recovery is bounded by heartbeat timeout + sweep interval; the rest is the new worker's start-up
# (a Python process importing disval and procrastinate) on a machine shared with other work.
SLACK = 20.0


def worker(url: str, log, env: dict) -> subprocess.Popen:
    """A `disval worker` with short heartbeat and sweep settings, its output to `log`."""
    return subprocess.Popen([*DISVAL, "worker", "--store", url, "--heartbeat-timeout", str(HEARTBEAT),
                             "--sweep-interval", str(SWEEP)], stdout=log, stderr=subprocess.STDOUT, env=env)


def test_a_worker_killed_mid_import_is_recovered_by_another(pg_url, plugin_dir, tmp_path):
    connect(pg_url, AGB, tmp_path)
    zips = [production(tmp_path, AGB, day) for day in (1, 2, 3)]
    queue(pg_url, zips[2], zips[0], zips[1])  # arrival order is not GA order
    marker = tmp_path / "held"
    logs = [open(tmp_path / f"worker{i}.log", "wb") for i in (1, 2)]
    first = worker(pg_url, logs[0], env_with(plugin_dir, marker))
    second = None
    try:
        wait_for("the first worker to hold the first import", marker.exists, 60)
        with psycopg.connect(pg_url, autocommit=True) as conn:
            held = runs_of(conn, AGB)
            assert [(r[0], r[3]) for r in held] == [(zips[0].name, None)], "the earliest one, and unfinished"
            first.kill()  # SIGKILL: no chance to clean up
            first.wait()
            killed = dt.datetime.now(dt.timezone.utc)
            marker.unlink()
            second = worker(pg_url, logs[1], env_with(plugin_dir))
            # Done when nothing is pending and every run has ended but the killed worker's (its end is
            # written just after the delivery's status).
            wait_for("the second worker to process the queue",
                     lambda: pending(conn) == 0 and sum(r[3] is None for r in runs_of(conn, AGB)) == 1,
                     HEARTBEAT + SWEEP + SLACK + 30)
            runs = runs_of(conn, AGB)
            redo = next(r for r in runs[1:] if r[0] == zips[0].name)
            recovered = (redo[2] - killed).total_seconds()  # until the delivery's processing began again
            got = deliveries(conn, AGB)
            rows = typed_rows(conn, AGB)
    finally:
        for proc in (first, second):
            if proc is not None:
                stop(proc)
        for log in logs:
            log.close()
    # Nothing lost: every delivery imported, with its reports.
    assert [got[z.name][0] for z in zips] == ["imported"] * 3
    for z in zips:
        status, imported, reports = got[z.name]
        assert imported == {"BEHANDELTRAJECT.txt": 10, "GELEVERD_ZORGPROFIEL.txt": 10}
        stem = z.name[:-4]
        assert {f"{stem}.json", f"{stem}.import.json", f"{stem}.quality.json"} <= set(reports)
    # Nothing twice: the killed run never ended; each delivery's import ended once, by the second worker,
    # which redid the first delivery before the later ones (GA order).
    assert runs[0][3] is None and runs[0][1] != redo[1]
    finished = [(name, status) for name, _, _, ended, status in runs if ended is not None]
    assert finished == [(z.name, "imported") for z in zips]
    assert {r[1] for r in runs[1:]} == {redo[1]}
    assert rows and set(rows.values()) == {10}, rows  # the same 10 keys in every delivery: no duplicates
    print(f"recovered {recovered:.1f} s after the kill (heartbeat timeout {HEARTBEAT:g} s, sweep {SWEEP:g} s, "
          f"plus the new worker's start)")
    assert recovered < HEARTBEAT + SWEEP + SLACK
