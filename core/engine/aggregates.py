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
from . import keys
from .common import Batch, Context, key_text
from .key_spill import KeyMemory
from .key_values import comparable


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


def _padded(block: np.ndarray, width: int) -> np.ndarray:
    """A field-major key block padded with spaces to `width` rows (what a KeyColumn of that width takes)."""
    w, n = block.shape
    if w == width:
        return block
    return np.concatenate([block, np.full((width - w, n), 0x20, np.uint8)])


class Aggregates:
    """Accumulates conditional counts while files stream past; evaluates counts per parent at the end."""

    def __init__(self, rules, ctx: Context, compile_kernel, memory: KeyMemory | None = None):
        self.ctx = ctx
        memory = memory if memory is not None else KeyMemory(limit=1 << 62)
        self.where = {}
        for rule in rules:
            if rule.kind == c.FILE:
                for count in counts_in(rule.check, per=False):
                    self.where[count] = compile_kernel(count.where, ctx)
        self.rules = [r for r in rules if r.kind == c.AGGREGATE]
        self.width = {}  # rule number -> key width compared
        self.per = {}  # (count, width) -> kernel, KeyColumn of the foreign keys of the children it counts
        self.parents = {}  # rule number -> KeyColumn of the parent records' keys
        for rule in self.rules:
            found = list(counts_in(rule.check, per=True))
            width = max([rule.subject.length] + [cnt.per.length for cnt in found])
            self.width[rule.number] = width
            self.parents[rule.number] = keys.KeyColumn(
                (width,), memory, f"{rule.file} ({rule.subject.ddid}), parents counted by rule {rule.number}")
            for count in found:
                self.per.setdefault((count, width), (compile_kernel(count.where, ctx), keys.KeyColumn(
                    (width,), memory, f"{count.file} ({count.per.ddid}), children counted by rule {rule.number}")))

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
                kept.add(_padded(batch.column(count.per)[:, hit], width), batch.lines[hit])  # filled keys only
        for rule in self.rules:
            if rule.file == name:  # a parent without a key is left to the M rules: `add` keeps filled keys
                self.parents[rule.number].add(_padded(batch.column(rule.subject), self.width[rule.number]),
                                              batch.lines)

    def finish(self, report) -> None:
        """Evaluate each count-per-parent rule over its parent records; `report(rule, lines, values)`."""
        from .kernels import kernel as compile_kernel

        for rule in self.rules:
            width = self.width[rule.number]
            parents = self.parents[rule.number]
            if not len(parents):
                continue
            counts = list(counts_in(rule.check, per=True))
            columns = [parents] + [self.per[(count, width)][1] for count in counts]
            kernel = compile_kernel(rule.check, self.ctx)
            found = [_violated(counts, part, width, kernel) for part in keys.together(columns) if part[0].n]
            found = [f for f in found if len(f[0])]
            if found:
                lines = np.concatenate([f[0] for f in found])
                raw = np.concatenate([f[1] for f in found])
                order = np.argsort(lines, kind="stable")
                report(rule, lines[order], [key_text(raw[i:i + 1].tobytes(), (width,)) for i in order])



def _violated(counts, part, width: int, kernel) -> tuple[np.ndarray, np.ndarray]:
    """(lines, keys as delivered) of the parents in `part` (Chunks of the parents, then of each count's
    children: one hash partition, or everything) whose counts make `kernel` violated."""
    lines, raw = part[0].joined()
    compared = comparable(raw, (width,)).view(f"V{width}")  # 'V': compared bytewise, trailing NULs too
    batch = Batch(file=None, rows=np.zeros((len(lines), 0), np.uint8), lines=lines.astype(np.int64))
    for count, children in zip(counts, part[1:]):
        kids = comparable(children.joined()[1], (width,)).view(f"V{width}")
        distinct, n = np.unique(kids, return_counts=True)
        if len(distinct):
            pos = np.minimum(np.searchsorted(distinct, compared), len(distinct) - 1)
            batch.cache[("per", count)] = np.where(distinct[pos] == compared, n[pos], 0)
        else:
            batch.cache[("per", count)] = np.zeros(len(lines), np.int64)
    violated = np.broadcast_to(kernel(batch)[0], (len(lines),))
    idx = np.flatnonzero(violated)
    return batch.lines[idx], raw[idx]
