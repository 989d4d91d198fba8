"""What the gate tests share: a provider, deliveries made to measure, and `disval` as a real process."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

from disval.core.faults import plant_fault, rewrite_member
from disval.core.generate import generate_delivery

AGB, BRANCH, USER = "94001234", "00", "gbg94001234"  # the generator writes user gbg<AGB> in the packing slip
OTHER_AGB = "03001234"
BT, GZ, PAKBON = "BEHANDELTRAJECT.txt", "GELEVERD_ZORGPROFIEL.txt", "PAKBON.txt"
DISVAL = [sys.executable, "-m", "disval.core.cli"]


def delivery(where: Path, phase: str = "production", day: str = "20180301", seq: str = "01", *,
             trajects: int = 10, profiles: int = 10, seed: int = 1, agb: str = AGB, branch: str = BRANCH) -> Path:
    """A valid generated delivery in a directory of its own (a test may make several with one name)."""
    created = dt.date(int(day[:4]), int(day[4:6]), int(day[6:]))
    target = Path(where) / f"{phase}-{agb}-{branch}-{day}-{seq}-{seed}-{trajects}-{profiles}"
    return generate_delivery(target, trajects=trajects, profiles=profiles, seed=seed, phase=phase,
                             provider=agb, branch=branch, created=created, sequence=seq)


def with_field(zip_path: Path, out_dir: Path, file: str, line: int, ddid: str, value: str) -> Path:
    """A copy of the delivery with one field of one record changed (the zip keeps its name)."""
    return plant_fault(zip_path, out_dir, file, line, ddid, value)


def without_last_records(zip_path: Path, out_dir: Path) -> Path:
    """A copy without the last traject and the last zorgprofiel record; the packing slip counts follow."""
    def drop_last(lines):
        kept = list(lines)
        return kept[:-1]

    path = rewrite_member(zip_path, out_dir, BT, drop_last)
    path = rewrite_member(path, path, GZ, drop_last)

    def recount(lines):
        (slip,) = list(lines)
        for ddid, (begin, end) in {"3345": (118, 124), "3245": (125, 131)}.items():
            n = int(slip[begin - 1:end]) - 1
            slip = slip[:begin - 1] + str(n).rjust(end - begin + 1).encode() + slip[end:]
        return [slip]

    return rewrite_member(path, path, PAKBON, recount)


def register(store, agb: str = AGB, branch: str = BRANCH, user: str | None = None):
    """The provider, registered with the account its generated packing slips name (unless `user`)."""
    return store.add_provider(agb, branch, user or f"gbg{agb}", f"Praktijk {agb}")


def disval(*args: str, store_url: str, check: bool = False, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `disval` as its own process against the store at `store_url`.

    `submit` runs with --no-require-real-codelists: these deliveries are validated against the
    shipped sample codelists, which `disval submit` otherwise refuses to assess positive.
    """
    env = {**os.environ, "DISVAL_STORE": store_url}
    done = subprocess.run([*DISVAL, *_samples_allowed(args)], env=env, capture_output=True, text=True,
                          timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"disval {' '.join(map(str, args))} exited {done.returncode}: {done.stderr}")
    return done


def start_disval(*args: str, store_url: str) -> subprocess.Popen:
    """Start `disval` as its own process and return at once."""
    env = {**os.environ, "DISVAL_STORE": store_url}
    return subprocess.Popen([*DISVAL, *_samples_allowed(args)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _samples_allowed(args) -> list[str]:
    args = [str(a) for a in args]
    return args + ["--no-require-real-codelists"] if args[:1] == ["submit"] else args


def outcome_json(done) -> dict:
    """The one JSON object `disval submit --format json` printed."""
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout + done.stderr
    return json.loads(lines[0])
