"""Open a delivery zip safely and stream its member files as batches of fixed-width records.

Nothing is extracted to disk and no member is held in memory whole: members
are decompressed in chunks and cut into records. A chunk of well-formed
records (every line exactly the record length plus CR/LF) becomes a byte
matrix without a Python loop; a chunk with a bad line is cut with array
operations too, into chunks of at most a batch of lines, so neither time nor
memory depends on how many lines are malformed.
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
    """A line that is not a record of the file's length (GA: regellengte); it gets no field findings.

    The standard's record-length rule reports it, else `REC-LENGTH`; a reader
    that has reported the line with a finding of its own sets `reported`.
    """

    line: int
    length: int
    reported: bool = False


def _ints(values=()) -> np.ndarray:
    return np.asarray(values, dtype=np.int64).reshape(-1)


@dataclass
class RecordChunk:
    """Records read from one member: good ones as a matrix, plus the lines that were not.

    Lines that are not a record of the file's length are kept as two arrays,
    `bad_lines` and `bad_lengths`, so that a member of millions of bad lines
    costs a few vector operations, never an object per line. A reader may
    pass `bad` as a list of `BadRecord` instead; it is folded into the arrays.
    `bad_reported` marks the bad lines the reader already reported with a
    finding of its own (all False unless given). `eol` holds the lines not
    ended by CR/LF. `bad_heads` holds the first bytes (up to the record
    length, zero-padded) of at most MAX_BAD_HEADS of the bad lines, the first
    ones, in the order of `bad_lines`: a key may still be read from them, to
    name the cause of follow-on findings.
    """

    rows: np.ndarray
    lines: np.ndarray
    bad: list[BadRecord] = field(default_factory=list)
    eol: np.ndarray = field(default_factory=_ints)
    bad_lines: np.ndarray = field(default_factory=_ints)
    bad_lengths: np.ndarray = field(default_factory=_ints)
    bad_heads: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.uint8))
    bad_reported: np.ndarray | None = None

    def __post_init__(self):
        reported = np.zeros(len(_ints(self.bad_lines)), bool) if self.bad_reported is None else self.bad_reported
        if self.bad:
            self.bad_lines = np.concatenate([_ints(self.bad_lines), _ints([b.line for b in self.bad])])
            self.bad_lengths = np.concatenate([_ints(self.bad_lengths), _ints([b.length for b in self.bad])])
            reported = np.concatenate([np.asarray(reported, bool), np.array([b.reported for b in self.bad], bool)])
            self.bad = []
        self.eol, self.bad_lines, self.bad_lengths = _ints(self.eol), _ints(self.bad_lines), _ints(self.bad_lengths)
        self.bad_reported = np.asarray(reported, bool).reshape(-1)

    @property
    def line_count(self) -> int:
        """Every line this chunk covers: records and bad lines."""
        return len(self.lines) + len(self.bad_lines)


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
    `bad_lines`/`bad_lengths` (or `bad`), lines not ended by CR/LF to `eol`; a
    bad line the reader reported with a finding of its own is marked in
    `bad_reported` (or `BadRecord.reported`), so that no `REC-LENGTH` is added.
    A member that cannot be read adds a finding to `delivery.findings` and
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
            yield from _cut(stream, width, limits, batch_records * (width + 2), batch_records)
    except Unreadable as exc:
        delivery.unreadable_member(layout.name, exc)


def _cut(stream: MemberStream, width: int, limits: Limits, chunk: int, max_lines: int) -> Iterator[RecordChunk]:
    stride = width + 2
    chunk = max(stride, chunk // stride * stride)
    pending = b""
    line = 0  # lines emitted so far
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
            yield from _slow(buf[:cut], width, line, max_lines)
            line += buf.count(b"\n", 0, cut)
        pending = buf[cut:]
        if len(pending) > limits.max_line_bytes:
            # An absurd line: one bad record, whose bytes are counted but not kept.
            line += 1
            long_line, long_bytes, pending = line, len(pending), b""
    if long_line:
        chunk_out = _long_record(long_line, long_bytes, width)
        chunk_out.eol = _ints([long_line])
        yield chunk_out
    elif pending:
        # Whole lines the fast path left over (a last record of another length), and perhaps
        # a last record without LF: read them, and say so of the last (once: _slow already
        # marks a line without CR).
        ended = pending.endswith(b"\n")
        chunks = list(_slow(pending if ended else pending + b"\n", width, line, max_lines))
        last = line + pending.count(b"\n") + (not ended)
        if not ended and last not in chunks[-1].eol:
            chunks[-1].eol = np.append(chunks[-1].eol, last)
        yield from chunks


def _long_record(line: int, length: int, width: int) -> RecordChunk:
    return RecordChunk(np.zeros((0, width), np.uint8), _ints(), bad_lines=_ints([line]), bad_lengths=_ints([length]))


def _fast(buf: bytes, usable: int, width: int) -> np.ndarray | None:
    flat = np.frombuffer(buf, dtype=np.uint8, count=usable)
    matrix = flat.reshape(-1, width + 2)
    if not ((matrix[:, width] == 13).all() and (matrix[:, width + 1] == 10).all()):
        return None
    # Every line ends in LF: no record holds one when the whole buffer has no others. Counted over the
    # contiguous buffer, which is cheaper than searching the records' strided bytes.
    if np.count_nonzero(flat == 10) != len(matrix):
        return None
    return matrix[:, :width]


# The slow path looks at this many bytes at a time: its index arrays (8 bytes per line end
# found) stay at a few MiB even when every byte is a line end.
WINDOW_BYTES = 1 << 20


# Bad lines per chunk whose first bytes are kept (RecordChunk.bad_heads): enough for every listed
# follow-on finding in practice, and bounded however many lines are broken.
MAX_BAD_HEADS = 10_000


def _slow(buf: bytes, width: int, line: int, max_lines: int) -> Iterator[RecordChunk]:
    """Cut `buf` (whole lines, the last ended by LF) into records and bad lines, numbered after `line`.

    Vectorised: line ends are found, classified and gathered with array
    operations, a window of bytes at a time, and yielded in chunks of at most
    `max_lines` lines, so time and memory do not depend on how the lines are
    malformed.
    """
    data = np.frombuffer(buf, np.uint8)
    pos = 0
    while pos < len(data):
        ends = np.flatnonzero(data[pos:pos + WINDOW_BYTES] == 10)
        if not len(ends):  # one line longer than the window (at most max_line_bytes)
            ends = _ints([buf.index(b"\n", pos + WINDOW_BYTES) - pos])
        ends += pos
        for first in range(0, len(ends), max_lines):
            group = ends[first:first + max_lines]
            starts = np.empty_like(group)
            starts[0] = pos
            starts[1:] = group[:-1] + 1
            yield _classify(data, starts, group, width, line)
            line += len(group)
            pos = int(group[-1]) + 1


def _classify(data: np.ndarray, starts: np.ndarray, ends: np.ndarray, width: int, line: int) -> RecordChunk:
    """Lines from `starts` to the LF at `ends`: records of `width` bytes (+ CR), the rest bad."""
    cr = (ends > starts) & (data[np.maximum(ends - 1, 0)] == 13)
    lengths = ends - starts - cr
    lines = np.arange(line + 1, line + 1 + len(ends), dtype=np.int64)
    good = lengths == width
    rows = np.zeros((0, width), np.uint8)
    if good.any():
        # Every position as the start of a width-byte row (a view), then only the good ones copied.
        windows = np.lib.stride_tricks.sliding_window_view(data, width)
        rows = windows[starts[good]]
    bad = ~good
    return RecordChunk(rows, lines[good], eol=lines[~cr], bad_lines=lines[bad], bad_lengths=lengths[bad],
                       bad_heads=_heads(data, starts[bad][:MAX_BAD_HEADS], lengths[bad][:MAX_BAD_HEADS], width))


def _heads(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray, width: int) -> np.ndarray:
    """The first `width` bytes of each line (zeros past its end), as a matrix."""
    heads = np.zeros((len(starts), width), np.uint8)
    if len(starts):
        cols = np.arange(width)
        at = np.minimum(starts[:, None] + cols, len(data) - 1)
        heads[:] = data[at]
        heads[cols >= lengths[:, None]] = 0
    return heads
