"""Known codes of one field, looked up exactly by the few byte positions that tell them apart.

A code field (20 bytes, say) of a million records holds a handful of distinct
codes: `006`, `016`, ... padded with spaces. Hashing all twenty bytes of every
record, searching the hashes and confirming every match on its bytes costs
three passes over the whole field. Here the known codes are studied once
(whenever a new one comes):

- the positions at which all known codes have the same byte (the padding, a
  shared prefix such as `BC`) are checked against that byte;
- one or two positions at which the known codes all differ give each
  record's candidate code through a table of 256 or 65,536 entries;
- the remaining positions are compared with the candidate's bytes.

Every byte of every record is thus compared with a known code, so the answer
is exact; a record that matches no known code is reported (None), and the
caller takes the hashing path that learns new codes.
"""
from __future__ import annotations

import itertools

import numpy as np

_MAX_CODES = 4096  # beyond this, codes are not a small set (identifiers, names): hashing does better
_MAX_PAIRS = 400  # pairs of positions tried for a two-byte key


class KnownCodes:
    """An exact lookup of a fixed set of distinct codes of one width (a (width, codes) byte table)."""

    def __init__(self, table: np.ndarray):
        width, count = table.shape
        self.width = width
        first = table[:, :1]
        same = (table == first).all(axis=1)
        self.fixed = np.flatnonzero(same)  # positions where every code has one byte
        self.fixed_bytes = first[same, 0].copy()
        varying = np.flatnonzero(~same)
        self.key = _key_positions(table, varying)
        self.checked = [(int(p), table[p].copy()) for p in varying if p not in (self.key or ())]
        self.lut = None
        if self.key is not None:
            self.lut = np.full(1 << (8 * len(self.key)), -1, np.int64)
            self.lut[_key_of(table, self.key)] = np.arange(count)

    @classmethod
    def of(cls, table: np.ndarray) -> KnownCodes | None:
        """The lookup for these codes, or None when they are too many or no two positions tell them apart."""
        if table.shape[1] == 0 or table.shape[1] > _MAX_CODES:
            return None
        known = cls(table)
        return known if known.key is not None or table.shape[1] == 1 else None

    def ids(self, f: np.ndarray) -> np.ndarray | None:
        """Each record's code id (its column in the table), or None if some record holds no known code.

        `f` is a field-major (width, n) block of the same width.
        """
        n = f.shape[1]
        if self.lut is None:  # a single known code: every record must be it
            ids = np.zeros(n, np.int64)
        else:
            ids = self.lut[_key_of(f, self.key)]
            if (ids < 0).any():
                return None
        if len(self.fixed) and not _rows_equal(f, self.fixed, self.fixed_bytes):
            return None
        for p, column in self.checked:
            if not (f[p] == column[ids]).all():
                return None
        return ids


def _key_of(block: np.ndarray, key: tuple[int, ...]) -> np.ndarray:
    """The key bytes of each column of a field-major block as one integer (1 or 2 bytes)."""
    if len(key) == 1:
        return block[key[0]]
    return (block[key[0]].astype(np.uint16) << 8) | block[key[1]]


def _key_positions(table: np.ndarray, varying: np.ndarray) -> tuple[int, ...] | None:
    """One position, else two, at which the codes' bytes (together) are all different; None if none."""
    count = table.shape[1]
    distinct = [len(np.unique(table[p])) for p in varying]
    for p, n in zip(varying, distinct):
        if n == count:
            return (int(p),)
    if count > 1 << 16:
        return None
    # The positions with the most different bytes first: the pair that tells all apart is among them.
    varying = [p for _, p in sorted(zip(distinct, varying), key=lambda pair: -pair[0])]
    for p, q in itertools.islice(itertools.combinations(varying, 2), _MAX_PAIRS):
        if len(np.unique(_key_of(table, (p, q)))) == count:
            return int(p), int(q)
    return None


def _rows_equal(f: np.ndarray, rows: np.ndarray, values: np.ndarray) -> bool:
    """Whether row rows[i] of f holds only values[i], for every i; runs of adjacent rows compared at once."""
    start = 0
    while start < len(rows):
        end = start + 1
        while end < len(rows) and rows[end] == rows[end - 1] + 1:
            end += 1
        block = f[rows[start]:rows[end - 1] + 1]
        if not (block == values[start:end, None]).all():
            return False
        start = end
    return True
