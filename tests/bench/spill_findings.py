"""Benchmark `--max-findings 0` on a delivery in which every record is faulty (issue 13).

    python tests/bench/spill_findings.py                 # 1.6M profiles + 400k trajects: ~2M findings
    python tests/bench/spill_findings.py --size 1M       # 1M + 250k: ~1.25M findings
    python tests/bench/spill_findings.py --keep DIR      # keep (and reuse) the generated deliveries

It generates (seeded, with `disval generate`) a clean delivery and a copy in
which every record violates a rule (`benchmark.faulty`), then runs `disval
validate` as its own process on both, for the json and the xlsx format: the
clean delivery as it is, the faulty one with `--max-findings 0` so that every
finding is listed. It prints wall time, CPU time, peak RSS, the number of
findings listed and the ratios (wall and CPU) to the clean run of the same format, with the
machine's load average (the machine is shared). Figures, not assertions: the
targets (peak RSS <= 500 MB whatever the number of findings, time <= 3x the
clean run) are in issue 13 and the README's performance section.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from tabulate import tabulate

sys.path.insert(0, str(Path(__file__).parent))
from benchmark import faulty, generate, run_usage  # noqa: E402

SIZES = {"1M": (250_000, 1_000_000), "2M": (400_000, 1_600_000)}  # (trajects, profiles)


def deliveries(work: Path, size: str) -> tuple[Path, Path]:
    """The clean and the all-faulty delivery of `size`, generated unless already in `work`."""
    trajects, profiles = SIZES[size]
    found = sorted((work / size / "clean").glob("*.zip")), sorted((work / size / "all").glob("*.zip"))
    if found[0] and found[1]:
        return found[0][0], found[1][0]
    clean = generate(work / size / "clean", trajects, profiles)
    return clean, faulty(clean, work / size / "all", 1.0)


def listed(report: Path, fmt: str) -> int | None:
    """How many findings the report lists (json only; None otherwise).

    Counted line by line: loading the document would grow this process, and a child forked
    after that inherits its peak RSS, which would spoil the next figure."""
    if fmt != "json":
        return None
    with open(report, encoding="utf-8") as f:
        # Only a listed finding has a column_end (the rules' entries do not).
        return sum(1 for line in f if line.startswith('      "column_end": '))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="2M")
    parser.add_argument("--runs", type=int, default=1, help="runs per figure (median time, max RSS)")
    parser.add_argument("--formats", default="text,json,junit,xlsx")
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the generated deliveries in this directory")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="disval-bench-spill-"))
    clean, all_faulty = deliveries(work, args.size)
    rows = []
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average before: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; {args.runs} run(s) per figure\n", flush=True)
    variants = (("clean", clean, []), ("every record faulty, --max-findings 0", all_faulty, ["--max-findings", "0"]))
    for fmt in args.formats.split(","):
        report = work / f"report.{fmt}"
        runs: dict[str, list] = {name: [] for name, _, _ in variants}
        listed_n, size = None, 0
        # The clean and the faulty run alternate, so that the shared machine's load weighs on both alike.
        for _ in range(args.runs):
            for name, path, extra in variants:
                cmd = [sys.executable, "-m", "disval.core.cli", "validate", str(path), "--format", fmt, "-o",
                       str(report), "--no-progress", *extra]
                runs[name].append(run_usage(cmd))
                if extra:
                    listed_n, size = listed(report, fmt), os.path.getsize(report)
                report.unlink()
        base = base_cpu = None
        for name, _, extra in variants:
            wall = statistics.median(r[0] for r in runs[name])
            cpu = statistics.median(r[1] for r in runs[name])
            rss = max(r[2] for r in runs[name])
            base, base_cpu = base or wall, base_cpu or cpu
            n = listed_n if extra else None
            rows.append([fmt, name, f"{wall:.2f}", f"{cpu:.2f}", f"{rss >> 20}",
                         "" if n is None else f"{n:,}", f"{wall / base:.2f}", f"{cpu / base_cpu:.2f}",
                         f"{size >> 20}" if extra else ""])
            print(tabulate(rows[-1:], tablefmt="plain"), flush=True)
    print()
    print(tabulate(rows, headers=["format", "delivery", "wall s", "CPU s", "peak RSS MB", "findings listed",
                                  "x clean (wall)", "x clean (CPU)", "report MB"]))
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if not args.keep:
        import shutil
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
