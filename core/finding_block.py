"""Findings of one rule kept as columns: one template and the lines, values and related values.

A record rule that fails on a whole batch of records (`--max-findings 0` on
a delivery in which every record is faulty) would otherwise make a `Finding`
object per record, spill it, read it back and turn it into a report row:
several microseconds a finding, millions of times. A `FindingBlock` keeps
what the findings share once (rule, file, field, message, the related
fields' names) and only what differs per finding as plain lists, which the
spill writes and reads back at C speed. A report that can write a block as a
whole (JSON) never makes the objects; anything else asks `findings()`.

`merged` puts streams of blocks and findings into delivery order a window at
a time with one stable sort per window, instead of comparing finding by
finding.
"""
from __future__ import annotations

import bisect
import dataclasses
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from .findings import Finding


@dataclass(slots=True)
class FindingBlock:
    """Findings of one rule in one file at one field, in line order.

    `head` holds every field the findings share; its `line` and `value` are
    None and its `related` names the related fields with value None.
    `related` holds, per finding, the related fields' values (None when the
    rule reads no other field).
    """

    head: Finding
    lines: list[int]
    values: list[str | None]
    related: list[tuple] | None = None

    def __len__(self) -> int:
        return len(self.lines)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings())

    def findings(self) -> list[Finding]:
        """The findings as objects, in line order."""
        h = self.head
        base = (h.rule, h.type, h.severity, h.file)
        tail = (h.column, h.ddid)
        if not self.related:
            related = h.related
            return [Finding(*base, line, *tail, value, h.message, h.column_end, h.field, h.expected, related,
                            h.cause) for line, value in zip(self.lines, self.values)]
        names = [(d, n) for d, n, _ in h.related]
        return [Finding(*base, line, *tail, value, h.message, h.column_end, h.field, h.expected,
                        tuple([(d, n, v) for (d, n), v in zip(names, values)]), h.cause)
                for line, value, values in zip(self.lines, self.values, self.related)]

    def sliced(self, start: int, stop: int) -> "FindingBlock":
        """The findings from `start` up to `stop` as a block of their own."""
        return FindingBlock(self.head, self.lines[start:stop], self.values[start:stop],
                            None if self.related is None else self.related[start:stop])

    def with_head(self, head: Finding) -> "FindingBlock":
        """The same findings with another template (a file renamed, a message made visible)."""
        return FindingBlock(head, self.lines, self.values, self.related)

    def first_key(self) -> tuple:
        """The delivery-order key of its first finding."""
        return _key(self.head, self.lines[0])

    def last_key(self) -> tuple:
        """The delivery-order key of its last finding."""
        return _key(self.head, self.lines[-1])

    def as_row(self) -> tuple:
        """The block as plain values for the spill (see `from_row`)."""
        return (tuple(dataclasses.astuple(self.head)), self.lines, self.values, self.related)

    @classmethod
    def from_row(cls, row: tuple) -> "FindingBlock":
        """The block `as_row` wrote."""
        head, lines, values, related = row
        head = list(head)
        head[12] = tuple(tuple(r) for r in head[12])  # related names: tuples again (marshal keeps them)
        return cls(Finding(*head), lines, values, related)


def _key(head: Finding, line: int | None) -> tuple:
    return (head.file or "", line or 0, head.column or 0, head.rule)


def block_of(head: Finding, lines: Sequence[int], values: Sequence[str | None],
             related: Sequence[tuple] | None = None) -> FindingBlock:
    """A block of findings made from `head` (line, value and related values filled in per finding)."""
    head = dataclasses.replace(head, line=None, value=None)
    return FindingBlock(head, list(lines), list(values), None if related is None else list(related))


# ---------------------------------------------------------------- delivery order, a window at a time

def merged(streams: Sequence[Iterable], render_block: Callable[[FindingBlock], list],
           render_one: Callable[[Finding], object]) -> Iterator[list]:
    """The rendered findings of `streams` (each an iterable of blocks and lists of findings, in delivery
    order) in delivery order, as lists.

    The order is exactly that of `heapq.merge(..., key=Finding.sort_key)` over
    the streams' findings: by key, and findings with equal keys in the order
    of their streams. Each window takes, from every stream, everything up to
    the smallest last key of the streams' current units, and sorts it once.
    """
    sources = [_Source(_chunked(s), render_block, render_one) for s in streams]
    sources = [s for s in sources if s.fetch()]
    if len(sources) == 1:
        source = sources[0]
        while True:
            yield source.take(source.last, True)[1]
            if not source.fetch():
                return
    for index, source in enumerate(sources):
        source.index = index
    while sources:
        # Up to the smallest (last key, stream) of the current units: a prefix of the merged order, since
        # findings with equal keys come in the order of their streams.
        bound, last = min((s.last, s.index) for s in sources)
        pieces = [s.take(bound, s.index <= last) for s in sources]
        yield _sorted(pieces)
        sources = [s for s in sources if s.at < s.size or s.fetch()]


# Findings of a unit rendered at a time, at most: a batch's block holds 65,536, and each stream's current
# unit is rendered while the others catch up.
CHUNK = 4096


def _chunked(units: Iterable) -> Iterator:
    for unit in units:
        if len(unit) <= CHUNK:
            yield unit
        elif isinstance(unit, FindingBlock):
            yield from (unit.sliced(i, i + CHUNK) for i in range(0, len(unit), CHUNK))
        else:
            yield from (unit[i:i + CHUNK] for i in range(0, len(unit), CHUNK))


class _Source:
    """One stream's current unit, rendered, and how much of it has been taken."""

    def __init__(self, units: Iterator, render_block, render_one):
        self.units, self.render_block, self.render_one = units, render_block, render_one

    def fetch(self) -> bool:
        """The next non-empty unit; False at the end of the stream."""
        for unit in self.units:
            if not len(unit):
                continue
            # Rendered as it is taken (see `take`): a unit may be a whole batch's findings.
            if isinstance(unit, FindingBlock):
                self.block, self.keys = unit, None
                self.last = unit.last_key()
            else:
                self.block, self.keys, self.findings = None, [f.sort_key() for f in unit], unit
                self.last = self.keys[-1]
            self.at, self.size = 0, len(unit)
            return True
        return False

    def take(self, bound: tuple, inclusive: bool) -> tuple:
        """(keys, texts) of the current unit's findings up to `bound` (and at it when `inclusive`), taken."""
        at = self.at
        if self.block is None:
            end = (bisect.bisect_right if inclusive else bisect.bisect_left)(self.keys, bound, at)
            keys = self.keys[at:end]
            texts = [self.render_one(f) for f in self.findings[at:end]]
        else:
            head = self.block.head
            file, column, rule = head.file or "", head.column or 0, head.rule
            if file != bound[0]:
                end = self.size if file < bound[0] else at
            else:
                # A finding's key is (file, line, column, rule): up to the bound's line, and at its line
                # only when the rest of the key is not beyond the bound's.
                rest = (column, rule)
                search = bisect.bisect_right if rest < bound[2:] or rest == bound[2:] and inclusive \
                    else bisect.bisect_left
                end = search(self.block.lines, bound[1] or 0, at)
            keys = (file, self.block.lines[at:end], column, rule)
            texts = [] if end == at else self.render_block(
                self.block if at == 0 and end == self.size else self.block.sliced(at, end))
        self.at = end
        return keys, texts


def _sorted(pieces: list[tuple]) -> list:
    """The texts of the pieces in the order of their keys (stable: a piece's stream order breaks ties)."""
    pieces = [p for p in pieces if len(p[1])]
    if len(pieces) == 1:
        return pieces[0][1]
    files, rules = set(), set()
    for keys, _ in pieces:
        if isinstance(keys, tuple):
            files.add(keys[0])
            rules.add(keys[3])
        else:
            files.update(k[0] for k in keys)
            rules.update(k[3] for k in keys)
    file_rank = {f: i for i, f in enumerate(sorted(files))}
    rule_rank = {r: i for i, r in enumerate(sorted(rules))}
    columns = {"file": [], "line": [], "column": [], "rule": []}
    texts: list = []
    for keys, piece in pieces:
        n = len(piece)
        if isinstance(keys, tuple):
            file, lines, column, rule = keys
            columns["file"].append(np.full(n, file_rank[file], np.int64))
            columns["line"].append(np.asarray(lines, dtype=np.int64))
            columns["column"].append(np.full(n, column, np.int64))
            columns["rule"].append(np.full(n, rule_rank[rule], np.int64))
        else:
            columns["file"].append(np.array([file_rank[k[0]] for k in keys], np.int64))
            columns["line"].append(np.array([k[1] for k in keys], np.int64))
            columns["column"].append(np.array([k[2] for k in keys], np.int64))
            columns["rule"].append(np.array([rule_rank[k[3]] for k in keys], np.int64))
        texts.extend(piece)
    order = np.lexsort([np.concatenate(columns[c]) for c in ("rule", "column", "line", "file")])
    return [texts[i] for i in order.tolist()]
