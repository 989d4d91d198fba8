"""What the cluster tests share: deliveries, `disval` processes, a plugin that holds an import, waiting.

The held import: `pausing_plugin(dir)` writes a tiny installed distribution (a module and its
.dist-info with an entry point in the `disval` group, as any plugin package has) into `dir`. A
process started with `dir` on PYTHONPATH loads it through the normal plugin mechanism; its
`disval_records_imported` calls the gate's `pause_point("records-imported")`, so with
DISVAL_PAUSE_AT=records-imported=<file> the process stops inside the import's transaction (after
the receipt and validation, with the provider's lock held), writes its pid to <file> and waits
until the file is removed; once per process. Without DISVAL_PAUSE_AT the plugin does nothing.
"""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

from disval.core.generate import generate_delivery

DISVAL = [sys.executable, "-m", "disval.core.cli"]
PAUSE_POINT = "records-imported"

_PLUGIN = '''"""Test plugin: hold an import at its first records (tests/cluster/cluster_support.py)."""
from disval.core.plugins import hookimpl
from disval.core.workdir import pause_point

_held = []


@hookimpl
def disval_records_imported(delivery, file, records, total):
    """Pause (DISVAL_PAUSE_AT=records-imported=FILE) as the process's first import starts; once."""
    if records == 0 and not _held:
        _held.append(delivery)
        pause_point("records-imported")
'''


def pausing_plugin(where: Path) -> Path:
    """Install the pausing plugin into directory `where` (put it on PYTHONPATH); `where`."""
    where = Path(where)
    where.mkdir(parents=True, exist_ok=True)
    (where / "disval_pause_plugin.py").write_text(_PLUGIN)
    info = where / "disval_pause_plugin-0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: disval-pause-plugin\nVersion: 0\n")
    (info / "entry_points.txt").write_text("[disval]\npause = disval_pause_plugin\n")
    return where


def env_with(plugin_dir: Path | None = None, pause_file: Path | None = None) -> dict:
    """The environment for a `disval` process: the pausing plugin on its path, and where it pauses."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISVAL_PAUSE_AT", "DISVAL_STORE")}
    if plugin_dir is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(plugin_dir), *filter(None, [env.get("PYTHONPATH")])])
    if pause_file is not None:
        env["DISVAL_PAUSE_AT"] = f"{PAUSE_POINT}={pause_file}"
    return env


def production(where: Path, agb: str, day: int, *, seq: str = "01", test: bool = False) -> Path:
    """A small valid delivery of provider `agb` created on day `day` of March 2018 (TEST: February)."""
    created = dt.date(2018, 2, 1) if test else dt.date(2018, 3, day)
    phase = "test" if test else "production"
    return generate_delivery(Path(where) / f"{agb}-{phase}-{day}-{seq}", trajects=10, profiles=10, seed=1,
                             phase=phase, provider=agb, branch="00", created=created, sequence=seq)


def connect(url: str, agb: str, where: Path) -> None:
    """Register provider `agb` and pass its connect phase (a positive TEST delivery), in this process."""
    from disval.core.gate.process import submit
    from disval.core.plugins import get_plugin_manager
    from disval.core.store.delivery_store import open_store

    pm = get_plugin_manager()
    store = open_store(url, pm=pm)
    try:
        store.add_provider(agb, "00", f"gbg{agb}", f"Praktijk {agb}")
        assert submit(production(where, agb, 0, test=True), store, pm=pm).status == "accepted"
    finally:
        store.close()


def queue(url: str, *zips: Path) -> None:
    """`disval submit --queue`: receive the deliveries and wake their providers' drains, nothing more."""
    done = subprocess.run([*DISVAL, "submit", "--store", url, "--queue", "--no-require-real-codelists",
                           *map(str, zips)], capture_output=True, text=True, timeout=120, env=env_with())
    assert done.returncode == 0, done.stdout + done.stderr


def wait_for(what: str, check, timeout: float, every: float = 0.1):
    """Poll `check()` until it returns something true; that value. AssertionError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g} s for {what}")
        time.sleep(every)


def pending(conn) -> int:
    """Deliveries not yet processed: queued, or accepted in production with the import not done."""
    return conn.execute("SELECT count(*) FROM deliveries WHERE status = 'queued' OR (status = 'accepted'"
                        " AND phase = 'production' AND processed_at IS NULL)").fetchone()[0]


def deliveries(conn, agb: str) -> dict[str, tuple]:
    """Provider `agb`'s production deliveries: name -> (status, imported counts, report names)."""
    rows = conn.execute("SELECT name, status, imported, reports FROM deliveries WHERE agb = %s AND"
                        " phase = 'production' ORDER BY created, sequence", (agb,)).fetchall()
    return {name: (status, imported, sorted(reports)) for name, status, imported, reports in rows}


def runs_of(conn, agb: str) -> list[tuple]:
    """Provider `agb`'s processing runs: (delivery name, worker, started, ended, status), by start."""
    return conn.execute(
        "SELECT d.name, r.worker, r.started_at, r.ended_at, r.status FROM processing_runs r JOIN deliveries d"
        " ON d.id = r.delivery_id WHERE r.agb = %s AND d.phase = 'production' ORDER BY r.started_at, r.id",
        (agb,)).fetchall()


def typed_rows(conn, agb: str) -> dict[str, int]:
    """How many imported rows each typed table holds for provider `agb`."""
    out = {}
    for (table,) in conn.execute("SELECT table_name FROM layout_tables ORDER BY table_name").fetchall():
        n = conn.execute(f"SELECT count(*) FROM {table} t JOIN providers p ON p.id = t.provider_id"
                         " WHERE p.agb = %s", (agb,)).fetchone()[0]
        if n:
            out[table] = n
    return out


def stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM, then SIGKILL if it does not end in time."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
