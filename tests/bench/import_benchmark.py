"""Benchmark `disval submit` (validate + import) against `disval validate`, on SQLite and PostgreSQL (issue 10).

    python tests/bench/import_benchmark.py                 # 250k trajects + 1M profiles
    python tests/bench/import_benchmark.py --size 100k     # 25k + 100k, a quick look
    DISVAL_BENCH_POSTGRES_URL=postgresql://... python tests/bench/import_benchmark.py
    python tests/bench/import_benchmark.py --store postgresql --keep /tmp/bench   # one store; the
                                                           # deliveries kept and reused by the next run

For each backend it makes an empty store, registers the provider and passes
its connect phase with a small TEST delivery, then times, each as its own
process: `disval validate` of a production delivery, `disval submit` of it
(the first import into an empty store: its records go straight into the
typed tables), and `disval submit` of a second production delivery with the
same keys (a re-delivery: every key is looked up for 1656/2054 and found; the
generator's dates follow the creation date, so nearly every record differs and
is counted changed, and the merge rewrites it). It prints wall
seconds, the ratio to validate, the import's records per second (records /
(submit - validate)), peak RSS, and the process's CPU seconds with their ratio
(steadier than wall time on a loaded machine; PostgreSQL's own work is not in
it: the server's CPU seconds for a submit are printed beside it when the server
runs on this machine and /proc shows its processes). Figures, not assertions:
the targets (submit within 3x validate, peak RSS within 400 MB) are in issue 10.

PostgreSQL: a database `disval_bench_PID` (this process's id, so that two runs
at once never share one) is created through the server of
DISVAL_BENCH_POSTGRES_URL, else DISVAL_TEST_POSTGRES_URL (the one
`.ci/postgres.sh` starts), and dropped when the run ends; without either URL,
only SQLite is measured.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from tabulate import tabulate

SIZES = {"100k": (25_000, 100_000), "1M": (250_000, 1_000_000)}
AGB, BRANCH = "94001234", "00"
DISVAL = [sys.executable, "-m", "disval.core.cli"]
# The generator draws codes from the shipped (sample) codelists, which `submit` refuses by default.
SAMPLES_OK = ["--no-require-real-codelists"]


def run(cmd: list[str], env: dict | None = None, server: str | None = None) -> tuple[float, int, float, float | None]:
    """(wall seconds, peak RSS in bytes, CPU seconds, the PostgreSQL server's CPU seconds for it or None)
    of one process; exits if it fails. With `server` (the store's URL) the CPU time of the server
    processes serving the process's sessions is read from /proc while it runs (the server on this
    machine and readable, else None): the import's work that the client's CPU time does not show."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    watch = _ServerCpu(server, proc.pid) if server else None
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if watch:
            watch.sample()
        time.sleep(0.05)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {code}:\n{err}")
    return wall, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime, watch and watch.total()


class _ServerCpu:
    """The CPU seconds of the PostgreSQL backends of one client process (found by the application_name
    disval gives its sessions: "disval... pid PID on HOST"), read from /proc/PID/stat every sample."""

    def __init__(self, url: str, client_pid: int):
        import psycopg

        self.conn = psycopg.connect(url, autocommit=True)
        self.pattern = f"disval% pid {client_pid} on %"
        self.seen: dict[int, float] = {}
        self.readable = True

    def sample(self) -> None:
        """Read the CPU time of every backend of the client now."""
        pids = [r[0] for r in self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name LIKE %s", (self.pattern,))]
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # ended, or the server is elsewhere
                self.readable = self.readable and pid in self.seen
                continue
            self.seen[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def total(self) -> float | None:
        """The CPU seconds seen (the last 50 ms of each backend may be missing); None if unreadable."""
        self.conn.close()
        return sum(self.seen.values()) if self.readable and self.seen else None


def generate(out: Path, trajects: int, profiles: int, phase: str, created: str) -> Path:
    """The zip of a generated delivery in `out`; one made before with these figures is reused."""
    made = out / "made.txt"
    wanted = f"{trajects} {profiles} {phase} {created}"
    if made.exists() and made.read_text().split("\n")[0] == wanted and Path(made.read_text().split("\n")[1]).exists():
        return Path(made.read_text().split("\n")[1])
    cmd = [*DISVAL, "generate", "--trajects", str(trajects), "--profiles", str(profiles), "--seed", "2026",
           "--phase", phase, "--created", created, "-o", str(out)]
    zip_path = Path(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    made.write_text(f"{wanted}\n{zip_path}\n")
    return zip_path


BENCH_DATABASE = f"disval_bench_{os.getpid()}"


def _admin_url() -> str | None:
    return os.environ.get("DISVAL_BENCH_POSTGRES_URL") or os.environ.get("DISVAL_TEST_POSTGRES_URL")


def postgres_url() -> str | None:
    """A new database of this run (BENCH_DATABASE) on the configured server, or None."""
    admin = _admin_url()
    if not admin:
        return None
    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}")
        conn.execute(f"CREATE DATABASE {BENCH_DATABASE}")
    parts = urlsplit(admin)
    return f"{parts.scheme}://{parts.netloc}/{BENCH_DATABASE}" + (f"?{parts.query}" if parts.query else "")


def drop_postgres() -> None:
    """Drop this run's database (its sessions ended with the processes that used it)."""
    import psycopg

    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")


def measure(store: str, work: Path, trajects: int, profiles: int, zips: dict[str, Path]) -> list[list]:
    env = {**os.environ, "DISVAL_STORE": store}
    subprocess.run([*DISVAL, "provider", "add", AGB, BRANCH, "--user", f"gbg{AGB}"], env=env, check=True,
                   capture_output=True)
    subprocess.run([*DISVAL, "submit", *SAMPLES_OK, str(zips["connect"])], env=env, check=True, capture_output=True)
    records = trajects + profiles
    validate, validate_rss, validate_cpu, _ = run([*DISVAL, "validate", str(zips["first"]), "--format", "json",
                                                   "--no-progress"])
    rows = [["disval validate", f"{validate:.2f}", "1.00", "", f"{validate_rss >> 20}", f"{validate_cpu:.2f}", "1.00",
             ""]]
    server = store if store.startswith("postgresql") else None
    for what, key in (("submit, first import", "first"), ("submit, re-delivery", "again")):
        wall, rss, cpu, server_cpu = run([*DISVAL, "submit", *SAMPLES_OK, str(zips[key])], env=env, server=server)
        rate = records / (wall - validate) if wall > validate else float("inf")
        rows.append([f"disval {what}", f"{wall:.2f}", f"{wall / validate:.2f}", f"{rate:,.0f}", f"{rss >> 20}",
                     f"{cpu:.2f}", f"{cpu / validate_cpu:.2f}", "" if server_cpu is None else f"{server_cpu:.2f}"])
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="1M")
    parser.add_argument("--keep", type=Path, help="keep the deliveries and the SQLite store in this directory "
                        "(deliveries made there before with the same size are reused)")
    parser.add_argument("--store", choices=("sqlite", "postgresql", "both"), default="both",
                        help="measure one store only (default: both)")
    args = parser.parse_args()
    trajects, profiles = SIZES[args.size]
    work = args.keep or Path(tempfile.mkdtemp(prefix="disval-import-bench-"))
    zips = {
        "connect": generate(work / "connect", 100, 100, "test", "2018-02-01"),
        "first": generate(work / "first", trajects, profiles, "production", "2018-03-01"),
        "again": generate(work / "again", trajects, profiles, "production", "2018-04-01"),
    }
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; {trajects:,} trajects + {profiles:,} profiles\n")
    stores = {}
    if args.store in ("sqlite", "both"):
        for old in work.glob("store.db*"):  # a store a --keep run left (and its side files): start empty
            shutil.rmtree(old) if old.is_dir() else old.unlink()
        stores["SQLite"] = f"sqlite:///{work / 'store.db'}"
    pg = postgres_url() if args.store in ("postgresql", "both") else None
    if pg:
        stores["PostgreSQL"] = pg
    elif args.store == "postgresql":
        raise SystemExit("--store postgresql: set DISVAL_BENCH_POSTGRES_URL or DISVAL_TEST_POSTGRES_URL")
    # CPU seconds too: on a shared machine the load moves wall times more than the work a process does
    # (the database server's CPU time is not in them).
    headers = ["what", "wall s", "x validate", "import records/s", "peak RSS MB", "CPU s", "CPU x validate",
               "server CPU s"]
    try:
        for name, url in stores.items():
            print(name)
            print(tabulate(measure(url, work, trajects, profiles, zips), headers=headers))
            print()
    finally:
        if pg:
            drop_postgres()
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
