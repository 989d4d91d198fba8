"""Time and peak memory of validating deliveries that are within the limits but hostile (issue 11, point 4).

    python tests/bench/bad_lines.py                      # both cases, default sizes
    python tests/bench/bad_lines.py --line-ends-mib 1024 --records-mib 2048

Two deliveries, each validated by `disval validate --format json` in its own
process:

- line ends: GELEVERD_ZORGPROFIEL.txt is nothing but bare line ends (a stray
  letter every few hundred keeps the ratio under the 1000:1 bomb limit),
  so every line is a record of the wrong length without CR/LF;
- valid records: GELEVERD_ZORGPROFIEL.txt holds that many MiB of valid,
  distinct records (a counter in 3310), which deflate about 100:1.

It prints, per case, the zip's size, the unpacked size, the wall time, and
the peak RSS of the validating process (its own rusage, from `os.wait4`).
Figures, not assertions.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

EXAMPLE = Path(__file__).resolve().parents[2] / "contrib" / "examples" / "DIS_GBG_OHW_TEST_010_94001234_00_20180201_01.zip"
GZ = "GELEVERD_ZORGPROFIEL.txt"
BLOCK = 1 << 22


def _members() -> dict[str, bytes]:
    with zipfile.ZipFile(EXAMPLE) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def _write(path: Path, blocks, total: int) -> Path:
    """The example delivery with GZ replaced by the blocks (an iterator of bytes)."""
    members = _members()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name, data in members.items():
            if name != GZ:
                zf.writestr(name, data)
                continue
            info = zipfile.ZipInfo(GZ, date_time=(2018, 2, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as out:
                for block in blocks:
                    out.write(block)
    return path


def line_ends(mib: int) -> tuple[object, int]:
    """Blocks of bare line ends with a letter every 300 bytes or so."""
    rng = np.random.default_rng(0)
    total = mib << 20

    def blocks():
        done = 0
        while done < total:
            block = np.full(min(BLOCK, total - done), 10, np.uint8)
            block[rng.integers(0, len(block), len(block) // 300)] = 65
            done += len(block)
            yield block.tobytes()
    return blocks(), total


def valid_records(mib: int) -> tuple[object, int]:
    """Blocks of valid profile records, each with a distinct 3310, all pointing at the first traject."""
    members = _members()
    template = np.frombuffer(members[GZ].split(b"\r\n")[0] + b"\r\n", np.uint8)
    width = len(template)
    count = (mib << 20) // width

    def blocks():
        per = BLOCK // width
        for first in range(0, count, per):
            n = min(per, count - first)
            rows = np.tile(template, (n, 1))
            digits = np.char.zfill(np.arange(first + 1, first + n + 1).astype("U20"), 20).astype("S20")
            rows[:, 0:20] = np.frombuffer(digits.tobytes(), np.uint8).reshape(n, 20)
            yield rows.tobytes()
    return blocks(), count * width


def measure(label: str, path: Path, unpacked: int) -> None:
    """Validate in a child process; print size, time and the child's own peak RSS."""
    start = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen([sys.executable, "-m", "disval.core.cli", "validate", str(path), "--format", "json"],
                                 stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)  # this child's rusage, not the maximum over all children
        child.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode(errors="replace").strip()
    took = time.monotonic() - start
    status = f"exit {child.returncode}" + (f", {stderr.splitlines()[-1]}" if child.returncode > 1 and stderr else "")
    print(f"{label:<14} zip {path.stat().st_size / 2**20:8.1f} MiB  unpacked {unpacked / 2**20:8.0f} MiB  "
          f"{took:8.1f} s  peak RSS {usage.ru_maxrss / 1024:8.0f} MiB  {status}", flush=True)


def main(argv=None) -> None:
    """Build the two deliveries in a temporary directory and measure each."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--line-ends-mib", type=int, default=256)
    p.add_argument("--records-mib", type=int, default=2048)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        name = EXAMPLE.name
        for label, (blocks, total) in (("line ends", line_ends(args.line_ends_mib)),
                                       ("valid records", valid_records(args.records_mib))):
            if not total:
                continue
            folder = Path(tmp) / label.replace(" ", "_")
            folder.mkdir()
            path = _write(folder / name, blocks, total)
            measure(label, path, total)
            os.unlink(path)


if __name__ == "__main__":
    main()
