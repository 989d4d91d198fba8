"""Memory of remembered keys (issue 13) and of a zip of 2 GiB of valid records (issue 11, point 4).

    python tests/bench/key_memory.py                          # 1M and 10M profiles, the 2 GiB zip
    python tests/bench/key_memory.py --sizes 1M --no-valid-zip
    python tests/bench/key_memory.py --python /other/venv/bin/python   # the same figures for another install

For each delivery (generated with `disval generate` into --work, deleted
afterwards) it prints, from one instrumented run in a child process, how many
keys uniqueness and references remembered, how many stayed in memory, the
bytes they held there per key (key bytes, line number and any index) and how
many went to disk; then, from plain `disval validate --format json` runs
(each its own process), the wall time and peak RSS, with the default key
budget and with `DISVAL_KEY_MEMORY` so large that no key spills. Figures,
not assertions; the machine's load (`uptime`) is printed with them.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZES = {"1M": (250_000, 1_000_000), "10M": (2_500_000, 9_999_999)}  # 3245 holds at most 7 digits
NO_SPILL_MIB = "1000000"

# Run in a child: validate once, and at the engine's finish note what the key columns hold.
PROBE = r"""
import json, sys
from disval.core.engine import columnar
stats = {}
finish = columnar.ColumnarEngine.finish
def probe(self):
    cols = list(self.key_columns.values()) + list(self._pending.values())
    if hasattr(self, "key_memory"):
        held_keys = sum(len(c) - (c.segments.count if c.segments else 0) for c in cols)
        # The budget also holds parents' fields and counts per parent (since issue 13's leftovers): the
        # bytes a key are those of the key columns and their indexes alone.
        held = (sum(c._held + (c.index.nbytes if c.index is not None else 0) for c in cols)
                if all(hasattr(c, "_held") for c in cols) else self.key_memory.used)
        stats.update(keys=sum(len(c) for c in cols), held_keys=held_keys, held_bytes=held,
                     spilled_keys=sum(c.segments.count for c in cols if c.segments),
                     peak_bytes=self.key_memory.peak)
    else:  # a disval from before the key budget: every key in memory, as chunks of hashes, lines, bytes
        n = sum(len(a) for c in cols for a in c._lines)
        held = sum(a.nbytes for c in cols for part in (c._hashes, c._lines, c._keys) for a in part)
        held += sum(i.hashes.nbytes + i.keys.nbytes for i in getattr(self, "_indexes", {}).values())
        stats.update(keys=n, held_keys=n, held_bytes=held, spilled_keys=0, peak_bytes=held)
    stats["widths"] = sorted({c.width for c in cols})
    finish(self)
columnar.ColumnarEngine.finish = probe
from disval.core.pipeline import validate
result = validate(sys.argv[1])
stats["findings"] = sum(result.counts.values())
print(json.dumps(stats))
"""


def child(python: str, args: list[str], env: dict) -> tuple[float, int, int, str]:
    """(wall s, peak RSS bytes, exit code, stdout) of one child process, by its own rusage."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([python] + args, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, problem = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if code > 1:
        raise SystemExit(f"{args} failed ({code}):\n{problem}")
    return wall, usage.ru_maxrss * 1024, code, text


def measure(label: str, zip_path: Path, python: str) -> None:
    """Print the key figures and the peak RSS of validating `zip_path`."""
    base = dict(os.environ)
    base.pop("DISVAL_KEY_MEMORY", None)
    _, _, _, text = child(python, ["-c", PROBE, str(zip_path)], base)
    s = json.loads(text.strip().splitlines()[-1])
    per_key = s["held_bytes"] / s["held_keys"] if s["held_keys"] else 0.0
    print(f"{label:<12} keys {s['keys']:>11,}  in memory {s['held_keys']:>11,} at {per_key:5.1f} B/key  "
          f"spilled {s['spilled_keys']:>11,}  held at most {s['peak_bytes'] / 2**20:5.0f} MiB  key widths {s['widths']}  findings {s['findings']}", flush=True)
    for name, budget in (("default budget", None), ("no spill", NO_SPILL_MIB)):
        env = dict(base)
        if budget is not None:
            env["DISVAL_KEY_MEMORY"] = budget
        wall, rss, code, _ = child(python, ["-m", "disval.core.cli", "validate", str(zip_path), "--format", "json"],
                                   env)
        print(f"{'':<12} {name:<15} {wall:7.1f} s  peak RSS {rss / 2**20:7.0f} MiB  exit {code}", flush=True)
        if not s["spilled_keys"]:
            break  # nothing spilled: the no-spill run would be the same run again


def generate(python: str, out: Path, trajects: int, profiles: int) -> Path:
    """A clean, seeded GA OHW-GBG delivery."""
    cmd = [python, "-m", "disval.core.cli", "generate", "--trajects", str(trajects), "--profiles", str(profiles),
           "--seed", "2026", "-o", str(out)]
    return Path(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    """Generate, measure, delete, one delivery at a time."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1M,10M", help="comma-separated: 1M,10M")
    p.add_argument("--valid-zip-mib", type=int, default=2048, help="MiB of valid records in the hostile zip")
    p.add_argument("--no-valid-zip", action="store_true", help="leave the zip of valid records out")
    p.add_argument("--work", default=tempfile.gettempdir(), help="where to write the deliveries")
    p.add_argument("--python", default=sys.executable, help="the interpreter whose disval to measure")
    args = p.parse_args(argv)
    print(f"load: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="disval-keybench-", dir=args.work))
    try:
        for size in [s for s in args.sizes.split(",") if s]:
            trajects, profiles = SIZES[size]
            path = generate(args.python, work / size, trajects, profiles)
            measure(f"{size} profiles", path, args.python)
            shutil.rmtree(work / size)
        if not args.no_valid_zip:
            sys.path.insert(0, str(HERE))
            import bad_lines

            blocks, total = bad_lines.valid_records(args.valid_zip_mib)
            folder = work / "valid"
            folder.mkdir()
            path = bad_lines._write(folder / bad_lines.EXAMPLE.name, blocks, total)
            measure(f"{args.valid_zip_mib} MiB zip", path, args.python)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        print(f"load: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}", flush=True)


if __name__ == "__main__":
    main()
