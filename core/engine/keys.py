"""Keys remembered across batches, compactly, for uniqueness and reference checks.

A remembered key costs its bytes as delivered and a 32-bit line number (24
bytes for GA's 20-character keys; a key of a file that references point to 8
more, for its index), held in the chunks the batches brought, never copied
into a second array. Hashes are computed when the keys are checked,
a partition at a time; every match is confirmed on the bytes, so a hash
collision never changes a verdict. Beyond a memory budget a column spills to
disk by hash partition (key_spill.py); the findings are the same.

Keys compare as values do (README, "Alignment and padding"): without their
leading and trailing spaces, each part of a composite key on its own, so
` BT1` and `BT1` are one key. Findings show the key as delivered.
"""
from __future__ import annotations

import numpy as np

from . import columns
from . import key_spill
from .key_spill import PARTS, KeyMemory, Segments

SPACE = 0x20
_SEED, _MUL = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9)
_FIN1, _FIN2 = np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53)


# ---------------------------------------------------------------- keys as values


def key_hashes(keys: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each fixed-width bytes value (numpy 'S'), its top bits well mixed for partitioning.

    The bytes are read eight at a time, so a 20-byte key costs three rounds, not twenty.
    """
    n, w = len(keys), keys.dtype.itemsize
    raw = keys.view(np.uint8).reshape(n, w)
    words = -(-w // 8)
    if w != words * 8:
        padded = np.zeros((n, words * 8), np.uint8)
        padded[:, :w] = raw
        raw = padded
    else:
        raw = np.ascontiguousarray(raw)
    u = raw.view("<u8")
    h = np.full(n, _SEED ^ np.uint64(w), np.uint64)
    with np.errstate(over="ignore"):
        for i in range(words):
            h ^= u[:, i]
            h *= _MUL
            h ^= h >> np.uint64(31)
        h ^= h >> np.uint64(33)
        h *= _FIN1
        h ^= h >> np.uint64(33)
        h *= _FIN2
        h ^= h >> np.uint64(33)
    return h


def comparable(keys: np.ndarray, widths: tuple[int, ...]) -> np.ndarray:
    """The keys as compared: each part left-aligned (its leading spaces moved to the end).

    Returns `keys` itself when no part of any key starts with a space, the usual case.
    """
    n, w = len(keys), keys.dtype.itemsize
    if not n:
        return keys
    raw = keys.view(np.uint8).reshape(n, w)
    starts = np.cumsum((0,) + tuple(widths[:-1]))
    lead = (raw[:, starts] == SPACE).any(axis=1)
    if not lead.any():
        return keys
    rows = np.flatnonzero(lead)
    fixed = raw[rows].copy()
    for a, b in zip(starts, starts + np.asarray(widths)):
        fixed[:, a:b] = columns.left_aligned(np.ascontiguousarray(fixed[:, a:b].T)).T
    out = raw.copy()
    out[rows] = fixed
    return out.view(keys.dtype).reshape(-1)


def filled_keys(field: np.ndarray, lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lines, bytes) of the records whose key is filled; `field` is field-major (blank keys are left
    to the M rules)."""
    filled = ~columns.empty(field)
    if not filled.all():
        field, lines = field[:, filled], lines[filled]
    return lines.astype(np.uint32), columns.as_bytes(field)


def widen(keys: np.ndarray, width: int) -> np.ndarray:
    """Bytes values padded with spaces to `width`, so fields of different widths compare as text."""
    if keys.dtype.itemsize == width:
        return keys
    raw = np.full((len(keys), width), SPACE, dtype=np.uint8)
    src = keys.view(np.uint8).reshape(len(keys), keys.dtype.itemsize)
    raw[:, : src.shape[1]] = src
    return raw.view(f"S{width}").reshape(-1)


class Chunks:
    """Some keys of a column as the batches (or a partition's segments) brought them: (lines, keys) pairs.

    Taking keys by position gathers from the chunks instead of joining them into one array first.
    """

    def __init__(self, pairs, widths: tuple[int, ...]):
        self.pairs = [p for p in pairs if len(p[0])]
        self.widths = widths
        self.width = sum(widths)
        self.starts = np.cumsum([0] + [len(p[0]) for p in self.pairs])
        self.n = int(self.starts[-1])

    def hashes(self, width: int | None = None) -> np.ndarray:
        """Each key's hash, in order, compared as `comparable` and (if given) widened to `width`."""
        out = np.empty(self.n, np.uint64)
        for (_, ks), a in zip(self.pairs, self.starts):
            out[a:a + len(ks)] = key_hashes(self._compared(ks, width))
        return out

    def _compared(self, ks: np.ndarray, width: int | None) -> np.ndarray:
        ks = comparable(ks, self.widths)
        return ks if width is None else widen(ks, width)

    def take(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lines, keys as delivered) at these positions."""
        if len(self.pairs) == 1:
            lines, keys = self.pairs[0]
            return lines[idx], keys[idx]
        lines = np.empty(len(idx), np.uint32)
        keys = np.empty(len(idx), f"S{self.width}")
        which = np.searchsorted(self.starts, idx, side="right") - 1
        for c in np.unique(which):
            at = which == c
            ln, ks = self.pairs[c]
            local = idx[at] - self.starts[c]
            lines[at], keys[at] = ln[local], ks[local]
        return lines, keys

    def compared_at(self, idx: np.ndarray, width: int | None = None) -> np.ndarray:
        """The keys at these positions as compared."""
        return self._compared(self.take(idx)[1], width)

    def joined(self) -> tuple[np.ndarray, np.ndarray]:
        """(lines, keys) in one pair of arrays."""
        if len(self.pairs) == 1:
            return self.pairs[0]
        if not self.pairs:
            return np.empty(0, np.uint32), np.empty(0, f"S{self.width}")
        return np.concatenate([p[0] for p in self.pairs]), np.concatenate([p[1] for p in self.pairs])


# ---------------------------------------------------------------- a column of remembered keys


class KeyColumn:
    """The filled keys of one (composite) field of a file, with the line each came from."""

    def __init__(self, widths: tuple[int, ...] | int, memory: KeyMemory | None = None):
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
            self.segments = Segments(self.memory, self.width)
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


def _join_releasing(pairs: list, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(lines, keys) of the pairs in one pair of arrays; each pair is let go once copied, so that joining
    costs one chunk more than the keys, not twice the keys. Empties `pairs`."""
    n = sum(len(p[0]) for p in pairs)
    lines, keys = np.empty(n, np.uint32), np.empty(n, f"S{width}")
    at = 0
    while pairs:
        ln, ks = pairs.pop(0)
        lines[at:at + len(ln)], keys[at:at + len(ln)] = ln, ks
        at += len(ln)
        del ln, ks
    return lines, keys


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


# ---------------------------------------------------------------- references


class KeyIndex:
    """Keys of a file that has been read whole, their hashes sorted, to look references up in.

    It holds 8 bytes a key: the top 32 bits of its hash, sorted, and the key's
    position (the keys themselves stay where the column keeps them). Every
    match of those bits is confirmed on the bytes, and a run of equal bits is
    searched through, so a shared prefix costs a little time, never a verdict.
    Lookups come a batch at a time, sorted, so the binary searches walk the
    index in order.
    """

    def __init__(self, chunks: Chunks, width: int):
        self.chunks, self.width = chunks, width
        h = _short(chunks.hashes(width))
        order = np.argsort(h)
        h.sort()  # the same as h[order], without a second array
        self.hashes, self.order = h, order.astype(np.uint32)
        self.nbytes = h.nbytes + self.order.nbytes

    def missing(self, lines: np.ndarray, keys: np.ndarray, widths=None) -> tuple[np.ndarray, np.ndarray]:
        """(lines, keys) of the references that are not keys of the file, in line order."""
        return self._select(lines, keys, widths, want_found=False)

    def found(self, lines: np.ndarray, keys: np.ndarray, widths=None) -> tuple[np.ndarray, np.ndarray]:
        """(lines, keys) of the values that are keys here too, in line order."""
        return self._select(lines, keys, widths, want_found=True)

    def _select(self, lines, keys, widths, want_found: bool):
        if not len(lines):
            return lines, keys
        if not len(self.hashes):  # the file has no keys at all: every reference is missing
            if want_found:
                return lines[:0], keys[:0]
            order = np.argsort(lines, kind="stable")
            return lines[order], keys[order]
        query = widen(comparable(keys, widths or (keys.dtype.itemsize,)), self.width)
        h = _short(key_hashes(query))
        # Sorting the queries makes the binary searches walk a big index in order; a small index stays
        # in cache anyway, and the sort would cost more than it saves.
        order = np.argsort(h) if len(self.hashes) > _SMALL_INDEX else np.arange(len(h))
        hs, ks = h[order], query[order]
        pos = np.searchsorted(self.hashes, hs)
        inside = pos < len(self.hashes)
        at = np.where(inside, pos, 0)
        same_hash = inside & (self.hashes[at] == hs)
        found = np.zeros(len(hs), bool)
        check = np.flatnonzero(same_hash)
        found[check] = self.chunks.compared_at(self.order[at[check]], self.width) == ks[check]
        # Equal hash but other bytes at the first slot: a collision, look through that hash's whole run.
        for i in np.flatnonzero(same_hash & ~found):
            j = pos[i]
            while j < len(self.hashes) and self.hashes[j] == hs[i] and not found[i]:
                found[i] = self.chunks.compared_at(self.order[j:j + 1], self.width)[0] == ks[i]
                j += 1
        chosen = order[found if want_found else ~found]
        chosen = chosen[np.argsort(lines[chosen], kind="stable")]
        return lines[chosen], keys[chosen]


_SMALL_INDEX = 1 << 16


def _short(h: np.ndarray) -> np.ndarray:
    """The top 32 bits of 64-bit hashes."""
    return (h >> np.uint64(32)).astype(np.uint32)


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
