"""Typed values of a layout's attributes, built column by column from fixed-width records.

The store keeps imported records in typed columns (`disval.core.store.tables`):
D as a date, N as an integer, AN as text. This module turns one field of a
batch of records (the `uint8` matrix the record readers yield) into a list of
Python values at numpy speed, and one text value the same way for the places
that have a single value (history lookups, stores written by an older disval).

GA §4.2: AN is left-aligned and padded with spaces on the right, N is
right-aligned with leading spaces, an empty attribute is all spaces. So AN
loses its trailing spaces (a key or foreign key its leading ones too, as keys
compare without them), N its leading ones, and an empty attribute is NULL
(None), except in a key column, where empty AN text is kept as '' so that the
record still has a key. A value that is not a valid number or date (possible
only in a delivery imported under a policy that does not block on it) is NULL
too: the quality report names it.

Dates are ISO text (`YYYY-MM-DD`): both backends accept it for a DATE column.
"""
from __future__ import annotations

import datetime as dt

import numpy as np

SPACE, ZERO, NINE = 32, 48, 57
_DAYS = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def column(rows: np.ndarray, fld, key: bool = False) -> list:
    """Field `fld` of every record in `rows` (uint8, one record per row) as typed Python values."""
    return _typed(np.ascontiguousarray(rows[:, fld.start:fld.end]), fld, key)


def _typed(raw: np.ndarray, fld, key: bool) -> list:
    if fld.type == "N":
        return _numbers(raw)
    if fld.type == "D":
        return _dates(raw)
    if key or getattr(fld, "key", "") or getattr(fld, "references", ""):  # the GA marks keys PK or FK
        # Keys compare without leading spaces too (README, "Alignment and padding"): validation takes
        # ` BT1` and `BT1` for one key, so the store keeps one key, and a foreign key joins its parent.
        raw = _left_aligned(raw)
    return _texts(raw, key)


def _left_aligned(raw: np.ndarray) -> np.ndarray:
    """Rows with their leading spaces moved to the end; `raw` itself when no row starts with a space."""
    n, width = raw.shape
    if not n or not width or not (raw[:, 0] == SPACE).any():
        return raw
    lead = np.logical_and.accumulate(raw == SPACE, axis=1).sum(axis=1)
    lead[lead == width] = 0  # an empty value stays as it is
    source = np.arange(width)[None, :] + lead[:, None]
    shifted = raw[np.arange(n)[:, None], np.minimum(source, width - 1)]
    return np.where(source < width, shifted, np.uint8(SPACE)).astype(np.uint8)


def value(text: str | None, fld, key: bool = False):
    """One delivered value (as text, padded or not) typed like `column` types it."""
    if text is None:
        return "" if key and fld.type == "AN" else None
    raw = text.encode("latin-1", "replace")[:fld.length]
    if fld.type == "N":
        raw = raw.rjust(fld.length)
    else:
        raw = raw.ljust(fld.length)
    return _typed(np.frombuffer(raw, np.uint8).reshape(1, -1), fld, key)[0]


def values(texts: list[str | None], fld, key: bool = False) -> list:
    """Many delivered values (as text) typed at once, like `value` types one."""
    width = fld.length
    right = fld.type == "N"
    padded = b"".join(
        (b"" if t is None else t.encode("latin-1", "replace")[:width]).rjust(width) if right
        else (b"" if t is None else t.encode("latin-1", "replace")[:width]).ljust(width)
        for t in texts
    )
    if not texts:
        return []
    return _typed(np.frombuffer(padded, np.uint8).reshape(len(texts), width), fld, key)


def as_text(typed, fld) -> str:
    """A typed value back as the delivery writes it, without padding: for messages and comparisons."""
    if typed is None:
        return ""
    if fld.type == "D":
        day = typed if isinstance(typed, dt.date) else dt.date.fromisoformat(str(typed))
        return day.strftime("%Y%m%d")
    return str(typed)


def _texts(raw: np.ndarray, key: bool) -> list:
    n, width = raw.shape
    if width == 0 or n == 0:
        return [("" if key else None)] * n
    # Trailing spaces become NUL, which numpy's str type drops; latin-1 is the first 256 code points.
    trailing = np.logical_and.accumulate(raw[:, ::-1] == SPACE, axis=1)[:, ::-1]
    cleaned = np.where(trailing, 0, raw).astype(np.uint32)
    text = cleaned.view(f"<U{width}").reshape(n).astype(object)
    if not key:
        text[trailing[:, 0]] = None
    return text.tolist()


def valid_numbers(raw: np.ndarray) -> np.ndarray:
    """Per row of an N field's bytes, whether it is a number: leading spaces, then only digits (at least
    one). The one rule of the typed value, the COPY text and SQLite's blocks. Tested one byte position
    at a time over a transposed copy, so that every test runs along contiguous bytes (numpy's row-wise
    tests of a few bytes each cost more per row than the test itself): each byte a digit, or a space
    before any digit; the last byte a digit."""
    n, width = raw.shape
    if not width:
        return np.zeros(n, bool)
    valid, seen = np.ones(n, bool), np.zeros(n, bool)
    for byte in np.ascontiguousarray(raw.T):
        digit = (byte - np.uint8(ZERO)) <= np.uint8(9)  # uint8 wraps the bytes below '0' round to the top
        valid &= digit | ((byte == SPACE) & ~seen)
        seen |= digit
    return valid & digit


def _numbers(raw: np.ndarray) -> list:
    n, width = raw.shape
    digit = (raw >= ZERO) & (raw <= NINE)
    valid = valid_numbers(raw)
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    values = (np.where(digit, raw - ZERO, 0).astype(np.int64) * powers).sum(axis=1)
    out = values.astype(object)
    out[~valid] = None
    return out.tolist()


def iso_dates(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """YYYYMMDD fields as ISO 8601 bytes, (n x 10 uint8, valid); None when the field is no 8-wide date.

    Valid means a real calendar day (leap years included); the bytes of an invalid one are
    meaningless. The typed values and the COPY text are both made from it.
    """
    n, width = raw.shape
    if width != 8:  # only YYYYMMDD is a date the GA writes
        return None
    iso = np.empty((n, 10), np.uint8)
    iso[:, 0:4], iso[:, 5:7], iso[:, 8:10] = raw[:, 0:4], raw[:, 4:6], raw[:, 6:8]
    iso[:, 4] = iso[:, 7] = ord("-")
    return iso, valid_dates(raw)


def valid_dates(raw: np.ndarray) -> np.ndarray:
    """Per row of a YYYYMMDD field's 8 bytes, whether they are a real calendar day (leap years included).
    Computed per byte position over a transposed copy, along contiguous bytes (as `valid_numbers`)."""
    digits = np.ascontiguousarray(raw.T) - np.uint8(ZERO)  # uint8: a byte below '0' wraps round to the top
    numeric = (digits <= 9).all(axis=0)
    d = digits.astype(np.int16)
    year = ((d[0] * 10 + d[1]) * 10 + d[2]) * 10 + d[3]
    month = d[4] * 10 + d[5]
    day = d[6] * 10 + d[7]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    last = _DAYS[np.clip(month, 0, 12)] - ((month == 2) & ~leap)
    return numeric & (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= last)


def _dates(raw: np.ndarray) -> list:
    dates = iso_dates(raw)
    if dates is None:
        return [None] * raw.shape[0]
    iso, valid = dates
    out = iso.astype(np.uint32).view("<U10").reshape(raw.shape[0]).astype(object)
    out[~valid] = None
    return out.tolist()
