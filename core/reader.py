"""Open a delivery zip safely and stream its member files as batches of fixed-width records.

Nothing is extracted to disk and no member is held in memory whole: members
are decompressed in chunks and cut into records. A chunk of well-formed
records (every line exactly the record length plus CR/LF) becomes a byte
matrix without a Python loop; a chunk with a bad line is cut line by line.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Protocol

import numpy as np

from .delivery_zip import MemberStream, Unreadable, display_name, is_folder, method_problem, name_problem, open_archive
from .findings import ZIP_LEVEL, Finding
from .layout import FileLayout
from .standard import Standard, ZipName

CHUNK_BYTES = 4 << 20
BATCH_RECORDS = 1 << 16


@dataclass(frozen=True)
class Limits:
    """Refuse zips that unpack past these (a zip bomb) or carry absurd lines."""

    max_total_bytes: int = 16 << 30
    max_ratio: int = 1000  # uncompressed / compressed, for members over 1 MiB
    max_line_bytes: int = 1 << 20


@dataclass
class BadRecord:
    """A line that is not a record of the file's length (GA: regellengte); it gets no field findings."""

    line: int
    length: int


@dataclass
class RecordChunk:
    """Records read from one member: good ones as a matrix, plus the lines that were not."""

    rows: np.ndarray
    lines: np.ndarray
    bad: list[BadRecord] = field(default_factory=list)
    eol: list[int] = field(default_factory=list)  # lines not ended by CR/LF


@dataclass
class Delivery:
    """An opened delivery: its name, members and zip-level findings."""

    path: Path
    name: str
    standard: Standard
    zip_name: ZipName | None
    archive: zipfile.ZipFile | None
    members: dict[str, zipfile.ZipInfo] = field(default_factory=dict)  # layout file name -> member
    found_as: dict[str, str] = field(default_factory=dict)  # layout file name -> member name as found
    missing: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # zip-level findings without a number
    unreadable: set[str] = field(default_factory=set)  # layout file names that could not be read whole

    def open_member(self, name: str) -> MemberStream:
        """The uncompressed bytes of the member that holds layout file `name`; reading it
        raises `Unreadable` (never anything else) when its bytes are broken."""
        return MemberStream(self.archive, self.members[name])

    def unreadable_member(self, name: str, problem: Unreadable | str) -> None:
        """Record that the member holding layout file `name` could not be read, and why."""
        self.findings.append(zip_finding("ZIP-UNREADABLE", file=self.found_as.get(name, name),
                                         value=self.found_as.get(name, name), detail=str(problem)))
        self.unreadable.add(name)

    def close(self) -> None:
        """Close the zip."""
        if self.archive is not None:
            self.archive.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def zip_finding(rule: str, file: str | None = None, value: str | None = None, detail: str = "") -> Finding:
    """A zip-level finding with a stable id from `ZIP_LEVEL`."""
    message = ZIP_LEVEL[rule] + (f" ({detail})" if detail else "")
    return Finding(rule=rule, type="V", severity="ERR", file=file, line=None, column=None,
                   ddid=None, value=value, message=message)


def open_delivery(path: Path, standard: Standard, limits: Limits = Limits()) -> Delivery:
    """Open the zip and check its name and member set; problems become findings, never exceptions."""
    path = Path(path)
    delivery = Delivery(path=path, name=path.name, standard=standard,
                        zip_name=standard.naming.parse(path.name), archive=None)
    if delivery.zip_name is None:
        delivery.findings.append(zip_finding("ZIP-NAME", value=path.name))
    try:
        archive, infos = open_archive(path)
    except Unreadable as exc:
        delivery.findings.append(zip_finding("ZIP-UNREADABLE", value=path.name, detail=str(exc)))
        delivery.unreadable.update(standard.members)  # what it holds cannot be told: no 726
        return delivery
    delivery.archive = archive
    files = [i for i in infos if not is_folder(i)]
    if not files:
        delivery.findings.append(zip_finding("ZIP-EMPTY", value=path.name))
    total = sum(i.file_size for i in files)
    if total > limits.max_total_bytes:
        delivery.findings.append(zip_finding("ZIP-BOMB", value=path.name,
                                             detail=f"{total} bytes unpacked, limit {limits.max_total_bytes}"))
        delivery.unreadable.update(standard.members)  # delivered, but not read
        return delivery
    for info in infos:
        _admit(delivery, info, limits)
    for name in standard.members:
        if name not in delivery.members and name not in delivery.unreadable:
            delivery.missing.append(name)
    return delivery


def _admit(delivery: Delivery, info: zipfile.ZipInfo, limits: Limits) -> None:
    name = display_name(info)
    problem = name_problem(info)
    if problem:
        delivery.findings.append(zip_finding("ZIP-PATH", file=name, value=name, detail=problem))
        return
    layout = delivery.standard.layout.file(name)
    if layout is None:
        delivery.unknown.append(name)
        return
    if layout.name in delivery.members or layout.name in delivery.unreadable:
        delivery.duplicated.append(name)
        return
    if info.flag_bits & 0x1:
        delivery.findings.append(zip_finding("ZIP-ENCRYPTED", file=name, value=name))
        delivery.unreadable.add(layout.name)
        return
    if info.file_size > (1 << 20) and info.file_size > limits.max_ratio * max(info.compress_size, 1):
        delivery.findings.append(zip_finding(
            "ZIP-BOMB", file=name, value=name,
            detail=f"{info.file_size} bytes from {info.compress_size}, ratio limit {limits.max_ratio}"))
        delivery.unreadable.add(layout.name)
        return
    problem = method_problem(info)
    if problem:
        delivery.findings.append(zip_finding("ZIP-UNREADABLE", file=name, value=name, detail=problem))
        delivery.unreadable.add(layout.name)
        return
    delivery.members[layout.name] = info
    delivery.found_as[layout.name] = name


class RecordReader(Protocol):
    """What the `disval_record_reader` hook returns; `read_records` below is the built-in one.

    Streams the records of member `layout.name` as chunks of `layout.record_length`
    bytes per record, numbered by `lines`; lines that do not make a record go to
    `bad`. A member that cannot be read adds a finding to `delivery.findings` and
    its name to `delivery.unreadable`, and ends the stream; it never raises.
    """

    def __call__(self, delivery: Delivery, layout: FileLayout, limits: Limits,
                 batch_records: int) -> Iterator[RecordChunk]: ...


def read_records(delivery: Delivery, layout: FileLayout, limits: Limits = Limits(),
                 batch_records: int = BATCH_RECORDS) -> Iterator[RecordChunk]:
    """Stream the records of one member in chunks. A read error ends the member with a finding."""
    width = layout.record_length
    try:
        with delivery.open_member(layout.name) as stream:
            yield from _cut(stream, width, limits, batch_records * (width + 2))
    except Unreadable as exc:
        delivery.unreadable_member(layout.name, exc)


def _cut(stream: MemberStream, width: int, limits: Limits, chunk: int) -> Iterator[RecordChunk]:
    stride = width + 2
    chunk = max(stride, chunk // stride * stride)
    pending = b""
    line = 0  # records emitted so far
    long_line = 0  # line number of an over-long line being skipped (0: none)
    long_bytes = 0
    while True:
        data = stream.read(chunk)
        if not data:
            break
        buf = pending + data if pending else data
        if long_line:
            nl = buf.find(b"\n")
            if nl < 0:
                long_bytes += len(buf)
                pending = b""
                continue
            yield _long_record(long_line, long_bytes + len(buf[:nl].rstrip(b"\r")), width)
            buf, long_line = buf[nl + 1:], 0
        usable = len(buf) // stride * stride
        if usable:
            fast = _fast(buf, usable, width)
            if fast is not None:
                yield RecordChunk(fast, np.arange(line + 1, line + 1 + len(fast), dtype=np.int64))
                line += len(fast)
                pending = buf[usable:]
                continue
        cut = buf.rfind(b"\n") + 1
        if cut:
            out = _slow(buf[:cut], width, line)
            line = out.lines_total
            yield out.chunk
        pending = buf[cut:]
        if len(pending) > limits.max_line_bytes:
            # An absurd line: one bad record, whose bytes are counted but not kept.
            line += 1
            long_line, long_bytes, pending = line, len(pending), b""
    if long_line:
        chunk_out = _long_record(long_line, long_bytes, width)
        chunk_out.eol.append(long_line)
        yield chunk_out
    elif pending:
        # Whole lines the fast path left over (a last record of another length), and perhaps
        # a last record without LF: read them, and say so of the last (once: _slow already
        # marks a line without CR).
        ended = pending.endswith(b"\n")
        out = _slow(pending if ended else pending + b"\n", width, line)
        if not ended and out.lines_total not in out.chunk.eol:
            out.chunk.eol.append(out.lines_total)
        yield out.chunk


def _long_record(line: int, length: int, width: int) -> RecordChunk:
    return RecordChunk(np.zeros((0, width), np.uint8), np.zeros(0, np.int64), [BadRecord(line, length)])


def _fast(buf: bytes, usable: int, width: int) -> np.ndarray | None:
    matrix = np.frombuffer(buf, dtype=np.uint8, count=usable).reshape(-1, width + 2)
    if not ((matrix[:, width] == 13).all() and (matrix[:, width + 1] == 10).all()):
        return None
    rows = matrix[:, :width]
    if (rows == 10).any():
        return None
    return rows


@dataclass
class _SlowOut:
    chunk: RecordChunk
    lines_total: int


def _slow(buf: bytes, width: int, line: int) -> _SlowOut:
    good: list[bytes] = []
    good_lines: list[int] = []
    bad: list[BadRecord] = []
    eol: list[int] = []
    for raw in buf.split(b"\n")[:-1]:
        line += 1
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        else:
            eol.append(line)
        if len(raw) == width:
            good.append(raw)
            good_lines.append(line)
        else:
            bad.append(BadRecord(line, len(raw)))
    rows = np.frombuffer(b"".join(good), dtype=np.uint8).reshape(-1, width) if good else np.zeros((0, width), np.uint8)
    return _SlowOut(RecordChunk(rows, np.array(good_lines, dtype=np.int64), bad, eol), line)
