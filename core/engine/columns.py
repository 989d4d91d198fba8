"""Vectorised decoding of fixed-width columns (GA §4.2) over a batch of records.

A batch is kept field-major: `cols[i]` holds byte i of every record, so the
bytes of one field are a (width, n) block of contiguous rows and every test
below is a handful of whole-vector operations per position. The formats:

- empty: all spaces;
- D: YYYYMMDD, a real calendar date from 1900-01-01 to 9999-12-31;
- N: right-aligned digits with leading spaces and an optional minus sign;
- patterns: N is a digit, anything else stands for itself, positions past
  the pattern are spaces.
"""
from __future__ import annotations

import numpy as np

from .code_table import KnownCodes

SPACE, MINUS, ZERO, NINE = 0x20, 0x2D, 0x30, 0x39
MIN_DATE, MAX_DATE = 19000101, 99991231

_DAYS = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)

# Bytes outside ISO-8859-1's printable range: C0 controls, DEL and the C1 controls.
NON_PRINTABLE = np.zeros(256, dtype=bool)
NON_PRINTABLE[:0x20] = True
NON_PRINTABLE[0x7F:0xA0] = True

_FNV_OFFSET, _FNV_PRIME = np.uint64(0xCBF29CE484222325), np.uint64(0x100000001B3)


def field_major(rows: np.ndarray, block: int = 256) -> np.ndarray:
    """The (n, width) record matrix as a contiguous (width, n) matrix, transposed in cache-sized blocks.

    256 records a block measured fastest for GGZ's records of 100 to 300 bytes (a third less time than
    2,048: both the block and its transpose stay in the first-level caches).
    """
    n, width = rows.shape
    out = np.empty((width, n), dtype=np.uint8)
    for i in range(0, n, block):
        out[:, i:i + block] = rows[i:i + block].T
    return out


def empty(f: np.ndarray) -> np.ndarray:
    """True where the field is all spaces."""
    return np.logical_and.reduce(f == SPACE, axis=0)


def _digit(row: np.ndarray) -> np.ndarray:
    return (row >= ZERO) & (row <= NINE)


def dates(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(YYYYMMDD as int32, valid) for a D field; invalid where filled but not a date DIS accepts."""
    value = np.zeros(f.shape[1], dtype=np.int32)
    is_digit = np.ones(f.shape[1], dtype=bool)
    for row in f:
        is_digit &= _digit(row)
        value *= 10
        value += row
        value -= ZERO
    value = np.where(is_digit, value, 0)
    year, month, day = value // 10000, (value // 100) % 100, value % 100
    month_ok = (month >= 1) & (month <= 12)
    dim = _DAYS[np.where(month_ok, month, 0)]
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    dim = np.where((month == 2) & ~leap, 28, dim)
    valid = is_digit & month_ok & (day >= 1) & (day <= dim) & (value >= MIN_DATE) & (value <= MAX_DATE)
    return value, valid


def numbers(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(value as int64, valid) for an N field: spaces, an optional '-', then at least one digit to the end."""
    n = f.shape[1]
    seen = np.zeros(n, dtype=bool)  # a non-space has been seen
    digits = np.zeros(n, dtype=bool)
    negative = np.zeros(n, dtype=bool)
    valid = np.ones(n, dtype=bool)
    value = np.zeros(n, dtype=np.int64)
    for row in f:
        space, digit, minus = row == SPACE, _digit(row), row == MINUS
        first = ~seen & ~space
        valid &= (space & ~seen) | (first & (digit | minus)) | (seen & digit)
        negative |= first & minus
        value = value * 10 + np.where(digit, row.astype(np.int64) - ZERO, 0)
        digits |= digit
        seen |= ~space
    valid &= digits
    return np.where(negative, -value, value), valid


def pattern_ok(f: np.ndarray, pattern: str) -> np.ndarray:
    """True where the field matches the pattern (N = digit, other characters literal, then spaces)."""
    ok = np.ones(f.shape[1], dtype=bool)
    for i, row in enumerate(f):
        if i >= len(pattern):
            ok &= row == SPACE
        elif pattern[i] == "N":
            ok &= _digit(row)
        else:
            ok &= row == pattern[i].encode("latin-1")[0]
    return ok


def equals(f: np.ndarray, value: bytes) -> np.ndarray:
    """True where the field's bytes are exactly `value` (same width)."""
    ok = np.ones(f.shape[1], dtype=bool)
    for row, byte in zip(f, value):
        ok &= row == byte
    return ok


def left_aligned(f: np.ndarray) -> np.ndarray:
    """The field with its leading spaces moved to the end: the value as compared (leading spaces do not count).

    GA §4.2 aligns AN values left with trailing spaces, but §6.1.2 has AN
    values with a digit pattern aligned right; either way only the text
    between the spaces is the value. Returns `f` itself when no record of the
    batch starts with a space (the usual case), else a shifted copy.
    """
    width, n = f.shape
    if width == 0 or n == 0:
        return f
    lead = f[0] == SPACE
    if not lead.any():
        return f
    blank = f == SPACE
    shift = np.where(blank.all(axis=0), 0, blank.argmin(axis=0))  # leading spaces per record
    source = np.arange(width)[:, None] + shift[None, :]
    inside = source < width
    shifted = f[np.minimum(source, width - 1), np.arange(n)[None, :]]
    return np.where(inside, shifted, np.uint8(SPACE)).astype(np.uint8)


def padded(text: str, width: int) -> bytes | None:
    """A text value as it stands in a field of `width` (left-aligned, trailing spaces); None if too long."""
    data = text.encode("latin-1", errors="replace")
    return data.ljust(width, b" ") if len(data) <= width else None


def as_bytes(f: np.ndarray) -> np.ndarray:
    """The field of each record as one fixed-width bytes value (numpy 'S' array)."""
    width = f.shape[0]
    return np.ascontiguousarray(f.T).view(f"S{width}").reshape(-1)


def hashes(f: np.ndarray) -> np.ndarray:
    """A 64-bit FNV-1a hash of each record's field bytes (collisions are checked by the callers)."""
    h = np.full(f.shape[1], _FNV_OFFSET, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for row in f:
            h ^= row
            h *= _FNV_PRIME
    return h


def sorted_distinct(a: np.ndarray) -> np.ndarray:
    """The distinct values of a 1-d array, sorted.

    Like np.unique, but by sorting: numpy 2.3's hash-table unique takes several times longer on
    a million 64-bit hashes than one sort does.
    """
    s = np.sort(a)
    if len(s) < 2:
        return s
    return s[np.r_[True, s[1:] != s[:-1]]]


class CodeIndex:
    """Distinct codes of one field across batches: each record's code as an index into `codes`.

    Codes repeat across millions of records, so hashes of codes seen before
    are looked up in a small sorted table; only new codes are decoded.
    """

    def __init__(self):
        self.codes: list[str] = []
        self._hashes = np.empty(0, np.uint64)  # sorted
        self._ids = np.empty(0, np.int64)  # code index per sorted hash
        self._bytes: list[bytes] = []
        self._table: np.ndarray | None = None  # the codes' bytes field-major (width, codes), made when codes come
        self._known: KnownCodes | None = None  # the exact lookup by distinguishing positions, made from _table
        self._studied = False  # whether _known was made for the current _table (None: KnownCodes.of found none)

    def lookup(self, f: np.ndarray) -> np.ndarray:
        """The index into `self.codes` of each record's code (f is field-major)."""
        if self._known is None and self._table is not None and not self._studied:
            # Studied when a batch comes after the codes did: a delivery of one batch never needs it.
            self._known, self._studied = KnownCodes.of(self._table), True
        if self._known is not None:
            ids = self._known.ids(f)
            if ids is not None:  # every record holds a known code: no hashing needed
                return ids
        h = hashes(f)
        pos = np.searchsorted(self._hashes, h)
        known = pos < len(self._hashes)
        known[known] = self._hashes[pos[known]] == h[known]
        if not known.all():
            new_h, first = np.unique(h[~known], return_index=True)
            cols = np.flatnonzero(~known)[first]
            # New codes are added in one go: a column of mostly distinct values (an identifier read by
            # `like`) brings tens of thousands per batch, and growing the arrays one code at a time
            # was quadratic.
            w = f.shape[0]
            block = np.ascontiguousarray(f[:, cols].T).tobytes()
            raws = [block[k:k + w] for k in range(0, len(block), w)]
            start = len(self.codes)
            self._bytes.extend(raws)
            self.codes.extend(raw.decode("latin-1").strip(" ") for raw in raws)
            self._hashes = np.concatenate([self._hashes, new_h])
            self._ids = np.concatenate([self._ids, np.arange(start, start + len(raws), dtype=np.int64)])
            order = np.argsort(self._hashes)
            self._hashes, self._ids = self._hashes[order], self._ids[order]
            pos = np.searchsorted(self._hashes, h)
            self._table = None
        ids = self._ids[pos]
        if self._table is None:  # joined again only when new codes came, not for every batch
            self._table = np.frombuffer(b"".join(self._bytes), dtype=np.uint8).reshape(len(self._bytes), -1).T
            self._known, self._studied = None, False
        table = self._table
        if not (f == table[:, ids]).all():
            raise Collision
        return ids

    @property
    def raw(self) -> list[bytes]:
        """The distinct values as delivered (padding included), by id."""
        return self._bytes


class Collision(Exception):
    """Two different codes with one hash: the caller groups this batch exactly."""


_Collision = Collision


def codes(f: np.ndarray, index: CodeIndex | None = None) -> tuple[np.ndarray, list[str]]:
    """(inverse, distinct): each record's code as an index into a list of distinct codes (spaces stripped)."""
    if index is not None:
        try:
            return index.lookup(f), index.codes
        except _Collision:
            pass
    _, first, inverse = np.unique(as_bytes(f), return_index=True, return_inverse=True)
    values = [f[:, i].tobytes().decode("latin-1").strip(" ") for i in first]
    return inverse.reshape(-1), values


def text_values(f: np.ndarray) -> np.ndarray:
    """Each field's text without trailing spaces, as a numpy bytes array (for ordering comparisons).

    numpy's bytes strings drop trailing NUL bytes (b"AB\\0" would equal b"AB"), so a field holding a
    NUL is compared as Python bytes instead; NUL is not printable, so this path is rare.
    """
    if (f == 0).any():
        return np.fromiter((bytes(v).rstrip(b" ") for v in f.T), dtype=object, count=f.shape[1])
    strip = np.strings.rstrip if hasattr(np, "strings") else np.char.rstrip
    return strip(as_bytes(f), b" ")


def non_printable(rows: np.ndarray, cols: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(row indexes, 1-based first bad column) of records with bytes outside ISO-8859-1's printable range.

    `cols`, the same records field-major (contiguous), makes the usual answer (plain ASCII: none)
    quicker to reach than the records' strided bytes do.
    """
    whole = rows if cols is None else cols
    if rows.size == 0 or (whole.min() >= 0x20 and whole.max() <= 0x7E):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    bad = NON_PRINTABLE[rows]
    hit = np.flatnonzero(bad.any(axis=1))
    return hit, bad[hit].argmax(axis=1) + 1


def years_between(since: np.ndarray, until: np.ndarray) -> np.ndarray:
    """Whole years from date `since` to date `until` (YYYYMMDD ints)."""
    return (until // 10000 - since // 10000) - ((until % 10000) < (since % 10000))


def day_number(yyyymmdd: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of YYYYMMDD ints (the proleptic Gregorian calendar; any value for invalid dates)."""
    v = np.asarray(yyyymmdd, dtype=np.int64)
    y, m, d = v // 10000, (v // 100) % 100, v % 100
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468
