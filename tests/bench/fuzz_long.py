"""Fuzz disval's zip layer and reports for as long as asked, and print the figures (issue 11).

    python tests/bench/fuzz_long.py --seconds 3600            # an hour, seed 1
    python tests/bench/fuzz_long.py --executions 1000000 --seed 7 --crashes out/

The same mutations as the fuzz test in the suite (tests/validation/fuzzing.py):
each execution mutates a real delivery, validates it through the public API
and renders every report format. It prints, every `--every` seconds and at
the end: executions, crashes (any exception, or a report that does not read
back), runs over 10 s, the slowest run, executions per second and peak RSS.
A run's time is the CPU time this process spent on it (time.process_time):
run with `nice` beside other work, wall time would measure the machine's
load, not disval.
Each crashing input is written to `--crashes` with its traceback, ready to be
kept under tests/validation/fuzz_cases/. Figures, not assertions.

Every format but xlsx is rendered on every execution; the xlsx report,
whose writing and loading back with openpyxl take nine tenths of an
execution, on one in `--xlsx-every` (1: every execution).
"""
from __future__ import annotations

import argparse
import random
import resource
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "validation"))

from fuzzing import mutant, run_one, seed_deliveries  # noqa: E402

SLOW = 10.0  # CPU seconds: a run longer than this counts as slow
HANG = 600  # wall seconds: a run still going after this is stopped and counted as a crash


class Hang(Exception):
    """An execution ran past HANG seconds."""


def main(argv=None) -> int:
    """Run the fuzzer; returns 1 when anything crashed, else 0."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=60.0, help="stop after this long (default 60)")
    p.add_argument("--executions", type=int, default=0, help="or after this many executions")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--crashes", type=Path, default=Path("fuzz-crashes"), help="where crashing inputs go")
    p.add_argument("--every", type=float, default=60.0, help="print the figures this often (seconds)")
    p.add_argument("--xlsx-every", type=int, default=20, help="render the xlsx report on one in N runs")
    args = p.parse_args(argv)

    def hang(*_):
        raise Hang(f"still running after {HANG} s")

    signal.signal(signal.SIGALRM, hang)
    work = Path(tempfile.mkdtemp(prefix="disval-fuzz-"))
    seeds = seed_deliveries(work)
    rng = random.Random(args.seed)
    executions = crashes = slow = 0
    slowest = 0.0
    start = last = time.monotonic()
    while True:
        now = time.monotonic()
        if now - start >= args.seconds or (args.executions and executions >= args.executions):
            break
        if now - last >= args.every:
            last = now
            _print(executions, crashes, slow, slowest, now - start)
        case_seed = rng.getrandbits(64)
        name, data = mutant(random.Random(case_seed), seeds)
        path = work / "case" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        began = time.process_time()
        signal.alarm(HANG)
        try:
            wrong = run_one(path, xlsx=executions % args.xlsx_every == 0)
        except Exception:  # noqa: BLE001 - every exception is a crash to keep
            wrong = [traceback.format_exc()]
        finally:
            signal.alarm(0)
        took = time.process_time() - began
        executions += 1
        slowest = max(slowest, took)
        slow += took > SLOW
        if wrong:
            crashes += 1
            args.crashes.mkdir(parents=True, exist_ok=True)
            keep = args.crashes / f"crash-{case_seed:016x}.zip"
            keep.write_bytes(data)
            keep.with_suffix(".txt").write_text(f"zip name: {name!r}\n\n" + "\n".join(wrong))
            print(f"crash: {keep} ({wrong[0].strip().splitlines()[-1]})", flush=True)
        path.unlink()
    _print(executions, crashes, slow, slowest, time.monotonic() - start)
    return 1 if crashes else 0


def _print(executions: int, crashes: int, slow: int, slowest: float, elapsed: float) -> None:
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    cpu = time.process_time()
    print(f"{elapsed:8.0f} s  executions {executions:,}  crashes {crashes}  runs over {SLOW:.0f} s {slow}  "
          f"slowest {slowest:.2f} s  {executions / max(elapsed, 1e-9):,.1f}/s wall, "
          f"{executions / max(cpu, 1e-9):,.1f}/s CPU  peak RSS {peak_mib:,.0f} MiB", flush=True)


if __name__ == "__main__":
    sys.exit(main())
