"""The one place where a delivery zip's bytes are parsed and decompressed.

A delivery comes from outside, so its bytes may be hostile: a corrupt
member, a directory that points past the end of the file, a name that is not
UTF-8, a "version needed to extract" no tool has, a compression method that
inflates a few kilobytes into gigabytes. `zipfile` meets such bytes with
whatever exception its parser happens to hit (BadZipFile, NotImplementedError,
struct.error, OverflowError, UnicodeDecodeError, EOFError, zlib.error,
IndexError, ...) and the set differs between Python versions. Only
`zipfile` runs inside the guards below, so any exception there means "these
bytes cannot be read": it becomes `Unreadable`, which the reader turns into a
located ZIP-UNREADABLE finding (GA §6.2.2 "Bestand niet herleidbaar").

Members are only ever read through `MemberStream`, which stops at the size
the directory declares, so the bomb limits checked on declared sizes hold for
the bytes actually produced. Only stored and deflate members are read: those
are what GA exports use, and `zipfile` inflates every bzip2 or LZMA read
whole, whatever size was asked for, so a small member of those methods could
take gigabytes before any check saw a byte.

Deflate is inflated by the fastest library installed: python-isal (ISA-L),
else zlib-ng, else the standard library's zlib. They produce the same bytes
(deflate is a format, not an implementation); the first two only do it two
to four times faster, which matters because inflating is a third of a large
validation. `$DISVAL_INFLATER` (isal, zlib-ng or zlib) chooses one by name.
"""
from __future__ import annotations

import functools
import io
import os
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# Compression methods a member may use (APPNOTE 4.4.5 numbers); anything else is not read.
ACCEPTED_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_METHOD_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA", 9: "deflate64", 6: "implode",
                 93: "zstd", 95: "xz", 98: "PPMd", 99: "AES-encrypted"}


# Fastest first: python-isal inflates the GA's members about four times as fast as zlib, zlib-ng three times.
INFLATERS = ("isal", "zlib-ng", "zlib")


@dataclass(frozen=True)
class Inflater:
    """A deflate library: `module` has zlib's `decompressobj(wbits)` and `crc32(data, value)`."""

    name: str
    module: object


@functools.lru_cache(maxsize=None)
def _load(name: str) -> Inflater | None:
    try:
        if name == "isal":
            from isal import isal_zlib as module
        elif name == "zlib-ng":
            from zlib_ng import zlib_ng as module
        else:
            import zlib as module
    except ImportError:  # an optional library that is not installed (no wheel for this platform)
        return None
    return Inflater(name, module)


def inflaters() -> list[str]:
    """The names of the inflaters installed here, fastest first (zlib is always there)."""
    return [name for name in INFLATERS if _load(name) is not None]


def inflater(name: str | None = None) -> Inflater:
    """The inflater called `name`, else the one `$DISVAL_INFLATER` names, else the fastest installed.

    A name that is unknown or not installed is a ValueError that says which are.
    """
    name = name or os.environ.get("DISVAL_INFLATER") or None
    if name is None:
        return next(_load(n) for n in INFLATERS if _load(n) is not None)
    chosen = _load(name) if name in INFLATERS else None
    if chosen is None:
        raise ValueError(f"inflater {name!r} is not installed; installed: {', '.join(inflaters())}")
    return chosen


class Unreadable(Exception):
    """The zip, or one member of it, cannot be read; the message says what went wrong."""


def _what(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def open_archive(path: Path) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """Open the zip and read its central directory; `Unreadable` when that fails in any way."""
    try:
        archive = zipfile.ZipFile(path)
    except Exception as exc:  # noqa: BLE001 - see the module docstring: any failure of the parser
        raise Unreadable(_what(exc)) from None
    return archive, archive.infolist()


def display_name(info: zipfile.ZipInfo) -> str:
    """The member's name as stored, NUL and all (zipfile cuts names at NUL, which would hide the trick)."""
    return info.orig_filename


def is_folder(info: zipfile.ZipInfo) -> bool:
    """A folder entry (its name ends in '/'); unlike ZipInfo.is_dir, safe for an empty name."""
    return info.orig_filename.endswith("/")


def name_problem(info: zipfile.ZipInfo) -> str | None:
    """Why the member's name cannot be a delivery file's name (ZIP-PATH), or None when it can."""
    name = info.orig_filename
    if not name:
        return "an empty name"
    if "\x00" in name:
        return "a NUL character in its name"
    pure = PurePosixPath(name.replace("\\", "/"))
    if is_folder(info) or len(pure.parts) != 1 or name.startswith(("/", "\\")) or ".." in pure.parts:
        return "a folder or '..' in its name"
    return None


def method_problem(info: zipfile.ZipInfo) -> str | None:
    """Why the member's compression method is not read, or None when it is stored or deflate."""
    if info.compress_type in ACCEPTED_METHODS:
        return None
    method = _METHOD_NAMES.get(info.compress_type, "an unknown method")
    accepted = " or ".join(ACCEPTED_METHODS.values())
    return f"compression method {info.compress_type} ({method}) is not accepted; pack members {accepted}"


# The local file header's fixed part (APPNOTE 4.3.7): 30 bytes, of which the last two fields are the
# lengths of the name and the extra field that stand between it and the member's data.
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")

# Compressed bytes read from the zip at a time: the inflater's input, not what it may produce. Enough
# for one read of a reader's batch (~6 MiB of records at a compression ratio of 2 or more) to be
# inflated in one call, so that its bytes are not joined from pieces.
_READ_BYTES = 4 << 20


class MemberStream(io.RawIOBase):
    """A member's uncompressed bytes, read in chunks; never more than its declared size.

    `zipfile` checks the member's local header (signature, name, flags); the
    compressed bytes after it are then read from a file handle of this
    stream's own, so that a second thread can read a member while the zip
    is used elsewhere, and inflated by the fastest inflater installed
    (`inflater()`), asked each time for no more bytes than may remain.
    Every failure to read (corrupt data, a bad local header, a CRC error at
    the end, a member longer or shorter than declared) raises `Unreadable`.
    It is a raw binary stream, so a reader of text wraps it in
    io.BufferedReader and io.TextIOWrapper.
    """

    def __init__(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, inflate: Inflater | None = None):
        super().__init__()
        if method_problem(info):
            raise Unreadable(method_problem(info))
        self.declared = info.file_size
        self.produced = 0
        self.inflater = inflate or inflater()
        self._expected_crc = info.CRC
        self._crc = 0
        self._file = None
        try:
            with archive.open(info):  # zipfile's checks of the local header, and nothing more
                pass
            self._file = open(archive.filename, "rb")
            self._file.seek(info.header_offset)
            header = self._file.read(_LOCAL_HEADER.size)
            *_, name_length, extra_length = _LOCAL_HEADER.unpack(header)
            self._file.seek(info.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
        except Exception as exc:  # noqa: BLE001 - any failure of the parser, see the module docstring
            self.close()
            raise Unreadable(_what(exc)) from None
        self._left = info.compress_size  # compressed bytes not read from the zip yet
        self._pending = b""  # compressed bytes read but not inflated yet
        self._stored = info.compress_type == zipfile.ZIP_STORED
        self._decompressor = None if self._stored else self.inflater.module.decompressobj(-15)
        self._ended = False

    def readable(self) -> bool:
        """Always: a member is read, never written."""
        return True

    def readinto(self, buffer) -> int:
        """Fill `buffer` with up to its length of bytes; 0 at the end of the member."""
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes (all that is left when negative); b"" at the end of the member."""
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(1 << 20), b""))
        # One byte more than may remain, so a member longer than declared shows itself
        # without inflating more than a byte past the limit.
        wanted = min(size, self.declared - self.produced + 1)
        pieces, got = [], 0
        try:
            while got < wanted and not self._ended:
                piece = self._next(wanted - got)
                if piece:
                    pieces.append(piece)
                    got += len(piece)
        except Unreadable:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever the inflater raises on corrupt data
            raise Unreadable(_what(exc)) from None
        data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        self.produced += len(data)
        if self.produced > self.declared:
            raise Unreadable(f"unpacks past its declared size of {self.declared} bytes")
        self._crc = self.inflater.module.crc32(data, self._crc)
        if self._ended:
            self._check_end()
        return data

    def _next(self, most: int) -> bytes:
        """At most `most` more bytes of the member (perhaps none); sets `_ended` at its end."""
        if not self._pending and self._left:
            self._pending = self._file.read(min(_READ_BYTES, self._left))
            if not self._pending:
                raise Unreadable(f"the zip ends {self._left} bytes before this member's compressed data does")
            self._left -= len(self._pending)
        if self._stored:
            piece, self._pending = self._pending[:most], self._pending[most:]
            self._ended = not self._left and not self._pending
            return piece
        piece = self._decompressor.decompress(self._pending, most)
        self._pending = self._decompressor.unconsumed_tail
        # Bytes after the deflate stream's end are ignored, as zipfile does; input that runs out
        # before the stream's end leaves the member short, which the size and CRC checks report.
        self._ended = self._decompressor.eof or (not self._left and not self._pending and not piece)
        return piece

    def _check_end(self) -> None:
        if self.produced < self.declared:
            raise Unreadable(f"unpacks to {self.produced} bytes, its directory declares {self.declared}")
        if self._crc != self._expected_crc:
            raise Unreadable(f"Bad CRC-32: {self._crc:08x}, the directory says {self._expected_crc:08x}")

    def close(self) -> None:
        """Release the member (the zip itself stays open)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        super().close()
