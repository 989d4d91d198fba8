"""Building blocks for synthetic deliveries: fixed-width records as numpy byte matrices, streamed into a zip.

A standard's generator (the `disval_delivery_generator` hook) decides what its
records mean; these helpers only know the GA's conventions for writing them
(§4.2: N right-aligned with leading spaces, AN and D left-aligned, CR/LF line
ends) and how to draw codes valid on a date from codelists. Records are built
in batches, so memory stays bounded by the batch size.
"""
from __future__ import annotations

import datetime as dt
import os
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .codelists import OPEN_END
from .layout import Field, FileLayout

BATCH = 65_536
# Deflate at level 1 is nearly four times faster than the default 6 on these records and
# still shrinks them to about a fifth: the benchmark is about validating, not compressing.
COMPRESSLEVEL = 1
EPOCH = dt.date(1970, 1, 1)
SPACE, CR, LF = 32, 13, 10


def delivery_target(path: Path, name: str) -> Path:
    """Where the zip goes: `path` is a directory (created; the zip gets `name` there) or the zip's own path."""
    path = Path(path)
    if path.suffix.lower() != ".zip":
        path.mkdir(parents=True, exist_ok=True)
        return path / name
    if path.name != name:
        raise ValueError(f"{path}: the zip must be named {name} (the GA's zip name; the packing slip repeats it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def delivery_zip(target: Path):
    """A zip written to `target.part` and moved to `target` only when complete."""
    part = target.with_name(target.name + ".part")
    try:
        with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESSLEVEL) as zf:
            yield zf
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)


def member(name: str, created: dt.date) -> zipfile.ZipInfo:
    """A zip member whose bytes depend on the arguments alone (fixed time stamp and system)."""
    info = zipfile.ZipInfo(name, date_time=(created.year, created.month, created.day, 0, 0, 0))
    info.create_system = 3
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    # ZipFile(compresslevel=) only reaches members opened by name, not by ZipInfo; Python 3.13
    # calls this `compress_level` and keeps `_compresslevel` as an alias.
    info._compresslevel = COMPRESSLEVEL
    return info


def stream(zf: zipfile.ZipFile, file: FileLayout, created: dt.date, count: int, build) -> None:
    """Write `count` records of `file`, `BATCH` at a time; `build(first, n)` returns an (n, width) byte matrix."""
    width = file.record_length + 2
    with zf.open(member(file.name, created), "w", force_zip64=count * width > zipfile.ZIP64_LIMIT) as out:
        for first in range(0, count, BATCH):
            out.write(build(first, min(BATCH, count - first)).ravel().data)


def blank(file: FileLayout, n: int) -> np.ndarray:
    """`n` records of spaces, each ending in CR/LF."""
    rows = np.full((n, file.record_length + 2), SPACE, dtype=np.uint8)
    rows[:, -2] = CR
    rows[:, -1] = LF
    return rows


def record(file: FileLayout, values: dict[str, str]) -> bytes:
    """One record from {DDID: text}, each value padded as its type is (absent fields blank), with CR/LF."""
    text = "".join(fixed(f, values.get(f.ddid, "")) for f in sorted(file.fields, key=lambda f: f.begin))
    return (text + "\r\n").encode("iso-8859-1")


def fixed(fld: Field, value: str) -> str:
    """One value written to its field's width: N right-aligned, AN and D left-aligned (GA §4.2)."""
    if len(value) > fld.length:
        raise ValueError(f"{fld.label}: {value!r} is longer than the field ({fld.length})")
    return value.rjust(fld.length) if fld.type == "N" else value.ljust(fld.length)


class CodePicker:
    """Draws, for each date, a code valid on that date in any of a field's codelists.

    The date range is cut into segments in which the set of valid codes does
    not change; each segment's codes sit in one table, so a draw is two
    vectorised lookups. A code a list marks selecteerbaar 0 on a date is never
    drawn for that date. `accept(code)` may narrow the codes further.
    """

    def __init__(self, fld: Field, lists, days: tuple[int, int], accept=lambda code: True):
        lo, hi = days
        cuts = {lo}
        for cl in lists:
            for rows in cl.entries.values():
                for row in rows:
                    for edge in (int_day(row.begin), int_day(row.end) + 1 if row.end < OPEN_END else None):
                        if edge is not None and lo < edge <= hi:
                            cuts.add(edge)
        self.cuts = np.array(sorted(cuts), dtype=np.int64)
        table, offsets, counts = [], [], []
        for day in self.cuts:
            on = int(yyyymmdd(np.array([day]))[0])
            valid = sorted({code for cl in lists for code in cl.entries if cl.row_at(code, on)})
            valid = [c for c in valid if accept(c) and len(c.encode("iso-8859-1")) <= fld.length
                     and not any((r := cl.row_at(c, on)) and r.selectable == 0 for cl in lists)]
            if not valid:
                names = " or ".join(cl.name for cl in lists)
                raise ValueError(f"{fld.label}: no code of {names} is valid on {on}; cannot generate valid records")
            offsets.append(len(table))
            counts.append(len(valid))
            table.extend(code.encode("iso-8859-1").ljust(fld.length) for code in valid)
        self.table = np.frombuffer(b"".join(table), dtype=np.uint8).reshape(-1, fld.length)
        self.offsets = np.array(offsets, dtype=np.int64)
        self.counts = np.array(counts, dtype=np.int64)

    def draw(self, rng, days: np.ndarray) -> np.ndarray:
        """One code per day (days since 1970-01-01), as an (n, field length) byte matrix."""
        segment = np.searchsorted(self.cuts, days, side="right") - 1
        pick = (rng.random(len(days)) * self.counts[segment]).astype(np.int64)
        return self.table[self.offsets[segment] + pick]


class FixedCodes:
    """Draws from a fixed list of codes, for a standard run without codelists (the rules then say so)."""

    def __init__(self, fld: Field, codes: list[str]):
        self.table = np.frombuffer(b"".join(c.encode("iso-8859-1").ljust(fld.length) for c in codes),
                                   dtype=np.uint8).reshape(-1, fld.length)

    def draw(self, rng, days: np.ndarray) -> np.ndarray:
        """One code per day, uniformly."""
        return self.table[rng.integers(0, len(self.table), len(days))]


def day(d: dt.date) -> int:
    """Days since 1970-01-01."""
    return (d - EPOCH).days


def int_day(value: int) -> int:
    """Days since 1970-01-01 of a YYYYMMDD integer."""
    return day(dt.date(value // 10000, value // 100 % 100, value % 100))


def yyyymmdd(days: np.ndarray) -> np.ndarray:
    """YYYYMMDD integers of days since 1970-01-01."""
    d = days.astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    year = month.astype("datetime64[Y]").astype(np.int64) + 1970
    return year * 10000 + (month.astype(np.int64) % 12 + 1) * 100 + (d - month).astype(np.int64) + 1


def digits(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) ASCII digits of non-negative `values`, zero-padded."""
    out = np.empty((len(values), width), dtype=np.uint8)
    rest = values.astype(np.int64)
    for col in range(width - 1, -1, -1):
        rest, digit = np.divmod(rest, 10)
        out[:, col] = digit + ord("0")
    return out


def put(rows: np.ndarray, fld: Field, block: np.ndarray, where=None) -> None:
    """Write an (n, k) byte block into field `fld` of each row (where `where` holds), left-aligned."""
    if block.shape[1] > fld.length:
        raise ValueError(f"{fld.label}: {block.shape[1]} bytes do not fit the field ({fld.length})")
    target = rows[:, fld.start:fld.start + block.shape[1]]
    if where is None:
        target[:] = block
    else:
        target[where] = block[where]


def put_digits(rows, fld: Field, values, where=None) -> None:
    """A D field or a zero-padded code: all of the field's width in digits."""
    put(rows, fld, digits(values, fld.length), where)


def put_number(rows, fld: Field, values, where=None) -> None:
    """An N field: right-aligned with leading spaces (GA §4.2)."""
    block = digits(values, fld.length)
    leading = np.cumsum(block != ord("0"), axis=1) == 0
    leading[:, -1] = False  # zero itself is written as "0"
    block[leading] = SPACE
    put(rows, fld, block, where)


def put_id(rows, fld: Field, prefix: bytes, numbers, width: int, where=None) -> None:
    """An AN identifier: `prefix` then `numbers` zero-padded to `width`, left-aligned."""
    block = np.empty((len(numbers), len(prefix) + width), dtype=np.uint8)
    block[:, :len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
    block[:, len(prefix):] = digits(numbers, width)
    put(rows, fld, block, where)


def put_text(rows, fld: Field, text: str, where=None) -> None:
    """The same text in every row."""
    raw = np.frombuffer(fixed(fld, text).encode("iso-8859-1"), dtype=np.uint8)
    put(rows, fld, np.broadcast_to(raw, (len(rows), fld.length)), where)
