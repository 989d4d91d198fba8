"""Write a REG-EXAMPLE 1.0 batch: a valid one by default, or with rows the caller changed.

    python -m disval_dataset_csv.example /tmp
    -> /tmp/REG_EXAMPLE_CONNECT_12345678_20240301_01.zip

`batch_rows()` gives the rows of each file as lists of strings (header
first); change them and pass them to `write_batch()` to plant a fault.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import sys
import zipfile
from pathlib import Path

from . import standard
from .reader import SEPARATOR

INSTRUMENTS = ("HONOS", "OQ45", "SQ48", "MANSA")


def batch_name(phase: str = "CONNECT", organisation: str = "12345678", created: dt.date = dt.date(2024, 3, 1),
               sequence: str = "01") -> str:
    """The zip name of a batch."""
    return f"REG_EXAMPLE_{phase}_{organisation}_{created:%Y%m%d}_{sequence}.zip"


def batch_rows(episodes: int = 3, per_episode: int = 2, organisation: str = "12345678",
               created: dt.date = dt.date(2024, 3, 1), sequence: str = "01") -> dict[str, list[list[str]]]:
    """The rows of a valid batch, per file, header row first."""
    headers = {f.name: [fld.name for fld in sorted(f.fields, key=lambda x: x.begin)] for f in standard().layout.files}
    episode_rows, measurement_rows = [], []
    for e in range(1, episodes + 1):
        start = created - dt.timedelta(days=200 - e)
        episode_rows.append([f"EP{e:06d}", f"pseudo-{e:04d}", f"{start:%Y%m%d}", "", f"{1 + e % 3:02d}"])
        for m in range(per_episode):
            when = start + dt.timedelta(days=30 * m)
            measurement_rows.append([f"MS{e:06d}{m:02d}", f"EP{e:06d}", f"{when:%Y%m%d}",
                                     INSTRUMENTS[(e + m) % len(INSTRUMENTS)], "BT"[min(m, 1)], str(10 + e + m)])
    batch = [organisation, f"{created:%Y%m%d}", "1.0", sequence, str(len(episode_rows)),
             str(len(measurement_rows)), "disval example writer"]
    return {
        "BATCH.csv": [headers["BATCH.csv"], batch],
        "EPISODE.csv": [headers["EPISODE.csv"], *episode_rows],
        "MEASUREMENT.csv": [headers["MEASUREMENT.csv"], *measurement_rows],
    }


def write_batch(directory, rows: dict[str, list[list[str]]] | None = None, name: str | None = None) -> Path:
    """Write the batch zip into `directory` (UTF-8, ';', CR/LF) and return its path."""
    rows = batch_rows() if rows is None else rows
    path = Path(directory) / (name or batch_name())
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, table in rows.items():
            out = io.StringIO(newline="")
            csv.writer(out, delimiter=SEPARATOR, lineterminator="\r\n").writerows(table)
            zf.writestr(member, out.getvalue().encode("utf-8"))
    return path


def main(argv: list[str] | None = None) -> int:
    """Command line: write a valid example batch into a directory."""
    p = argparse.ArgumentParser(prog="python -m disval_dataset_csv.example", description=__doc__.splitlines()[0])
    p.add_argument("directory", type=Path)
    p.add_argument("--episodes", type=int, default=3)
    args = p.parse_args(argv)
    print(write_batch(args.directory, batch_rows(episodes=args.episodes)))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
