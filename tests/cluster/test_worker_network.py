"""A worker that loses its network mid-import, and gets it back.

PostgreSQL and two workers each run in a network namespace of their own (netlab); worker 1 is
held inside an import by the pausing plugin, then its veth is taken down. What must happen:

- its session (and with it the provider's advisory lock and the import's open transaction) goes
  when the server notices the dead client (TCP keepalives, seconds) - not before: worker 2 may not
  begin on that provider while the session lives (no provider processed twice at once);
- worker 2 finds the job stalled (no heartbeat), and drains the provider: the held delivery is
  redone and the rest follows, in GA order; nothing is lost or imported twice;
- worker 1's slot, its link back, takes new work and recovers stalled jobs again (its sweeper
  works). A worker may do so by reconnecting (disval's worker reopens its connections) or by
  exiting with a non-zero status and being started again by its supervisor (systemd Restart=,
  as procrastinate's own worker stops on some database errors); the test plays the supervisor.
  What it must not do is stay up half-broken, or exit 0.
"""
from __future__ import annotations

import datetime as dt
import os
import signal
import time

import psycopg

from cluster_support import (DISVAL, connect, deliveries, env_with, pending, production, queue, runs_of, stop,
                             typed_rows, wait_for)
from replay import Run, check_runs

AGB = "78000002"
HEARTBEAT, SWEEP = 2.0, 1.0


def lock_holders(conn) -> set[str]:
    """The client addresses of the sessions holding an advisory lock now."""
    rows = conn.execute("SELECT a.client_addr::text FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                        " WHERE l.locktype = 'advisory' AND l.granted AND a.client_addr IS NOT NULL").fetchall()
    return {r[0].split("/")[0] for r in rows}


def activity(conn) -> list[tuple]:
    """The server's sessions, for a failure message: who waits on what."""
    return conn.execute("SELECT pid, client_addr::text, application_name, state, wait_event_type, wait_event,"
                        " left(query, 80) FROM pg_stat_activity WHERE datname = current_database()").fetchall()


SLOT1: list[int] = []  # every worker process started in slot 1 (by the test or its supervise)


def supervise(lab, proc, argv, env, log, done, timeout: float, conn=None):
    """Wait until `done()`, restarting the worker in slot 1 if it exits (as systemd's Restart= would);
    the process that was running at the end. A worker that exits must say so with a non-zero status."""
    deadline = time.monotonic() + timeout
    while not done():
        if proc.poll() is not None:
            assert proc.returncode != 0, "a worker that lost its database does not exit as if all went well"
            proc = lab.spawn(1, argv, env=env, log=log)
            SLOT1.append(proc.pid)
        assert time.monotonic() < deadline, (f"slot 1 did no new work within {timeout:g} s: see {log}; "
                                             f"sessions: {conn and activity(conn)}")
        time.sleep(0.1)
    return proc


def test_a_worker_cut_off_mid_import_is_relieved_and_comes_back(lab, plugin_dir, tmp_path):
    url = lab.admin_url()
    connect(url, AGB, tmp_path)
    zips = [production(tmp_path, AGB, day) for day in (1, 2, 3, 4)]
    queue(url, zips[1], zips[0])
    marker = tmp_path / "held"
    argv = [*DISVAL, "worker", "--heartbeat-timeout", str(HEARTBEAT), "--sweep-interval", str(SWEEP)]
    first = lab.spawn(1, [*argv, "--store", lab.worker_url(1)], env=env_with(plugin_dir, marker),
                      log=tmp_path / "worker1.log")
    SLOT1.clear()
    second = slot1 = third = None
    with psycopg.connect(url, autocommit=True) as conn:
        try:
            wait_for("worker 1 to hold the first import", marker.exists, 60)
            assert lock_holders(conn) == {"10.231.1.2"}
            lab.cut(1)
            cut = dt.datetime.now(dt.timezone.utc)
            second = lab.spawn(2, [*argv, "--store", lab.worker_url(2)], env=env_with(plugin_dir),
                               log=tmp_path / "worker2.log")
            # Watch the lock until worker 1's session is gone: the last moment it was seen holding it is
            # a time before which nobody else may have begun on the provider.
            held_at = [cut]

            def released():
                now = dt.datetime.now(dt.timezone.utc)
                if "10.231.1.2" in lock_holders(conn):
                    held_at[0] = now
                    return False
                return True

            wait_for("the server to drop worker 1's session", released, 30, every=0.05)
            gone = held_at[0]
            marker.unlink()  # worker 1 goes on, and finds its connection dead
            wait_for("worker 2 to drain the provider", lambda: pending(conn) == 0, 60)
            lab.mend(1)
            stop(second)  # worker 2 leaves: new work must be done in slot 1, back on the network
            queue(url, zips[2])
            slot1 = supervise(lab, first, [*argv, "--store", lab.worker_url(1)], env_with(plugin_dir),
                              tmp_path / "worker1.log", done=lambda: pending(conn) == 0, timeout=60, conn=conn)
            # And slot 1 recovers stalled jobs again: a worker killed mid-import in slot 2 is relieved from
            # slot 1. Slot 1's worker is frozen (SIGSTOP) while worker 3 takes the job, so that it is worker
            # 3's (frozen past the heartbeat timeout it counts as dead too, and may have to be restarted).
            os.killpg(slot1.pid, signal.SIGSTOP)
            try:
                third = lab.spawn(2, [*argv, "--store", lab.worker_url(2)], env=env_with(plugin_dir, marker),
                                  log=tmp_path / "worker3.log")
                queue(url, zips[3])
                wait_for("worker 3 to hold the last import", marker.exists, 60)
                third.kill()
                third.wait()
                killed = dt.datetime.now(dt.timezone.utc)
            finally:
                os.killpg(slot1.pid, signal.SIGCONT)
            marker.unlink()
            # Done when nothing is pending and every run has ended but the two of the killed workers.
            slot1 = supervise(lab, slot1, [*argv, "--store", lab.worker_url(1)], env_with(plugin_dir),
                              tmp_path / "worker1.log", timeout=60, conn=conn,
                              done=lambda: pending(conn) == 0 and sum(r[3] is None for r in runs_of(conn, AGB)) == 2)
            runs = runs_of(conn, AGB)
            got = deliveries(conn, AGB)
            rows = typed_rows(conn, AGB)
            log = [Run(name, AGB, "00", dt.date(2018, 3, int(name[-9:-7])), name[-6:-4], worker, started, ended,
                       status) for name, worker, started, ended, status in runs]
        finally:
            for proc in (first, second, slot1, third):
                if proc is not None:
                    stop(proc)
    w1 = f"pid {first.pid}"
    held, *later = runs
    assert held[0] == zips[0].name and w1 in held[1] and held[3] is None, "worker 1's run never ended"
    # No overlap: worker 2 began only after worker 1's session (holding the lock) was gone.
    assert all(r[2] >= gone for r in later), (gone, later)
    assert check_runs(log, {held[1]: gone, later[-2][1]: killed}) == []
    assert [got[z.name][0] for z in zips] == ["imported"] * 4
    assert all(got[z.name][1] == {"BEHANDELTRAJECT.txt": 10, "GELEVERD_ZORGPROFIEL.txt": 10} for z in zips)
    finished = [(name, status) for name, _, _, ended, status in runs if ended is not None]
    assert finished == [(z.name, "imported") for z in zips]
    assert w1 not in later[0][1], "worker 2 redid the held delivery"
    assert f"pid {third.pid}" in later[-2][1] and later[-2][3] is None, "worker 3 was killed in the last one"
    in_slot1 = {str(pid) for pid in [first.pid, *SLOT1]}
    assert later[-1][1].split()[-1] in in_slot1 and later[-1][2] > killed, "slot 1, back on the network, redid it"
    assert later[-3][1].split()[-1] in in_slot1, "and processed the one queued after the link came back"
    assert set(rows.values()) == {10}
    print(f"worker 1's session went {(gone - cut).total_seconds():.1f} s after its link was cut; worker 2 began "
          f"{(later[0][2] - cut).total_seconds():.1f} s after the cut; slot 1's worker was restarted {len(SLOT1)} "
          f"time(s); worker 3's job was redone {(later[-1][2] - killed).total_seconds():.1f} s after its kill")
