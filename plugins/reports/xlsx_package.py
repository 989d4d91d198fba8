"""The workbook's file: XlsxWriter's parts, with the findings sheets' rows streamed in.

An .xlsx is a zip of XML parts (ECMA-376, Open Packaging Conventions). The
small sheets (summary, rules) and everything around them (styles, page
layout, the filters' defined names) are XlsxWriter's, written with the
findings sheets holding only their header row. This module copies those
parts into the zip it writes to `out`, and where a findings sheet's part
comes it writes the sheet's XML up to its header row, then the findings' rows
(from `xlsx_rows`, numbered here), then the rest of the sheet. It adds the
shared-strings part the rows refer to.

The rows are deflated on a second thread while this one makes the next ones
(the deflate libraries release the GIL while they compress), at level 1 and
by the fastest deflate library installed (python-isal where it has wheels):
a findings sheet is XML that repeats itself, and at level 1 it deflates
several times as fast as at the default level, to a somewhat larger file.
"""
from __future__ import annotations

import io
import itertools
import queue
import re
import threading
import zipfile
import zlib
from typing import Iterator
from xml.etree import ElementTree

from disval.core.delivery_zip import inflater

from .xlsx_rows import SharedStrings

LEVEL = 1  # deflate level of the workbook's parts (see the module's docstring)
ROWS_AT_ONCE = 4096  # rows joined and handed to the deflating thread at a time
WAITING = 2  # chunks of rows at most waiting for the deflating thread (bounds the memory they take)

SHARED_STRINGS = "xl/sharedStrings.xml"
_SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_SST_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_DIMENSION = re.compile(r'<dimension ref="([A-Z]+)1(?::([A-Z]+)\d+)?"/>')


class PackageError(Exception):
    """XlsxWriter's workbook is not laid out as this module expects (the findings sheet cannot be found)."""


def available(format_class) -> bool:
    """Whether XlsxWriter's cell formats (`format_class`) tell their number (XlsxWriter 3): the streamed rows
    refer to the wrap format by it."""
    return callable(getattr(format_class, "_get_xf_index", None))


def write(parts: bytes, out, sheets: list[tuple[str, int]], rows: Iterator[str], shared: SharedStrings) -> None:
    """Write the workbook to the binary file `out`: the zip `parts` (XlsxWriter's), each of `sheets`
    ((name, number of rows)) with that many of `rows` (row XML, see `xlsx_rows`) after its header row,
    and the shared-strings part of `shared` (which the rows fill as they are made: written last)."""
    with zipfile.ZipFile(io.BytesIO(parts)) as source:
        members = _sheet_members(source)
        wanted = {}
        for name, count in sheets:
            if name not in members:
                raise PackageError(f"no worksheet part for the sheet {name!r}")
            wanted[members[name]] = count
        if [i.filename for i in source.infolist() if i.filename in wanted] != list(wanted):
            raise PackageError("the findings sheets' parts are not in the order of the sheets")
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=LEVEL) as zf:
            for info in source.infolist():
                data = source.read(info)
                if info.filename in wanted:
                    _stream_sheet(zf, info, data.decode("utf-8"), rows, wanted[info.filename])
                    continue
                if info.filename == "[Content_Types].xml":
                    data = _with_override(data)
                elif info.filename == "xl/_rels/workbook.xml.rels":
                    data = _with_relationship(data)
                zf.writestr(_copied(info), data)
            zf.writestr(_copied(zipfile.ZipInfo(SHARED_STRINGS, (1980, 1, 1, 0, 0, 0))), shared.part())


def _sheet_members(source: zipfile.ZipFile) -> dict[str, str]:
    """{sheet name: its part's name in the zip}, read as Excel reads them (workbook and its relationships)."""
    try:
        book = ElementTree.fromstring(source.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(source.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError) as e:
        raise PackageError(f"workbook parts unreadable: {e}") from None
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(_PKG_REL)}
    members = {}
    for sheet in book.iter(f"{_MAIN}sheet"):
        target = targets.get(sheet.get(_REL_ID), "")
        members[sheet.get("name")] = target.lstrip("/") if target.startswith("/") else "xl/" + target
    return members


def _stream_sheet(zf: zipfile.ZipFile, info: zipfile.ZipInfo, xml: str, rows: Iterator[str], count: int) -> None:
    """One findings sheet: its XML with `count` of `rows` after the header row, its dimension widened to them."""
    end = xml.find("</sheetData>")
    if end < 0 or xml.count("</sheetData>") != 1:
        raise PackageError(f"{info.filename}: no sheetData to append rows to")
    head, tail = xml[:end], xml[end:]
    if count:
        head, widened = _DIMENSION.subn(lambda m: f'<dimension ref="{m[1]}1:{m[2] or m[1]}{count + 1}"/>', head, 1)
        if not widened:
            raise PackageError(f"{info.filename}: no dimension to widen")
    deflater = _Deflater(_fastest(zf.open(_copied(info), "w")))
    try:
        deflater.write(head.encode("utf-8"))
        done = 0
        while done < count:
            chunk = list(itertools.islice(rows, min(ROWS_AT_ONCE, count - done)))
            if not chunk:
                raise PackageError(f"{info.filename}: {count} rows announced, {done} made")
            deflater.write("".join(chunk).encode("utf-8"))  # unnumbered rows: see xlsx_rows.ROW_START
            done += len(chunk)
        deflater.write(tail.encode("utf-8"))
    finally:
        deflater.close()


def _fastest(member):
    """The zip entry `member` (being written) deflated by the fastest deflate library installed, the one
    disval inflates with (`delivery_zip.inflater`: python-isal, zlib-ng or zlib; deflate is a format, so any
    reader reads what any of them writes). zipfile has no way to choose one, so its own compressor is
    swapped where it has the one this expects; otherwise it stays zlib's."""
    library = inflater().module
    if library is not zlib and isinstance(getattr(member, "_compressor", None), type(zlib.compressobj())):
        member._compressor = library.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    return member


def _copied(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    """A new entry of the same name and time as `info`, deflated."""
    copy = zipfile.ZipInfo(info.filename, info.date_time)
    copy.compress_type = zipfile.ZIP_DEFLATED
    copy.external_attr = info.external_attr
    return copy


class _Deflater:
    """Writes chunks to a zip entry on a thread of its own: zlib compresses (and computes the CRC) without
    holding the GIL, so the next rows are made meanwhile. An error there is raised here."""

    def __init__(self, member):
        self.member, self.error = member, None
        self.chunks: queue.Queue = queue.Queue(WAITING)
        self.thread = threading.Thread(target=self._run, name="disval-xlsx-deflate", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (chunk := self.chunks.get()) is not None:
            if self.error is None:  # after an error, keep taking chunks so that the writer never waits
                try:
                    self.member.write(chunk)
                except BaseException as e:  # noqa: BLE001 (handed to the writing thread)
                    self.error = e

    def write(self, chunk: bytes) -> None:
        """Hand `chunk` over (waits while `WAITING` chunks are waiting)."""
        if self.error is not None:
            raise self.error
        self.chunks.put(chunk)

    def close(self) -> None:
        """Wait for the chunks handed over, then close the entry."""
        self.chunks.put(None)
        self.thread.join()
        if self.error is None:
            self.member.close()
            return
        try:  # the entry is closed all the same, so that the zip can be closed (and fail as it will)
            self.member.close()
        except Exception:  # noqa: BLE001 (the first error is the one to tell)
            pass
        raise self.error


def _with_override(types: bytes) -> bytes:
    """[Content_Types].xml with the shared-strings part's content type."""
    text = types.decode("utf-8")
    if f'PartName="/{SHARED_STRINGS}"' in text:
        raise PackageError("XlsxWriter wrote shared strings of its own")
    return text.replace("</Types>", f'<Override PartName="/{SHARED_STRINGS}" ContentType="{_SST_TYPE}"/></Types>',
                        1).encode("utf-8")


def _with_relationship(rels: bytes) -> bytes:
    """The workbook's relationships with one to the shared-strings part, under an id not yet taken."""
    text = rels.decode("utf-8")
    taken = set(re.findall(r'Id="([^"]+)"', text))
    rid = next(f"rId{n}" for n in itertools.count(len(taken) + 1) if f"rId{n}" not in taken)
    return text.replace("</Relationships>", f'<Relationship Id="{rid}" Type="{_SST_REL}" '
                        f'Target="sharedStrings.xml"/></Relationships>', 1).encode("utf-8")
