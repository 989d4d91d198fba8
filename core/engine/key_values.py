"""Keys as values: how they compare and hash, and how the batches' keys are held.

Keys compare as values do (README, "Alignment and padding"): without their
leading and trailing spaces, each part of a composite key on its own, so
` BT1` and `BT1` are one key. Findings show a key as delivered, so the bytes
are kept as delivered and made comparable where they are compared. Hashes
make sorting and lookups fast; every match is confirmed on the bytes.
"""
from __future__ import annotations

import numpy as np

from . import columns

SPACE = 0x20
_SEED, _MUL = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9)
_FIN1, _FIN2 = np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53)


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


def same_bytes(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Where two equally long arrays of fixed-width bytes values (numpy 'S', same width) hold the same bytes.

    Compared a machine word at a time (the widest that divides the width): a few integer comparisons
    a key instead of a string comparison.
    """
    width = a.dtype.itemsize
    if width == 0 or len(a) == 0:
        return np.ones(len(a), bool)
    word = next(size for size in (8, 4, 2, 1) if width % size == 0)
    left = np.ascontiguousarray(a).view(f"<u{word}").reshape(len(a), -1)
    right = np.ascontiguousarray(b).view(f"<u{word}").reshape(len(b), -1)
    same = left[:, 0] == right[:, 0]
    for i in range(1, left.shape[1]):
        same &= left[:, i] == right[:, i]
    return same


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
