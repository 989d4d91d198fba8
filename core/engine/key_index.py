"""The keys of a file that references point to, indexed to look references up in a batch at a time."""
from __future__ import annotations

import numpy as np

from . import key_values
from .key_values import Chunks, comparable, widen


class KeyIndex:
    """Keys of a file that has been read whole, their hashes sorted, to look references up in.

    It holds 8 bytes a key: the top 32 bits of its hash, sorted, and the key's
    position (the keys themselves stay where the column keeps them), plus
    half a byte a key for where each run of hashes with the same top bits
    starts. Every match of those bits is confirmed on the bytes, and a run of
    equal bits is searched through, so a shared prefix costs a little time,
    never a verdict. Lookups come a batch at a time.
    """

    def __init__(self, chunks: Chunks, width: int):
        self.chunks, self.width = chunks, width
        # Each key's top 32 hash bits and its position in one 64-bit word, sorted: one sort of plain
        # integers (vectorised in numpy) instead of an argsort, hashes and positions split off after.
        both = chunks.hashes(width)
        both >>= np.uint64(32)
        both <<= np.uint64(32)
        both |= np.arange(len(both), dtype=np.uint64)
        both.sort()
        self.order = both.astype(np.uint32)  # the low 32 bits: the position
        both >>= np.uint64(32)
        self.hashes = h = both.astype(np.uint32)
        del both
        # Where each run of hashes with the same top bits starts: a lookup then searches a run of about
        # eight hashes (one cache line) instead of the whole index, with no need to sort the queries
        # first. Half a byte a key; a large index (beyond the caches) is searched with sorted queries.
        self.bits = max(1, len(h).bit_length() - 3)
        self.starts = None
        if len(h) <= _DIRECTORY_MOST:
            edges = np.arange((1 << self.bits) + 1, dtype=np.uint64) << np.uint64(32 - self.bits)
            self.starts = np.searchsorted(h, edges).astype(np.uint32)
        self._colliding: set[bytes] | None = None  # `_among_colliding`
        self.nbytes = h.nbytes + self.order.nbytes + (self.starts.nbytes if self.starts is not None else 0)

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
        h = _short(key_values.key_hashes(query))
        if self.starts is not None:
            order, hs, ks = None, h, query
            pos = self._lower_bound(h)
        else:
            # Sorting the queries makes the binary searches walk a big index in order.
            order = np.argsort(h)
            hs, ks = h[order], query[order]
            pos = np.searchsorted(self.hashes, hs)
        inside = pos < len(self.hashes)
        at = np.where(inside, pos, 0)
        same_hash = inside & (self.hashes[at] == hs)
        found = np.zeros(len(hs), bool)
        check = np.flatnonzero(same_hash)
        found[check] = key_values.same_bytes(self.chunks.compared_at(self.order[at[check]], self.width), ks[check])
        # Equal hash but other bytes at the first slot: a collision, decided by the keys that share a hash.
        unsure = np.flatnonzero(same_hash & ~found)
        if len(unsure):
            found[unsure] = self._among_colliding(ks[unsure])
        chosen = found if want_found else ~found
        if order is None:  # the queries are in their own order, which is line order
            chosen = np.flatnonzero(chosen)
            if len(chosen) > 1 and (np.diff(lines[chosen].astype(np.int64)) < 0).any():
                chosen = chosen[np.argsort(lines[chosen], kind="stable")]
        else:
            chosen = order[chosen]
            chosen = chosen[np.argsort(lines[chosen], kind="stable")]
        return lines[chosen], keys[chosen]

    def _among_colliding(self, queries: np.ndarray) -> np.ndarray:
        """Whether each of `queries` (as compared, this index's width) is one of the keys whose top hash
        bits another key shares. A query whose hash matched a run but not the run's first key is a key
        exactly when it is one of these (equal bytes, equal hash): no run is searched key by key, so a file
        made to collide (every key on one hash) costs one set of its keys, not a search of the run per
        reference. The set is made on first need; a real file has a few hundred such keys a million."""
        if self._colliding is None:
            h = self.hashes
            shared = np.zeros(len(h), bool)
            same = h[1:] == h[:-1]
            shared[1:] |= same
            shared[:-1] |= same
            self._colliding = _byte_strings(self.chunks.compared_at(self.order[shared], self.width))
        return np.fromiter((q in self._colliding for q in _byte_strings(queries, as_set=False)), bool,
                           count=len(queries))

    def _lower_bound(self, h: np.ndarray) -> np.ndarray:
        """np.searchsorted(self.hashes, h): the run of h's top bits, then a binary search within it."""
        top = (h >> np.uint32(32 - self.bits)).astype(np.intp)
        lo = self.starts[top].astype(np.intp)
        hi = self.starts[top + 1].astype(np.intp)
        last = len(self.hashes) - 1
        while True:
            open_ = lo < hi
            if not open_.any():
                return lo
            mid = (lo + hi) >> 1
            below = open_ & (self.hashes[np.minimum(mid, last)] < h)
            lo = np.where(below, mid + 1, lo)
            hi = np.where(open_ & ~below, mid, hi)


_DIRECTORY_MOST = 1 << 21  # keys; beyond, the hashes (8 MiB) outgrow the caches


def _byte_strings(values: np.ndarray, as_set: bool = True):
    """Fixed-width bytes values as Python bytes of their whole width (numpy's own conversion of an 'S'
    value drops trailing NUL bytes, which the index compares like any other byte)."""
    width = values.dtype.itemsize
    data = np.ascontiguousarray(values).tobytes()
    strings = (data[i:i + width] for i in range(0, len(data), width))
    return set(strings) if as_set else list(strings)


def _short(h: np.ndarray) -> np.ndarray:
    """The top 32 bits of 64-bit hashes."""
    return (h >> np.uint64(32)).astype(np.uint32)
