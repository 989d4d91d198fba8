"""Fixed-width records as PostgreSQL `COPY ... FROM STDIN` text, built with numpy: no Python value per field.

A first delivery is written straight into the typed tables (`staging.Stage.fresh`);
on PostgreSQL that is a COPY. Handing psycopg a Python tuple per record costs
several microseconds a record, more than the rest of the import, so the lines
are made here from the records' bytes, a batch at a time: each field's bytes
are laid out in one matrix with the tab between fields and the newline at the
end, a mask keeps what the typed value holds (AN without its padding, N without
its leading spaces, D as YYYY-MM-DD), and the kept bytes, row by row, are the
COPY text. The values are those `typed_columns` gives, field by field (its
docstring says how each type is trimmed and when a value is NULL); `\\N` is
NULL.

Only printable ASCII is written this way (COPY text escapes a backslash, tab or
line end, and a byte above 127 is not UTF-8): `lines` returns None for a batch
holding anything else, and the caller writes that batch from its typed values.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .typed_columns import NINE, SPACE, ZERO, _left_aligned, iso_dates, valid_numbers

TAB, NEWLINE, BACKSLASH = 9, 10, 92
NULL = np.frombuffer(b"\\N", np.uint8)


def plain(rows: np.ndarray) -> bool:
    """Whether every byte of `rows` is printable ASCII other than a backslash: COPY text as it is."""
    # One subtraction in uint8 wraps the bytes below a space round to the top: one comparison for both ends.
    return not bool((((rows - np.uint8(SPACE)) > np.uint8(126 - SPACE)) | (rows == BACKSLASH)).any())


def lines(rows: np.ndarray, fields: Sequence, keys: set[str], prefix: bytes = b"",
          numbers: np.ndarray | None = None, flag=None) -> bytes | None:
    """The COPY text of `rows` (uint8, one record per row): `prefix` (the constant columns, each
    followed by a tab), then `fields` (layout fields, in the table's column order; those whose DDID is
    in `keys` are key columns), tab-separated, one line per record. None when a record is not plain.
    With `numbers` (one per record: its line), each line starts with the number and the value of the
    field `flag` (NULL without one), as a stage's rows do."""
    n = len(rows)
    if not n:
        return b""
    if not plain(rows):
        return None
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    head = np.frombuffer(prefix, np.uint8)
    if len(head):
        parts.append((np.broadcast_to(head, (n, len(head))), np.ones((n, len(head)), bool)))
    if numbers is not None:
        tab = (np.full((n, 1), TAB, np.uint8), np.ones((n, 1), bool))
        none = _null_where(np.zeros((n, 2), np.uint8), np.zeros((n, 2), bool), np.ones(n, bool))
        parts += [_digits(numbers), tab, _text(rows[:, flag.start:flag.end], False, False) if flag else none, tab]
    for i, fld in enumerate(fields):
        if i:
            parts.append((np.full((n, 1), TAB, np.uint8), np.ones((n, 1), bool)))
        raw = rows[:, fld.start:fld.end]
        if fld.type == "N":
            parts.append(_number(raw))
        elif fld.type == "D":
            parts.append(_date(raw))
        else:
            parts.append(_text(raw, fld.ddid in keys or bool(getattr(fld, "key", "") or getattr(fld, "references", "")),
                               fld.ddid in keys))
    parts.append((np.full((n, 1), NEWLINE, np.uint8), np.ones((n, 1), bool)))
    data = np.concatenate([p[0] for p in parts], axis=1)
    keep = np.concatenate([p[1] for p in parts], axis=1)
    return data[keep].tobytes()  # row by row, left to right: the lines in order


def _null_where(data: np.ndarray, keep: np.ndarray, null: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`data`/`keep` (at least 2 wide) with `\\N` instead of the value in the rows `null`."""
    if null.any():
        data, keep = data.copy(), keep.copy()
        data[null, :2] = NULL
        keep[null] = False
        keep[null, :2] = True
    return data, keep


def _widen(raw: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At least two columns, so that `\\N` fits."""
    n, width = raw.shape
    if width >= 2:
        return raw, keep
    pad = 2 - width
    return (np.concatenate([raw, np.full((n, pad), SPACE, np.uint8)], axis=1),
            np.concatenate([keep, np.zeros((n, pad), bool)], axis=1))


def _text(raw: np.ndarray, aligned_left: bool, key: bool) -> tuple[np.ndarray, np.ndarray]:
    # As typed_columns._typed: a key or foreign key loses its leading spaces too; an empty key is ''.
    if aligned_left:
        raw = _left_aligned(np.ascontiguousarray(raw))
    if raw.shape[1] == 0:
        raw = np.empty((len(raw), 0), np.uint8)
    length = _lengths(raw)  # without the trailing spaces
    data, keep = _widen(raw, np.arange(raw.shape[1]) < length[:, None])
    if key:
        return data, keep
    return _null_where(data, keep, length == 0)


def _lengths(raw: np.ndarray) -> np.ndarray:
    """Per row, the length without trailing spaces (0 when all spaces): the place of the last other byte."""
    width = raw.shape[1]
    if width == 0:
        return np.zeros(len(raw), np.intp)
    places = np.arange(1, width + 1, dtype=np.uint8 if width < 256 else np.uint16)
    return np.where(raw != SPACE, places, places.dtype.type(0)).max(axis=1)


def _digits(numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-negative integers in decimal, without leading zeros."""
    values = np.asarray(numbers, np.int64)
    width = max(1, len(str(int(values.max())))) if len(values) else 1
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = (values[:, None] // powers) % 10
    significant = np.logical_or.accumulate(digits != 0, axis=1)
    significant[:, -1] = True  # 0 is "0"
    return (digits + ZERO).astype(np.uint8), significant


def _number(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # As typed_columns._numbers: leading spaces, then at least one digit; anything else is NULL.
    data, keep = _widen(raw, (raw >= ZERO) & (raw <= NINE))
    return _null_where(data, keep, ~valid_numbers(raw))


def _date(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = raw.shape[0]
    dates = iso_dates(raw)
    if dates is None:
        return _null_where(np.zeros((n, 2), np.uint8), np.zeros((n, 2), bool), np.ones(n, bool))
    iso, valid = dates
    return _null_where(iso, np.ones((n, 10), bool), ~valid)


def key_hashes(rows: np.ndarray, fields: Sequence) -> np.ndarray:
    """A 64-bit hash of every record's key (`fields`, the key's layout fields), equal for records whose
    typed keys are equal: an AN key left-aligned, an N key by its number, a D key by its digits."""
    h = np.zeros(len(rows), np.uint64)
    prime = np.uint64(1099511628211)
    for fld in fields:
        raw = rows[:, fld.start:fld.end]
        if fld.type == "N":
            digit = (raw >= ZERO) & (raw <= NINE)
            powers = 10 ** np.arange(raw.shape[1] - 1, -1, -1, dtype=np.int64)
            cols = [(np.where(digit, raw - ZERO, 0).astype(np.int64) * powers).sum(axis=1).astype(np.uint64)]
        else:
            cols = _words(_left_aligned(np.ascontiguousarray(raw)) if fld.type == "AN" else raw)
        for col in cols:
            h = h * prime + col
        h = h * prime + np.uint64(TAB)  # between fields: ("AB", "C") and ("A", "BC") differ
    return h.view(np.int64)


def _words(raw: np.ndarray) -> list[np.ndarray]:
    """The bytes of each row as 64-bit words (zero-padded), one array per word: a field hashed eight
    bytes at a time."""
    n, width = raw.shape
    padded = np.zeros((n, -(-width // 8) * 8), np.uint8)
    padded[:, :width] = raw
    return list(padded.view(np.uint64).T)
