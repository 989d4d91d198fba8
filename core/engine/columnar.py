"""The columnar engine: compiled checks as numpy expressions over record batches.

Each check is turned once into a kernel (kernels.py); per batch the engine
runs the kernels of that file's rules and materialises findings only for the
rows that violate a rule, and only as many as the collector keeps. Keys for
uniqueness and references are remembered compactly (keys.py).
"""
from __future__ import annotations

import numpy as np

from ..findings import FindingCollector
from ..language import compiler as c
from ..layout import Layout
from . import keys
from .common import (
    Batch, Context, RecordMarks, distinct_values, expected_count, field_text, record_finding, scalar_value,
)
from .kernels import kernel as compile_kernel

class ColumnarEngine:
    """Evaluates the record, file and zip rules in force, and the uniqueness and reference checks."""

    def __init__(self, rules: list[c.CompiledRule], layout: Layout, ctx: Context, collector: FindingCollector,
                 marks: RecordMarks):
        self.ctx, self.collector, self.marks = ctx, collector, marks
        self.record_rules: dict[str, list[tuple[c.CompiledRule, object]]] = {}
        self.scalar_rules: list[tuple[c.CompiledRule, object]] = []
        self.unique = [r for r in rules if r.kind == c.UNIQUE]
        self.references = [r for r in rules if r.kind == c.REFERENCE]
        for rule in rules:
            if rule.kind == c.RECORD:
                self.record_rules.setdefault(rule.file, []).append((rule, compile_kernel(rule.check, ctx)))
            elif rule.kind in (c.FILE, c.ZIP):
                self.scalar_rules.append((rule, compile_kernel(rule.check, ctx)))
        # Key columns to remember: (file, ddid) -> KeyColumn. References are looked up as their batches
        # come when the referenced file has been read already; otherwise they wait for `finish`.
        self.key_columns: dict[tuple[str, str], keys.KeyColumn] = {}
        for rule in self.unique:
            self._key_column(rule.file, rule.subject)
        self._targets: dict[str, tuple[keys.KeyColumn, object]] = {}
        self._indexes: dict[str, keys.KeyIndex] = {}
        self._pending: dict[str, keys.KeyColumn] = {}
        for rule in self.references:
            target = layout.file(rule.target)
            key_field = layout.field(target.key[0])
            self._targets[rule.number] = (self._key_column(target.name, key_field), key_field)

    def _key_column(self, file: str, fld) -> keys.KeyColumn:
        return self.key_columns.setdefault((file, fld.ddid), keys.KeyColumn(fld.length))

    # -- per batch
    def record_batch(self, batch: Batch) -> None:
        """Check every record rule of the batch's file and remember its keys."""
        name = batch.file.name
        for rule, kernel in self.record_rules.get(name, ()):
            violated, _ = kernel(batch)
            if violated is False:
                continue
            idx = np.flatnonzero(np.broadcast_to(violated, (len(batch),)))
            if len(idx):
                self._report_rows(rule, batch, idx)
        for (file, ddid), column in self.key_columns.items():
            if file == name:
                column.add(batch.column(_field(batch, ddid)), batch.lines)
        for rule in self.references:
            if rule.file != name:
                continue
            field = batch.column(rule.subject)
            index = self._indexes.get(rule.number)
            if index is None:
                self._pending.setdefault(rule.number, keys.KeyColumn(rule.subject.length)).add(field, batch.lines)
            else:
                self._report_keys(rule, *index.missing(*keys.filled_keys(field, batch.lines)))

    def file_finished(self, name: str) -> None:
        """Called when every record of `name` has been read (and only then): its keys can be looked up."""
        for rule in self.references:
            column, key_field = self._targets[rule.number]
            if rule.target == name and rule.number not in self._indexes:
                self._indexes[rule.number] = keys.KeyIndex(column, max(key_field.length, rule.subject.length))

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
                    raw = self.ctx.slip_text(subject) if subject else None
                    value = field_text(raw) if raw is not None else None
                yield record_finding(rule, int(batch.lines[i]), value, record=batch.rows[i].tobytes(), ctx=self.ctx)

        if in_record:
            values = distinct_values(batch.rows[idx, subject.start:subject.end])
        else:
            raw = self.ctx.slip_text(subject) if subject else None
            values = {field_text(raw) if raw is not None else None: len(idx)}
        self.collector.add_many(rule.number, len(idx), make, values)

    # -- after reading
    def finish(self) -> None:
        """File and zip rules (counts known now), then uniqueness and references."""
        scalar = Batch(file=None, rows=np.zeros((1, 0), np.uint8), lines=np.zeros(1, np.int64))
        for rule, kernel in self.scalar_rules:
            violated, _ = kernel(scalar)
            if bool(np.any(violated)):
                self.collector.add(record_finding(rule, None, scalar_value(rule.check, self.ctx),
                                                  expected=expected_count(rule.check, self.ctx)))
        for rule in self.unique:
            lines, values = keys.repeated(self._key_column(rule.file, rule.subject))
            self._report_keys(rule, lines, values)
        # References read before their file (only when files refer to each other) are looked up now.
        # Those whose file was never read whole (missing or unreadable: 726 or ZIP-* report it) have
        # nothing to be looked up in; the pipeline lists them as not evaluated.
        for rule in self.references:
            pending, index = self._pending.pop(rule.number, None), self._indexes.get(rule.number)
            if pending is not None and index is not None:
                self._report_keys(rule, *index.missing(*pending.arrays()))

    def _report_keys(self, rule, lines, values) -> None:
        if not len(lines):
            return
        order = np.argsort(lines, kind="stable")
        lines, values = lines[order], values[order]
        self.marks.mark(rule.file, rule.rule.severity, lines.astype(np.int64))
        self.collector.add_many(
            rule.number, len(lines),
            lambda limit: (record_finding(rule, int(lines[i]), field_text(values[i:i + 1].tobytes()))
                           for i in range(len(lines) if limit is None else min(limit, len(lines)))),
            distinct_values(values),
        )


def _field(batch: Batch, ddid: str):
    return next(f for f in batch.file.fields if f.ddid == ddid)
