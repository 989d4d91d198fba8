"""Benchmark the portal: N providers uploading at once over loopback to a real `disval serve` (issue 14).

    python tests/bench/portal_benchmark.py                      # 20 providers, SQLite
    python tests/bench/portal_benchmark.py --store postgresql   # DISVAL_BENCH_POSTGRES_URL or DISVAL_TEST_POSTGRES_URL
    python tests/bench/portal_benchmark.py --providers 5 --trajects 50 --profiles 200

Each provider is a vendor's export job in a thread of its own, with its own API
token: it uploads a TEST delivery (the connect phase) and, once that is
accepted, a production delivery, polling `/api/v1/deliveries/{id}` for each
until it is done. The server is `disval serve` as its own process, with its one
in-process worker, sending mail to an SMTP server on loopback. Printed: the
time from the start of an upload to its "processed" answer (median, 95th
percentile, max) per phase and overall, the upload request alone, and the
wall time; then the checks that nothing was lost: every delivery reached a
terminal state (accepted, imported), the store holds exactly the uploaded
deliveries, the records read and imported are the generated counts, and two
mails arrived per delivery. Figures, not assertions; the exit code is 1 when a
check fails.
"""
from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx2 as httpx
from tabulate import tabulate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from live_portal import LivePortal  # noqa: E402
from smtp_catcher import MailCatcher  # noqa: E402

from disval.core.generate import generate_delivery  # noqa: E402
from disval.core.portal.accounts import create_token, hash_password  # noqa: E402
from disval.core.store import accounts as book  # noqa: E402
from disval.core.store.delivery_store import open_store  # noqa: E402

TERMINAL = {"test": "accepted", "production": "imported"}


def postgres_url() -> str | None:
    """A fresh `disval_portal_bench` database on the configured server, or None."""
    admin = os.environ.get("DISVAL_BENCH_POSTGRES_URL") or os.environ.get("DISVAL_TEST_POSTGRES_URL")
    if not admin:
        return None
    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS disval_portal_bench WITH (FORCE)")
        conn.execute("CREATE DATABASE disval_portal_bench")
    parts = urlsplit(admin)
    return f"{parts.scheme}://{parts.netloc}/disval_portal_bench" + (f"?{parts.query}" if parts.query else "")


def providers(n: int) -> list[tuple[str, str]]:
    """N distinct providers: AGB codes 940010xx, volgnr 00."""
    return [(f"940010{i:02d}", "00") for i in range(n)]


def prepare(store_url: str, work: Path, n: int, trajects: int, profiles: int) -> dict:
    """Providers, a data manager and an API token each, and their two deliveries: {provider: {...}}."""
    digest = hash_password("benchmark password")  # one argon2 hash for every user: hashing is slow on purpose
    out = {}
    with open_store(store_url) as store:
        for i, (agb, branch) in enumerate(providers(n)):
            store.add_provider(agb, branch, f"gbg{agb}", f"Praktijk {i}")
            book.add_user(store, f"dm{i}", f"Data manager {i}", f"dm{i}@praktijk{i}.example", digest)
            book.grant(store, f"dm{i}", agb, branch, "data_manager")
            token, _ = create_token(store, agb, branch, ["upload", "read"], "benchmark", "benchmark")
            zips = {phase: generate_delivery(work / f"{agb}-{phase}", phase=phase, provider=agb, branch=branch,
                                             created=dt.date(2018, 3, day), trajects=trajects, profiles=profiles,
                                             seed=i)
                    for phase, day in (("test", 1), ("production", 2))}
            out[(agb, branch)] = {"token": token, "zips": zips}
    return out


class Job(threading.Thread):
    """One provider's export job: upload TEST, wait for it, upload production, wait for it."""

    def __init__(self, url: str, provider, token: str, zips: dict, start: threading.Event, poll: float):
        super().__init__(name=f"job-{provider[0]}", daemon=True)
        self.url, self.provider, self.zips, self.go, self.poll = url, provider, zips, start, poll
        self.headers = {"Authorization": f"Bearer {token}"}
        self.results: list[dict] = []
        self.error: str | None = None

    def run(self) -> None:
        try:
            with httpx.Client(base_url=self.url, headers=self.headers, timeout=120) as client:
                self.go.wait()
                for phase in ("test", "production"):
                    self.results.append(self.deliver(client, phase))
                    if self.results[-1]["status"] != TERMINAL[phase]:
                        break  # production would be rejected without a positive TEST: report, don't pile on
        except Exception as exc:  # reported with the figures, never a silent loss
            self.error = f"{type(exc).__name__}: {exc}"

    def deliver(self, client: httpx.Client, phase: str) -> dict:
        path = self.zips[phase]
        agb, branch = self.provider
        started = time.perf_counter()
        with open(path, "rb") as f:
            answer = client.post(f"/api/v1/providers/{agb}/{branch}/deliveries",
                                 files={"zip": (path.name, f, "application/zip")}, data={"phase": phase})
        uploaded = time.perf_counter()
        if answer.status_code != 202:
            return {"phase": phase, "name": path.name, "status": f"HTTP {answer.status_code}: {answer.text[:200]}",
                    "upload": uploaded - started, "processed": None}
        status_url = answer.json()["status_url"]
        while True:
            status = client.get(status_url).json()
            if status.get("done"):
                break
            time.sleep(self.poll)
        return {"phase": phase, "name": path.name, "id": status["id"], "status": status["status"],
                "upload": uploaded - started, "processed": time.perf_counter() - started,
                "imported": status.get("imported") or {}}


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def run(store_url: str, label: str, args) -> bool:
    """Measure one store; print the figures and the checks; whether every check held."""
    with tempfile.TemporaryDirectory(prefix="disval-portal-bench-") as tmp:
        work = Path(tmp)
        made = prepare(store_url, work, args.providers, args.trajects, args.profiles)
        with MailCatcher() as mail, LivePortal(store_url, work / "serve", mail_port=mail.port) as portal:
            go = threading.Event()
            jobs = [Job(portal.url, p, m["token"], m["zips"], go, args.poll) for p, m in made.items()]
            for job in jobs:
                job.start()
            wall = time.perf_counter()
            go.set()  # every job uploads at once
            for job in jobs:
                job.join(args.timeout)
            wall = time.perf_counter() - wall
            expected_mails = 2 * sum(len(j.results) for j in jobs)
            try:
                mail.wait_for(expected_mails, timeout=30)
            except AssertionError:
                pass  # counted below as a failed check
            mails = len(mail.messages)
        ok = report(label, store_url, jobs, made, wall, mails, expected_mails, args)
        log = portal.output()
        if "Traceback" in log:  # what the server said about a request it failed: worth seeing with the figures
            lines = log[log.index("Traceback"):].splitlines()
            end = next((i for i, line in enumerate(lines[1:], 1) if line and not line.startswith(" ")), len(lines))
            print("  the server logged an error (first one, end of its traceback):\n    "
                  + "\n    ".join(lines[max(1, end - 8):end + 1]))
        return ok


def report(label, store_url, jobs, made, wall, mails, expected_mails, args) -> bool:
    results = [r for j in jobs for r in j.results]
    rows = []
    for phase in ("test", "production", None):
        times = [r["processed"] for r in results if r["processed"] is not None and phase in (None, r["phase"])]
        uploads = [r["upload"] for r in results if phase in (None, r["phase"])]
        if times:
            rows.append([phase or "all", len(times), f"{statistics.median(times):.2f}",
                         f"{percentile(times, 95):.2f}", f"{max(times):.2f}", f"{statistics.median(uploads):.3f}"])
    print(f"\n{label}: {args.providers} providers at once, TEST then production each, "
          f"{args.trajects} trajects + {args.profiles} profiles per delivery; wall {wall:.1f} s, "
          f"{len(results) / wall:.2f} deliveries/s")
    print(tabulate(rows, headers=["phase", "deliveries", "median s", "p95 s", "max s", "upload median s"],
                   colalign=("left", "right", "right", "right", "right", "right")))
    checks = []
    errors = [f"{j.provider}: {j.error}" for j in jobs if j.error]
    checks.append(("every job ran to its end", not errors and all(not j.is_alive() for j in jobs), "; ".join(errors)))
    wrong = [f"{r['name']}: {r['status']}" for r in results if r["status"] != TERMINAL[r["phase"]]]
    checks.append((f"all {2 * args.providers} deliveries reached their terminal state",
                   not wrong and len(results) == 2 * args.providers, "; ".join(wrong[:5])))
    with open_store(store_url) as store:
        kept = {p: store.deliveries(*p) for p in made}
        lost = [f"{p}: {len(ds)} kept" for p, ds in kept.items() if len(ds) != 2]
        checks.append(("the store holds exactly the uploaded deliveries", not lost, "; ".join(lost[:5])))
        miscounted = []
        for (agb, branch), ds in kept.items():
            for d in ds:
                read = d.counts.get("records", {})
                if (read.get("BEHANDELTRAJECT.txt"), read.get("GELEVERD_ZORGPROFIEL.txt")) != (args.trajects,
                                                                                               args.profiles):
                    miscounted.append(f"{d.name} read {read}")
                if d.phase == "production" and sum(d.imported.values()) != args.trajects + args.profiles:
                    miscounted.append(f"{d.name} imported {d.imported}")
        checks.append(("records read and imported match the generated counts", not miscounted,
                       "; ".join(miscounted[:5])))
    checks.append((f"{expected_mails} mails arrived (received + processed per delivery)", mails == expected_mails,
                   f"{mails} arrived"))
    for what, ok, detail in checks:
        print(f"  {'ok  ' if ok else 'FAIL'} {what}" + (f": {detail}" if detail and not ok else ""))
    return all(ok for _, ok, _ in checks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--providers", type=int, default=20, help="providers uploading at once (default 20)")
    parser.add_argument("--trajects", type=int, default=100, help="trajects per delivery (default 100)")
    parser.add_argument("--profiles", type=int, default=400, help="zorgprofielen per delivery (default 400)")
    parser.add_argument("--store", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--poll", type=float, default=0.2, help="seconds between status polls (default 0.2)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait for the jobs (default 1800)")
    args = parser.parse_args()
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}, "
          f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    ok = True
    with tempfile.TemporaryDirectory(prefix="disval-portal-bench-store-") as tmp:
        if args.store in ("sqlite", "both"):
            ok &= run(f"sqlite:///{Path(tmp) / 'store.db'}", "SQLite", args)
        if args.store in ("postgresql", "both"):
            url = postgres_url()
            if url is None:
                print("\nPostgreSQL: skipped (set DISVAL_BENCH_POSTGRES_URL or DISVAL_TEST_POSTGRES_URL)")
            else:
                ok &= run(url, "PostgreSQL", args)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
