"""Small helpers to plant faults in copies of a clean delivery, and to look at the result.

The helpers read and write whole members: test deliveries are a few records.
They write zips with `zipfile` directly (not through disval) so that a broken
disval cannot hide its own bugs behind a broken fixture.
"""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

from disval.plugins.ga_ohw_gbg import standard

BT, GZ, PB = "BEHANDELTRAJECT.txt", "GELEVERD_ZORGPROFIEL.txt", "PAKBON.txt"
CREATED = dt.date(2018, 2, 1)
# Four trajects, two profiles: the generator hangs profile i on traject i * 4 // 2, so
# trajects 1 and 3 have a profile and 2 and 4 have none (checked in `Clean`).
TRAJECTS, PROFILES = 4, 2
NOT_DECIDABLE = {  # the GA numbers one delivery cannot decide, with their status in `disval rules`
    "1656": "needs store", "2054": "needs store", "1812": "needs store", "1813": "needs store",
    "1819": "needs store",
    "1747": "not applicable", "1767": "not applicable", "1878": "not applicable", "2227": "not applicable",
    "2300": "not applicable",
}


class Clean:
    """A clean delivery and what tests need to know about it to plant faults without cascades."""

    def __init__(self, path: Path):
        self.path = path
        self.name = path.name
        self.members = read_members(path)
        self.lines = {name: data.split(b"\r\n")[:-1] for name, data in self.members}
        layout = standard().layout
        key = layout.field("3257")
        ref = layout.field("3309")
        referenced = {rec[ref.start:ref.end] for rec in self.lines[GZ]}
        # 1-based lines of trajects that no profile refers to (3309): changing their key or
        # length cannot make a profile's reference (1987) dangle.
        self.lonely = [i for i, rec in enumerate(self.lines[BT], start=1) if rec[key.start:key.end] not in referenced]
        assert self.lonely, "the fixture needs a traject without profiles"

    def field(self, file: str, line: int, ddid: str) -> str:
        """The raw value (with padding) of a field of a record."""
        fld = standard().layout.field(ddid)
        return self.lines[file][line - 1][fld.start:fld.end].decode("iso-8859-1")


def read_members(path) -> list[tuple[str, bytes]]:
    """Every member of a zip, in order, as (name, bytes)."""
    with zipfile.ZipFile(path) as zf:
        return [(info.filename, zf.read(info)) for info in zf.infolist()]


def write_zip(path, members) -> Path:
    """Write (name, bytes) pairs as a deflated zip; the same name twice gives two entries."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns on a duplicate name: that is the point
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, data in members:
                zf.writestr(name, data)
    return path


def set_fields(record: bytes, values: dict[str, str]) -> bytes:
    """`record` with each DDID's field set to its value, padded as the GA pads its type."""
    layout = standard().layout
    for ddid, value in values.items():
        fld = layout.field(ddid)
        raw = value.encode("iso-8859-1")
        assert len(raw) <= fld.length, f"{ddid}: {value!r} does not fit {fld.length} bytes"
        raw = raw.rjust(fld.length) if fld.type == "N" else raw.ljust(fld.length)
        record = record[:fld.start] + raw + record[fld.end:]
    return record


def split_records(data: bytes) -> list[bytes]:
    """A member's records without their CR/LF (every record of a clean member ends in CR/LF)."""
    assert data.endswith(b"\r\n") or not data
    return data.split(b"\r\n")[:-1]


def join_records(records: list[bytes]) -> bytes:
    return b"".join(r + b"\r\n" for r in records)


def edit_member(src: Path, out: Path, member: str, edit) -> Path:
    """Copy zip `src` to `out` (a directory: same name; or a .zip path) with `edit(records)` applied to `member`.

    `edit` receives the member's records (list of bytes, no line ends) and
    returns the new list, or None to leave the member out.
    """
    target = out / src.name if out.suffix != ".zip" else out
    members = []
    for name, data in read_members(src):
        if name == member:
            records = edit(split_records(data))
            if records is None:
                continue
            data = join_records(records)
        members.append((name, data))
    return write_zip(target, members)


def plant(src: Path, out: Path, file: str, line: int, **values: str) -> Path:
    """Copy with fields of record `line` (1-based) of `file` set; keys are DDIDs prefixed by 'f', e.g. f3262=..."""
    fields = {k.removeprefix("f"): v for k, v in values.items()}

    def edit(records):
        records[line - 1] = set_fields(records[line - 1], fields)
        return records

    return edit_member(src, out, file, edit)


def found(result) -> set[tuple[str, str | None, int | None]]:
    """The (rule, file, line) of every finding listed."""
    return {(f.rule, f.file, f.line) for f in result.findings}


def counted(result) -> dict[str, int]:
    """Counts per rule, without the zero ones."""
    return {rule: n for rule, n in result.counts.items() if n}


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`disval ARGS` as a subprocess, the way a user runs it."""
    return subprocess.run([sys.executable, "-m", "disval.core.cli", *args], capture_output=True, text=True,
                          timeout=timeout)
