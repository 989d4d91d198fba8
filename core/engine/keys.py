"""Keys remembered across batches, compactly, for uniqueness and reference checks.

Per record a key costs its bytes, a 64-bit hash and a 32-bit line number.
Hashes make sorting and lookups fast; every match is confirmed on the bytes,
so a hash collision never changes a verdict.
"""
from __future__ import annotations

import numpy as np

from . import columns


class KeyColumn:
    """The non-empty values of one field, with the line each came from."""

    def __init__(self, width: int):
        self.width = width
        self._hashes: list[np.ndarray] = []
        self._lines: list[np.ndarray] = []
        self._keys: list[np.ndarray] = []
        self._sorted: np.ndarray | None = None  # the hashes, sorted (kept once asked for)

    def add(self, field: np.ndarray, lines: np.ndarray) -> None:
        """Remember the filled values of a batch, given field-major (blank keys are left to the M rules)."""
        h, lines, keys = filled_keys(field, lines)
        if len(lines):
            self._sorted = None
            self._hashes.append(h)
            self._lines.append(lines)
            self._keys.append(keys)

    def extend(self, h: np.ndarray, lines: np.ndarray, keys: np.ndarray) -> None:
        """Remember values already taken apart (another column's arrays, of the same width)."""
        if len(lines):
            self._sorted = None
            self._hashes.append(h)
            self._lines.append(lines)
            self._keys.append(keys)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(hashes, lines, keys), concatenated in reading order; the chunks are released."""
        if not self._hashes:
            return np.empty(0, np.uint64), np.empty(0, np.uint32), np.empty(0, f"S{self.width}")
        out = (np.concatenate(self._hashes), np.concatenate(self._lines), np.concatenate(self._keys))
        self._hashes, self._lines, self._keys = [out[0]], [out[1]], [out[2]]
        return out


    def sorted_hashes(self) -> np.ndarray:
        """Every value's hash, sorted; computed once, as both the uniqueness and the unique-across
        checks of a column need it."""
        if self._sorted is None:
            self._sorted = np.sort(self.arrays()[0])  # a plain sort is several times faster than argsort
        return self._sorted


def filled_keys(field: np.ndarray, lines: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hashes, lines, bytes) of the records whose field is filled; `field` is field-major."""
    filled = ~columns.empty(field)
    if not filled.all():
        field, lines = field[:, filled], lines[filled]
    return columns.hashes(field), lines.astype(np.uint32), columns.as_bytes(field)


def repeated(column: KeyColumn) -> tuple[np.ndarray, np.ndarray]:
    """(lines, keys) of the second and later occurrences of each value, in line order."""
    h, lines, keys = column.arrays()
    none = np.empty(0, np.uint32), keys[:0]
    if len(h) < 2:
        return none
    ordered = column.sorted_hashes()  # most files have no repeats: the sort is all the work
    repeats = ordered[1:][ordered[1:] == ordered[:-1]]
    if not len(repeats):
        return none
    # Only records whose hash occurs more than once can repeat. Sort those by (hash, line): within a
    # run of equal hashes every record after the first repeats it, unless the bytes differ (a collision).
    repeats = columns.sorted_distinct(repeats)
    pos = np.minimum(np.searchsorted(repeats, h), len(repeats) - 1)
    suspects = np.flatnonzero(repeats[pos] == h)
    sub = suspects[np.lexsort((lines[suspects], h[suspects]))]
    hs, ks = h[sub], keys[sub]
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


class KeyIndex:
    """The keys of a file that has been read whole, sorted by hash, to look references up in.

    Lookups come a batch at a time: the batch is sorted by hash, so the
    binary searches walk the index in order and the bytes to confirm each
    match are read sequentially.
    """

    def __init__(self, column: KeyColumn, width: int):
        h, _, keys = column.arrays()
        self.width = width
        self.rehash = column.width != width  # hashes depend on the width: rehash padded values
        keys = _widen(keys, width)
        if self.rehash:
            h = _hash_bytes(keys, width)
        order = np.argsort(h)
        self.hashes, self.keys = h[order], keys[order]

    def missing(self, h: np.ndarray, lines: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lines, keys) of the references that are not keys of the file, in line order."""
        return self._select(h, lines, keys, want_found=False)

    def found(self, h: np.ndarray, lines: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lines, keys) of the values that are keys here too, in line order."""
        return self._select(h, lines, keys, want_found=True)

    def _select(self, h, lines, keys, want_found: bool):
        if not len(h):
            return lines, keys
        if not len(self.hashes):  # the file has no keys at all: every reference is missing
            if want_found:
                return lines[:0], keys[:0]
            order = np.argsort(lines, kind="stable")
            return lines[order], keys[order]
        keys_w = _widen(keys, self.width)
        if self.rehash:
            h = _hash_bytes(keys_w, self.width)
        # Sorting the queries makes the binary searches walk a big index in order; a small index stays
        # in cache anyway, and the sort would cost more than it saves.
        order = np.argsort(h) if len(self.hashes) > _SMALL_INDEX else np.arange(len(h))
        hs, ks = h[order], keys_w[order]
        pos = np.searchsorted(self.hashes, hs)
        inside = pos < len(self.hashes)
        at = np.where(inside, pos, 0)
        same_hash = inside & (self.hashes[at] == hs)
        found = same_hash & (self.keys[at] == ks)
        # Equal hash but other bytes at the first slot: a collision, look through that hash's whole run.
        for i in np.flatnonzero(same_hash & ~found):
            j = pos[i]
            while j < len(self.hashes) and self.hashes[j] == hs[i] and not found[i]:
                found[i] = self.keys[j] == ks[i]
                j += 1
        chosen = order[found if want_found else ~found]
        chosen = chosen[np.argsort(lines[chosen], kind="stable")]
        return lines[chosen], keys[chosen]


_SMALL_INDEX = 1 << 16


def _hash_bytes(keys: np.ndarray, width: int) -> np.ndarray:
    return columns.hashes(keys.view(np.uint8).reshape(len(keys), width).T)


def _widen(keys: np.ndarray, width: int) -> np.ndarray:
    """Bytes values padded with spaces to `width`, so fields of different widths compare as text."""
    if keys.dtype.itemsize == width:
        return keys
    raw = np.full((len(keys), width), 0x20, dtype=np.uint8)
    src = keys.view(np.uint8).reshape(len(keys), keys.dtype.itemsize)
    raw[:, : src.shape[1]] = src
    return raw.view(f"S{width}").reshape(-1)
