"""Hostile zips, built byte by byte from a clean delivery (issue 11).

`zipfile` only writes well-formed zips, so these helpers take one it wrote and
rewrite its central directory (and, where the attack needs it, a local
header): a version needed to extract of 255, a zip64 offset past 2**63, a
name with NUL, a local name that is not UTF-8. Each builder returns the bytes
of the whole zip.
"""
from __future__ import annotations

import io
import struct
import zipfile
from dataclasses import dataclass

CENTRAL, LOCAL, END = b"PK\x01\x02", b"PK\x03\x04", b"PK\x05\x06"
_CENTRAL_FIXED = struct.Struct("<4s6H3L5H2L")  # the 46 fixed bytes of a central directory entry


@dataclass
class Entry:
    """A central directory entry, its fixed fields by name."""

    fields: dict
    name: bytes
    extra: bytes
    comment: bytes


_NAMES = ("sig", "made_by", "needed", "flags", "method", "time", "date", "crc", "csize", "usize",
          "name_len", "extra_len", "comment_len", "disk", "iattr", "eattr", "offset")


def zip_bytes(members, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """(name, bytes) pairs as a zip, every member packed with `method`."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=method) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return out.getvalue()


def entries(data: bytes) -> tuple[int, list[Entry]]:
    """Where the central directory starts, and its entries."""
    end = data.rfind(END)
    count, _size, start = struct.unpack_from("<HLL", data, end + 10)
    pos, out = start, []
    for _ in range(count):
        fields = dict(zip(_NAMES, _CENTRAL_FIXED.unpack_from(data, pos)))
        pos += _CENTRAL_FIXED.size
        name = data[pos:pos + fields["name_len"]]
        extra = data[pos + fields["name_len"]:pos + fields["name_len"] + fields["extra_len"]]
        comment = data[pos + fields["name_len"] + fields["extra_len"]:
                       pos + fields["name_len"] + fields["extra_len"] + fields["comment_len"]]
        pos += fields["name_len"] + fields["extra_len"] + fields["comment_len"]
        out.append(Entry(fields, name, extra, comment))
    return start, out


def rebuild(data: bytes, edit) -> bytes:
    """The zip with `edit(entry)` applied to each central directory entry (it may change name and extra)."""
    start, old = entries(data)
    body = bytearray()
    for entry in old:
        edit(entry)
        f = entry.fields
        f["name_len"], f["extra_len"], f["comment_len"] = len(entry.name), len(entry.extra), len(entry.comment)
        body += _CENTRAL_FIXED.pack(*(f[n] for n in _NAMES)) + entry.name + entry.extra + entry.comment
    end = struct.pack("<4s4H2LH", END, 0, 0, len(old), len(old), len(body), start, 0)
    return data[:start] + bytes(body) + end


def member_named(name: str):
    """An `edit` for `rebuild` that applies `change(entry)` to the member `name` only."""
    def wrap(change):
        def edit(entry: Entry):
            if entry.name == name.encode():
                change(entry)
        return edit
    return wrap


def version_needed(data: bytes, member: str, version: int = 255) -> bytes:
    """The member claims to need zip version `version` to extract (zipfile refuses above 6.3)."""
    return rebuild(data, member_named(member)(lambda e: e.fields.update(needed=version)))


def zip64_offset(data: bytes, member: str, offset: int = (1 << 63) + 12345) -> bytes:
    """The member's local header is said to sit at `offset`, through a zip64 extra field."""
    def change(e: Entry):
        e.fields["offset"] = 0xFFFFFFFF
        e.extra = struct.pack("<HHQ", 1, 8, offset % (1 << 64)) + e.extra
    return rebuild(data, member_named(member)(change))


def renamed(data: bytes, member: str, raw_name: bytes, local_too: bool = False, utf8_flag: bool = False) -> bytes:
    """The member's central name set to `raw_name` (any bytes: NUL, not UTF-8, empty)."""
    data = bytearray(data)
    if local_too:
        _, old = entries(bytes(data))
        [entry] = [e for e in old if e.name == member.encode()]
        offset = entry.fields["offset"]
        name_len = struct.unpack_from("<H", data, offset + 26)[0]
        assert len(raw_name) == name_len, "a local name keeps its length so the data does not move"
        data[offset + 30:offset + 30 + name_len] = raw_name
        if utf8_flag:
            struct.pack_into("<H", data, offset + 6, struct.unpack_from("<H", data, offset + 6)[0] | 0x800)

    def change(e: Entry):
        e.name = raw_name if not local_too else e.name
        if utf8_flag and not local_too:
            e.fields["flags"] |= 0x800
    return rebuild(bytes(data), member_named(member)(change))


def garbled(data: bytes, member: str, start: int = 0, step: int = 1) -> bytes:
    """The member's compressed bytes XOR-ed from `start`, every `step`-th byte."""
    data = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo(member)
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    first = info.header_offset + 30 + name_len + extra_len
    for k in range(first + start, first + info.compress_size, step):
        data[k] ^= 0x5A
    return bytes(data)


def restamped(data: bytes, member: str, method: int | None = None, declared: int | None = None) -> bytes:
    """The member's compression method and/or uncompressed size rewritten in both headers, its bytes kept.

    Store a ready-made bzip2 stream and restamp it as bzip2 with a small
    declared size: a bomb that never passes through a compressor here.
    """
    data = bytearray(data)
    _, old = entries(bytes(data))
    [entry] = [e for e in old if e.name == member.encode()]
    offset = entry.fields["offset"]
    if method is not None:
        struct.pack_into("<H", data, offset + 8, method)
    if declared is not None:
        struct.pack_into("<L", data, offset + 22, declared)

    def change(e: Entry):
        if method is not None:
            e.fields["method"] = method
        if declared is not None:
            e.fields["usize"] = declared
    return rebuild(bytes(data), member_named(member)(change))
