"""The columnar engine: compiled checks as numpy expressions over record batches.

Each check is turned once into a kernel (kernels.py); per batch the engine
runs the kernels of that file's rules and materialises findings only for the
rows that violate a rule, and only as many as the collector keeps. Keys for
uniqueness and references are remembered compactly (keys.py); what children
read of their parents is kept per parent key (parents.py).
"""
from __future__ import annotations

import functools
import threading

import numpy as np

from ..findings import FindingCollector
from ..language import compiler as c
from ..layout import Field, Layout
from . import keys
from .aggregates import Aggregates
from .common import (
    Batch, Context, RecordMarks, batch_keys, deleted, distinct_values, expected_count, field_text, key_text,
    record_finding, scalar_value,
)
from ..read_ahead import SHARED
from .finding_blocks import key_texts, line_block, record_block
from .key_spill import KeyMemory
from .kernels import kernel as compile_kernel
from .parents import Parents, per_check


class ColumnarEngine:
    """Evaluates the record, file and zip rules in force, and the uniqueness and reference checks."""

    def __init__(self, rules: list[c.CompiledRule], layout: Layout, ctx: Context, collector: FindingCollector,
                 marks: RecordMarks, key_memory: KeyMemory | None = None):
        """`key_memory`: the run's budget for remembered keys, shared with what else remembers keys
        (its owner removes what spilled); by default one of the engine's own."""
        self.ctx, self.collector, self.marks = ctx, collector, marks
        self.record_rules: dict[str, list[tuple[c.CompiledRule, object]]] = {}
        self.scalar_rules: list[tuple[c.CompiledRule, object]] = []
        self.unique = [r for r in rules if r.kind == c.UNIQUE]
        self.references = [r for r in rules if r.kind == c.REFERENCE]
        # What the keys, parents and counts remember may hold in memory before it spills to disk;
        # removed by `finish` if the engine's own.
        self._own_memory = key_memory is None
        self.key_memory = KeyMemory() if key_memory is None else key_memory
        ctx.parents = self.parents = Parents([r.check for r in rules if r.check is not None
                                              and r.kind in (c.RECORD, c.FILE, c.AGGREGATE)], layout, self.key_memory)
        # Record rules that read nothing but their own record, the packing slip, constants and the fields
        # of parents read whole already: their verdicts can be worked out on either thread (`prepare`).
        # file -> (rule, kernel, the parent files it reads)
        self.shared_rules: dict[str, list[tuple[c.CompiledRule, object, frozenset[str]]]] = {}
        self._finished: set[str] = set()  # files read whole
        # A kernel keeps state across batches (the codes seen so far): one thread at a time runs it.
        self._kernel_locks: dict[str, threading.Lock] = {}
        for rule in rules:
            if rule.kind == c.RECORD:
                pair = (rule, compile_kernel(rule.check, ctx))
                self.record_rules.setdefault(rule.file, []).append(pair)
                parents = _parents_read(rule.check)
                if parents is not None:
                    self.shared_rules.setdefault(rule.file, []).append((*pair, parents))
                    self._kernel_locks[rule.number] = threading.Lock()
            elif rule.kind in (c.FILE, c.ZIP):
                self.scalar_rules.append((rule, compile_kernel(rule.check, ctx)))
        # Key columns to remember: (file, ddids, widths) -> KeyColumn. References are looked up as their
        # batches come when the referenced file has been read already; otherwise they wait for `finish`.
        self.key_columns: dict[tuple, keys.KeyColumn] = {}
        self.aggregates = Aggregates(rules, ctx, compile_kernel, self.key_memory)
        self._widths: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}
        for rule in self.unique + self.references:
            own = tuple(f.length for f in rule.keys)
            other = tuple(f.length for f in rule.target_keys)
            if rule.kind == c.REFERENCE:
                own = other = tuple(max(a, b) for a, b in zip(own, other))
            elif rule.target_keys:  # unique across: one width for every field compared
                own = other = (max(own + other),)
            self._widths[rule.number] = (own, other)
            if rule.kind == c.UNIQUE:
                self._key_column(rule.file, rule.keys, own)
                for fld in rule.target_keys:
                    self._key_column(fld.file, (fld,), other)
            else:
                self._key_column(rule.target, rule.target_keys, other)
        self._targets: dict[str, keys.KeyColumn] = {}  # rule -> keys of its target, once read whole
        self._pending: dict[str, keys.KeyColumn] = {}  # rule -> references not yet looked up

    def _key_column(self, file: str, fields, widths) -> keys.KeyColumn:
        spec = (file, tuple(f.ddid for f in fields), tuple(widths))
        if spec not in self.key_columns:
            self.key_columns[spec] = keys.KeyColumn(tuple(widths), self.key_memory, _whose(file, fields))
        return self.key_columns[spec]

    # -- per batch
    def prepare(self, batch: Batch) -> list[tuple[tuple[str, str], object]]:
        """Verdicts of the batch's record rules, and reference lookups, as tasks either thread may run.

        Called on the reader thread (`read_ahead.prepared_batches`); the reader runs some of the
        tasks while this thread checks the batch before, `record_batch` the rest (read_ahead's
        `SharedTasks`). These rules read only the batch, the packing slip, codelists, constants and
        the fields of parents read whole, which nothing changes while a member is read; a kernel's
        state (the codes seen so far) is guarded by a lock of its own, so it is never used by both
        threads at once. Rules that read a count are not shared: they run in `record_batch`.
        """
        # A parent file not read whole yet (read after its children, or not at all) may still change:
        # such rules wait for `record_batch`.
        tasks = [(("verdict", rule.number), _locked(self._kernel_locks[rule.number], kernel, batch))
                 for rule, kernel, parents in self.shared_rules.get(batch.file.name, ()) if parents <= self._finished]
        # Taking a batch's keys apart (the filled ones, as bytes values) is a copy either thread may make;
        # remembering them stays with `record_batch`, in reading order.
        for spec in self.key_columns:
            if spec[0] == batch.file.name:
                tasks.append((("keys", spec), functools.partial(batch_keys, batch, spec[1], spec[2])))
        # References into a file read whole already are looked up in its index, which nothing changes
        # any more (the file's keys are all in): either thread may do that too.
        for rule in self.references:
            target = self._targets.get(rule.number)
            if rule.file == batch.file.name and target is not None and target.index is not None:
                tasks.append((("missing", rule.number), functools.partial(self._missing, rule, target.index, batch)))
        return tasks

    def _missing(self, rule: c.CompiledRule, index: keys.KeyIndex, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        """(lines, keys) of the batch's references of `rule` that are no key in `index`."""
        own = self._widths[rule.number][0]
        return index.missing(*batch_keys(batch, tuple(f.ddid for f in rule.keys), own), own)

    def record_batch(self, batch: Batch) -> None:
        """Check every record rule of the batch's file and remember its keys."""
        name = batch.file.name
        gone = None
        shared = batch.cache.get(SHARED)
        for rule, kernel in self.record_rules.get(name, ()):
            if shared is not None and ("verdict", rule.number) in shared.keys:
                violated, _ = shared.result(("verdict", rule.number))
            elif rule.number in self._kernel_locks:
                with self._kernel_locks[rule.number]:
                    violated, _ = kernel(batch)
            else:
                violated, _ = kernel(batch)
            if violated is False:
                continue
            violated = np.broadcast_to(violated, (len(batch),))
            if rule.skip_deleted is not None:
                gone = deleted(batch, rule.skip_deleted) if gone is None else gone
                violated = violated & ~gone
            idx = np.flatnonzero(violated)
            if len(idx):
                self._report_rows(rule, batch, idx)
        self.parents.add(batch)
        self.aggregates.record_batch(batch)
        for spec, column in self.key_columns.items():
            if spec[0] == name:
                column.extend(*(shared.result(("keys", spec)) if shared is not None and ("keys", spec) in shared.keys
                                else batch_keys(batch, spec[1], spec[2])))
        for rule in self.references:
            if rule.file != name:
                continue
            if shared is not None and ("missing", rule.number) in shared.keys:
                self._report_keys(rule, *shared.result(("missing", rule.number)))
                continue
            own = self._widths[rule.number][0]
            found = batch_keys(batch, tuple(f.ddid for f in rule.keys), own)
            target = self._targets.get(rule.number)
            if target is None or target.index is None:
                # Its file comes later, or its keys went to disk: looked up at the end.
                self._pending.setdefault(rule.number, keys.KeyColumn(
                    own, self.key_memory, f"{_whose(rule.file, rule.keys)}, references of rule {rule.number}")
                ).extend(*found)
            else:
                self._report_keys(rule, *target.index.missing(*found, own))

    def file_finished(self, name: str) -> None:
        """Called when every record of `name` has been read (and only then): its keys can be looked up."""
        self.parents.file_finished(name)
        self._finished.add(name)
        for rule in self.references:
            if rule.target == name and rule.number not in self._targets:
                other = self._widths[rule.number][1]
                column = self._targets[rule.number] = self._key_column(rule.target, rule.target_keys, other)
                column.build_index(sum(other))  # unless the budget is spent: then the column spills

    def _report_rows(self, rule: c.CompiledRule, batch: Batch, idx: np.ndarray) -> None:
        lines = batch.lines[idx]
        self.marks.mark(rule.file, rule.rule.severity, lines)
        subject = rule.subject
        in_record = subject is not None and subject.file == batch.file.name

        def make(limit):
            for i in idx[:limit]:
                if in_record:
                    value = field_text(batch.rows[i, subject.start:subject.end].tobytes())
                else:
                    raw = self.ctx.slip_text(subject) if subject and subject.file == (
                        self.ctx.slip.name if self.ctx.slip else None) else None
                    value = field_text(raw) if raw is not None else None
                yield record_finding(rule, int(batch.lines[i]), value, record=batch.rows[i].tobytes(), ctx=self.ctx)

        if in_record:
            values = distinct_values(batch.rows[idx, subject.start:subject.end])
        else:
            raw = self.ctx.slip_text(subject) if subject and subject.file == (
                self.ctx.slip.name if self.ctx.slip else None) else None
            values = {field_text(raw) if raw is not None else None: len(idx)}
        room = self.collector.room(rule.number)
        # Beyond a few examples, the findings are one block: no object per finding (see finding_block).
        block = record_block(rule, batch, idx if room is None else idx[:room], self.ctx) \
            if len(idx) > _FEW and (room is None or room > _FEW) else None
        if block is not None:
            self.collector.add_block(rule.number, block, values, total=len(idx))
        else:
            self.collector.add_many(rule.number, len(idx), make, values)

    # -- after reading
    def finish(self) -> None:
        """File and zip rules (counts known now), then uniqueness, references and counts per parent."""
        try:
            self._finish()
        finally:
            if self._own_memory:
                self.key_memory.close()

    def _finish(self) -> None:
        scalar = Batch(file=None, rows=np.zeros((1, 0), np.uint8), lines=np.zeros(1, np.int64))
        for rule, kernel in self.scalar_rules:
            violated, _ = kernel(scalar)
            if bool(np.any(violated)):
                self.collector.add(record_finding(rule, None, scalar_value(rule.check, self.ctx),
                                                  expected=expected_count(rule.check, self.ctx)))
        for rule in self.unique:
            own, other = self._widths[rule.number]
            column = self._key_column(rule.file, rule.keys, own)
            if not rule.target_keys:
                lines, values = keys.repeated(column)
            else:
                targets = [self._key_column(fld.file, (fld,), other) for fld in rule.target_keys]
                lines, values = keys.found_elsewhere(column, targets, other[0])
            self._report_keys(rule, lines, values)
        # References read before their file (only when files refer to each other), or whose file's
        # keys went to disk, are looked up now. Those whose file was never read whole (missing or
        # unreadable: 726 or ZIP-* report it) have nothing to be looked up in; the pipeline lists them
        # as not evaluated.
        for rule in self.references:
            pending, target = self._pending.pop(rule.number, None), self._targets.get(rule.number)
            if pending is not None and target is not None:
                self._report_keys(rule, *keys.dangling(pending, target, sum(self._widths[rule.number][1])))
        self.aggregates.finish(self._report_aggregate)

    def _report_aggregate(self, rule, lines: np.ndarray, values: list[str]) -> None:
        self.marks.mark(rule.file, rule.rule.severity, lines.astype(np.int64))
        room = self.collector.room(rule.number)
        if len(lines) > _FEW and (room is None or room > _FEW):
            kept = slice(None) if room is None else slice(room)
            self.collector.add_block(rule.number, line_block(rule, lines[kept].tolist(), list(values[kept])),
                                     _counted(values), total=len(lines))
            return
        self.collector.add_many(
            rule.number, len(lines),
            lambda limit: (record_finding(rule, int(lines[i]), values[i])
                           for i in range(len(lines) if limit is None else min(limit, len(lines)))),
            _counted(values))

    def _report_keys(self, rule, lines, values) -> None:
        if not len(lines):
            return
        order = np.argsort(lines, kind="stable")
        lines, values = lines[order], values[order]
        widths = self._widths[rule.number][0]
        self.marks.mark(rule.file, rule.rule.severity, lines.astype(np.int64))
        counted = distinct_values(values, text=lambda raw: key_text(raw, widths))
        room = self.collector.room(rule.number)
        if len(lines) > _FEW and (room is None or room > _FEW):
            kept = slice(None) if room is None else slice(room)
            self.collector.add_block(rule.number, line_block(rule, lines[kept].tolist(),
                                                             key_texts(values[kept], widths)),
                                     counted, total=len(lines))
            return
        self.collector.add_many(
            rule.number, len(lines),
            lambda limit: (record_finding(rule, int(lines[i]), key_text(values[i:i + 1].tobytes(), widths))
                           for i in range(len(lines) if limit is None else min(limit, len(lines)))),
            counted,
        )


def _whose(file: str, fields) -> str:
    """Whose keys a column remembers, for messages: the file and the fields' DDIDs."""
    return f"{file} ({', '.join(f.ddid for f in fields)})"


def _locked(lock: threading.Lock, kernel, batch: Batch):
    """A task that runs `kernel` on `batch` holding `lock`."""
    def task():
        with lock:
            return kernel(batch)
    return task


# Up to this many findings of a batch are made one by one (the default listing keeps a few per rule);
# more are kept as one block.
_FEW = 16


def _counted(values: list[str]) -> dict[str, int]:
    """{value: how many} of a list of values."""
    out: dict[str, int] = {}
    for value in values:
        out[value] = out.get(value, 0) + 1
    return out


def _parents_read(check) -> frozenset[str] | None:
    """The parent files whose fields the check reads (none: only its record, the slip, constants);
    None when it reads a count, which changes as files are read. Worked out once per check."""
    return per_check(_walk_parents_read, check)


def _walk_parents_read(check) -> frozenset[str] | None:
    parents: set[str] = set()
    stack = [check]
    while stack:
        node = stack.pop()
        if isinstance(node, c.CountOf):
            return None
        if isinstance(node, c.Col):
            if node.scope == "parent":
                parents.update(hop.key.file for hop in node.path)
            elif node.scope not in ("record", "slip"):
                return None
            continue
        for name in getattr(node, "__dataclass_fields__", {}):
            value = getattr(node, name)
            stack.extend(item for item in (value if isinstance(value, tuple) else (value,))
                         if hasattr(item, "__dataclass_fields__") and not isinstance(item, (Field, c.Hop)))
    return frozenset(parents)
