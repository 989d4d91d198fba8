"""Benchmark `disval validate` against decompress-only, as whole processes (issue 3).

    python tests/bench/benchmark.py              # 100k, 1M and 4M profiles (a few minutes)
    python tests/bench/benchmark.py --quick      # 100k only
    python tests/bench/benchmark.py --ggz 1M [--codelists DIR|shipped]   # a GA DBC-GGZ 9.0 delivery instead
    python tests/bench/benchmark.py --speed 1M     # inflaters and the read-ahead thread, side by side (issue 13)
    python tests/bench/benchmark.py --small        # a practice's small delivery: time to exit, imports (issue 13)

For each size it generates (seeded, with `disval generate`) a clean delivery,
a variant with about 1% faulty records and one in which every record violates
a rule; it then times reading every member through `zipfile` and doing nothing
else, and `disval validate` with the full rule set and the shipped codelists,
each as its own process, `--runs` times, and prints medians, the ratio,
records per second and peak RSS. Figures, not assertions: the targets are in
issue 3 and the README's performance section.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tabulate import tabulate

from disval.core.faults import rewrite_member

# (trajects, profiles)
SIZES = {"100k": (25_000, 100_000), "1M": (250_000, 1_000_000), "4M": (1_000_000, 4_000_000)}
PROFILES = "GELEVERD_ZORGPROFIEL.txt"
TRAJECTS = "BEHANDELTRAJECT.txt"
DECOMPRESS = (
    "import sys, zipfile\n"
    "z = zipfile.ZipFile(sys.argv[1])\n"
    "for i in z.infolist():\n"
    "    with z.open(i) as f:\n"
    "        while f.read(1 << 22): pass\n"
)


# One validation in a process of its own, after a warm-up one: its wall time and the CPU time of the
# main thread and of the reader threads (read_ahead), to see how the work is split between the cores.
THREAD_SPLIT = (
    "import sys, time\n"
    "from disval.core.pipeline import validate\n"
    "from disval.core.read_ahead import reader_cpu_seconds\n"
    "validate(sys.argv[1], read_ahead=int(sys.argv[2]))\n"
    "wall, main, reader = time.perf_counter(), time.thread_time(), reader_cpu_seconds()\n"
    "validate(sys.argv[1], read_ahead=int(sys.argv[2]))\n"
    "print(time.perf_counter() - wall, time.thread_time() - main, reader_cpu_seconds() - reader)\n"
)


def run(cmd: list[str]) -> tuple[float, int, int]:
    """(wall seconds, peak RSS in bytes, exit code) of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err}")
    return wall, usage.ru_maxrss * 1024, proc.returncode


def median_run(cmd: list[str], runs: int) -> tuple[float, int]:
    results = [run(cmd) for _ in range(runs)]
    return statistics.median(r[0] for r in results), max(r[1] for r in results)


def generate(out: Path, trajects: int, profiles: int) -> Path:
    cmd = [sys.executable, "-m", "disval.core.cli", "generate", "--trajects", str(trajects),
           "--profiles", str(profiles), "--seed", "2026", "-o", str(out)]
    path = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    return Path(path)


def generate_ggz(out: Path, records: int, codelists: str | None = None) -> Path:
    """A GA DBC-GGZ 9.0 delivery with codes drawn from `codelists` (the shipped lists without)."""
    cmd = [sys.executable, "-m", "disval.core.cli", "generate", "--standard", "GA-DBC-GGZ-9.0", "--records",
           str(records), "--seed", "2026", "-o", str(out)] + (["--codelists", codelists] if codelists else [])
    path = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    return Path(path)


def nza_codelists() -> str | None:
    """The real NZa GGZ codelists of 2019 ($DISVAL_NZA_DIR or ../shared/nza), when they are there."""
    root = Path(os.environ.get("DISVAL_NZA_DIR") or Path(__file__).resolve().parents[2] / ".." / "shared" / "nza")
    lists = root / "codelijsten-ggz-2019"
    return str(lists) if lists.is_dir() else None


def ggz(size: str, work: Path, runs: int, codelists: str | None) -> list[list[str]]:
    """Decompress-only against validate (derived and hand rules) for a clean GA DBC-GGZ 9.0 delivery.

    The two are run in turn, `runs` times each, so that both see the same load on a shared machine;
    the ratio of their CPU times is printed too, being less sensitive to that load than wall time.
    """
    import zipfile

    from disval.plugins.ga_dbc_ggz import standard

    try:  # codes drawn from the lists it is validated against, so that the delivery is clean
        clean = generate_ggz(work / f"ggz-{size}", SIZES[size][1], codelists)
    except subprocess.CalledProcessError as err:
        print(f"generating with --codelists {codelists} failed: {err.stderr.strip()[:300]}\n")
        clean = generate_ggz(work / f"ggz-{size}", SIZES[size][1])
    layout = standard().layout
    with zipfile.ZipFile(clean) as zf:
        records = sum(i.file_size // (layout.file(i.filename).record_length + 2) for i in zf.infolist())
    cmd = [sys.executable, "-m", "disval.core.cli", "validate", str(clean), "--format", "json", "--no-progress"]
    lists = "shipped codelists"
    if os.environ.pop("PYTHONDONTWRITEBYTECODE", None):
        # An installed disval has its bytecode compiled (pip does it); without it every run would
        # compile disval's sources again (~0.25 s). The child processes inherit this environment.
        print("PYTHONDONTWRITEBYTECODE was set: unset for these runs, so that they start as an installed disval\n")
    if codelists:
        probe = subprocess.run(cmd + ["--codelists", codelists], capture_output=True, text=True)
        if probe.returncode in (0, 1):
            cmd, lists = cmd + ["--codelists", codelists], f"codelists {Path(codelists).name}"
        else:  # say why, and still measure the rules with the lists this disval can read
            print(f"--codelists {codelists} not usable: {probe.stderr.strip()[:300]}\n"
                  f"measuring with the standard's shipped codelists instead\n")
    subprocess.run(cmd, capture_output=True)  # untimed: writes the bytecode caches
    load_before = os.getloadavg()
    base_runs, validate_runs = [], []
    for _ in range(runs):
        base_runs.append(run_usage([sys.executable, "-c", DECOMPRESS, str(clean)]))
        validate_runs.append(run_usage(cmd))
    load_after = os.getloadavg()
    base, base_cpu = (statistics.median(r[i] for r in base_runs) for i in (0, 1))
    wall, cpu = (statistics.median(r[i] for r in validate_runs) for i in (0, 1))
    base_rss, rss = max(r[2] for r in base_runs), max(r[2] for r in validate_runs)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {load_before[0]:.1f} before and "
          f"{load_after[0]:.1f} after; {runs} alternating runs each (median)\n")
    what = f"GGZ {size} activities ({records:,} records)"
    return [[what, "decompress only", f"{base:.2f}", "1.00", f"{base_cpu:.2f}", "1.00", f"{records / base:,.0f}",
             f"{base_rss >> 20}"],
            [what, f"disval validate, clean, derived + hand rules, {lists}", f"{wall:.2f}", f"{wall / base:.2f}",
             f"{cpu:.2f}", f"{cpu / base_cpu:.2f}", f"{records / wall:,.0f}", f"{rss >> 20}"]]


def run_usage(cmd: list[str], env: dict | None = None) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds (user + system), peak RSS in bytes) of one process (run with `env` if given)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def _child_env(**extra: str) -> dict:
    """The environment of a timed child: bytecode written (as for an installed disval), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(extra)
    return env


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (5 min: {five:.1f})"


def alternate(variants: dict[str, tuple[list[str], dict]], runs: int) -> dict[str, tuple[float, float, int]]:
    """Run every variant once per round, `runs` rounds (so that all see the same load on a shared
    machine); {name: (median wall, median CPU, max peak RSS)}."""
    seen: dict[str, list] = {name: [] for name in variants}
    for _ in range(runs):
        for name, (cmd, env) in variants.items():
            seen[name].append(run_usage(cmd, env))
    return {name: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs), max(r[2] for r in rs))
            for name, rs in seen.items()}


def speed(size: str, work: Path, runs: int) -> None:
    """Issue 13's first target: validate against zipfile's decompress-only, per inflater, one thread or two."""
    from disval.core.delivery_zip import inflaters

    trajects, profiles = SIZES[size]
    clean = generate(work / size / "clean", trajects, profiles)
    records = trajects + profiles + 1
    cache = work / "cache"
    validate = [sys.executable, "-m", "disval.core.cli", "validate", str(clean), "--format", "json", "--no-progress"]
    variants = {"decompress only (zipfile)": ([sys.executable, "-c", DECOMPRESS, str(clean)], _child_env())}
    for name in inflaters():
        for ahead in (2, 0):
            threads = "reader thread + rules" if ahead else "one thread"
            variants[f"disval validate, {name}, {threads}"] = (
                validate + ["--read-ahead", str(ahead)], _child_env(DISVAL_INFLATER=name, DISVAL_CACHE_DIR=str(cache)))
    for cmd, env in variants.values():  # untimed: bytecode and the rule-book cache written
        run_usage(cmd, env)
    before = _load()
    figures = alternate(variants, runs)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; {before} before, {_load()} after; "
          f"{runs} alternating runs (median); {size}: {records:,} records, all rules, exact ISO-8859-1\n")
    base_wall, base_cpu, _ = figures["decompress only (zipfile)"]
    rows = [[name, f"{wall:.2f}", f"{wall / base_wall:.2f}", f"{cpu:.2f}", f"{cpu / base_cpu:.2f}",
             f"{records / wall:,.0f}", f"{rss >> 20}"] for name, (wall, cpu, rss) in figures.items()]
    print(tabulate(rows, headers=["what", "wall s", "x decompress", "CPU s", "x decompress CPU", "records/s",
                                  "peak RSS MB"]))
    print(f"\nwhere the CPU goes: validate() in-process, the default inflater, {runs} runs (median)\n")
    print(tabulate(thread_split(clean, runs), headers=["read-ahead", "wall s", "main thread CPU s",
                                                       "reader thread CPU s"]))


def thread_split(delivery: Path, runs: int) -> list[list[str]]:
    """Per read-ahead depth (2, 1, 0): median wall and CPU of the main and reader threads of one validation."""
    rows = []
    for ahead in (2, 1, 0):
        seen = []
        for _ in range(runs):
            out = subprocess.run([sys.executable, "-c", THREAD_SPLIT, str(delivery), str(ahead)], check=True,
                                 capture_output=True, text=True, env=_child_env()).stdout.split()
            seen.append([float(x) for x in out[-3:]])
        rows.append([ahead] + [f"{statistics.median(r[i] for r in seen):.2f}" for i in range(3)])
    return rows


def small(work: Path, runs: int) -> None:
    """Issue 13's small-delivery target: `disval validate` of 200 trajects and 1,000 profiles, to exit."""
    clean = generate(work / "small", 200, 1000)
    cache = work / "cache"
    empty_config = work / "empty.toml"
    empty_config.write_text("", encoding="utf-8")
    cmd = [sys.executable, "-m", "disval.core.cli", "validate", str(clean), "--no-progress"]
    variants = {
        "disval validate (text report), rule book cached": (cmd, _child_env(DISVAL_CACHE_DIR=str(cache))),
        "the same, --format json": (cmd + ["--format", "json"], _child_env(DISVAL_CACHE_DIR=str(cache))),
        "rules compiled (no cache)": (cmd, _child_env(DISVAL_CACHE_DIR="none")),
        "rules compiled, every command's parser (a configuration file)": (
            cmd[:3] + ["--config", str(empty_config)] + cmd[3:], _child_env(DISVAL_CACHE_DIR="none")),
        "python -c pass": ([sys.executable, "-c", "pass"], _child_env()),
        "python -c 'import numpy'": ([sys.executable, "-c", "import numpy"], _child_env()),
    }
    for command, env in variants.values():
        run_usage(command, env)
    before = _load()
    figures = alternate(variants, runs)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; {before} before, {_load()} after; "
          f"{runs} alternating runs (median); 200 trajects + 1,000 profiles\n")
    print(tabulate([[name, f"{wall:.3f}", f"{cpu:.3f}", f"{rss >> 20}"] for name, (wall, cpu, rss) in figures.items()],
                   headers=["what", "wall s", "CPU s", "peak RSS MB"]))
    print()
    print(importtime(cmd, _child_env(DISVAL_CACHE_DIR=str(cache)), min(runs, 5)))


def importtime(cmd: list[str], env: dict, runs: int, top: int = 15) -> str:
    """`python -X importtime` of the run: the modules that cost most, cumulative and own (least of `runs`)."""
    import re

    best: dict[str, list[int]] = {}
    depth: dict[str, int] = {}
    for _ in range(runs):
        done = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], capture_output=True, text=True, env=env)
        for line in done.stderr.splitlines():
            m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
            if m:
                own, cumulative, name = int(m[1]), int(m[2]), m[4]
                depth.setdefault(name, len(m[3]) // 2)
                if name in best:
                    best[name] = [min(best[name][0], own), min(best[name][1], cumulative)]
                else:
                    best[name] = [own, cumulative]
    total = sum(c for name, (_, c) in best.items() if depth[name] == 0)
    by_cumulative = sorted(best.items(), key=lambda kv: -kv[1][1])[:top]
    by_own = sorted(best.items(), key=lambda kv: -kv[1][0])[:top]
    rows = [[f"{'. ' * depth[a]}{a}", f"{ca / 1000:.1f}", b, f"{ob / 1000:.1f}"]
            for (a, (_, ca)), (b, (ob, _)) in zip(by_cumulative, by_own)]
    return (f"python -X importtime, least of {runs} runs: {total / 1000:.0f} ms of imports in all\n"
            + tabulate(rows, headers=["module (cumulative)", "ms", "module (own time)", "ms"]))


def faulty(clean: Path, out: Path, share: float) -> Path:
    """A copy in which `share` of the profile records get a fault (negative minutes, unknown code or a
    bad date); with share 1 every record of both files violates a rule (every traject's 4046 too)."""
    rng = random.Random(7)
    faults = [(88, b"    -5"), (40, b"XX99                "), (60, b"20190231")]

    def plant(at: int, value: bytes):
        return lambda line: line[:at] + value + line[at + len(value):]

    def transform(lines):
        for line in lines:
            if share >= 1:
                yield plant(*faults[0])(line)
            elif rng.random() < share:
                yield plant(*faults[rng.randrange(len(faults))])(line)
            else:
                yield line
    path = rewrite_member(clean, out, PROFILES, transform)
    if share >= 1:
        stoornis = plant(51, b"X")
        path = rewrite_member(path, path, TRAJECTS, lambda lines: (stoornis(line) for line in lines))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the 100k size")
    parser.add_argument("--sizes", default=None, help="comma-separated: 100k,1M,4M")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--keep", type=Path, help="keep the generated deliveries in this directory")
    parser.add_argument("--ggz", metavar="SIZE", help="time a GA DBC-GGZ 9.0 delivery of SIZE activity records "
                                                      "(100k, 1M, 4M) instead")
    parser.add_argument("--codelists", metavar="DIR",
                        help="with --ggz: the codelists to validate against (default: the NZa's GGZ lists of 2019 "
                             "in $DISVAL_NZA_DIR or ../shared/nza when present; 'shipped': the standard's own)")
    parser.add_argument("--speed", metavar="SIZE", help="time validate against decompress-only per inflater, with "
                                                        "and without the read-ahead thread (issue 13)")
    parser.add_argument("--small", action="store_true", help="time a small delivery to exit, and its imports")
    args = parser.parse_args()
    if args.speed or args.small:
        import shutil

        work = args.keep or Path(tempfile.mkdtemp(prefix="disval-bench-"))
        if args.speed:
            speed(args.speed, work, args.runs)
        if args.small:
            small(work, max(args.runs, 7))
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        return 0
    if args.ggz:
        work = args.keep or Path(tempfile.mkdtemp(prefix="disval-bench-"))
        lists = None if args.codelists == "shipped" else (args.codelists or nza_codelists())
        rows = ggz(args.ggz, work, args.runs, lists)
        print(tabulate(rows, headers=["size", "what", "wall s", "x decompress", "CPU s", "x decompress CPU",
                                      "records/s", "peak RSS MB"]))
        if not args.keep:
            import shutil
            shutil.rmtree(work, ignore_errors=True)
        return 0
    sizes = ["100k"] if args.quick else (args.sizes.split(",") if args.sizes else list(SIZES))
    work = args.keep or Path(tempfile.mkdtemp(prefix="disval-bench-"))
    rows, one_m = [], None
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; {args.runs} runs per figure (median)\n")
    for size in sizes:
        trajects, profiles = SIZES[size]
        clean = generate(work / size / "clean", trajects, profiles)
        variants = {"clean": clean, "1% faulty": faulty(clean, work / size / "faulty", 0.01),
                    "all faulty": faulty(clean, work / size / "all", 1.0)}
        base, base_rss = median_run([sys.executable, "-c", DECOMPRESS, str(clean)], args.runs)
        records = trajects + profiles + 1
        rows.append([size, "decompress only", f"{base:.2f}", "1.00", f"{records / base:,.0f}", f"{base_rss >> 20}"])
        clean_time = None
        for name, path in variants.items():
            cmd = [sys.executable, "-m", "disval.core.cli", "validate", str(path), "--format", "json",
                   "--no-progress"]
            wall, rss = median_run(cmd, args.runs)
            clean_time = clean_time or wall
            note = f" ({wall / clean_time:.2f}x clean)" if name != "clean" else ""
            rows.append([size, f"disval validate, {name}", f"{wall:.2f}", f"{wall / base:.2f}{note}",
                         f"{records / wall:,.0f}", f"{rss >> 20}"])
            if size == "1M" and name == "clean":
                one_m = wall
            if size == "4M" and name == "clean" and one_m:
                rows[-1][3] += f" ({wall / one_m:.2f}x the 1M time)"
        print(tabulate(rows[-4:], headers=["size", "what", "wall s", "x decompress", "records/s", "peak RSS MB"]))
        print()
    print("all sizes")
    print(tabulate(rows, headers=["size", "what", "wall s", "x decompress", "records/s", "peak RSS MB"]))
    if not args.keep:
        import shutil
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
