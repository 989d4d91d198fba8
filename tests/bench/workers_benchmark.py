"""Benchmark `disval worker` on several machines, simulated: PostgreSQL and each worker in a network namespace.

    sudo .venv/bin/python tests/bench/workers_benchmark.py                      # 64 x 8 over 1, 2, 4, 8 workers
    sudo .venv/bin/python tests/bench/workers_benchmark.py --providers 16 --deliveries 4 --workers 1,2 --chaos

A figures script, not a test (issue 15). It needs root (network namespaces, cgroups), iproute2
and Debian's PostgreSQL server binaries. What it does:

1. Starts PostgreSQL in a network namespace of its own (tests/cluster/netlab.py) and makes a worker
   slot per worker: a namespace with a veth pair to the server's (10.231.<slot>.0/30, nothing routed)
   and, where cgroups v1 are writable, a CPU cgroup with a CFS quota. `--quota share` (default) gives
   each of N workers cores/N, so that N workers together fit the machine; `--quota fixed` gives each
   cores/max(N) in every pass; `--quota none` no limit. The mode that ran is printed.
2. Generates P providers x D small deliveries (tests/cluster/replay.py): per provider a TEST delivery
   (its connect phase, processed once at set-up, into a template database) and D production
   deliveries, two a day, every fourth with other records, and half-way one provider's chain a
   delivery rejected at receipt, which discards those queued behind it.
3. Serial reference: a copy of the template receives every production delivery in a shuffled order
   (`disval submit --queue`) and one process drains each provider in turn (`drain`, in this script).
4. Per N in --workers: a fresh copy receives the same deliveries in the same order, then N
   `disval worker` processes start, each in its slot, and the script waits until nothing is queued.
   Throughput X(N) = deliveries / the span from the first processing run's start to the last one's
   end (from the store's run log, so worker start-up is not in it); efficiency = X(N) / (N * X(1)).
   Then the invariants: per provider no overlapping runs and runs started in GA order, and the
   store equal to the serial one (statuses, reasons, imported counts, report names per delivery;
   every imported row).
5. --chaos: one more pass with the largest N, killing a random worker with SIGKILL every
   --kill-every seconds and starting a new one in its slot a second later, with short heartbeat
   and sweep settings; the same invariants, a killed worker's unfinished run ending when it was
   killed. It prints how many were killed and how long recovery took at most.

Bounded: every pass stops at --seconds-limit (the whole run too, through SIGALRM); everything
(processes, server, namespaces, cgroups, files) is removed in `finally`, also on SIGINT/SIGTERM.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "cluster"))

import netlab  # noqa: E402
import replay  # noqa: E402

DISVAL = [sys.executable, "-m", "disval.core.cli"]


class Stop(Exception):
    """The time limit passed, or the script was asked to stop."""


def _stop(signum, frame):
    raise Stop(f"stopped by {signal.Signals(signum).name}")


def parse_args(argv=None) -> argparse.Namespace:
    """The command line; --workers as a list of counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--providers", type=int, default=64)
    parser.add_argument("--deliveries", type=int, default=8, help="production deliveries per provider")
    parser.add_argument("--workers", default="1,2,4,8", help="the worker counts to measure, comma-separated")
    parser.add_argument("--concurrency", type=int, default=1, help="jobs per worker process at once")
    parser.add_argument("--quota", choices=("share", "fixed", "none"), default="share")
    parser.add_argument("--chaos", action="store_true", help="a pass that kills random workers")
    parser.add_argument("--kill-every", type=float, default=3.0, help="seconds between kills in the chaos pass")
    parser.add_argument("--heartbeat-timeout", type=float, default=4.0, help="the chaos pass's worker setting")
    parser.add_argument("--sweep-interval", type=float, default=2.0, help="the chaos pass's worker setting")
    parser.add_argument("--seconds-limit", type=float, default=1800, help="the whole run stops after this")
    parser.add_argument("--pass-limit", type=float, default=600, help="one pass stops after this")
    parser.add_argument("--keep", type=Path, help="keep the deliveries and the worker logs in this directory")
    args = parser.parse_args(argv)
    args.counts = [int(n) for n in args.workers.split(",") if n.strip()]
    if not args.counts or min(args.counts) < 1 or max(args.counts) > 200:
        parser.error("--workers: counts from 1 to 200")
    return args


def cores() -> int:
    """The CPUs this process may use."""
    return len(os.sched_getaffinity(0))


def load() -> str:
    """The machine's load averages (1, 5, 15 minutes), to print with the figures."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class Bench:
    """One benchmark run: the lab, the deliveries, the passes."""

    def __init__(self, args, lab: netlab.Lab, work: Path):
        self.args, self.lab, self.work = args, lab, work
        self.chains: list[replay.Chain] = []
        self.arrivals: list[Path] = []
        self.reference: dict | None = None

    # --- set-up -----------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Deliveries, the template database (providers past their connect phase), the serial reference."""
        t = time.perf_counter()
        self.chains = replay.make_chains(self.work / "deliveries", self.args.providers, self.args.deliveries)
        self.arrivals = replay.arrival(self.chains)
        print(f"generated {len(self.arrivals)} production deliveries of {len(self.chains)} providers "
              f"in {time.perf_counter() - t:.1f} s")
        from disval.core.gate.process import submit
        from disval.core.plugins import get_plugin_manager
        from disval.core.store.delivery_store import open_store

        self.lab.create_database("template")
        pm = get_plugin_manager()
        store = open_store(self.lab.admin_url("template"), pm=pm)
        try:
            for c in self.chains:
                store.add_provider(c.agb, c.branch, f"gbg{c.agb}", f"Praktijk {c.agb}")
                done = submit(c.connect, store, pm=pm)
                if done.status != "accepted":
                    raise SystemExit(f"set-up: the connect delivery of {c.agb} was {done.status}")
        finally:
            store.close()
        t = time.perf_counter()
        self.receive("serial")
        store = open_store(self.lab.admin_url("serial"), pm=pm)
        try:
            from disval.core.gate.process import drain

            for c in self.chains:
                drain(store, c.agb, c.branch, pm=pm)
        finally:
            store.close()
        self.reference = self.snapshot("serial")
        with self._conn("serial") as conn:  # a failure here is no property of the workers: say what it was
            for name, kind, message in conn.execute("SELECT name, failure_type, failure_message FROM deliveries"
                                                    " WHERE status = 'failed'"):
                print(f"  the serial run failed {name}: {kind}: {message}")
        print(f"serial reference: {self.statuses('serial')} in {time.perf_counter() - t:.1f} s (receive + drain)")

    def receive(self, database: str) -> float:
        """A copy of the template receiving every production delivery in arrival order; seconds it took."""
        import psycopg

        with psycopg.connect(self.lab.admin_url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{database}" TEMPLATE template')
        url = self.lab.admin_url(database)
        t = time.perf_counter()
        for i in range(0, len(self.arrivals), 200):  # several per process, in arrival order
            batch = [str(p) for p in self.arrivals[i:i + 200]]
            done = subprocess.run([*DISVAL, "submit", "--store", url, "--queue", "--no-require-real-codelists",
                                   *batch], capture_output=True, text=True, timeout=self.args.pass_limit)
            if done.returncode not in (0, 1):
                raise SystemExit(f"disval submit --queue exited {done.returncode}: {done.stderr[-2000:]}")
        return time.perf_counter() - t

    # --- reading the store ------------------------------------------------------------------------
    def _conn(self, database: str):
        """A psycopg connection to `database` over the server's unix socket."""
        import psycopg

        return psycopg.connect(self.lab.admin_url(database), autocommit=True)

    def snapshot(self, database: str) -> dict:
        """`replay.snapshot` of `database`."""
        with self._conn(database) as conn:
            return replay.snapshot(conn)

    def statuses(self, database: str) -> dict[str, int]:
        """How many deliveries of `database` are in each status."""
        with self._conn(database) as conn:
            return replay.statuses(conn)

    def pending(self, conn) -> int:
        """Deliveries still to be processed: queued, or accepted in production with the import not done."""
        return conn.execute("SELECT count(*) FROM deliveries WHERE status = 'queued' OR (status = 'accepted'"
                            " AND phase = 'production' AND processed_at IS NULL)").fetchone()[0]

    # --- a pass -----------------------------------------------------------------------------------
    def worker(self, slot: int, database: str, chaos: bool) -> subprocess.Popen:
        """Start `disval worker` in slot `slot` on `database` (short heartbeat and sweep in chaos)."""
        argv = [*DISVAL, "worker", "--store", self.lab.worker_url(slot, database),
                "--concurrency", str(self.args.concurrency)]
        if chaos:
            argv += ["--heartbeat-timeout", str(self.args.heartbeat_timeout),
                     "--sweep-interval", str(self.args.sweep_interval)]
        return self.lab.spawn(slot, argv, env=os.environ.copy(), log=self.work / f"{database}-w{slot}.log")

    def run_pass(self, n: int, chaos: bool = False) -> dict:
        """Receive, start n workers, wait until done (killing workers in chaos); figures and problems."""
        database = f"chaos{n}" if chaos else f"bench{n}"
        receiving = self.receive(database)
        share = {"share": cores() / n, "fixed": cores() / max(self.args.counts), "none": None}[self.args.quota]
        for slot in range(1, n + 1):
            if slot not in self.lab.slots:
                self.lab.add_slot(slot, share)
            else:
                self.lab.set_quota(slot, share)
        started = time.perf_counter()
        workers = {slot: self.worker(slot, database, chaos) for slot in range(1, n + 1)}
        deaths: dict[str, dt.datetime] = {}
        kills, stalls, last_kill = 0, [], started
        rng = random.Random(n)
        deadline = started + self.args.pass_limit
        try:
            with self._conn(database) as conn:
                while True:
                    left = self.pending(conn)
                    if left == 0:
                        break
                    now = time.perf_counter()
                    if now > deadline:
                        raise Stop(f"pass with {n} workers: {left} deliveries still pending after "
                                   f"{self.args.pass_limit:.0f} s")
                    for slot, proc in workers.items():
                        if proc.poll() is not None and not chaos:
                            raise SystemExit(f"worker {slot} exited {proc.returncode}: see "
                                             f"{self.work / f'{database}-w{slot}.log'}")
                    if chaos and now - last_kill >= self.args.kill_every:
                        slot = rng.choice(sorted(workers))
                        victim = workers[slot]
                        os.kill(victim.pid, signal.SIGKILL)
                        victim.wait()
                        deaths[f"{os.uname().nodename} pid {victim.pid}"] = dt.datetime.now(dt.timezone.utc)
                        kills += 1
                        time.sleep(1.0)  # a machine coming back, not at once
                        workers[slot] = self.worker(slot, database, chaos)
                        last_kill = time.perf_counter()
                    time.sleep(0.2)
            wall = time.perf_counter() - started
        finally:
            for proc in workers.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in workers.values():
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        with self._conn(database) as conn:
            runs = replay.read_runs(conn)
            failed = [f"{name} failed: {kind}: {message}" for name, kind, message in conn.execute(
                "SELECT name, failure_type, failure_message FROM deliveries WHERE status = 'failed'")]
        production = [r for r in runs if r.created and r.created >= dt.date(2018, 3, 1)]
        first = min(r.started for r in production)
        last = max(r.ended or r.started for r in production)
        span = (last - first).total_seconds()
        problems = replay.check_runs(runs, deaths) + failed
        problems += [f"store differs from the serial run: {d}" for d in
                     replay.differences(self.reference, self.snapshot(database))]
        return {"n": n, "receive_s": receiving, "wall_s": wall, "span_s": span,
                "rate": len(self.arrivals) / span if span > 0 else float("inf"), "runs": len(production),
                "kills": kills, "problems": problems, "statuses": self.statuses(database),
                "quota": share, "recovery_s": recovery(production, deaths)}


def recovery(runs: list[replay.Run], deaths: dict[str, dt.datetime]) -> float | None:
    """The longest time from a worker's death mid-run to the next run of that provider's starting."""
    longest = None
    for i, run in enumerate(runs):
        if run.ended is None and run.worker in deaths:
            later = [r.started for r in runs[i + 1:] if (r.agb, r.branch) == (run.agb, run.branch)]
            if later:
                took = (min(later) - deaths[run.worker]).total_seconds()
                longest = took if longest is None else max(longest, took)
    return longest


def report(results: list[dict], mode: str) -> None:
    """Print the table of figures per N, and every broken invariant."""
    from tabulate import tabulate

    x1 = next((r["rate"] for r in results if r["n"] == 1), None)
    rows = []
    for r in results:
        eff = f"{r['rate'] / (r['n'] * x1):.2f}" if x1 else "-"
        rows.append([r["n"], "-" if r["quota"] is None else f"{r['quota']:.2f}", r["runs"], f"{r['span_s']:.1f}",
                     f"{r['wall_s']:.1f}", f"{r['rate']:.2f}", eff, f"{r['receive_s']:.1f}",
                     "ok" if not r["problems"] else f"{len(r['problems'])} PROBLEMS"])
    print(f"\nCPU quota per worker: {mode}")
    print(tabulate(rows, headers=["workers", "cores each", "runs", "span s", "wall s", "deliveries/s",
                                  "X(N)/(N*X(1))", "receive s", "invariants"]))
    for r in results:
        for p in r["problems"]:
            print(f"  N={r['n']}: {p}")


def main(argv=None) -> int:
    """Run the benchmark; 0 when every invariant held, 1 when one broke, 2 cannot run, 3 stopped."""
    args = parse_args(argv)
    why = netlab.why_not()
    if why:
        print(f"cannot run: {why}", file=sys.stderr)
        return 2
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM):
        signal.signal(sig, _stop)
    signal.alarm(int(args.seconds_limit))
    work = args.keep or Path(tempfile.mkdtemp(prefix="disval-workers-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    lab = netlab.Lab()  # its directory (the server's data and socket) in /tmp, where the postgres user may go
    # Working directories of our own: a disval of another checkout on this machine (one without the
    # cross-process claim lock of disval.core.workdir) sweeping /tmp could remove one under a worker.
    (work / "tmp").mkdir(exist_ok=True)
    os.environ["TMPDIR"] = str(work / "tmp")
    tempfile.tempdir = None  # read TMPDIR again
    print(f"python {sys.version.split()[0]}, {cores()} cores, load {load()} (1/5/15 min); "
          f"{args.providers} providers x {args.deliveries} deliveries; workers {args.counts}")
    results = []
    try:
        lab.start()
        bench = Bench(args, lab, work)
        bench.prepare()
        for n in args.counts:
            r = bench.run_pass(n)
            results.append(r)
            print(f"N={n}: {r['rate']:.2f} deliveries/s over {r['span_s']:.1f} s; {r['statuses']}; "
                  f"{'invariants hold' if not r['problems'] else r['problems'][:3]}; load {load()}")
        chaos = None
        if args.chaos:
            chaos = bench.run_pass(max(args.counts), chaos=True)
            took = "-" if chaos["recovery_s"] is None else f"{chaos['recovery_s']:.1f} s"
            print(f"\nchaos, {chaos['n']} workers, SIGKILL every {args.kill_every:g} s (heartbeat timeout "
                  f"{args.heartbeat_timeout:g} s, sweep {args.sweep_interval:g} s): {chaos['kills']} killed, "
                  f"{chaos['statuses']}, done in {chaos['wall_s']:.1f} s; longest recovery {took}; "
                  f"{'invariants hold' if not chaos['problems'] else 'PROBLEMS:'}")
            for p in chaos["problems"]:
                print(f"  chaos: {p}")
        report(results, lab.quota_mode)
        failed = any(r["problems"] for r in results) or bool(chaos and chaos["problems"])
        return 1 if failed else 0
    except Stop as exc:
        print(f"stopped: {exc}", file=sys.stderr)
        if results:
            report(results, lab.quota_mode)
        return 3
    finally:
        signal.alarm(0)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)  # the teardown itself is not interrupted
        lab.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        print(f"torn down (namespaces, cgroups, server{'' if args.keep else ', files'})", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
