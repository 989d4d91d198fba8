"""Synthetic GA OHW-GBG 1.0 deliveries that pass every rule, for tests and benchmarks.

Column positions come from the standard's layout, valid codes from its
codelists (the shipped ones unless told otherwise), so the generator follows
both when they change. What each DDID *means* (a date, a traject number, a
code) is specific to GA OHW-GBG 1.0, hence `GENERATED_STANDARD`.

Records are built in batches as rows of a numpy byte matrix and streamed into
the zip, so memory stays bounded by the batch size plus two small integers per
traject (its begin and end date, which its zorgprofiel records need).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import zipfile
from pathlib import Path

import numpy as np

from .codelists import OPEN_END
from .layout import Field, FileLayout
from .plugins import get_plugin_manager

GENERATED_STANDARD = "GA-OHW-GBG-1.0"
BATCH = 65_536
FIRST_TRAJECT_DATE = dt.date(2016, 10, 1)  # §5.2.1: only trajects opened from 1 October 2016
# Deflate at level 1 is nearly four times faster than the default 6 on these records and
# still shrinks them to about a fifth: the benchmark is about validating, not compressing.
COMPRESSLEVEL = 1
_EPOCH = dt.date(1970, 1, 1)
_WRITES = {
    "BEHANDELTRAJECT.txt": ("3257", "3258", "3262", "3263", "4046", "3266", "3272"),
    "GELEVERD_ZORGPROFIEL.txt": ("3310", "3309", "3311", "3312", "3314", "3315", "3355", "3316", "3348"),
    "PAKBON.txt": ("3362", "3371", "3337", "3233", "3234", "3344", "3339", "3334", "3342", "3345", "3245",
                   "3341", "3361", "4160"),
}
_SPACE, _CR, _LF = 32, 13, 10



def generate_delivery(
    path_or_dir, *, trajects: int, profiles: int, seed: int = 0, phase: str = "test",
    provider: str = "94001234", branch: str = "00", created: dt.date = dt.date(2018, 2, 1),
    sequence: str = "01", standard=None, codelists=None,
) -> Path:
    """Write a valid delivery (zip) and return its path.

    `path_or_dir` is a directory (the zip gets its §6.2.1 name there) or the
    zip's full path, whose name must then be that §6.2.1 name. `codelists` is
    a codelist provider, a directory of NZa codelist files, or None for the
    standard's shipped lists. The same arguments always give the same bytes.
    """
    standard = standard or _default_standard()
    if trajects < 0 or profiles < 0:
        raise ValueError("trajects and profiles must be 0 or more")
    if profiles and not trajects:
        raise ValueError("profiles need trajects to refer to (3309): give trajects > 0")
    token = {v: k for k, v in standard.naming.phases.items()}.get(phase)
    if token is None:
        raise ValueError(f"phase must be one of {', '.join(standard.naming.phases.values())}, not {phase!r}")
    name = f"DIS_GBG_OHW_{token}_010_{provider}_{branch}_{created:%Y%m%d}_{sequence}.zip"
    zipname = standard.naming.parse(name)
    if zipname is None:
        raise ValueError(
            f"{name} does not follow GA §6.2.1: provider must be 8 digits (AGB), branch 2 digits, sequence 2 digits"
        )
    layout = standard.layout
    for file, ddids in _WRITES.items():
        found = layout.file(file)
        missing = [d for d in ddids if found is None or d not in {f.ddid for f in found.fields}]
        if missing:
            raise ValueError(f"standard {standard.id} lacks {file} field(s) {', '.join(missing)}; "
                             f"the generator writes {GENERATED_STANDARD} deliveries")
    source = _provider(standard, codelists)
    start = min(FIRST_TRAJECT_DATE, created - dt.timedelta(days=365))
    days = (_day(start), _day(created))
    pickers = {
        ddid: _CodePicker(fld, [_codelist(source, n, created) for n in fld.codelists], days)
        for ddid, fld in ((d, layout.field(d)) for d in ("3266", "3272", "3311", "3314"))
    }
    rng = np.random.default_rng(seed)
    target = _target(Path(path_or_dir), name)
    part = target.with_name(target.name + ".part")
    try:
        with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESSLEVEL) as zf:
            files = {f.name: f for f in layout.files}
            begins = np.empty(trajects, dtype=np.int32)
            stops = np.empty(trajects, dtype=np.int32)
            traject_file = files["BEHANDELTRAJECT.txt"]
            _stream(zf, traject_file, created, trajects, lambda i0, n: _trajects(
                traject_file, i0, n, rng, days, pickers, begins, stops))
            profile_file = files["GELEVERD_ZORGPROFIEL.txt"]
            _stream(zf, profile_file, created, profiles, lambda j0, n: _profiles(
                profile_file, j0, n, trajects, profiles, rng, pickers, begins, stops))
            slip = _packing_slip(layout.packing_slip, zipname.parts, trajects, profiles, rng)
            zf.writestr(_member(layout.packing_slip.name, created), slip)
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)
    return target


def _default_standard():
    """GA OHW-GBG 1.0, the standard whose deliveries this generator writes, from the installed plugins."""
    from .pipeline import standards

    return standards(get_plugin_manager())[GENERATED_STANDARD]


def _provider(standard, codelists):
    if codelists is not None and hasattr(codelists, "codelist"):
        return codelists
    # Through the hook, so a path means exactly what `--codelists` means.
    found = get_plugin_manager().hook.disval_codelist_provider(
        standard=standard, location=str(codelists) if codelists else None)
    if found is None:
        raise ValueError(f"standard {standard.id} ships no codelists; pass codelists=DIR")
    return found


def _codelist(source, name, created):
    found = source.codelist(name, created)
    if found is None:
        raise ValueError(f"codelist {name} is not in {source.describe()}")
    return found


def _target(path: Path, name: str) -> Path:
    if path.suffix.lower() != ".zip":
        path.mkdir(parents=True, exist_ok=True)
        return path / name
    if path.name != name:
        raise ValueError(f"{path}: the zip must be named {name} (GA §6.2.1; the packing slip repeats the name)")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _member(name: str, created: dt.date) -> zipfile.ZipInfo:
    # A fixed time stamp and system keep the zip's bytes a function of the arguments alone.
    info = zipfile.ZipInfo(name, date_time=(created.year, created.month, created.day, 0, 0, 0))
    info.create_system = 3
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    # ZipFile(compresslevel=) only reaches members opened by name, not by ZipInfo; Python 3.13
    # calls this `compress_level` and keeps `_compresslevel` as an alias.
    info._compresslevel = COMPRESSLEVEL
    return info


def _stream(zf: zipfile.ZipFile, file: FileLayout, created: dt.date, count: int, build) -> None:
    """Write `count` records of `file`, `BATCH` at a time; `build(first, n)` returns an (n, width) byte matrix."""
    width = file.record_length + 2
    with zf.open(_member(file.name, created), "w", force_zip64=count * width > zipfile.ZIP64_LIMIT) as out:
        for first in range(0, count, BATCH):
            out.write(build(first, min(BATCH, count - first)).ravel().data)


def _blank(file: FileLayout, n: int) -> np.ndarray:
    rows = np.full((n, file.record_length + 2), _SPACE, dtype=np.uint8)
    rows[:, -2] = _CR
    rows[:, -1] = _LF
    return rows


def _trajects(file, first, n, rng, days, pickers, begins, stops):
    """BEHANDELTRAJECT.txt: begin in [start, created]; 55% closed with a reden sluiten; diagnosis if 4046 = J."""
    fields = {f.ddid: f for f in file.fields}
    patients = max(1, len(begins) * 4 // 5)  # some patients have more than one traject
    rows = _blank(file, n)
    index = np.arange(first, first + n, dtype=np.int64)
    start, created = days
    begin = rng.integers(start, created + 1, n)
    closed = rng.random(n) < 0.55
    end = begin + (rng.random(n) * (created - begin + 1)).astype(np.int64)
    begins[first:first + n] = begin
    stops[first:first + n] = np.where(closed, end, created)
    disorder = rng.choice(np.frombuffer(b"JN ", dtype=np.uint8), n, p=[0.65, 0.2, 0.15])
    _put_id(rows, fields["3257"], b"BT", index + 1, 10)
    _put_id(rows, fields["3258"], b"K", rng.integers(1, patients + 1, n), 12)
    _put_digits(rows, fields["3262"], _yyyymmdd(begin))
    _put_digits(rows, fields["3263"], _yyyymmdd(end), where=closed)
    rows[:, fields["4046"].start] = disorder
    _put_code(rows, fields["3266"], pickers["3266"], rng, begin, where=disorder == ord("J"))
    _put_code(rows, fields["3272"], pickers["3272"], rng, begin, where=closed)
    return rows


def _profiles(file, first, n, trajects, profiles, rng, pickers, begins, stops):
    """GELEVERD_ZORGPROFIEL.txt: grouped by traject in order, dated within their traject."""
    fields = {f.ddid: f for f in file.fields}
    rows = _blank(file, n)
    index = np.arange(first, first + n, dtype=np.int64)
    traject = index * trajects // profiles
    begin, stop = begins[traject].astype(np.int64), stops[traject].astype(np.int64)
    when = begin + (rng.random(n) * (stop - begin + 1)).astype(np.int64)
    _put_id(rows, fields["3310"], b"BC", index + 1, 12)
    _put_id(rows, fields["3309"], b"BT", traject + 1, 10)
    _put_code(rows, fields["3311"], pickers["3311"], rng, when)
    _put_digits(rows, fields["3312"], _yyyymmdd(when))
    _put_code(rows, fields["3314"], pickers["3314"], rng, when)
    _put_number(rows, fields["3315"], rng.integers(0, 181, n))
    _put_number(rows, fields["3355"], rng.integers(0, 91, n), where=rng.random(n) < 0.15)
    _put_number(rows, fields["3316"], rng.integers(0, 121, n))
    _put_id(rows, fields["3348"], b"AF", rng.integers(1, 10**8, n), 8, where=rng.random(n) < 0.7)
    return rows


def _packing_slip(file: FileLayout, parts: dict[str, str], trajects: int, profiles: int, rng) -> bytes:
    """PAKBON.txt: one record; the zip-name fields are taken from the parsed name itself."""
    values = {
        "3362": parts["provider"], "3371": parts["branch"], "3337": parts["ga_version"],
        "3233": parts["created"], "3234": parts["sequence"], "3344": parts["name"],
        "3339": "DISVAL", "3334": "DISVAL GENERATE", "3342": "SYNTHETIC 1",
        "3345": str(trajects), "3245": str(profiles), "3341": f"gbg{parts['provider']}",
        "3361": f"{int(rng.integers(10**7, 10**8)):08d}", "4160": "",
    }
    record = "".join(_fixed(f, values[f.ddid]) for f in sorted(file.fields, key=lambda f: f.begin))
    return (record + "\r\n").encode("iso-8859-1")


def _fixed(fld: Field, value: str) -> str:
    """One value written to its field's width: N right-aligned, AN and D left-aligned (GA §4.2)."""
    if len(value) > fld.length:
        raise ValueError(f"{fld.label}: {value!r} is longer than the field ({fld.length})")
    return value.rjust(fld.length) if fld.type == "N" else value.ljust(fld.length)


class _CodePicker:
    """Draws, for each date, a code valid on that date in any of a field's codelists.

    The date range is cut into segments in which the set of valid codes does
    not change; each segment's codes sit in one table, so a draw is two
    vectorised lookups. A code a list marks selecteerbaar 0 on a date is never
    drawn for that date (rule 2249).
    """

    def __init__(self, fld: Field, lists, days: tuple[int, int]):
        lo, hi = days
        cuts = {lo}
        for cl in lists:
            for rows in cl.entries.values():
                for row in rows:
                    for edge in (_int_day(row.begin), _int_day(row.end) + 1 if row.end < OPEN_END else None):
                        if edge is not None and lo < edge <= hi:
                            cuts.add(edge)
        self.cuts = np.array(sorted(cuts), dtype=np.int64)
        table, offsets, counts = [], [], []
        for day in self.cuts:
            on = int(_yyyymmdd(np.array([day]))[0])
            valid = sorted({code for cl in lists for code in cl.entries if cl.row_at(code, on)})
            valid = [c for c in valid if not any((r := cl.row_at(c, on)) and r.selectable == 0 for cl in lists)]
            if not valid:
                names = " or ".join(cl.name for cl in lists)
                raise ValueError(f"{fld.label}: no code of {names} is valid on {on}; cannot generate valid records")
            offsets.append(len(table))
            counts.append(len(valid))
            for code in valid:
                raw = code.encode("iso-8859-1")
                if len(raw) > fld.length:
                    raise ValueError(f"{fld.label}: code {code!r} is longer than the field ({fld.length})")
                table.append(raw.ljust(fld.length))
        self.table = np.frombuffer(b"".join(table), dtype=np.uint8).reshape(-1, fld.length)
        self.offsets = np.array(offsets, dtype=np.int64)
        self.counts = np.array(counts, dtype=np.int64)

    def draw(self, rng, days: np.ndarray) -> np.ndarray:
        segment = np.searchsorted(self.cuts, days, side="right") - 1
        pick = (rng.random(len(days)) * self.counts[segment]).astype(np.int64)
        return self.table[self.offsets[segment] + pick]


def _day(d: dt.date) -> int:
    return (d - _EPOCH).days


def _int_day(yyyymmdd: int) -> int:
    return _day(dt.date(yyyymmdd // 10000, yyyymmdd // 100 % 100, yyyymmdd % 100))


def _yyyymmdd(days: np.ndarray) -> np.ndarray:
    d = days.astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    year = month.astype("datetime64[Y]").astype(np.int64) + 1970
    return year * 10000 + (month.astype(np.int64) % 12 + 1) * 100 + (d - month).astype(np.int64) + 1


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) ASCII digits of non-negative `values`, zero-padded."""
    out = np.empty((len(values), width), dtype=np.uint8)
    rest = values.astype(np.int64)
    for col in range(width - 1, -1, -1):
        rest, digit = np.divmod(rest, 10)
        out[:, col] = digit + ord("0")
    return out


def _put(rows: np.ndarray, fld: Field, block: np.ndarray, where) -> None:
    if block.shape[1] > fld.length:
        raise ValueError(f"{fld.label}: {block.shape[1]} bytes do not fit the field ({fld.length})")
    target = rows[:, fld.start:fld.start + block.shape[1]]
    if where is None:
        target[:] = block
    else:
        target[where] = block[where]


def _put_digits(rows, fld: Field, values, where=None) -> None:
    _put(rows, fld, _digits(values, fld.length), where)


def _put_number(rows, fld: Field, values, where=None) -> None:
    """An N field: right-aligned with leading spaces (GA §4.2)."""
    block = _digits(values, fld.length)
    leading = np.cumsum(block != ord("0"), axis=1) == 0
    leading[:, -1] = False  # zero itself is written as "0"
    block[leading] = _SPACE
    _put(rows, fld, block, where)


def _put_id(rows, fld: Field, prefix: bytes, numbers, width: int, where=None) -> None:
    """An AN identifier: `prefix` then `numbers` zero-padded to `width`, left-aligned."""
    block = np.empty((len(numbers), len(prefix) + width), dtype=np.uint8)
    block[:, :len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
    block[:, len(prefix):] = _digits(numbers, width)
    _put(rows, fld, block, where)


def _put_code(rows, fld: Field, picker: _CodePicker, rng, days, where=None) -> None:
    _put(rows, fld, picker.draw(rng, days), where)


# ---------------------------------------------------------------- command line


def add_generate_command(subparsers) -> argparse.ArgumentParser:
    """Register `disval generate` on an argparse subparsers object; `args.func(args)` returns the exit code."""
    p = subparsers.add_parser(
        "generate", help="write a valid synthetic GA OHW-GBG 1.0 delivery",
        description="Write a synthetic GA OHW-GBG 1.0 delivery that passes every rule, and print its path.",
    )
    p.add_argument("--trajects", type=_count, default=1000, metavar="N", help="BEHANDELTRAJECT records (1000)")
    p.add_argument("--profiles", type=_count, default=4000, metavar="N", help="GELEVERD_ZORGPROFIEL records (4000)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed; same seed, same bytes (0)")
    p.add_argument("--phase", choices=("test", "production"), default="test")
    p.add_argument("--provider", default="94001234", metavar="AGB", help="AGB code, 8 digits (94001234)")
    p.add_argument("--branch", default="00", metavar="II", help="instelling volgnr DIS, 2 digits (00)")
    p.add_argument("--created", type=_date, default=dt.date(2018, 2, 1), metavar="YYYY-MM-DD",
                   help="creation date (2018-02-01)")
    p.add_argument("--sequence", default="01", metavar="NN", help="volgnummer, 2 digits (01)")
    p.add_argument("--codelists", metavar="DIR", help="NZa codelist files to draw codes from (the shipped ones)")
    p.add_argument("-o", "--output", default=".", metavar="DIR", help="directory to write the zip in (.)")
    p.set_defaults(func=_run_generate)
    return p


def _run_generate(args) -> int:
    try:
        path = generate_delivery(
            args.output, trajects=args.trajects, profiles=args.profiles, seed=args.seed, phase=args.phase,
            provider=args.provider, branch=args.branch, created=args.created, sequence=args.sequence,
            codelists=args.codelists,
        )
    except (ValueError, OSError) as exc:
        print(f"disval generate: error: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


def _count(text: str) -> int:
    value = int(text.replace("_", ""))
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {text}")
    return value


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None
