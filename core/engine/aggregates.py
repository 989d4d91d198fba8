"""Counts with a condition, over a file or per parent record, for the columnar engine.

`count(PATIENT.txt where 1433 like 'XX%')` is summed batch by batch.
`count(DBC_TRAJECT.txt where 1468 = '101' per 1464) > 1` keeps the foreign
key of each child that meets the condition and the key and line of each
parent record; at the end the children are counted per key and the rule is
evaluated once per parent record, as a batch of its own.
"""
from __future__ import annotations

import numpy as np

from ..language import compiler as c
from ..language.checks import CountOf
from . import columns
from .common import Batch, Context, key_text


def counts_in(check, per: bool):
    """Every CountOf with a condition (`per` False) or counted per parent (`per` True) inside a check."""
    if isinstance(check, CountOf):
        if check.where is not None and (check.per is not None) == per:
            yield check
        return
    for name in getattr(check, "__dataclass_fields__", {}):
        value = getattr(check, name)
        for item in value if isinstance(value, tuple) else (value,):
            if hasattr(item, "__dataclass_fields__") and not hasattr(item, "ddid"):
                yield from counts_in(item, per)


def _padded(block: np.ndarray, width: int, aligned: bool = True) -> np.ndarray:
    """Keys padded with spaces to `width`, one bytes value each; `aligned`: as compared (left-aligned,
    leading spaces do not count), else as delivered."""
    if aligned:
        block = columns.left_aligned(block)
    w, n = block.shape
    rows = np.full((n, width), 0x20, dtype=np.uint8)
    rows[:, :w] = block.T
    return rows.view(np.dtype((np.void, width))).reshape(-1)


def _compared(keys: np.ndarray, width: int) -> np.ndarray:
    """`_padded` keys as delivered, as they compare."""
    block = np.ascontiguousarray(keys.view(np.uint8).reshape(len(keys), width).T)
    return _padded(block, width)


class Aggregates:
    """Accumulates conditional counts while files stream past; evaluates counts per parent at the end."""

    def __init__(self, rules, ctx: Context, compile_kernel):
        self.ctx = ctx
        self.where = {}
        for rule in rules:
            if rule.kind == c.FILE:
                for count in counts_in(rule.check, per=False):
                    self.where[count] = compile_kernel(count.where, ctx)
        self.rules = [r for r in rules if r.kind == c.AGGREGATE]
        self.width = {}  # rule number -> key width compared
        self.per = {}  # (count, width) -> kernel, kept foreign keys
        self.parents = {}  # rule number -> kept (keys, lines)
        for rule in self.rules:
            found = list(counts_in(rule.check, per=True))
            width = max([rule.subject.length] + [cnt.per.length for cnt in found])
            self.width[rule.number] = width
            self.parents[rule.number] = ([], [])
            for count in found:
                self.per.setdefault((count, width), (compile_kernel(count.where, ctx), []))

    def record_batch(self, batch: Batch) -> None:
        """Count, or keep the foreign keys of, the records that meet each condition."""
        name = batch.file.name
        for count, kernel in self.where.items():
            if count.file == name:
                hit = np.broadcast_to(kernel(batch)[0], (len(batch),))
                self.ctx.where_counts[count] = self.ctx.where_counts.get(count, 0) + int(np.count_nonzero(hit))
        for (count, width), (kernel, kept) in self.per.items():
            if count.file == name:
                hit = np.broadcast_to(kernel(batch)[0], (len(batch),))
                block = batch.column(count.per)[:, hit]
                kept.append(_padded(block, width)[~columns.empty(block)])
        for rule in self.rules:
            if rule.file == name:
                block = batch.column(rule.subject)
                filled = ~columns.empty(block)  # a parent without a key is left to the M rules
                keys, lines = self.parents[rule.number]
                keys.append(_padded(block[:, filled], self.width[rule.number], aligned=False))
                lines.append(batch.lines[filled])

    def finish(self, report) -> None:
        """Evaluate each count-per-parent rule over its parent records; `report(rule, lines, values)`."""
        from .kernels import kernel as compile_kernel

        for rule in self.rules:
            width = self.width[rule.number]
            keys, lines = self.parents[rule.number]
            if not keys:
                continue
            keys, lines = np.concatenate(keys), np.concatenate(lines)
            compared = _compared(keys, width)  # `keys` as delivered, for the findings
            batch = Batch(file=None, rows=np.zeros((len(lines), 0), np.uint8), lines=lines)
            for count in counts_in(rule.check, per=True):
                kept = self.per[(count, width)][1]
                children = np.concatenate(kept) if kept else keys[:0]
                distinct, n = np.unique(children, return_counts=True)
                if len(distinct):
                    pos = np.minimum(np.searchsorted(distinct, compared), len(distinct) - 1)
                    batch.cache[("per", count)] = np.where(distinct[pos] == compared, n[pos], 0)
                else:
                    batch.cache[("per", count)] = np.zeros(len(keys), np.int64)
            violated = np.broadcast_to(compile_kernel(rule.check, self.ctx)(batch)[0], (len(lines),))
            idx = np.flatnonzero(violated)
            if len(idx):
                order = idx[np.argsort(lines[idx], kind="stable")]
                report(rule, lines[order], [key_text(bytes(keys[i]), (width,)) for i in order])
