"""A fresh delivery's records handed to SQLite as fixed-width blocks that SQL types: no Python value per field.

A provider's first delivery is written straight into the typed tables
(`disval.core.store.staging.Stage.fresh`). Through `executemany` that costs a
Python value per field (made by `typed_columns`) and a parameter binding per
field, more than SQLite's own b-tree writes. Here a batch of records becomes
two BLOBs instead: the records as they were read (one copy of the batch, each
field at its offset in the layout), and beside them, at fixed offsets, only
what SQL cannot take from the record as it is: a D field as YYYY-MM-DD, an N
field blanked where it is no number, a key or foreign key without its leading
spaces where a record has them (as `typed_columns` decides), the records'
numbers when they do not run on without gaps. One INSERT ... SELECT walks the
blobs record by record (the record numbers come from a temporary table of
them, `OFFSETS`; `substr` of a BLOB is counted in bytes, so each field is found
in constant time) and trims each field in SQL: AN loses its trailing spaces
and is NULL when empty (a key keeps ''), N becomes an integer by the INTEGER
column's affinity (its digits with leading spaces are a well-formed integer to
SQLite), D is kept as ISO text; a blank N or D is NULL.
The values stored are the same as the typed path stores. Each batch says per
field what SQL has to do (`Block.forms`), and does no more: a field's slot is
as wide as its widest value in the batch, a field every record fills is taken
as it is (no trimming), one whose values fill the slot or are blank (codes of
one format) is only compared with blanks, one blank in every record is NULL
without reading a byte, so a statement per table and shape is prepared and
kept. SQL function calls are most of what a block costs the writer (about
0.1 µs each, a million records times a call per field), so every call saved
counts.

Only printable ASCII goes this way (a BLOB cast to TEXT is taken as UTF-8,
which a byte above 127 of the delivery's ISO-8859-1 is not): `block` returns
None for a batch holding anything else, and the caller writes that batch from
its typed values.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from disval.core.store.copy_text import _digits
from disval.core.store.typed_columns import SPACE, _left_aligned, iso_dates, valid_numbers

MAX_DIGITS = 18  # an N field wider than this may not fit SQLite's 64-bit INTEGER: typed in Python instead


@dataclass(frozen=True)
class Block:
    """One batch of `count` records for SQL to type: the records as read (`data`, `width` bytes each) and
    what SQL cannot take from them as they are (`extra`, `extra_width` bytes a record: dates as ISO, numbers
    blanked where they are none, keys without leading spaces, the records' numbers). `forms` says per field
    where its bytes are and what SQL makes of them: (form, blob, offset, width), blob "b" (`data`) or "x"
    (`extra`); a NULL form has no bytes. `first` is the first record's number when the numbers run on
    without gaps (no bytes then), else None."""

    data: bytes
    width: int
    count: int
    forms: tuple[tuple[str, str, int, int], ...]
    extra: bytes = b""
    extra_width: int = 0
    first: int | None = None

    @property
    def shape(self) -> tuple:
        """What the statement that writes the block depends on: its forms, and whether SQL numbers its
        records (`first`). Blocks of one shape share a prepared statement."""
        return self.forms, self.first is not None


# The forms of a field in a block, and what SQL makes of its bytes: PADDED AN loses its trailing spaces
# and is NULL when empty, KEY and TRIMMED only lose them (an empty key is ''; no TRIMMED value is empty),
# BLANKABLE is NULL when blank (an N or D field, or AN whose every value fills the slot or is blank),
# EXACT is taken as it is (no record of the batch pads it or leaves it blank), NULL has no value at all.
PADDED, KEY, TRIMMED, BLANKABLE, EXACT, NULL = "padded", "key", "trimmed", "blankable", "exact", "null"


def fits(fields: Sequence) -> bool:
    """Whether SQL can type every field of `fields` as `typed_columns` does (an N no wider than 18 digits,
    a D field 8 wide)."""
    return all((f.type != "N" or f.length <= MAX_DIGITS) and (f.type != "D" or f.length == 8) for f in fields)


def block(rows: np.ndarray, fields: Sequence, keys: set[str], numbers: np.ndarray | None = None) -> Block | None:
    """`rows` (uint8, one record per row) as a `Block` of `fields` (layout fields, in the table's column
    order; those whose DDID is in `keys` are key columns), after `numbers` (one non-negative integer per
    record, e.g. its line) when given; None when a record holds a byte that is not printable ASCII."""
    n = len(rows)
    rows = np.ascontiguousarray(rows)
    # Per byte column its smallest and largest byte: whether the batch is printable ASCII, and which
    # columns some record fills (all spaces: min = max = space), without a mask of the whole batch.
    low = _columns(np.minimum, rows) if n else np.full(rows.shape[1], SPACE, np.uint8)
    high = _columns(np.maximum, rows) if n else low
    if n and (int(low.min()) < SPACE or int(high.max()) > 126):
        return None
    used_all = (low != SPACE) | (high != SPACE)
    extra: list[np.ndarray] = []
    at = [0]  # the next offset in `extra`
    forms: list[tuple[str, str, int, int]] = []

    def add(form: str, part: np.ndarray) -> None:
        forms.append((form, "x", at[0], part.shape[1]))
        extra.append(part)
        at[0] += part.shape[1]

    first = None
    if numbers is not None:
        numbers = np.asarray(numbers, np.int64)
        if n and int(numbers[-1]) - int(numbers[0]) == n - 1 and (n < 2 or bool((np.diff(numbers) == 1).all())):
            first = int(numbers[0])  # SQL counts them: no bytes
        else:
            digits, significant = _digits(numbers)
            add(EXACT, np.where(significant, digits, np.uint8(SPACE)).astype(np.uint8))  # an integer by affinity
    for fld in fields:
        raw = rows[:, fld.start:fld.end]
        if fld.type in ("N", "D"):
            if fld.type == "N":  # as typed_columns: digits after leading spaces only, else no number
                valid = valid_numbers(raw)
            else:
                raw, valid = iso_dates(raw)
            if not valid.any():
                forms.append((NULL, "b", 0, 0))
            elif fld.type == "N" and valid.all():  # taken from the record as it is
                forms.append((EXACT, "b", fld.start, fld.length))
            else:
                every = bool(valid.all())
                add(EXACT if every else BLANKABLE,
                    raw if every else np.where(valid[:, None], raw, np.uint8(SPACE)).astype(np.uint8))
            continue
        key = fld.ddid in keys
        aligned = key or bool(getattr(fld, "key", "") or getattr(fld, "references", ""))
        # As typed_columns._typed: a key or foreign key the GA marks loses its leading spaces too; a batch
        # in which no value has one (the usual case) is taken from the records as they are.
        shifted = aligned and n and bool((raw[:, 0] == SPACE).any())
        if shifted:
            raw = _left_aligned(np.ascontiguousarray(raw))
            used = np.flatnonzero((raw != SPACE).any(axis=0))
        else:
            used = np.flatnonzero(used_all[fld.start:fld.end])
        if not len(used):  # blank in every record: NULL (an empty key: '')
            forms.append((KEY if key else NULL, "b", 0, 0))
            continue
        # The slot narrows to the widest value of the batch: when every value fills it (codes and
        # numbers of one format), SQL takes the bytes as they are, with no trimming at all.
        width = int(used[-1]) + 1
        raw = raw[:, :width]
        padded = raw[:, width - 1] == SPACE
        if not padded.any():
            form = EXACT
        elif key:
            form = KEY
        else:  # the fewest SQL calls that give the typed value: see the forms above
            blank = (raw[padded] == SPACE).all(axis=1)  # a blank value is a padded one
            form = BLANKABLE if blank.all() else TRIMMED if not blank.any() else PADDED
        if shifted:
            add(form, raw)
        else:
            forms.append((form, "b", fld.start, width))
    more = np.concatenate(extra, axis=1) if extra else None
    return Block(rows.tobytes(), rows.shape[1], n, tuple(forms),
                 b"" if more is None else more.tobytes(), 0 if more is None else more.shape[1], first)


def _columns(ufunc: np.ufunc, rows: np.ndarray, fold: int = 64) -> np.ndarray:
    """`ufunc` (np.minimum, np.maximum) of every byte column of `rows` (contiguous, n > 0). Reduced as
    `fold` records side by side, then the `fold` results: numpy's loop then runs over thousands of bytes
    a call instead of one record's (seven times faster for 65,536 records of 126 bytes)."""
    n, width = rows.shape
    whole = n - n % fold
    out = ufunc.reduce(rows[whole:], axis=0) if whole < n else None
    if whole:
        folded = ufunc.reduce(ufunc.reduce(rows[:whole].reshape(-1, fold * width), axis=0).reshape(fold, width),
                              axis=0)
        out = folded if out is None else ufunc(out, folded)
    return out


def _values(forms: Sequence[tuple[str, str, int, int]], first: bool = False) -> list[str]:
    """The SQL expression of every field of record `i` (its bytes at `o` of :b and `q` of :x, 1-based),
    after its number (:f + i) when `first`."""
    out = ["(:f + i)"] if first else []
    for form, blob, at, width in forms:
        raw = f"CAST(substr(:{blob}, {'o' if blob == 'b' else 'q'} + {at}, {width}) AS TEXT)"
        if form == NULL:
            out.append("NULL")
        elif form in (KEY, TRIMMED):  # rtrim(x) trims spaces only
            out.append(f"rtrim({raw})" if width else "''")
        # Blanks are found by a comparison (an opcode), not NULLIF (a call): `substr` runs again only where
        # there is a value (replayed: 5% less CPU for the block statements).
        elif form == PADDED:
            out.append(f"CASE {raw} WHEN '{' ' * width}' THEN NULL ELSE rtrim({raw}) END")
        elif form == BLANKABLE:
            out.append(f"CASE {raw} WHEN '{' ' * width}' THEN NULL ELSE {raw} END")
        else:
            out.append(raw)
    return out


def insert_sql(table: str, columns: Sequence[str], key: Sequence[str], shape: tuple) -> str:
    """The statement writing a `Block` of this `shape` (`Block.shape`) into the typed table `table`
    (`columns`: the typed columns, in the fields' order), with :p the provider, :d the delivery and the
    block's `params`. A key written before (a repeated key of the delivery) is replaced: the last one
    wins. The table `OFFSETS` must hold the block's record numbers (`OFFSETS_SQL`)."""
    updates = ", ".join(f"{c} = excluded.{c}" for c in ["delivery_id", *columns] if c not in key)
    return (
        f"INSERT INTO {table} (provider_id, delivery_id, {', '.join(columns)})"
        f" SELECT :p, :d, {', '.join(_values(*shape))} FROM {_RECORDS} WHERE true"  # WHERE: for the parser
        f" ON CONFLICT (provider_id, {', '.join(key)}) DO {'UPDATE SET ' + updates if updates else 'NOTHING'}"
    )


def stage_sql(table: str, columns: Sequence[str], shape: tuple) -> str:
    """The statement appending a `Block` of this `shape` (`Block.shape`) to the stage `table` (`columns`
    in the block's order: its records' numbers first, if it has them), with the block's `params`."""
    return f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(_values(*shape))} FROM {_RECORDS}"


def params(made: Block) -> dict:
    """The parameters of a block's statement besides the provider's and the delivery's."""
    return {"b": made.data, "w": made.width, "n": made.count, "x": made.extra, "v": made.extra_width,
            "f": made.first}


# The numbers 0, 1, ... of the records of a block, from a temporary table of the connection. A table is
# read in order at a few nanoseconds a row; a recursive CTE of offsets (what this was) yields each row
# through a queue, a tenth of the writer's time for a million records.
OFFSETS = "disval_offsets"
# The statements that make sure `OFFSETS` holds 0 ... :n - 1, run by the writer before its first block
# after the store used the connection and before a block larger than any since (`Writer`'s `before`):
# the table is made in the block's transaction (a temporary table is private to the connection), so a
# rolled-back import takes it along, and the next block makes it again.
OFFSETS_SQL = (
    f"CREATE TEMP TABLE IF NOT EXISTS {OFFSETS} (i INTEGER PRIMARY KEY)",
    f"INSERT INTO temp.{OFFSETS} (i) WITH RECURSIVE s(i) AS (SELECT COALESCE(MAX(i) + 1, 0) FROM temp.{OFFSETS}"
    f" UNION ALL SELECT i + 1 FROM s WHERE i + 1 < :n) SELECT i FROM s WHERE i < :n",
)
# Record i of a block: its bytes at o in :b and at q in :x (1-based, as substr counts). LIMIT -1 (none)
# keeps SQLite from flattening the subquery into the SELECT, which would compute o and q again for every
# field; as a co-routine they are computed once a record (4% less time for the block statements).
_RECORDS = f"(SELECT i, i * :w + 1 AS o, i * :v + 1 AS q FROM temp.{OFFSETS} WHERE i < :n LIMIT -1)"
