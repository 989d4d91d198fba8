"""Deliveries to replay over workers, and the invariants their processing must keep.

Shared by the worker benchmark (tests/bench/workers_benchmark.py) and the cluster tests:

- `make_chains`: P providers x D small generated deliveries each: a TEST delivery first (the connect
  phase, processed at set-up), then production deliveries on later days, some with another seed
  (so that outcomes depend on the history before them: the order shows in the result), and in one
  provider's chain, half-way, a delivery rejected at receipt (its packing slip's creation date
  differs from its name) which discards those queued behind it.
- `arrival`: the production deliveries in a shuffled order of arrival (GA order must not depend on it).
- `check_runs`: from the store's processing runs (one row per time processing of a delivery began),
  per provider: no two runs overlap, and runs start in GA order (created, sequence).
- `snapshot`: what a store holds, free of ids and times: per delivery its status, reasons,
  imported counts and report names; per typed table its rows, named by provider and delivery. Two
  stores fed the same inputs must have equal snapshots however many workers processed them.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass, field
from pathlib import Path

from disval.core.faults import plant_fault
from disval.core.generate import generate_delivery

PAKBON = "PAKBON.txt"


@dataclass
class Chain:
    """One provider's deliveries: its connect (TEST) delivery and its production deliveries in GA order."""

    agb: str
    branch: str
    connect: Path
    production: list[Path] = field(default_factory=list)
    rejected: Path | None = None  # the one rejected at receipt, when this chain has one


def provider_agb(i: int) -> str:
    """The i-th benchmark provider's AGB code (8 digits; never one of the tests' own)."""
    return f"77{i:06d}"


def make_chains(root: Path, providers: int, deliveries: int, *, trajects: int = 10, profiles: int = 10,
                reject_in: int | None = None) -> list[Chain]:
    """Generate the deliveries; `reject_in` (default: the middle provider) gets the receipt rejection."""
    root = Path(root)
    reject_in = providers // 2 if reject_in is None else reject_in
    start = dt.date(2018, 3, 1)
    chains = []
    for i in range(providers):
        agb = provider_agb(i)
        where = root / agb

        def make(phase: str, day: dt.date, seq: str, seed: int) -> Path:
            return generate_delivery(where / f"{phase}-{day:%Y%m%d}-{seq}", trajects=trajects, profiles=profiles,
                                     seed=seed, phase=phase, provider=agb, branch="00", created=day, sequence=seq)

        chain = Chain(agb, "00", make("test", dt.date(2018, 2, 1), "01", 1))
        for k in range(deliveries):
            # Two a day (sequence 01, 02): GA order is by creation date, then sequence number.
            day, seq = start + dt.timedelta(days=k // 2), f"{k % 2 + 1:02d}"
            seed = 2 if k % 4 == 3 else 1  # every fourth one differs: its assessment depends on what came before
            path = make("production", day, seq, seed)
            if i == reject_in and k == deliveries // 2 and deliveries > 1:
                # The packing slip's creation date differs from the name: rejected at receipt (1781).
                wrong = (day + dt.timedelta(days=1)).strftime("%Y%m%d")
                path = plant_fault(path, where / f"rejected-{k}", PAKBON, 1, "3233", wrong)
                chain.rejected = path
            chain.production.append(path)
        chains.append(chain)
    return chains


def arrival(chains: list[Chain], seed: int = 15) -> list[Path]:
    """Every production delivery, in a shuffled order of arrival (the same for the same seed)."""
    zips = [z for c in chains for z in c.production]
    random.Random(seed).shuffle(zips)
    return zips


# --- invariants ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Run:
    """One processing of one delivery, as the store's run log has it."""

    delivery: str  # the zip name
    agb: str
    branch: str
    created: dt.date
    sequence: str
    worker: str
    started: dt.datetime
    ended: dt.datetime | None
    status: str | None


def read_runs(conn) -> list[Run]:
    """The store's processing runs (psycopg connection), in the order they started."""
    rows = conn.execute(
        "SELECT d.name, r.agb, r.branch, d.created, d.sequence, r.worker, r.started_at, r.ended_at, r.status"
        " FROM processing_runs r JOIN deliveries d ON d.id = r.delivery_id WHERE r.agb IS NOT NULL"
        " ORDER BY r.started_at, r.id").fetchall()
    return [Run(*row) for row in rows]


def check_runs(runs: list[Run], deaths: dict[str, dt.datetime] | None = None) -> list[str]:
    """What is wrong with the run log (empty: nothing). `deaths`: worker name -> when it was killed.

    A run without an end belongs to a process that died; its end is taken as that worker's
    death when known. Otherwise it is a run whose end nobody knows, and only the runs before it
    can be checked against it (a later run of the provider must not start before it did).
    """
    deaths = deaths or {}
    problems = []
    by_provider: dict[tuple[str, str], list[Run]] = {}
    for run in runs:
        by_provider.setdefault((run.agb, run.branch), []).append(run)
    for (agb, branch), these in by_provider.items():
        these.sort(key=lambda r: r.started)
        for before, after in zip(these, these[1:]):
            end = before.ended or deaths.get(before.worker)
            if end is None:
                problems.append(f"{agb} {branch}: run of {before.delivery} by {before.worker} never ended, and "
                                f"{after.delivery} started after it (by {after.worker})")
            elif after.started < end:
                problems.append(f"{agb} {branch}: {after.delivery} ({after.worker}) started at {after.started:%T.%f}"
                                f", before {before.delivery} ({before.worker}) ended at {end:%T.%f}")
            if (after.created, after.sequence) < (before.created, before.sequence):
                problems.append(f"{agb} {branch}: {after.delivery} started after {before.delivery}, "
                                f"against GA order")
    return problems


def snapshot(conn) -> dict:
    """What the store holds, without ids or times (psycopg connection): equal for equal processing."""
    deliveries = {}
    for name, status, reasons, imported, reports in conn.execute(
            "SELECT name, status, reasons, imported, reports FROM deliveries ORDER BY name, id"):
        rules = sorted(r.split(":")[0] if isinstance(r, str) else str(r) for r in reasons)
        deliveries.setdefault(name, []).append((status, tuple(rules), tuple(sorted(imported.items())),
                                                tuple(sorted(reports))))
    tables = {}
    for (table,) in conn.execute("SELECT table_name FROM layout_tables ORDER BY table_name").fetchall():
        cur = conn.execute(f"SELECT p.agb, p.branch, d.name, t.* FROM {table} t JOIN providers p ON"
                           " p.id = t.provider_id JOIN deliveries d ON d.id = t.delivery_id")
        names = [c.name for c in cur.description]
        keep = [i for i, n in enumerate(names) if n not in ("provider_id", "delivery_id")]
        rows = sorted(repr(tuple(row[i] for i in keep)) for row in cur.fetchall())
        tables[table] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
    return {"deliveries": deliveries, "tables": tables}


def differences(expected: dict, got: dict, limit: int = 10) -> list[str]:
    """How snapshot `got` differs from `expected` (at most `limit` lines)."""
    out = []
    for name in sorted(set(expected["deliveries"]) | set(got["deliveries"])):
        a, b = expected["deliveries"].get(name), got["deliveries"].get(name)
        if a != b:
            out.append(f"delivery {name}: expected {a}, got {b}")
    for table in sorted(set(expected["tables"]) | set(got["tables"])):
        a, b = expected["tables"].get(table), got["tables"].get(table)
        if a != b:
            out.append(f"table {table}: expected (rows, hash) {a}, got {b}")
    return out[:limit]


def statuses(conn) -> dict[str, int]:
    """How many deliveries are in each status."""
    return dict(conn.execute("SELECT status, count(*) FROM deliveries GROUP BY status").fetchall())
