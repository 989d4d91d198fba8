"""Parent records for the columnar engine: what children read of them, kept by key.

A rule on a DBC-traject that reads 1451 of its zorgtraject needs, per
zorgtraject, only 1449 (the key) and 1451. The pipeline reads parents before
children, so when a child batch comes every parent is known: the batch's
foreign keys are looked up in the parent's sorted keys, and the parent's
fields are gathered into a column like the record's own (spaces where no
parent was delivered; the kernels then leave the rule unevaluated).

Keys are compared as values are, without their leading and trailing spaces:
as bytes, left-aligned and padded with spaces to the wider of the two
fields (numpy 'V' values sort and compare bytewise, NUL included). A key that
several parent records share identifies none of them.

What is kept counts against the run's key budget (key_spill.py). Children
look their parents up in any order, so a parent file's fields cannot be read
a partition at a time: beyond the budget they are written to the run's
working directory and mapped from there (np.memmap), so the operating
system, not the process's own memory, holds the pages in use.
"""
from __future__ import annotations

import inspect

import numpy as np

from ..language import checks as k
from ..layout import Field, Layout
from . import columns
from .common import Batch
from .key_spill import KeyMemory


def _void(block: np.ndarray, width: int) -> np.ndarray:
    """A field-major (w, n) key block as n bytes values of `width`, as keys compare: left-aligned (leading
    spaces do not count) and padded with spaces, comparable bytewise."""
    block = columns.left_aligned(block)
    w, n = block.shape
    rows = np.full((n, width), 0x20, dtype=np.uint8)
    rows[:, :min(w, width)] = block[:width].T
    return rows.view(np.dtype((np.void, width))).reshape(-1)


class ParentTable:
    """The records of one parent file keyed by one key field, with the fields its children read."""

    def __init__(self, key: Field, fields: list[Field], memory: KeyMemory | None = None):
        self.memory = memory if memory is not None else KeyMemory(limit=1 << 62)
        self.key = key
        self.fields = [key] + [f for f in fields if f.ddid != key.ddid]
        self.offsets, at = {}, 0
        for f in self.fields:
            self.offsets[f.ddid] = (at, at + f.length)
            at += f.length
        self.width = at
        self._chunks: list[np.ndarray] = []
        self.rows = np.zeros((0, self.width), np.uint8)
        self._sorted: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def add(self, batch: Batch) -> None:
        """Keep the needed fields of every record of the batch (blank keys too: they match nothing)."""
        chunk = np.concatenate([batch.raw(f) for f in self.fields], axis=1)
        self._chunks.append(chunk)
        self.memory.take(chunk.nbytes)

    def finish(self) -> None:
        """The file has been read whole: its keys can be looked up (from disk, beyond the budget)."""
        chunks, self._chunks = self._chunks, []
        n = sum(len(ch) for ch in chunks)
        if not n:
            return
        held = n * self.width
        if self.memory.over:
            # Written out and mapped: the pages children read come and go with the page cache.
            path = self.memory.write(chunks, f"{self.key.file} ({', '.join(f.ddid for f in self.fields)}), "
                                             "parents' fields their children read")
            del chunks
            self.memory.give(held)
            self.rows = np.memmap(path, np.uint8, "r", shape=(n, self.width))
            return
        # One array, each chunk let go once copied: the fields cost once, not twice, while joined.
        self.rows = np.empty((n, self.width), np.uint8)
        at = 0
        while chunks:
            chunk = chunks.pop(0)
            self.rows[at:at + len(chunk)] = chunk
            at += len(chunk)
            del chunk

    def _index(self, width: int):
        if width not in self._sorted:
            a, b = self.offsets[self.key.ddid]
            block = np.ascontiguousarray(self.rows[:, a:b].T)
            keys = _void(block, width)
            filled = ~columns.empty(block) if len(self.rows) else np.zeros(0, bool)
            rows = np.flatnonzero(filled)
            order = rows[np.argsort(keys[rows], kind="stable")]
            ordered = keys[order]
            # A key two records share names no one parent: its children are not evaluated on the
            # parent's fields (the UK rule reports the key).
            same = np.zeros(len(order), dtype=bool)
            if len(order) > 1:
                eq = ordered[1:] == ordered[:-1]
                same[1:] |= eq
                same[:-1] |= eq
            self._sorted[width] = (ordered[~same], order[~same].astype(np.uint32), filled)
            self.memory.take(self._sorted[width][0].nbytes + self._sorted[width][1].nbytes + filled.nbytes)
        return self._sorted[width]

    def lookup(self, block: np.ndarray) -> np.ndarray:
        """For each foreign key (field-major block), the parent's row, or -1 when none has that key."""
        n = block.shape[1]
        width = max(block.shape[0], self.key.length)
        keys, order, _ = self._index(width)
        if not len(keys) or not n:
            return np.full(n, -1, np.int64)
        q = _void(block, width)
        pos = np.minimum(np.searchsorted(keys, q), len(keys) - 1)
        found = (keys[pos] == q) & ~columns.empty(block)
        return np.where(found, order[pos].astype(np.int64), -1)

    def gather(self, fld: Field, rows: np.ndarray) -> np.ndarray:
        """The field of the parent rows as a field-major block; spaces where rows is -1."""
        a, b = self.offsets[fld.ddid]
        if not len(self.rows):
            return np.full((b - a, len(rows)), 0x20, np.uint8)
        out = self.rows[np.maximum(rows, 0), a:b].T.copy()
        out[:, rows < 0] = 0x20
        return out


class Parents:
    """Every parent table the rules need, and the columns they give a child batch."""

    def __init__(self, checks, layout: Layout, memory: KeyMemory | None = None):
        needs: dict[tuple[str, str], set[Field]] = {}
        for col in (c for check in checks for c in cols_of(check)):
            if col.scope != "parent":
                continue
            for i, hop in enumerate(col.path):
                fields = needs.setdefault((hop.key.file, hop.key.ddid), set())
                fields.add(col.path[i + 1].foreign_key if i + 1 < len(col.path) else col.field)
        self.tables = {
            (file, ddid): ParentTable(layout.field(ddid), sorted(fields, key=lambda f: f.begin), memory)
            for (file, ddid), fields in needs.items()
        }

    def add(self, batch: Batch) -> None:
        """Keep what children will read of this batch's records, if its file is a parent."""
        for (file, _), table in self.tables.items():
            if file == batch.file.name:
                table.add(batch)

    def file_finished(self, name: str) -> None:
        """The parent file has been read whole."""
        for (file, _), table in self.tables.items():
            if file == name:
                table.finish()

    def rows(self, batch: Batch, path: tuple[k.Hop, ...]) -> np.ndarray:
        """Each record's row in the last parent table of `path`, -1 where a parent is missing."""
        key = ("parent rows", path)
        if key not in batch.cache:
            if len(path) == 1:
                block = batch.column(path[0].foreign_key)
            else:
                before = self.rows(batch, path[:-1])
                prev = path[-2].key
                block = self.tables[(prev.file, prev.ddid)].gather(path[-1].foreign_key, before)
            batch.cache[key] = self.tables[(path[-1].key.file, path[-1].key.ddid)].lookup(block)
        return batch.cache[key]

    def column(self, batch: Batch, col: k.Col) -> tuple[np.ndarray, np.ndarray]:
        """(field-major bytes, parent present) of a parent's field for every record of the batch."""
        key = ("parent column", col.path, col.field.ddid)
        if key not in batch.cache:
            rows = self.rows(batch, col.path)
            last = col.path[-1].key
            batch.cache[key] = (self.tables[(last.file, last.ddid)].gather(col.field, rows), rows >= 0)
        return batch.cache[key]


def cols_of(check, into_counts: bool = True) -> tuple:
    """Every column a typed check reads, anywhere inside it (`into_counts`: also in a count's condition).

    Worked out once per check and kept (see `per_check`): every run builds its engines from the same
    rule book, and walking each check again is a tenth of a small delivery's validation.
    """
    return per_check(_walk, check, into_counts)


def _walk(check, into_counts: bool):
    if isinstance(check, k.Col):
        yield check
        return
    if isinstance(check, k.CountOf) and not into_counts:
        return
    for name in getattr(check, "__dataclass_fields__", {}):
        value = getattr(check, name)
        for item in value if isinstance(value, tuple) else (value,):
            if hasattr(item, "__dataclass_fields__") and not isinstance(item, (Field, k.Hop)):
                yield from _walk(item, into_counts)


# (function, id(check), arguments) -> (check, answer): the check is kept with its answer, so that its id
# cannot be reused by another object while the entry exists
_PER_CHECK: dict[tuple, tuple] = {}
_PER_CHECK_MAX = 100_000  # many rule books in one process: start again rather than grow without bound


def per_check(fn, check, *args):
    """`fn(check, *args)` (made a tuple when it yields), computed once per check object.

    For questions about a compiled rule's check that depend on nothing but the check: checks are
    immutable (frozen dataclasses) and belong to a rule book compiled once per process.
    """
    key = (fn, id(check), args)
    hit = _PER_CHECK.get(key)
    if hit is not None and hit[0] is check:
        return hit[1]
    answer = fn(check, *args)
    if inspect.isgenerator(answer):
        answer = tuple(answer)
    if len(_PER_CHECK) >= _PER_CHECK_MAX:
        _PER_CHECK.clear()
    _PER_CHECK[key] = (check, answer)
    return answer
