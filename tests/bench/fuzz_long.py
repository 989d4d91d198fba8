"""Fuzz disval's zip layer and reports for as long as asked, and print the figures (issue 11).

    python tests/bench/fuzz_long.py --seconds 3600                     # an hour, one worker
    python tests/bench/fuzz_long.py --total 1000000 --workers 2 --ledger fuzz-ledger.jsonl  # until the ledger holds 1M
    python tests/bench/fuzz_long.py --ledger fuzz-ledger.jsonl --report   # the figures so far, no run
    python tests/bench/fuzz_long.py --profile 300   # where an execution's CPU time goes, and the rules reached

The same mutations as the fuzz test in the suite (tests/validation/fuzzing.py):
each execution mutates a real delivery, validates it through the public API
and renders every report format. A run is one *segment*: `--workers`
processes, worker w of segment s drawing its cases from `random.Random(f"{s}:{w}")`,
so no two workers, and no two segments, run the same sequence. The parent
prints, every `--every` seconds and at the end, the segment's figures and,
with a ledger, the cumulative ones: executions, crashes (any exception, or a
report that does not read back), runs over 10 s, the slowest run, executions
per CPU-second and the peak RSS of any worker.

A run's time is the CPU time its worker spent on it (time.process_time): run
with `nice` beside other work, wall time would measure the machine's load,
not disval. Each execution's RSS is not measured; the peak RSS is the
high-water mark of each worker process (getrusage), the largest over workers.

`--ledger FILE` makes a long run segment-able: every report appends to FILE
one JSON line per worker with what that worker did since its last report
(only executions that finished are counted), so stopping or killing the run
loses at most the last `--every` seconds, and the next run with the same
ledger continues with a fresh segment (the next unused seed) and prints the
cumulative figures: the sums (and maxima) of the ledger's lines, never an
extrapolation. Reusing a segment's seed is refused: it would run the same
inputs again and count them twice.

Each ledger line also names the commit of disval the segment ran (`git
describe`-style: the commit id, "+dirty" when the worktree had changes), so
that a ledger whose segments ran different code says which ran which.

Each crashing input is written to `--crashes` with its traceback, ready to be
kept under tests/validation/fuzz_cases/. A run still going after HANG wall
seconds is stopped and counted as a crash, and so is a run that leaves a file
in the temporary directory (each worker points `tempfile` at a folder of its
own and looks after every run). Figures, not assertions; the exit
status is 1 when the segment found a crash.

Every format but xlsx is rendered on every execution; the xlsx report, whose
writing and loading back with openpyxl take two thirds of an execution, on
one in `--xlsx-every` (1: every execution).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import queue
import random
import resource
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "validation"))

SLOW = 10.0  # CPU seconds: a run longer than this counts as slow
HANG = 600  # wall seconds: a run still going after this is stopped and counted as a crash
FIELDS = ("executions", "crashes", "slow", "cpu_seconds")  # summed over ledger lines; the rest are maxima


class Hang(BaseException):
    """An execution ran past HANG seconds.

    A BaseException, so that no `except Exception` on disval's way (which turns a broken delivery
    into a finding) swallows it and lets the hang pass as a result.
    """


def main(argv=None) -> int:
    """Run one segment of the fuzzer; returns 1 when it found a crash, else 0."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=None,
                   help="stop after this long, wall time (default 60; with --total or --executions: no limit)")
    p.add_argument("--executions", type=int, default=0, help="or after this many executions in all")
    p.add_argument("--total", type=int, default=0,
                   help="with a ledger: stop when the cumulative executions reach this many")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1; 0: one per CPU)")
    p.add_argument("--seed", type=int, default=None,
                   help="the segment's seed (default 1, or with a ledger the next one it has not used)")
    p.add_argument("--ledger", type=Path, help="append the figures here and print the cumulative ones")
    p.add_argument("--report", action="store_true", help="only print the ledger's cumulative figures")
    p.add_argument("--crashes", type=Path, default=Path("fuzz-crashes"), help="where crashing inputs go")
    p.add_argument("--every", type=float, default=60.0, help="print (and record) the figures this often (s)")
    p.add_argument("--xlsx-every", type=int, default=20, help="render the xlsx report on one in N runs")
    p.add_argument("--profile", type=int, metavar="N", default=0,
                   help="only run N executions here and print the CPU time of each step and which rules "
                        "the mutants reached (not counted in any ledger)")
    args = p.parse_args(argv)
    if args.seconds is None:  # a run told how many executions to make runs until it made them
        args.seconds = float("inf") if args.total or args.executions else 60.0
    if args.profile:
        return profile(args.profile, args.seed or 1, args.xlsx_every)

    before = read_ledger(args.ledger) if args.ledger else []
    if args.report:
        if not args.ledger:
            p.error("--report needs --ledger")
        print(summary("cumulative", totals(before), segments=len({line["segment"] for line in before})))
        for seg in sorted({line["segment"] for line in before}):
            lines = [line for line in before if line["segment"] == seg]
            commits = sorted({line.get("commit") or "not recorded" for line in lines})
            print(summary(f"  segment {seg} (commit {', '.join(commits)})", totals(lines)))
        return 0
    used = {line["segment"] for line in before}
    seed = args.seed if args.seed is not None else (max(used) + 1 if used else 1)
    if seed in used:
        p.error(f"segment seed {seed} is already in {args.ledger}: its inputs were run; choose another")
    workers = args.workers or os.cpu_count() or 1
    if args.total:
        if not args.ledger:
            p.error("--total needs --ledger")
        left = args.total - totals(before)["executions"]
        if left <= 0:
            print(summary("cumulative", totals(before), segments=len(used)))
            print(f"the ledger holds {args.total:,} executions or more already")
            return 0
        args.executions = min(args.executions, left) if args.executions else left

    commit = code_version()
    ctx = mp.get_context("spawn")  # each worker starts clean: its peak RSS is its own
    stop = ctx.Event()
    reports = ctx.Queue()
    quota = [args.executions // workers + (w < args.executions % workers) if args.executions else 0
             for w in range(workers)]
    procs = [ctx.Process(target=worker, name=f"fuzz-{seed}:{w}",
                         args=(seed, w, quota[w], args.seconds, args.every, args.xlsx_every,
                               str(args.crashes), stop, reports))
             for w in range(workers)]
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"segment {seed}: {workers} worker(s), pid {os.getpid()}, commit {commit or 'unknown'}, "
          f"{'ledger ' + str(args.ledger) if args.ledger else 'no ledger'}, crashes to {args.crashes}", flush=True)
    for proc in procs:
        proc.start()
    segment = {w: dict.fromkeys(FIELDS, 0) | {"slowest": 0.0, "peak_rss_mib": 0.0} for w in range(workers)}
    done = set()
    start = last = time.monotonic()
    try:
        while len(done) < workers:
            try:
                msg = reports.get(timeout=1.0)
            except queue.Empty:
                if any(not proc.is_alive() and w not in done for w, proc in enumerate(procs)):
                    # a worker died without its final report (killed, out of memory): count it done
                    dead = [w for w, proc in enumerate(procs) if not proc.is_alive() and w not in done]
                    for w in dead:
                        print(f"worker {w} exited with {procs[w].exitcode} before its final report", flush=True)
                        done.add(w)
                continue
            if msg["kind"] == "crash":
                print(f"crash (worker {msg['worker']}): {msg['file']} ({msg['what']})", flush=True)
                continue
            w = msg["worker"]
            add(segment[w], msg["delta"])
            if args.ledger:
                record(args.ledger, seed, w, msg["delta"], commit)
            if msg["kind"] == "final":
                done.add(w)
            now = time.monotonic()
            if now - last >= args.every or len(done) == workers:
                last = now
                seg = totals(segment.values())
                print(summary(f"segment {seed} [{now - start:,.0f} s wall]", seg), flush=True)
                if args.ledger:
                    print(summary("cumulative", totals(before + [seg]),
                                  segments=len(used | {seed})), flush=True)
    except KeyboardInterrupt:
        stop.set()
    for proc in procs:
        proc.join(timeout=HANG + 60)
    seg = totals(segment.values())
    return 1 if seg["crashes"] else 0


def worker(seed, w, quota, seconds, every, xlsx_every, crashes, stop, reports) -> None:
    """Run mutants until told to stop, out of time or past `quota`; report deltas every `every` seconds."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    from fuzzing import EXAMPLES, mutant, run_one, seed_deliveries

    def hang(*_):
        raise Hang(f"still running after {HANG} s")

    signal.signal(signal.SIGALRM, hang)
    # mutants live in memory-backed storage when there is some: validate() reads a path
    shm = Path("/dev/shm")
    work = Path(tempfile.mkdtemp(prefix=f"disval-fuzz-{seed}-{w}-", dir=shm if shm.is_dir() else None))
    seeds = seed_deliveries(work)
    # disval's temporary files go to a folder of this worker's own, so that one left behind is seen
    scratch = work / "tmp"
    scratch.mkdir()
    tempfile.tempdir = str(scratch)
    # A warm-up run, not counted: imports and once-per-process caches (lark's grammar cache file in
    # the temporary directory) are not what an execution costs or leaves behind.
    run_one(EXAMPLES[0], xlsx=True)
    kept = set(scratch.iterdir())
    rng = random.Random(f"{seed}:{w}")
    crash_dir = Path(crashes)
    delta = _zero()
    executions = 0
    start = last = time.monotonic()
    cpu_mark = time.process_time()
    try:
        while not stop.is_set() and time.monotonic() - start < seconds and not (quota and executions >= quota):
            case_seed = rng.getrandbits(64)
            name, data = mutant(random.Random(case_seed), seeds)
            path = work / "case" / name
            path.parent.mkdir(exist_ok=True)
            began = time.process_time()
            signal.alarm(HANG)
            try:
                path.write_bytes(data)
                wrong = run_one(path, xlsx=executions % xlsx_every == 0)
            except (Exception, Hang):  # noqa: BLE001 - every exception is a crash to keep
                wrong = [traceback.format_exc()]
            finally:
                signal.alarm(0)
            took = time.process_time() - began
            left = sorted(set(scratch.iterdir()) - kept)
            if left:  # a delivery's bytes (koppelnummers) must not outlive its validation
                wrong.append(f"left in the temporary directory: {', '.join(p.name for p in left)}")
                for leftover in left:
                    shutil.rmtree(leftover, ignore_errors=True) if leftover.is_dir() else _remove(leftover)
            executions += 1
            delta["executions"] += 1
            delta["slowest"] = max(delta["slowest"], took)
            delta["slow"] += took > SLOW
            if wrong:
                delta["crashes"] += 1
                crash_dir.mkdir(parents=True, exist_ok=True)
                keep = crash_dir / f"crash-{seed}-{w}-{case_seed:016x}.zip"
                keep.write_bytes(data)
                keep.with_suffix(".txt").write_text(f"zip name: {name!r}\n\n" + "\n".join(wrong))
                reports.put({"kind": "crash", "worker": w, "file": str(keep),
                             "what": wrong[0].strip().splitlines()[-1][:300]})
            _remove(path)
            if time.monotonic() - last >= every:
                last = time.monotonic()
                cpu_mark = _send(reports, "progress", w, delta, cpu_mark)
                delta = _zero()
    finally:
        _send(reports, "final", w, delta, cpu_mark)
        shutil.rmtree(work, ignore_errors=True)


def profile(n: int, seed: int, xlsx_every: int) -> int:
    """Run `n` executions in this process and print the CPU milliseconds of each step per execution."""
    from fuzzing import mutant, run_one, seed_deliveries

    shm = Path("/dev/shm")
    work = Path(tempfile.mkdtemp(prefix="disval-fuzz-profile-", dir=shm if shm.is_dir() else None))
    stages: dict[str, float] = {}
    seen: Counter = Counter()
    try:
        seeds = seed_deliveries(work)
        rng = random.Random(f"profile:{seed}")
        for i in range(n + 1):
            began = time.process_time()
            name, data = mutant(random.Random(rng.getrandbits(64)), seeds)
            path = work / "case" / name
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(data)
            took = {"mutate": time.process_time() - began}
            run_one(path, xlsx=i % xlsx_every == 0, stages=took, seen=seen)
            _remove(path)
            if i:  # the first execution imports the report writers: left out
                for step, cpu in took.items():
                    stages[step] = stages.get(step, 0.0) + cpu
    finally:
        shutil.rmtree(work, ignore_errors=True)
    total = sum(stages.values())
    print(f"{n:,} executions, xlsx on one in {xlsx_every}: {total / n * 1000:.2f} CPU ms each, "
          f"{n / total:,.1f}/CPU-s")
    for step, cpu in sorted(stages.items(), key=lambda kv: -kv[1]):
        print(f"  {step:<14} {cpu / n * 1000:7.2f} ms  {cpu / total:6.1%}")
    print(f"where the {n + 1:,} mutants got (executions with that assessment, or in which that rule found something):")
    for what, count in seen.most_common(25):
        print(f"  {what:<14} {count:7,}  {count / (n + 1):6.1%}")
    print(f"  ... {len(seen)} outcomes in all")
    return 0


def _zero() -> dict:
    return {"executions": 0, "crashes": 0, "slow": 0, "slowest": 0.0}


def _send(reports, kind: str, w: int, delta: dict, cpu_mark: float) -> float:
    """Put this worker's figures since its last report on the queue; returns the new CPU mark."""
    cpu = time.process_time()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    reports.put({"kind": kind, "worker": w, "delta": dict(delta, cpu_seconds=cpu - cpu_mark, peak_rss_mib=peak)})
    return cpu


def _remove(path: Path) -> None:
    try:
        path.rmdir() if path.is_dir() and not path.is_symlink() else path.unlink()
    except OSError:
        pass


def add(into: dict, delta: dict) -> None:
    """Fold a report into running figures: counts add up, the slowest run and peak RSS are maxima."""
    for key, value in delta.items():
        into[key] = into.get(key, 0) + value if key in FIELDS else max(into.get(key, 0), value)


def totals(lines) -> dict:
    """Sums of the counts and maxima of the slowest run and peak RSS over `lines`."""
    out = dict.fromkeys(FIELDS, 0) | {"slowest": 0.0, "peak_rss_mib": 0.0}
    for line in lines:
        add(out, {k: line.get(k, 0) for k in out})
    return out


def code_version() -> str | None:
    """The commit of the disval being run, "+dirty" when its worktree has changes; None outside git."""
    import subprocess

    repo = HERE.parents[1]
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def record(ledger: Path, seed: int, w: int, delta: dict, commit: str | None = None) -> None:
    """Append one worker's report to the ledger (one JSON line, flushed before the next report)."""
    line = {"segment": seed, "worker": w, "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            **delta, "commit": commit}
    with ledger.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(line) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def read_ledger(ledger: Path) -> list[dict]:
    """The ledger's lines; a line cut short by a kill mid-write is left out (its executions are lost, not guessed)."""
    if not ledger.exists():
        return []
    lines = []
    for text in ledger.read_text(encoding="utf-8").splitlines():
        try:
            lines.append(json.loads(text))
        except json.JSONDecodeError:
            continue
    return lines


def summary(label: str, t: dict, segments: int | None = None) -> str:
    """One line of figures."""
    rate = t["executions"] / t["cpu_seconds"] if t["cpu_seconds"] else 0.0
    where = f" over {segments} segment(s)" if segments is not None else ""
    return (f"{label}{where}: executions {t['executions']:,}  crashes {t['crashes']}  "
            f"runs over {SLOW:.0f} s {t['slow']}  slowest {t['slowest']:.2f} s  "
            f"{rate:,.1f}/CPU-s ({t['cpu_seconds']:,.0f} CPU-s)  peak RSS {t['peak_rss_mib']:,.0f} MiB")


if __name__ == "__main__":
    sys.exit(main())
