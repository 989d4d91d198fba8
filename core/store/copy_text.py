"""Fixed-width records as PostgreSQL `COPY ... FROM STDIN` text, built with numpy: no Python value per field.

A first delivery is written straight into the typed tables (`staging.Stage.fresh`);
on PostgreSQL that is a COPY. Handing psycopg a Python tuple per record costs
several microseconds a record, more than the rest of the import, so the lines
are made here from the records' bytes, a batch at a time: each field's bytes
are laid out in one matrix with the tab between fields and the newline at the
end, a mask keeps what the typed value holds (AN without its padding, N without
its leading spaces, D as YYYY-MM-DD), and the kept bytes, row by row, are the
COPY text. A field is copied, and its mask set, as one value per row (numpy
void, `_slot`; the mask looked up by the value's length): numpy loops over a
2-D slice a few bytes wide row by row, at a cost per row that was most of the
time. The values are those `typed_columns` gives, field by field (its
docstring says how each type is trimmed and when a value is NULL); `\\N` is
NULL.

Only printable ASCII is written this way (COPY text escapes a backslash, tab or
line end, and a byte above 127 is not UTF-8): `lines` returns None for a batch
holding anything else, and the caller writes that batch from its typed values.
"""
from __future__ import annotations

import functools
from typing import Sequence

import numpy as np

from .typed_columns import NINE, SPACE, ZERO, _left_aligned, valid_dates, valid_numbers

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
    # A reader's records are often a view of its buffer, each row followed by the line end: one copy
    # with the rows side by side makes every test below run along contiguous bytes.
    rows = np.ascontiguousarray(rows)
    if not plain(rows):
        return None
    digits = _digits(numbers) if numbers is not None else None
    # Every value at its widest, a tab after each: one line's columns. `template` holds what every
    # line has in the same place (the prefix, the tabs, a date's dashes, the newline at the end).
    columns: list = [(fld, _width(fld)) for fld in fields]
    if digits is not None:
        columns[:0] = [("line", digits[0].shape[1]), ("flag", 2 if flag is None else max(flag.end - flag.start, 2))]
    width = len(prefix) + sum(w + 1 for _, w in columns)
    template = np.zeros(width, np.uint8)
    template[:len(prefix)] = np.frombuffer(prefix, np.uint8)
    at = len(prefix)
    for what, w in columns:
        if getattr(what, "type", "") == "D" and w == 10:
            template[at + 4] = template[at + 7] = ord("-")
        at += w
        template[at] = TAB
        at += 1
    template[-1] = NEWLINE
    # One matrix of every line's bytes and one of which of them the line keeps, filled value by value,
    # read out row by row.
    data, keep = np.empty((n, width), np.uint8), np.empty((n, width), bool)
    data[:] = template
    keep[:] = True  # the values that keep fewer say so below
    at = len(prefix)
    for what, w in columns:
        if what == "line":
            data[:, at:at + w], keep[:, at:at + w] = digits
        elif what == "flag":
            if flag is None:
                _null_where(data, keep, at, w, np.ones(n, bool))
            else:
                _text(rows[:, flag.start:flag.end], data, keep, at, w, False, False)
        elif what.type == "N":
            _number(rows[:, what.start:what.end], data, keep, at, w)
        elif what.type == "D":
            _date(rows[:, what.start:what.end], data, keep, at, w)
        else:
            key = what.ddid in keys
            _text(rows[:, what.start:what.end], data, keep, at, w,
                  key or bool(getattr(what, "key", "") or getattr(what, "references", "")), key)
        at += w + 1
    return data[keep].tobytes()  # row by row, left to right: the lines in order


def _width(fld) -> int:
    """The columns a field's value takes at its widest (at least 2: `\\N`)."""
    if fld.type == "D":
        return 10 if fld.end - fld.start == 8 else 2
    return max(fld.end - fld.start, 2)


def _null_where(data: np.ndarray, keep: np.ndarray, at: int, width: int, null: np.ndarray) -> None:
    """`\\N` instead of the value (`width` columns from `at`) in the rows `null`."""
    if null.any():
        _slot(data, at, 2)[null] = NULL.view("V2")[0]
        _slot(keep, at, width)[null] = _prefixes(width)[2]


def _text(raw: np.ndarray, data: np.ndarray, keep: np.ndarray, at: int, wide: int, aligned_left: bool,
          key: bool) -> None:
    # As typed_columns._typed: a key or foreign key loses its leading spaces too; an empty key is ''.
    n, w = raw.shape
    if aligned_left:
        raw = _left_aligned(raw)
    if w:
        _slot(data, at, w)[:] = _slot(raw, 0, w)
        # Without the trailing spaces: up to the last byte that is not one (argmax: the first True from the end).
        filled = raw[:, ::-1] != SPACE
        last = filled.argmax(axis=1)
        length = np.where(filled.ravel().take(np.arange(0, n * w, w) + last), w - last, 0)
        _slot(keep, at, w)[:] = _prefixes(w).take(length)
    else:
        length = np.zeros(n, np.intp)
    keep[:, at + w:at + wide] = False
    if not key:
        _null_where(data, keep, at, wide, length == 0)


def _slot(matrix: np.ndarray, at: int, width: int) -> np.ndarray:
    """Columns at..at+width of every row of `matrix` as one value per row (numpy void): copied a row's
    bytes at a time, where a 2-D slice is copied a byte at a time with a loop per row."""
    if matrix.strides[1] != 1:  # a view that does not hold a row's bytes side by side
        matrix = np.ascontiguousarray(matrix)
    return matrix[:, at:at + width].view(f"V{width}")[:, 0]


@functools.lru_cache(maxsize=None)
def _prefixes(width: int) -> np.ndarray:
    """The keep masks of a field `width` wide holding 0..width bytes (one void value each): the mask of
    a value of length L is `_prefixes(width)[L]`."""
    return np.ascontiguousarray(np.arange(width) < np.arange(width + 1)[:, None]).view(f"V{width}")[:, 0]


@functools.lru_cache(maxsize=None)
def _suffixes(width: int) -> np.ndarray:
    """The same for the bytes from a place on: `_suffixes(width)[F]` keeps the bytes from F to the end."""
    return np.ascontiguousarray(np.arange(width) >= np.arange(width + 1)[:, None]).view(f"V{width}")[:, 0]


def _digits(numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-negative integers in decimal, without leading zeros."""
    values = np.asarray(numbers, np.int64)
    width = max(1, len(str(int(values.max())))) if len(values) else 1
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = (values[:, None] // powers) % 10
    significant = np.logical_or.accumulate(digits != 0, axis=1)
    significant[:, -1] = True  # 0 is "0"
    return (digits + ZERO).astype(np.uint8), significant


def _number(raw: np.ndarray, data: np.ndarray, keep: np.ndarray, at: int, wide: int) -> None:
    # As typed_columns._numbers: leading spaces, then at least one digit; anything else is NULL.
    w = raw.shape[1]
    if w:
        _slot(data, at, w)[:] = _slot(raw, 0, w)
        first = (raw != SPACE).argmax(axis=1)  # a number's digits: from the first byte that is not a space
        _slot(keep, at, w)[:] = _suffixes(w).take(first)
    keep[:, at + w:at + wide] = False
    _null_where(data, keep, at, wide, ~valid_numbers(raw))


def _date(raw: np.ndarray, data: np.ndarray, keep: np.ndarray, at: int, wide: int) -> None:
    # As typed_columns._dates: YYYY-MM-DD (the dashes are in the template), NULL unless a real day.
    if wide != 10:  # no 8-wide date: never one
        _null_where(data, keep, at, wide, np.ones(len(raw), bool))
        return
    for into, start, width in ((at, 0, 4), (at + 5, 4, 2), (at + 8, 6, 2)):  # YYYY, MM, DD
        _slot(data, into, width)[:] = _slot(raw, start, width)
    _null_where(data, keep, at, wide, ~valid_dates(raw))


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
