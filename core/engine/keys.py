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

    def add(self, field: np.ndarray, lines: np.ndarray) -> None:
        """Remember the filled values of a batch, given field-major (blank keys are left to the M rules)."""
        filled = ~columns.empty(field)
        if not filled.all():
            field, lines = field[:, filled], lines[filled]
        if len(lines):
            self._hashes.append(columns.hashes(field))
            self._lines.append(lines.astype(np.uint32))
            self._keys.append(columns.as_bytes(field))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(hashes, lines, keys), concatenated in reading order; the chunks are released."""
        if not self._hashes:
            return np.empty(0, np.uint64), np.empty(0, np.uint32), np.empty(0, f"S{self.width}")
        out = (np.concatenate(self._hashes), np.concatenate(self._lines), np.concatenate(self._keys))
        self._hashes, self._lines, self._keys = [out[0]], [out[1]], [out[2]]
        return out


def repeated(column: KeyColumn) -> tuple[np.ndarray, np.ndarray]:
    """(lines, keys) of the second and later occurrences of each value, in line order."""
    h, lines, keys = column.arrays()
    if len(h) < 2:
        return np.empty(0, np.uint32), keys[:0]
    order = np.argsort(h)
    hs = h[order]
    same_hash = np.flatnonzero(hs[1:] == hs[:-1])
    if not len(same_hash):
        return np.empty(0, np.uint32), keys[:0]
    # Only records whose hash occurs more than once can repeat. Sort those by (hash, line): within a
    # run of equal hashes every record after the first repeats it, unless the bytes differ (a collision).
    suspects = np.unique(np.concatenate([order[same_hash], order[same_hash + 1]]))
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


def missing(references: KeyColumn, targets: KeyColumn) -> tuple[np.ndarray, np.ndarray]:
    """(lines, keys) of the references whose value is no key of the target file, in line order."""
    rh, rlines, rkeys = references.arrays()
    th, _, tkeys = targets.arrays()
    if len(rh) == 0:
        return rlines, rkeys
    width = max(references.width, targets.width)
    rk = _widen(rkeys, width)
    tk = _widen(tkeys, width)
    if references.width != targets.width:  # hashes depend on the width: hash the widened values
        rh = columns.hashes(rk.view(np.uint8).reshape(len(rk), width).T)
        th = columns.hashes(tk.view(np.uint8).reshape(len(tk), width).T)
    order = np.argsort(th, kind="stable")
    th_sorted, tk_sorted = th[order], tk[order]
    pos = np.searchsorted(th_sorted, rh)
    pos_ok = pos < len(th_sorted)
    found = np.zeros(len(rh), dtype=bool)
    cand = np.flatnonzero(pos_ok)
    found[cand] = (th_sorted[pos[cand]] == rh[cand]) & (tk_sorted[pos[cand]] == rk[cand])
    # Equal hash but other bytes at the first slot: look through the whole run of that hash.
    unsure = np.flatnonzero(pos_ok & ~found)
    unsure = unsure[th_sorted[pos[unsure]] == rh[unsure]]
    if len(unsure):
        target_set = set(tk.tolist())
        for i in unsure:
            found[i] = rk[i] in target_set
    idx = np.flatnonzero(~found)
    return rlines[idx], rkeys[idx]


def _widen(keys: np.ndarray, width: int) -> np.ndarray:
    """Bytes values padded with spaces to `width`, so fields of different widths compare as text."""
    if keys.dtype.itemsize == width:
        return keys
    raw = np.full((len(keys), width), 0x20, dtype=np.uint8)
    src = keys.view(np.uint8).reshape(len(keys), keys.dtype.itemsize)
    raw[:, : src.shape[1]] = src
    return raw.view(f"S{width}").reshape(-1)
