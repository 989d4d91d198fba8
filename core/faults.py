"""Plant faults in a delivery: rewrite one member, or one field of one record.

Tests take a valid generated delivery (`disval.core.generate`) and plant
exactly one fault, so that exactly one finding is expected. Members are
streamed, so this works on benchmark-sized deliveries too.
"""
from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .synthetic import COMPRESSLEVEL

Transform = Callable[[Iterator[bytes]], "Iterable[bytes] | None"]


def rewrite_member(zip_path, out_path, member: str, transform: Transform) -> Path:
    """Copy the zip to `out_path` with `member` passed through `transform`; return the path written.

    `transform(lines)` receives the member's lines as bytes, line ends
    included, and returns the bytes to write instead, or None to leave the
    member out. Other members are copied unchanged, in their order.
    `out_path` is a directory (created if needed; the zip keeps its name) or,
    ending in .zip, the path to write; it may be `zip_path` itself.
    """
    zip_path = Path(zip_path)
    target = _target(zip_path, Path(out_path))
    part = target.with_name(target.name + ".part")
    try:
        with zipfile.ZipFile(zip_path) as zin, zipfile.ZipFile(part, "w") as zout:
            name = _member_name(zin, member)
            for info in zin.infolist():
                with zin.open(info) as src:
                    if info.filename != name:
                        with zout.open(_copy(info), "w", force_zip64=info.file_size > zipfile.ZIP64_LIMIT) as dst:
                            shutil.copyfileobj(src, dst, 1 << 20)
                        continue
                    chunks = transform(iter(src))
                    if chunks is None:
                        continue
                    # zip64 only where the output may pass 2 GiB (twice the original, to be safe), so
                    # that small test deliveries look like ordinary zips.
                    with zout.open(_copy(info), "w", force_zip64=2 * info.file_size > zipfile.ZIP64_LIMIT) as dst:
                        for chunk in chunks:
                            dst.write(chunk)
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)
    return target


def plant_fault(zip_path, out_path, file: str, line: int, ddid: str, raw_value: str, *, standard=None) -> Path:
    """Copy the zip with field `ddid` of record `line` (1-based) of `file` set to `raw_value`.

    `raw_value` is written as is when it fills the field; a shorter value is
    padded as the GA pads that type (N right-aligned with leading spaces,
    AN and D left-aligned with trailing spaces). Anything that does not fit,
    or a record that does not exist, is a ValueError.
    """
    if standard is None:
        from .generate import resolve_standard
        from .plugins import get_plugin_manager

        standard = resolve_standard(get_plugin_manager(), None)
    layout = standard.layout.file(file)
    if layout is None:
        raise ValueError(f"standard {standard.id} has no file {file}")
    fld = next((f for f in layout.fields if f.ddid == ddid), None)
    if fld is None:
        raise ValueError(f"{layout.name} has no field {ddid}")
    try:
        raw = raw_value.encode("iso-8859-1")
    except UnicodeEncodeError:
        raise ValueError(f"{fld.label}: {raw_value!r} cannot be written in ISO-8859-1") from None
    if len(raw) > fld.length:
        raise ValueError(f"{fld.label}: {raw_value!r} is {len(raw)} bytes, the field holds {fld.length}")
    raw = raw.rjust(fld.length) if fld.type == "N" else raw.ljust(fld.length)
    if line < 1:
        raise ValueError(f"line must be 1 or more, not {line}")

    def replace(lines: Iterator[bytes]) -> Iterator[bytes]:
        seen = 0
        for seen, record in enumerate(lines, start=1):
            if seen == line:
                if len(record.rstrip(b"\r\n")) < fld.end:
                    raise ValueError(f"{layout.name}:{line}: the record is too short to hold {fld.label}")
                record = record[:fld.start] + raw + record[fld.end:]
            yield record
        if seen < line:
            raise ValueError(f"{layout.name} has {seen} record{'' if seen == 1 else 's'}; there is no line {line}")

    return rewrite_member(zip_path, out_path, layout.name, replace)


def _target(zip_path: Path, out_path: Path) -> Path:
    # As in generate_delivery: a path without .zip is a directory, so the copy keeps its GA name.
    if out_path.suffix.lower() != ".zip":
        out_path.mkdir(parents=True, exist_ok=True)
        return out_path / zip_path.name
    out_path.parent.mkdir(parents=True, exist_ok=True)
    return out_path


def _member_name(zin: zipfile.ZipFile, member: str) -> str:
    names = zin.namelist()
    if member in names:
        return member
    # The GA writes member names both as .txt and .TXT.
    folded = [n for n in names if n.lower() == member.lower()]
    if len(folded) == 1:
        return folded[0]
    raise ValueError(f"{zin.filename}: no member {member}; it has {', '.join(names) or 'none'}")


def _copy(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    new = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    new.compress_type = info.compress_type
    new.create_system = info.create_system
    new.external_attr = info.external_attr
    new._compresslevel = COMPRESSLEVEL  # see disval.core.synthetic.member
    return new
