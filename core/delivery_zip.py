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
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path, PurePosixPath

# Compression methods a member may use (APPNOTE 4.4.5 numbers); anything else is not read.
ACCEPTED_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_METHOD_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA", 9: "deflate64", 6: "implode",
                 93: "zstd", 95: "xz", 98: "PPMd", 99: "AES-encrypted"}


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


class MemberStream(io.RawIOBase):
    """A member's uncompressed bytes, read in chunks; never more than its declared size.

    Every failure to read (corrupt data, a bad local header, a CRC error at the
    end, a member longer than declared) raises `Unreadable`. It is a raw binary
    stream, so a reader of text wraps it in io.BufferedReader and io.TextIOWrapper.
    """

    def __init__(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo):
        super().__init__()
        if method_problem(info):
            raise Unreadable(method_problem(info))
        self.declared = info.file_size
        self.produced = 0
        try:
            self._stream = archive.open(info)
        except Exception as exc:  # noqa: BLE001 - any failure of the parser, see the module docstring
            raise Unreadable(_what(exc)) from None

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
        try:
            data = self._stream.read(wanted)
        except Exception as exc:  # noqa: BLE001 - any failure of the parser, see the module docstring
            raise Unreadable(_what(exc)) from None
        self.produced += len(data)
        if self.produced > self.declared:
            raise Unreadable(f"unpacks past its declared size of {self.declared} bytes")
        return data

    def close(self) -> None:
        """Release the member (the zip itself stays open)."""
        try:
            self._stream.close()
        except Exception:  # noqa: BLE001 - closing a broken member must not hide why it broke
            pass
        super().close()
