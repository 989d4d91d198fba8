"""What both engines share: the run context, the batch of records, findings and record marks.

An engine evaluates compiled rules; how records are read and which rules are
in force is the pipeline's business. Two engines implement the same
interface (`record_batch`, `finish`): the columnar one and the straightforward
reference one that checks it.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from ..codelists import Codelist
from ..findings import MAX_DISTINCT, Finding
from ..language.checks import Cmp, Col, Const, CountOf
from ..language.compiler import CompiledRule
from ..layout import Field, FileLayout
from . import columns


@dataclass
class Context:
    """What rules may read besides the record: the zip name, the packing slip, codelists, counts."""

    zip_parts: dict[str, str] | None
    slip: FileLayout | None
    slip_row: bytes | None  # the single packing-slip record, when there is exactly one of the right length
    codelists: dict[str, Codelist] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # records per file, after reading
    delivery_date: dt.date | None = None
    today: dt.date = field(default_factory=dt.date.today)  # the run's date: `today` in rules
    where_counts: dict = field(default_factory=dict)  # CountOf(where) -> records that met it
    parents: object = None  # the engine's lookup of parent records' fields
    records_of: object = None  # the reference engine's records of a file (for counts with a condition)

    @property
    def today_yyyymmdd(self) -> int:
        """The run's date as YYYYMMDD."""
        return self.today.year * 10000 + self.today.month * 100 + self.today.day

    def slip_text(self, fld: Field) -> bytes | None:
        """The packing-slip field's bytes, or None without a usable packing slip."""
        if self.slip_row is None:
            return None
        return self.slip_row[fld.start:fld.end]


@dataclass
class Batch:
    """Records of one file that have the right length: an (n, record length) byte matrix."""

    file: FileLayout
    rows: np.ndarray
    lines: np.ndarray  # 1-based record numbers

    def __post_init__(self):
        self.cache: dict = {}
        self._cols: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.lines)

    def raw(self, fld: Field) -> np.ndarray:
        """The (n, width) bytes of one field, record by record."""
        return self.rows[:, fld.start:fld.end]

    def column(self, fld: Field) -> np.ndarray:
        """The (width, n) bytes of one field, position by position (field-major, contiguous rows)."""
        return self.field_major()[fld.start:fld.end]

    def field_major(self) -> np.ndarray:
        """The whole (record length, n) matrix field-major, made once (on the reader thread, see
        validation_run._prepared)."""
        if self._cols is None:
            from .columns import field_major

            self._cols = field_major(self.rows)
        return self._cols


class RecordMarks:
    """Which records of each file have at least one ERR or WRN finding (counted, never capped).

    Kept per block of 65,536 lines: the few blocks being marked (marks come
    in reading order, a batch at a time) as plain booleans, the others packed
    to bits (8 KiB), and a block whose every line is marked as one shared
    constant. A member of millions of bad lines costs a few bytes per block,
    not a byte per line.
    """

    BLOCK = 1 << 16
    OPEN = 4  # blocks per file and severity kept unpacked
    _FULL = "full"  # a packed block in which every line is marked

    def __init__(self):
        self._packed: dict[tuple[str, str], dict[int, np.ndarray | str]] = {}
        self._open: dict[tuple[str, str], dict[int, np.ndarray]] = {}  # oldest first

    def mark(self, file: str, severity: str, lines: np.ndarray) -> None:
        """Mark the records at these 1-based lines."""
        if len(lines) == 0:
            return
        key = (file, severity)
        index = np.asarray(lines, dtype=np.int64) - 1
        if (index[1:] < index[:-1]).any():  # most callers mark lines in reading order already
            index = np.sort(index)
        number = index >> 16
        cuts = np.flatnonzero(number[1:] != number[:-1]) + 1
        for part in np.split(index, cuts) if len(cuts) else (index,):
            bits = self._bits(key, int(part[0] >> 16))
            if bits is not None:
                bits[part & (self.BLOCK - 1)] = True

    def _bits(self, key, block: int) -> np.ndarray | None:
        """The block's marks as booleans to set, or None when every line of it is marked already."""
        opened = self._open.setdefault(key, {})
        bits = opened.get(block)
        if bits is not None:
            return bits
        packed = self._packed.setdefault(key, {})
        stored = packed.get(block)
        if stored is self._FULL:
            return None
        packed.pop(block, None)
        bits = opened[block] = (np.unpackbits(stored).view(bool) if stored is not None
                                else np.zeros(self.BLOCK, bool))
        if len(opened) > self.OPEN:
            oldest = next(iter(opened))
            done = opened.pop(oldest)
            packed[oldest] = self._FULL if done.all() else np.packbits(done)
        return bits

    def counts(self) -> dict[str, dict[str, int]]:
        """file -> {"ERR": records, "WRN": records}."""
        out: dict[str, dict[str, int]] = {}
        for key in dict.fromkeys([*self._packed, *self._open]):  # a set's order would vary run to run
            file, severity = key
            total = sum(self.BLOCK if bits is self._FULL else int(np.unpackbits(bits).sum())
                        for bits in self._packed.get(key, {}).values())
            total += sum(int(bits.sum()) for bits in self._open.get(key, {}).values())
            out.setdefault(file, {})[severity] = total
        return out


def record_finding(rule: CompiledRule, line: int | None, value: str | None, subject: Field | None = None,
                   *, record: bytes | None = None, ctx: "Context | None" = None,
                   expected: str | None = None) -> Finding:
    """A finding of `rule` at a record (or file, when line is None).

    With `ctx`, the finding also carries the values of the other fields the
    rule reads (from `record`, or from the packing slip), so that the person
    fixing the export sees every value involved.
    """
    r = rule.rule
    fld = subject or rule.subject
    return Finding(
        rule=r.number, type=r.type, severity=r.severity, file=rule.file, line=line,
        column=fld.begin if fld and line is not None and fld.file == rule.file else None,
        column_end=fld.end if fld and line is not None and fld.file == rule.file else None,
        ddid=fld.ddid if fld else None, field=fld.name if fld else None, value=value, message=r.message,
        expected=expected, related=related_values(rule, fld, record, ctx) if ctx is not None else (),
    )


def related_values(rule: CompiledRule, subject: Field | None, record: bytes | None, ctx: "Context"):
    """(ddid, name, value) of every field the rule reads besides its subject; None where unknown."""
    out = []
    for col in _columns(rule.check):
        fld = col.field
        if subject is not None and fld.ddid == subject.ddid:
            continue
        if col.scope == "slip":
            raw = ctx.slip_text(fld)
        else:
            raw = record[fld.start:fld.end] if record is not None and fld.file == rule.file else None
        out.append((fld.ddid, fld.name, None if raw is None else field_text(raw)))
    return tuple(out)


# Per check (compiled once per process, so its id is stable while it is kept here): the fields it reads.
_COLUMNS: dict[int, tuple[object, list[Col]]] = {}


def _columns(check) -> list[Col]:
    """Every distinct field a check reads, in the order the rule names them (worked out once per check)."""
    cached = _COLUMNS.get(id(check))
    if cached is not None and cached[0] is check:
        return cached[1]
    columns = _find_columns(check)
    _COLUMNS[id(check)] = (check, columns)
    return columns


def _find_columns(check) -> list[Col]:
    found: dict[str, Col] = {}

    def walk(node):
        if isinstance(node, Col):
            found.setdefault(node.field.ddid, node)
        elif dataclasses.is_dataclass(node):
            for f in dataclasses.fields(node):
                walk(getattr(node, f.name))
        elif isinstance(node, (tuple, list)):
            for item in node:
                walk(item)
    walk(check)
    return list(found.values())


def expected_count(check, ctx: "Context") -> str | None:
    """For a count rule (`count(FILE) != 3245`): the packing slip's number, which the real count should be."""
    if isinstance(check, Cmp):
        for this, other in ((check.left, check.right), (check.right, check.left)):
            if isinstance(this, CountOf) and isinstance(other, Col) and other.scope == "slip":
                raw = ctx.slip_text(other.field)
                # A number right-aligned in its field: its leading spaces are padding, not part of the count.
                return None if raw is None else field_text(raw).strip()
    return None


def deleted(batch: "Batch", flag: Field) -> np.ndarray:
    """True for the batch's deletion records: status vlag 'V' (GA DBC-GGZ §5.3.1)."""
    raw = batch.raw(flag)
    return (raw[:, 0] == ord("V")) & (raw[:, 1:] == 0x20).all(axis=1)


def batch_keys(batch: "Batch", ddids: tuple[str, ...], widths: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(lines, keys) of the batch's records whose (composite) key is filled (blank keys are left to the M
    rules): the lines as uint32, the keys as fixed-width bytes values (numpy 'S'), each part padded with
    spaces to its width.

    The bytes are copied from the records as they lie (record-major) rather than transposed back from
    the field-major copy: a strided copy of a few bytes a record costs a fifth of the transpose.
    """
    fields = [next(f for f in batch.file.fields if f.ddid == ddid) for ddid, _ in zip(ddids, widths)]
    filled = ~columns.empty(batch.column(fields[0]))
    for fld in fields[1:]:
        filled |= ~columns.empty(batch.column(fld))
    keep = None if filled.all() else np.flatnonzero(filled)
    lines = batch.lines if keep is None else batch.lines[keep]

    def bytes_of(fld: Field) -> np.ndarray:  # the filled records' bytes of one field, (n, width)
        block = batch.rows[:, fld.start:fld.end]
        return block if keep is None else block[keep]

    total = sum(widths)
    if len(fields) == 1 and fields[0].end - fields[0].start == total:
        keys = np.ascontiguousarray(bytes_of(fields[0])).view(f"S{total}").reshape(-1)
    else:
        out = np.full((len(lines), total), 0x20, np.uint8)
        at = 0
        for fld, width in zip(fields, widths):
            out[:, at:at + fld.end - fld.start] = bytes_of(fld)
            at += width
        keys = out.view(f"S{total}").reshape(-1)
    return lines.astype(np.uint32), keys


def key_text(raw: bytes, widths: tuple[int, ...]) -> str:
    """A (composite) key as a report shows it: each part without padding, parts joined by ' / '."""
    if len(widths) <= 1:
        return field_text(raw)
    out, at = [], 0
    for w in widths:
        out.append(field_text(raw[at:at + w]))
        at += w
    return " / ".join(out)


def field_text(raw: bytes) -> str:
    """A field's value as a report shows it: as delivered, without the trailing padding.

    Leading spaces stay: a value is compared without them, but a finding
    shows what was delivered, so that a misaligned code is visible.
    """
    return raw.decode("latin-1").rstrip(" ")


def distinct_values(raw: np.ndarray, limit: int = MAX_DISTINCT, text=None) -> tuple[dict[str, int], int]:
    """({value as a report shows it: how many}, how many more had other values) of field values, given
    as rows of bytes (2-D uint8) or an 'S' array; at most `limit` values, the most frequent.

    Called for every batch of violating records, so it must stay cheap: rows are packed into one
    uint64 per row (exact up to 8 bytes, a 64-bit polynomial hash beyond, where a collision would
    at worst merge two values' counts) and counted with one sort of integers. `text(raw)` turns a
    value's bytes into what a report shows (default `field_text`; a composite key: `key_text`).
    """
    text = text or field_text
    if len(raw) == 0:
        return {}, 0
    if raw.dtype.kind == "S":
        raw = np.frombuffer(raw.tobytes(), np.uint8).reshape(len(raw), raw.dtype.itemsize)
    width = raw.shape[1]
    padded = np.zeros((len(raw), -(-width // 8) * 8), np.uint8)
    padded[:, :width] = raw
    words = padded.view(np.uint64)
    keys = words[:, 0].copy()
    for k in range(1, words.shape[1]):
        keys = keys * np.uint64(0x100000001B3) ^ words[:, k]
    _, first, counts = np.unique(keys, return_index=True, return_counts=True)
    other = 0
    if len(counts) > limit:  # decoding every value of a million different keys would cost more than the check
        top = np.argsort(-counts, kind="stable")[:limit]
        other = int(len(raw) - counts[top].sum())
        first, counts = first[top], counts[top]
    out: dict[str, int] = {}
    for i, n in zip(first.tolist(), counts.tolist()):
        shown = text(raw[i].tobytes().rstrip(b"\x00"))
        out[shown] = out.get(shown, 0) + n
    return out, other


def scalar_value(check, ctx: Context) -> str | None:
    """What a file- or zip-level finding shows: the record count it compared, else the zip-name part."""
    if isinstance(check, Cmp):
        for side in (check.left, check.right):
            if isinstance(side, CountOf):
                return str(ctx.counts.get(side.file, 0))
            if isinstance(side, Const) and side.zip_part and ctx.zip_parts:
                return ctx.zip_parts.get(side.zip_part)
    return None
