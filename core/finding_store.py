"""The listed findings of a run: in memory up to a fixed budget, beyond it on disk.

`--max-findings 0` on a delivery in which every record is faulty lists
millions of findings. Held as objects they cost gigabytes, so the store keeps
at most `SPILL_AFTER` of them in memory; when that budget is full it sorts
each rule's findings into delivery order and appends them to a spill file as
one sorted run, in frames of `FRAME` findings. A frame is the findings' fields
as rows of plain values (strings, integers, None) written with `marshal`: no
objects, no code, and a string that many findings share (a rule's message, a
file name) is written once per frame and read back as one shared string.

The spill file lives in a private working directory (`disval.core.workdir`),
removed when the findings are no longer referenced, at exit, or, after a
kill, by the next disval process.

Findings that the columnar kernels report a batch at a time come as
`FindingBlock`s (one template, the lines and values as lists): they are kept,
spilled and read back as blocks, and become objects only for a reader that
asks for objects (see `disval.core.finding_block`).

Reading back is streaming: a rule's findings are a merge of its in-memory
list and its runs, and the delivery order of all findings is a merge of the
rules' streams, so only a frame per run and rule is in memory at a time.
"""
from __future__ import annotations

import heapq
import itertools
import marshal
import weakref
from collections import Counter
from contextlib import ExitStack
from typing import Callable, Iterable, Iterator, Sequence

from .finding_block import FindingBlock, merged
from .findings import Finding

# Findings kept as objects before a spill: a finding with two related fields is ~0.4 KB (measured with
# tracemalloc), so the budget is some 40 MB.
SPILL_AFTER = 100_000
# Findings per frame of a spilled run; a merge holds one frame per run and rule.
FRAME = 256

# Findings per frame of a spilled block: its values are plain lists, far smaller than objects.
BLOCK_FRAME = 4096

_sort_key = Finding.sort_key


def _row(f: Finding) -> tuple:
    return (f.rule, f.type, f.severity, f.file, f.line, f.column, f.ddid, f.value, f.message, f.column_end,
            f.field, f.expected, f.related, f.cause)


class _SpillFile:
    """The store's file on disk: appended frames, read back by offset."""

    def __init__(self):
        from .workdir import working_directory

        self._stack = ExitStack()
        self.directory = self._stack.enter_context(working_directory("findings"))
        self._file = self._stack.enter_context(open(self.directory / "findings.spill", "w+b"))
        self._end = 0

    def write(self, rows: list[tuple]) -> tuple[int, int]:
        """Append one frame; (offset, size) to read it back."""
        data = marshal.dumps(rows)
        self._file.seek(self._end)
        self._file.write(data)
        at, self._end = self._end, self._end + len(data)
        return at, len(data)

    def read(self, at: int, size: int) -> list[Finding]:
        """The findings of one frame."""
        return [Finding(*row) for row in self.load(at, size)]

    def load(self, at: int, size: int):
        """The plain values of one frame."""
        self._file.seek(at)
        return marshal.loads(self._file.read(size))

    def close(self) -> None:
        """Remove the file and its directory."""
        self._stack.close()


class FindingStore:
    """The kept findings of each rule; beyond `budget` in memory they spill to disk in sorted runs."""

    def __init__(self, budget: int | None = None, frame: int | None = None):
        self.budget = max(1, SPILL_AFTER if budget is None else budget)
        self.frame = max(1, FRAME if frame is None else frame)
        self.memory: dict[str, list[Finding]] = {}
        self.blocks: dict[str, list[FindingBlock]] = {}  # per rule, in delivery order
        self.kept: Counter[str] = Counter()  # per rule, in memory and on disk
        self._in_memory = 0
        # Per run: rule -> (frames of findings, frames of blocks).
        self._runs: list[dict[str, tuple[list[tuple[int, int]], list[tuple[int, int]]]]] = []
        self._spill: _SpillFile | None = None
        self._sorted = True
        # Changes made to findings after they were kept (see `rewrite`): (fn, runs it applies to).
        self._rewrites: dict[str, list[tuple[Callable[[Finding], Finding], int]]] = {}

    @property
    def spilled(self) -> bool:
        """Whether any finding is on disk."""
        return bool(self._runs)

    def add(self, finding: Finding) -> None:
        """Keep one finding."""
        self.memory.setdefault(finding.rule, []).append(finding)
        self.kept[finding.rule] += 1
        self._sorted = False
        self._in_memory += 1
        if self._in_memory >= self.budget:
            self._spill_run()

    def extend(self, rule: str, findings: Iterable[Finding]) -> None:
        """Keep findings of one rule, spilling as often as the budget fills."""
        findings = iter(findings)
        while True:
            kept = self.memory.setdefault(rule, [])
            before = len(kept)
            kept.extend(itertools.islice(findings, self.budget - self._in_memory))  # up to the budget, at C speed
            added = len(kept) - before
            self.kept[rule] += added
            self._in_memory += added
            self._sorted = False
            if self._in_memory < self.budget:
                return
            self._spill_run()

    def extend_block(self, rule: str, block: FindingBlock) -> None:
        """Keep a block of findings of one rule (in delivery order after the rule's blocks kept so far;
        one that is not is kept as findings)."""
        if not len(block):
            return
        kept = self.blocks.setdefault(rule, [])
        if kept and block.first_key() < kept[-1].last_key() or rule in self._rewrites:
            self.extend(rule, block.findings())
            return
        kept.append(block)
        self.kept[rule] += len(block)
        self._in_memory += len(block)
        if self._in_memory >= self.budget:
            self._spill_run()

    def rewrite(self, rule: str, fn: Callable[[Finding], Finding]) -> None:
        """Replace each kept finding `f` of `rule` by `fn(f)`: now in memory, when read back on disk."""
        blocks = self.blocks.pop(rule, None)
        if blocks:  # a rewritten finding is an object of its own
            self.memory.setdefault(rule, []).extend(f for b in blocks for f in b.findings())
            self._sorted = False
        if rule in self.memory:
            self.memory[rule] = [fn(f) for f in self.memory[rule]]
        if self._runs:
            self._rewrites.setdefault(rule, []).append((fn, len(self._runs)))

    @property
    def directory(self):
        """The spill file's working directory, None while nothing spilled."""
        return self._spill.directory if self._spill is not None else None

    def _spill_run(self) -> None:
        if self._spill is None:
            self._spill = _SpillFile()
            # Removed with the store, or at exit; a killed process's directory goes at the next start.
            weakref.finalize(self, self._spill.close)
        run: dict[str, tuple[list[tuple[int, int]], list[tuple[int, int]]]] = {}
        for rule, kept in self.memory.items():
            kept.sort(key=_sort_key)  # stable: findings at one place keep the order they came in
            run[rule] = ([self._spill.write([_row(f) for f in kept[i:i + self.frame]])
                          for i in range(0, len(kept), self.frame)], [])
        for rule, blocks in self.blocks.items():
            # In frames of BLOCK_FRAME findings: reading back, a merge holds one frame per run and rule.
            run.setdefault(rule, ([], []))[1].extend(
                self._spill.write(b.sliced(i, i + BLOCK_FRAME).as_row()) for b in blocks
                for i in range(0, len(b), BLOCK_FRAME))
        self._runs.append(run)
        self.memory = {}
        self.blocks = {}
        self._in_memory = 0

    def _memory_sorted(self) -> None:
        if not self._sorted:
            for kept in self.memory.values():
                kept.sort(key=_sort_key)
            self._sorted = True

    def rule_findings(self, rule: str) -> Iterator[Finding]:
        """The kept findings of `rule`, in delivery order."""
        streams = self.rule_streams(rule)
        return iter(streams[0]) if len(streams) == 1 else heapq.merge(*streams, key=_sort_key)

    def rule_streams(self, rule: str) -> list[Iterable[Finding]]:
        """The kept findings of `rule` as streams each in delivery order: one per run it has findings in,
        then the ones in memory."""
        return [itertools.chain.from_iterable(stream) for stream in self.rule_units(rule)]

    def rule_units(self, rule: str) -> list[Iterable]:
        """The kept findings of `rule` as streams each in delivery order, each an iterable of units: lists of
        findings and `FindingBlock`s (one stream per run and kind, then the ones in memory)."""
        self._memory_sorted()
        streams: list[Iterable] = []
        for index, run in enumerate(self._runs):
            frames, blocks = run.get(rule, ((), ()))
            for read, kept in ((self._frames, frames), (self._block_frames, blocks)):
                if not kept:
                    continue
                stream = read(kept)
                fns = [fn for fn, before in self._rewrites.get(rule, ()) if index < before]
                if fns:
                    stream = _rewritten(stream, fns)
                streams.append(stream)
        if self.memory.get(rule):
            streams.append([self.memory[rule]])
        if self.blocks.get(rule):
            streams.append(self.blocks[rule])
        return streams

    def _frames(self, frames: list[tuple[int, int]]) -> Iterator[list[Finding]]:
        spill = self._spill
        for at, size in frames:
            yield spill.read(at, size)

    def _block_frames(self, frames: list[tuple[int, int]]) -> Iterator[FindingBlock]:
        spill = self._spill
        for at, size in frames:
            yield FindingBlock.from_row(spill.load(at, size))


def _rewritten(units: Iterable, fns: list) -> Iterator[list[Finding]]:
    for unit in units:
        findings = unit.findings() if isinstance(unit, FindingBlock) else unit
        for fn in fns:
            findings = [fn(f) for f in findings]
        yield findings


def _mapped(unit, fn, block_fn):
    if isinstance(unit, FindingBlock):
        if block_fn is not None:
            return block_fn(unit)
        unit = unit.findings()
    return [fn(f) for f in unit]


class FindingList(Sequence):
    """The listed findings of a result, in delivery order, read from a `FindingStore` as they are needed.

    It behaves as the list `ValidationResult.findings` always was, for reading:
    iterate it, take its length, index or slice it, compare it with a list.
    Iteration streams (memory stays flat however many findings spilled to
    disk); indexing walks from the start, so take `list(result.findings)` when
    a caller needs random access to a large result. `by_rule(rule)` gives one
    rule's findings and `kept` how many each rule has, without a pass.
    """

    def __init__(self, store: FindingStore, transform: Callable[[Finding], Finding] | None = None,
                 block_transform: Callable[[FindingBlock], FindingBlock] | None = None):
        self._store, self._transform, self._block_transform = store, transform, block_transform

    @classmethod
    def of(cls, findings: Iterable[Finding]) -> "FindingList":
        """The findings of a plain list (any order) as a FindingList."""
        if isinstance(findings, FindingList):
            return findings
        store = FindingStore(budget=1 << 62)
        for f in findings:
            store.add(f)
        return cls(store)

    def mapped(self, fn: Callable[[Finding], Finding],
               block_fn: Callable[[FindingBlock], FindingBlock] | None = None) -> "FindingList":
        """The same findings, each passed through `fn` as it is read (`fn` keeps rule and place);
        `block_fn` does the same to a block (without it, `rendered` makes objects of blocks)."""
        inner, inner_block = self._transform, self._block_transform
        blocks = None
        if block_fn is not None and (inner is None or inner_block is not None):
            blocks = block_fn if inner_block is None else (lambda b: block_fn(inner_block(b)))
        return FindingList(self._store, fn if inner is None else (lambda f: fn(inner(f))), blocks)

    def rendered(self, render_block: Callable[[FindingBlock], list], render_one: Callable[[Finding], object],
                 rules: list[str] | None = None) -> Iterator[list]:
        """Every finding rendered (a block by `render_block`, one finding each, an object by `render_one`),
        as lists in delivery order: the order and the findings of iterating, without making an object
        of each finding of a block (see `disval.core.finding_block.merged`). `rules`: only theirs."""
        fn, block_fn = self._transform, self._block_transform
        streams = []
        for rule in self.rules if rules is None else rules:
            for stream in self._store.rule_units(rule):
                if fn is not None:
                    stream = (_mapped(unit, fn, block_fn) for unit in stream)
                streams.append(stream)
        return merged(streams, render_block, render_one)

    @property
    def kept(self) -> Counter:
        """How many findings each rule has here."""
        return self._store.kept

    @property
    def spilled(self) -> bool:
        """Whether some of these findings are read back from disk."""
        return self._store.spilled

    @property
    def rules(self) -> list[str]:
        """The rules with findings here, in the order their first finding came in."""
        return [rule for rule, n in self._store.kept.items() if n]

    def by_rule(self, rule: str) -> Iterator[Finding]:
        """The findings of `rule`, in delivery order."""
        stream = self._store.rule_findings(rule)
        return stream if self._transform is None else map(self._transform, stream)

    def __iter__(self) -> Iterator[Finding]:
        # One merge of every rule's runs (not a merge of merges): each finding is compared fewer times.
        streams = [stream for rule in self.rules for stream in self._store.rule_streams(rule)]
        if self._transform is not None:
            streams = [map(self._transform, stream) for stream in streams]
        if len(streams) == 1:
            return iter(streams[0])
        return heapq.merge(*streams, key=_sort_key)

    def __len__(self) -> int:
        return sum(self._store.kept.values())

    def __getitem__(self, index):
        if isinstance(index, slice):
            return list(self)[index]
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("finding index out of range")
        return next(itertools.islice(iter(self), index, None))

    def __eq__(self, other) -> bool:
        if isinstance(other, (FindingList, list, tuple)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable-looking, like the list it stands in for

    def __repr__(self) -> str:
        return f"FindingList({len(self)} findings)"
