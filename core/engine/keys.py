"""Keys remembered across batches, compactly, for uniqueness and reference checks.

A remembered key costs its bytes as delivered and a 32-bit line number (24
bytes for GA's 20-character keys; a key of a file that references point to 8
more, for its index), held in the chunks the batches brought, never copied
into a second array. Hashes are computed when the keys are checked,
a partition at a time; every match is confirmed on the bytes, so a hash
collision never changes a verdict. Beyond a memory budget a column spills to
disk by hash partition (key_spill.py); the findings are the same.

How keys compare (without leading and trailing spaces) and hash:
key_values.py; the index of a file that references point to: key_index.py.
"""
from __future__ import annotations

import numpy as np

from . import columns, key_spill
from .key_index import KeyIndex
from .key_spill import PARTS, KeyMemory, Segments
from .key_values import Chunks, _join_releasing, comparable, filled_keys, widen

__all__ = ["KeyColumn", "KeyIndex", "dangling", "filled_keys", "found_elsewhere", "repeated", "repeated_in"]


# ---------------------------------------------------------------- a column of remembered keys


class KeyColumn:
    """The filled keys of one (composite) field of a file, with the line each came from."""

    def __init__(self, widths: tuple[int, ...] | int, memory: KeyMemory | None = None, whose: str = "a key column"):
        self.whose = whose  # what the keys are, for messages: "BEHANDELTRAJECT.txt (1449)"
        self.widths = (widths,) if isinstance(widths, int) else tuple(widths)
        self.width = sum(self.widths)
        self.memory = memory if memory is not None else KeyMemory(limit=1 << 62)
        self._pairs: list[tuple[np.ndarray, np.ndarray]] = []
        self._held = 0  # bytes of _pairs
        self.segments: Segments | None = None  # set once the column has spilled
        self.index: KeyIndex | None = None

    def __len__(self) -> int:
        return sum(len(p[0]) for p in self._pairs) + (self.segments.count if self.segments else 0)

    @property
    def spilled(self) -> bool:
        """Whether (some of) the column's keys are on disk."""
        return self.segments is not None

    def add(self, field: np.ndarray, lines: np.ndarray) -> None:
        """Remember the filled keys of a batch, given field-major (blank keys are left to the M rules)."""
        self.extend(*filled_keys(field, lines))

    def extend(self, lines: np.ndarray, keys: np.ndarray) -> None:
        """Remember keys already taken apart (of this column's width)."""
        if not len(lines):
            return
        self._pairs.append((lines.astype(np.uint32, copy=False), keys))
        nbytes = lines.nbytes + keys.nbytes
        self._held += nbytes
        self.memory.take(nbytes)
        if self.spilled:
            if self._held >= min(key_spill.SEGMENT_BYTES, max(self.memory.limit // 4, 1)) or self.memory.over:
                self._flush()
        elif self.memory.over:
            self.spill()

    def spill(self) -> None:
        """Move the column's keys to disk (further keys follow them there); drops its index."""
        if self.segments is None:
            self.segments = Segments(self.memory, self.width, self.whose)
        self.drop_index()
        self._flush()

    def _flush(self) -> None:
        """Write the keys held in memory to disk, a segment of at most SEGMENT_BYTES at a time."""
        while self._pairs:
            group, size = [], 0
            while self._pairs and (not group or size + self._pairs[0][1].nbytes <= key_spill.SEGMENT_BYTES):
                group.append(self._pairs.pop(0))
                size += group[-1][0].nbytes + group[-1][1].nbytes
            chunks = Chunks(group, self.widths)
            hashes = chunks.hashes()
            lines, keys = _join_releasing(group, self.width)
            self.segments.write(lines, keys, hashes)
            del lines, keys, hashes, chunks
            self.memory.give(size)
            self._held -= size

    def in_memory(self) -> Chunks:
        """The keys held in memory (every key, unless the column spilled)."""
        return Chunks(self._pairs, self.widths)

    def partition(self, p: int) -> Chunks:
        """The keys of partition `p` (the column must have spilled; call `spill` first)."""
        self._flush()
        return Chunks(self.segments.partition(p), self.widths)

    def build_index(self, width: int) -> KeyIndex | None:
        """An index to look keys up in, kept in memory if the budget allows (else the column spills)."""
        if self.index is not None and self.index.width == width:
            return self.index
        n = sum(len(p[0]) for p in self._pairs)
        if self.spilled or self.memory.used + 8 * n > self.memory.limit:
            self.spill()
            return None
        # One array of keys, so that lookups gather from it directly; the chunks go as they are copied.
        lines, keys = _join_releasing(self._pairs, self.width)
        self._pairs = [(lines, keys)] if len(lines) else []
        self.index = KeyIndex(self.in_memory(), width)
        self.memory.take(self.index.nbytes)
        return self.index

    def drop_index(self) -> None:
        """Forget the index (its memory goes back to the budget)."""
        if self.index is not None:
            self.memory.give(self.index.nbytes)
            self.index = None

    def pieces(self):
        """The column's keys in pieces that fit memory, as Chunks (in no particular order)."""
        if not self.spilled:
            yield self.in_memory()
            return
        for p in range(PARTS):
            part = self.partition(p)
            if part.n:
                yield part


def together(columns_: list[KeyColumn]):
    """For columns whose keys are checked against each other: their Chunks, a partition at a time.

    All in memory: one round with everything. Otherwise every column spills and each round is one
    hash partition, in which equal keys of all the columns meet.
    """
    if not any(c.spilled for c in columns_):
        yield [c.in_memory() for c in columns_]
        return
    for c in columns_:
        c.spill()
    for p in range(PARTS):
        yield [c.partition(p) for c in columns_]


# ---------------------------------------------------------------- uniqueness


def repeated(column: KeyColumn) -> tuple[np.ndarray, np.ndarray]:
    """(lines, keys) of the second and later occurrences of each key, in line order."""
    found = [repeated_in(part) for (part,) in together([column])]
    return _joined(found, column.width)


def repeated_in(chunks: Chunks) -> tuple[np.ndarray, np.ndarray]:
    """`repeated` for keys in reading order, all in memory."""
    none = np.empty(0, np.uint32), np.empty(0, f"S{chunks.width}")
    if chunks.n < 2:
        return none
    h = chunks.hashes()
    ordered = np.sort(h)  # most files have no repeats: the sort is all the work
    repeats = ordered[1:][ordered[1:] == ordered[:-1]]
    del ordered
    if not len(repeats):
        return none
    # Only records whose hash occurs more than once can repeat. Sort those by (hash, line): within a
    # run of equal hashes every record after the first repeats it, unless the bytes differ (a collision).
    repeats = columns.sorted_distinct(repeats)
    pos = np.minimum(np.searchsorted(repeats, h), len(repeats) - 1)
    suspects = np.flatnonzero(repeats[pos] == h)
    lines, keys = chunks.take(suspects)
    hs = h[suspects]
    sub = np.lexsort((lines, hs))
    hs, ks = hs[sub], comparable(keys[sub], chunks.widths)
    run_start = np.r_[True, hs[1:] != hs[:-1]]
    run = np.cumsum(run_start) - 1
    dup = ~run_start
    collided = np.unique(run[~run_start & np.r_[False, ks[1:] != ks[:-1]]])
    for r in collided:
        members = np.flatnonzero(run == r)
        dup[members] = _repeated_exact(ks[members])
    idx = sub[dup]
    idx = idx[np.argsort(lines[idx], kind="stable")]
    return lines[idx], keys[idx]


def _repeated_exact(keys: np.ndarray) -> np.ndarray:
    """For keys in line order: which repeat an earlier one."""
    seen: set[bytes] = set()
    dup = np.zeros(len(keys), dtype=bool)
    for i, key in enumerate(keys.tolist()):
        dup[i] = key in seen
        seen.add(key)
    return dup


def _joined(found: list[tuple[np.ndarray, np.ndarray]], width: int) -> tuple[np.ndarray, np.ndarray]:
    """Results of several partitions as one (lines, keys) pair, in line order."""
    found = [f for f in found if len(f[0])]
    if not found:
        return np.empty(0, np.uint32), np.empty(0, f"S{width}")
    lines = np.concatenate([f[0] for f in found])
    keys = np.concatenate([widen(f[1], width) for f in found])
    order = np.argsort(lines, kind="stable")
    return lines[order], keys[order]


def found_elsewhere(own: KeyColumn, targets: list[KeyColumn], width: int) -> tuple[np.ndarray, np.ndarray]:
    """(lines, keys) of `own`'s keys that are keys of one of `targets` too (unique across files).

    A key can only occur elsewhere if its hash does; usually no hash is shared and nothing else is
    done, otherwise only the keys with a shared hash are compared byte for byte.
    """
    found = []
    for mine, *theirs in together([own] + targets):
        if not mine.n or not any(t.n for t in theirs):
            continue
        h = mine.hashes(width)
        distinct = columns.sorted_distinct(h)
        shared = columns.sorted_distinct(np.concatenate(
            [h[:0]] + [_sorted_common(distinct, columns.sorted_distinct(t.hashes(width))) for t in theirs]))
        if not len(shared):
            continue
        elsewhere = []
        for t in theirs:
            th = t.hashes(width)
            keep = np.flatnonzero(_member(th, shared))
            elsewhere.append((np.zeros(len(keep), np.uint32), t.compared_at(keep, width)))
        index = KeyIndex(Chunks([_pair(elsewhere, width)], (width,)), width)
        keep = np.flatnonzero(_member(h, shared))
        lines, keys = mine.take(keep)
        found.append(index.found(lines, widen(keys, width), widths=mine.widths))
    return _joined(found, width)


def _pair(pairs, width):
    return (np.concatenate([p[0] for p in pairs]),
            np.concatenate([p[1] for p in pairs]) if pairs else np.empty(0, f"S{width}"))


def _member(h: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """True where h is in sorted `wanted`."""
    if not len(wanted) or not len(h):
        return np.zeros(len(h), bool)
    pos = np.minimum(np.searchsorted(wanted, h), len(wanted) - 1)
    return wanted[pos] == h


def _sorted_common(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The values of sorted unique `a` that are in sorted unique `b`."""
    if not len(a) or not len(b):
        return a[:0]
    if len(a) > len(b):  # the same values either way: search with the smaller side
        a, b = b, a
    return a[_member(a, b)]


def dangling(refs: KeyColumn, target: KeyColumn, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(lines, keys) of the references remembered in `refs` that are no key of `target`, in line order.

    With the target's index in memory the references are looked up piece by piece; otherwise both
    sides meet a hash partition at a time.
    """
    found = []
    if target.index is not None:
        for piece in refs.pieces():
            found.append(target.index.missing(*piece.joined(), refs.widths))
    else:
        for mine, theirs in together([refs, target]):
            if mine.n:
                found.append(KeyIndex(theirs, width).missing(*mine.joined(), refs.widths))
    return _joined(found, refs.width)
