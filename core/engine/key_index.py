"""The keys of a file that references point to, indexed to look references up in a batch at a time."""
from __future__ import annotations

import numpy as np

from . import key_values
from .key_values import Chunks, comparable, widen


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
        h = _short(key_values.key_hashes(query))
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
