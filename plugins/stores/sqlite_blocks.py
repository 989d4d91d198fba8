"""A fresh delivery's records handed to SQLite as fixed-width blocks that SQL types: no Python value per field.

A provider's first delivery is written straight into the typed tables
(`disval.core.store.staging.Stage.fresh`). Through `executemany` that costs a
Python value per field (made by `typed_columns`) and a parameter binding per
field, more than SQLite's own b-tree writes. Here a batch of records becomes
one BLOB instead: each record's fields laid out at fixed offsets, already in
the form the typed value takes (a key or foreign key without its leading
spaces, an N field blank when it is no number, a D field as YYYY-MM-DD or
blank when it is no calendar day, as `typed_columns` decides). One INSERT ...
SELECT walks the blob record by record (a recursive CTE of offsets; `substr`
of a BLOB is counted in bytes, so each field is found in constant time) and
trims and casts each field in SQL: AN loses its trailing spaces and is NULL
when empty (a key keeps ''), N is cast to INTEGER, D is kept as ISO text. The
values stored are the same as the typed path stores.

Only printable ASCII goes this way (a BLOB cast to TEXT is taken as UTF-8,
which a byte above 127 of the delivery's ISO-8859-1 is not): `block` returns
None for a batch holding anything else, and the caller writes that batch from
its typed values.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from disval.core.store.typed_columns import NINE, SPACE, ZERO, _left_aligned, iso_dates

MAX_DIGITS = 18  # an N field wider than this may not fit SQLite's 64-bit INTEGER: typed in Python instead


@dataclass(frozen=True)
class Block:
    """One batch of records as a BLOB: `count` records of `width` bytes, column by column at fixed offsets."""

    data: bytes
    width: int
    count: int


def _kind(fld, keys: set[str]) -> str:
    if fld.type in ("N", "D"):
        return fld.type
    if fld.ddid in keys:
        return "key"
    # As typed_columns._typed: a key or foreign key the GA marks loses its leading spaces too.
    return "aligned" if (getattr(fld, "key", "") or getattr(fld, "references", "")) else "text"


def layout_of(fields: Sequence, keys: set[str]) -> list[tuple[str, int, int]]:
    """(kind, offset, width) of every field of a block, in `fields`' order; kind is key, aligned, text,
    N or D (a D field takes 10 bytes: YYYY-MM-DD)."""
    out, at = [], 0
    for fld in fields:
        kind = _kind(fld, keys)
        width = 10 if kind == "D" else fld.length
        out.append((kind, at, width))
        at += width
    return out


def fits(fields: Sequence) -> bool:
    """Whether SQL can type every field of `fields` as `typed_columns` does (an N no wider than 18 digits,
    a D field 8 wide)."""
    return all((f.type != "N" or f.length <= MAX_DIGITS) and (f.type != "D" or f.length == 8) for f in fields)


def block(rows: np.ndarray, fields: Sequence, keys: set[str]) -> Block | None:
    """`rows` (uint8, one record per row) as a `Block` of `fields` (layout fields, in the table's column
    order; those whose DDID is in `keys` are key columns); None when a record holds a byte that is not
    printable ASCII."""
    n = len(rows)
    if ((rows < SPACE) | (rows > 126)).any():
        return None
    parts = []
    for fld in fields:
        raw = rows[:, fld.start:fld.end]
        kind = _kind(fld, keys)
        if kind == "N":
            # As typed_columns: digits after leading spaces only; anything else is no number, so blank.
            leading = np.logical_and.accumulate(raw == SPACE, axis=1)
            valid = np.all(((raw >= ZERO) & (raw <= NINE)) | leading, axis=1) & ~leading[:, -1]
            parts.append(np.where(valid[:, None], raw, np.uint8(SPACE)).astype(np.uint8))
        elif kind == "D":
            iso, valid = iso_dates(np.ascontiguousarray(raw))
            parts.append(np.where(valid[:, None], iso, np.uint8(SPACE)).astype(np.uint8))
        elif kind in ("key", "aligned"):
            parts.append(_left_aligned(np.ascontiguousarray(raw)))
        else:
            parts.append(raw)
    matrix = np.concatenate(parts, axis=1) if parts else np.empty((n, 0), np.uint8)
    return Block(np.ascontiguousarray(matrix).tobytes(), matrix.shape[1], n)


def _value(kind: str, offset: int, width: int) -> str:
    """The SQL expression of one field of the record at byte `o` (1-based) of the blob `:b`."""
    raw = f"CAST(substr(:b, o + {offset}, {width}) AS TEXT)"
    if kind in ("key",):
        return f"rtrim({raw}, ' ')"
    if kind == "N":
        return f"CAST(NULLIF(ltrim({raw}, ' '), '') AS INTEGER)"
    if kind == "D":
        return f"NULLIF({raw}, '{' ' * 10}')"
    return f"NULLIF(rtrim({raw}, ' '), '')"


def insert_sql(table: str, columns: Sequence[str], key: Sequence[str], fields: Sequence, keys: set[str]) -> str:
    """The statement writing a `Block` of `fields` into `table` (`columns`: the typed columns, in the
    fields' order), with :p the provider, :d the delivery, :b the blob, :w its record width and :n its
    length. A key written before (a repeated key of the delivery) is replaced: the last one wins."""
    values = ", ".join(_value(*spec) for spec in layout_of(fields, keys))
    updates = ", ".join(f"{c} = excluded.{c}" for c in ["delivery_id", *columns] if c not in key)
    # A recursive CTE of record offsets: SQLite yields them one by one, in order, without a table.
    return (
        f"WITH RECURSIVE r(o) AS (SELECT 1 UNION ALL SELECT o + :w FROM r WHERE o + :w <= :n)"
        f" INSERT INTO {table} (provider_id, delivery_id, {', '.join(columns)})"
        f" SELECT :p, :d, {values} FROM r WHERE true"  # WHERE: SQLite's parser needs it before ON CONFLICT
        f" ON CONFLICT (provider_id, {', '.join(key)}) DO {'UPDATE SET ' + updates if updates else 'NOTHING'}"
    )
