"""Vectorised decoding of fixed-width columns (GA §4.2) over a batch of records.

Every function takes the bytes of one field for n records, an (n, width)
uint8 array, and answers for all n at once. The formats:

- empty: all spaces;
- D: YYYYMMDD, a real calendar date from 1900-01-01 to 9999-12-31;
- N: right-aligned digits with leading spaces and an optional minus sign;
- patterns: N is a digit, anything else stands for itself, positions past
  the pattern are spaces.
"""
from __future__ import annotations

import numpy as np

SPACE, MINUS, ZERO = 0x20, 0x2D, 0x30
MIN_DATE, MAX_DATE = 19000101, 99991231

_DAYS = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)

# Bytes outside ISO-8859-1's printable range: C0 controls, DEL and the C1 controls.
NON_PRINTABLE = np.zeros(256, dtype=bool)
NON_PRINTABLE[:0x20] = True
NON_PRINTABLE[0x7F:0xA0] = True


def empty(raw: np.ndarray) -> np.ndarray:
    """True where the field is all spaces."""
    return (raw == SPACE).all(axis=1)


def dates(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(YYYYMMDD as int64, valid) for a D field; invalid where filled but not a date DIS accepts."""
    digits = raw.astype(np.int64) - ZERO
    is_digit = ((digits >= 0) & (digits <= 9)).all(axis=1)
    weights = 10 ** np.arange(raw.shape[1] - 1, -1, -1, dtype=np.int64)
    value = np.where(is_digit, digits @ weights, 0)
    year, month, day = value // 10000, (value // 100) % 100, value % 100
    month_ok = (month >= 1) & (month <= 12)
    dim = _DAYS[np.where(month_ok, month, 0)]
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    dim = np.where((month == 2) & ~leap, 28, dim)
    valid = is_digit & month_ok & (day >= 1) & (day <= dim) & (value >= MIN_DATE) & (value <= MAX_DATE)
    return value, valid


def numbers(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(value as int64, valid) for an N field: spaces, an optional '-', then at least one digit to the end."""
    n, width = raw.shape
    is_space = raw == SPACE
    is_digit = (raw >= ZERO) & (raw <= ZERO + 9)
    non_space = ~is_space
    first = np.where(non_space.any(axis=1), non_space.argmax(axis=1), width)
    pos = np.arange(width)[None, :]
    before, at, after = pos < first[:, None], pos == first[:, None], pos > first[:, None]
    is_minus_first = (raw[np.arange(n), np.minimum(first, width - 1)] == MINUS) & (first < width)
    ok = (before & is_space) | (at & (is_digit | (raw == MINUS))) | (after & is_digit)
    valid = ok.all(axis=1) & (first < width) & ~(is_minus_first & (first == width - 1))
    weights = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    value = (np.where(is_digit, raw.astype(np.int64) - ZERO, 0) * weights).sum(axis=1)
    value = np.where(is_minus_first, -value, value)
    return value, valid


def pattern_ok(raw: np.ndarray, pattern: str) -> np.ndarray:
    """True where the field matches the pattern (N = digit, other characters literal, then spaces)."""
    ok = np.ones(raw.shape[0], dtype=bool)
    for i in range(raw.shape[1]):
        col = raw[:, i]
        if i >= len(pattern):
            ok &= col == SPACE
        elif pattern[i] == "N":
            ok &= (col >= ZERO) & (col <= ZERO + 9)
        else:
            ok &= col == pattern[i].encode("latin-1")[0]
    return ok


def padded(text: str, width: int) -> bytes | None:
    """A text value as it stands in a field of `width` (left-aligned, trailing spaces); None if too long."""
    data = text.encode("latin-1", errors="replace")
    return data.ljust(width, b" ") if len(data) <= width else None


def as_bytes(raw: np.ndarray) -> np.ndarray:
    """The field of each record as one fixed-width bytes value (numpy 'S' array)."""
    width = raw.shape[1]
    return np.ascontiguousarray(raw).view(f"S{width}").reshape(-1)


def hashes(raw: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each record's field bytes (collisions are checked by the callers)."""
    n, width = raw.shape
    words = -(-width // 8)
    buf = np.zeros((n, words * 8), dtype=np.uint8)
    buf[:, :width] = raw
    lanes = buf.view(np.uint64)
    h = np.full(n, 0x9E3779B97F4A7C15, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(words):
            h ^= lanes[:, j]
            h *= np.uint64(0xFF51AFD7ED558CCD)
            h ^= h >> np.uint64(33)
        h *= np.uint64(0xC4CEB9FE1A85EC53)
        h ^= h >> np.uint64(29)
    return h


def codes(raw: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """(inverse, unique): each record's code as an index into the list of distinct codes (stripped)."""
    h = hashes(raw)
    uniq, first, inverse = np.unique(h, return_index=True, return_inverse=True)
    if not (raw == raw[first[inverse]]).all():  # a hash collision: fall back to exact grouping
        keys = as_bytes(raw)
        exact, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    values = [bytes(raw[i]).decode("latin-1").strip() for i in first]
    return inverse.reshape(-1), values


def text_values(raw: np.ndarray) -> np.ndarray:
    """Each field's text without trailing spaces, as a numpy bytes array (for ordering comparisons)."""
    return np.strings.rstrip(as_bytes(raw), b" ") if hasattr(np, "strings") else np.char.rstrip(as_bytes(raw), b" ")


def years_between(since: np.ndarray, until: np.ndarray) -> np.ndarray:
    """Whole years from date `since` to date `until` (YYYYMMDD ints)."""
    return (until // 10000 - since // 10000) - ((until % 10000) < (since % 10000))
