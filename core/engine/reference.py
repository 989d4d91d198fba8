"""The reference engine: every rule evaluated per record, in plain Python.

This is the straightforward evaluation that issue 3 asks the columnar engine
to match finding for finding. It walks the typed checks of each rule for one
record at a time and decodes fields itself, with the standard library, from
the rule semantics alone; it deliberately shares no decoding code with the
columnar engine (nothing from `columns` or `keys`), so a test that runs both
on the same deliveries checks one reading of the GA against another.

Truth values are three-valued: True (certainly violated), False (certainly
not) and None (not evaluated: an operand is empty, malformed or absent). A
rule reports only when its check is True; `not`, `and` and `or` follow
Kleene's logic, so "not evaluated" never turns into a finding.

Slow by design: use it for tests and for settling doubts, not for deliveries
of millions of records.
"""
from __future__ import annotations

import operator

import numpy as np

from ..findings import FindingCollector
from ..language import compiler as c
from ..layout import Field, Layout
from .common import Batch, Context, RecordMarks, expected_count, field_text, record_finding, scalar_value
from .reference_formats import (  # noqa: F401  (the reference's own reading of the formats, used by tests too)
    _as_calendar, _text, as_date, as_number, code_of, is_empty, like, matches, whole_years,
)

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "=": operator.eq, "!=": operator.ne}


class ReferenceEngine:
    """Same interface as the columnar engine: `record_batch` per batch of records, `finish` once at the end."""

    def __init__(self, rules: list[c.CompiledRule], layout: Layout, ctx: Context, collector: FindingCollector,
                 marks: RecordMarks, key_memory=None):
        """`key_memory` is accepted for the columnar engine's interface: this engine keeps everything in memory."""
        self.ctx, self.collector, self.marks = ctx, collector, marks
        self.record_rules: dict[str, list[c.CompiledRule]] = {}
        for rule in rules:
            if rule.kind == c.RECORD:
                self.record_rules.setdefault(rule.file, []).append(rule)
        self.scalar_rules = [r for r in rules if r.kind in (c.FILE, c.ZIP)]
        self.unique = [r for r in rules if r.kind == c.UNIQUE]
        self.references = [r for r in rules if r.kind == c.REFERENCE]
        self.aggregate_rules = [r for r in rules if r.kind == c.AGGREGATE]
        self.read_whole: set[str] = set()
        # Every record of every file, in reading order: (line, bytes). Slow and simple on purpose.
        self.records: dict[str, list[tuple[int, bytes]]] = {}
        self.parent_index: dict[tuple[str, str], dict[bytes, bytes]] = {}
        ctx.parents = self._parent
        ctx.records_of = lambda file: [rec for _, rec in self.records.get(file, [])]

    # -- per batch
    def record_batch(self, batch: Batch) -> None:
        """Check every record of the batch against its file's record rules, and remember the records."""
        name = batch.file.name
        rules = self.record_rules.get(name, [])
        kept = self.records.setdefault(name, [])
        hits: dict[str, list[int]] = {}
        for i in range(len(batch)):
            record = batch.rows[i].tobytes()
            line = int(batch.lines[i])
            kept.append((line, record))
            for rule in rules:
                if rule.skip_deleted is not None and is_deletion(record, rule.skip_deleted):
                    continue
                if truth(rule.check, record, self.ctx) is True:
                    hits.setdefault(rule.number, []).append(line)
                    self.collector.add(record_finding(rule, line, self._record_value(rule, record),
                                                      record=record, ctx=self.ctx))
        for rule in rules:
            if rule.number in hits:
                self.marks.mark(rule.file, rule.rule.severity, np.array(hits[rule.number], dtype=np.int64))

    def _record_value(self, rule: c.CompiledRule, record: bytes) -> str | None:
        subject = rule.subject
        if subject is None:
            return None
        if subject.file == rule.file:
            return field_text(record[subject.start:subject.end])
        if self.ctx.slip is None or subject.file != self.ctx.slip.name:
            return None
        raw = self.ctx.slip_text(subject)
        return None if raw is None else field_text(raw)

    def _parent(self, record: bytes, path) -> bytes | None:
        """The record's parent at the end of `path`, or None when one along the way was not delivered."""
        for hop in path:
            if record is None:
                return None
            fk = record[hop.foreign_key.start:hop.foreign_key.end]
            if is_empty(fk):
                return None
            index = self.parent_index.get((hop.key.file, hop.key.ddid))
            if index is None:
                index = self.parent_index[(hop.key.file, hop.key.ddid)] = {}
                shared = set()
                for _, rec in self.records.get(hop.key.file, []):
                    key = rec[hop.key.start:hop.key.end]
                    if not is_empty(key):
                        if key.strip(b" ") in index:
                            shared.add(key.strip(b" "))  # several parents with one key: none is the parent
                        index[key.strip(b" ")] = rec
                for key in shared:
                    del index[key]
            record = index.get(fk.strip(b" "))
        return record

    # -- after reading
    def file_finished(self, name: str) -> None:
        """Called when every record of `name` has been read (and only then): references to it can be checked."""
        self.read_whole.add(name)

    def _keys(self, file: str, fields) -> list[tuple[int, tuple[bytes, ...]]]:
        """(line, key parts) of the records of `file` whose key is not all blank."""
        out = []
        for line, rec in self.records.get(file, []):
            parts = tuple(rec[f.start:f.end] for f in fields)
            if not all(is_empty(p) for p in parts):
                out.append((line, parts))
        return out

    def finish(self) -> None:
        """File and zip rules (record counts are known now), then uniqueness, references and counts per parent."""
        for rule in self.scalar_rules:
            if truth(rule.check, None, self.ctx) is True:
                self.collector.add(record_finding(rule, None, scalar_value(rule.check, self.ctx),
                                                  expected=expected_count(rule.check, self.ctx)))
        for rule in self.unique:
            found = []
            if rule.target_keys:
                elsewhere = {_as_key(parts) for fld in rule.target_keys
                             for _, parts in self._keys(fld.file, (fld,))}
                found = [(line, parts) for line, parts in self._keys(rule.file, rule.keys)
                         if _as_key(parts) in elsewhere]
            else:
                seen: set[tuple[bytes, ...]] = set()
                for line, parts in self._keys(rule.file, rule.keys):
                    if _as_key(parts) in seen:
                        found.append((line, parts))
                    seen.add(_as_key(parts))
            self._report_keys(rule, found)
        for rule in self.references:
            if rule.target not in self.read_whole:
                # A file missing or unreadable (726, ZIP-*) has no keys to look up: not evaluated.
                continue
            known = {_as_key(parts) for _, parts in self._keys(rule.target, rule.target_keys)}
            dangling = [(line, parts) for line, parts in self._keys(rule.file, rule.keys)
                        if _as_key(parts) not in known]
            self._report_keys(rule, dangling)
        for rule in self.aggregate_rules:
            self._aggregate(rule)

    def _aggregate(self, rule: c.CompiledRule) -> None:
        per: dict[object, dict[bytes, int]] = {}
        for count in _per_counts(rule.check):
            tally = per[count] = {}
            for _, rec in self.records.get(count.file, []):
                fk = rec[count.per.start:count.per.end]
                if not is_empty(fk) and truth(count.where, rec, self.ctx) is True:
                    tally[fk.strip(b" ")] = tally.get(fk.strip(b" "), 0) + 1
        found = []
        for line, rec in self.records.get(rule.file, []):
            key = rec[rule.subject.start:rule.subject.end]
            if is_empty(key):
                continue
            counts = {count: tally.get(key.strip(b" "), 0) for count, tally in per.items()}
            if truth(rule.check, None, self.ctx, counts) is True:
                found.append((line, (key,)))
        self._report_keys(rule, found)

    def _report_keys(self, rule: c.CompiledRule, found: list[tuple[int, tuple[bytes, ...]]]) -> None:
        found = sorted(found, key=lambda item: item[0])
        if found:
            self.marks.mark(rule.file, rule.rule.severity, np.array([line for line, _ in found], dtype=np.int64))
        for line, parts in found:
            self.collector.add(record_finding(rule, line, " / ".join(field_text(p) for p in parts)))


def _as_key(parts: tuple[bytes, ...]) -> tuple[bytes, ...]:
    """A (composite) key as keys compare: each part without its leading and trailing spaces."""
    return tuple(p.strip(b" ") for p in parts)


def is_deletion(record: bytes, flag: Field) -> bool:
    """A deletion record: its status vlag holds 'V' (GA DBC-GGZ §5.3.1)."""
    return record[flag.start:flag.end].rstrip(b" ") == b"V"


def _per_counts(check):
    if isinstance(check, c.CountOf):
        if check.per is not None:
            yield check
        return
    for item in (getattr(check, name) for name in ("left", "right", "items", "item") if hasattr(check, name)):
        for sub in item if isinstance(item, tuple) else (item,):
            yield from _per_counts(sub)


# ---------------------------------------------------------------- three-valued evaluation


def truth(check, record: bytes | None, ctx: Context, counts=None) -> bool | None:
    """Whether `check` is violated by `record` (None for file and zip rules): True, False or None (unknown).

    `counts` holds the values of counts per parent record, when the rule compares those.
    """
    match check:
        case c.And(items):
            result = True
            for item in items:
                value = truth(item, record, ctx, counts)
                if value is False:
                    return False
                if value is None:
                    result = None
            return result
        case c.Or(items):
            result = False
            for item in items:
                value = truth(item, record, ctx, counts)
                if value is True:
                    return True
                if value is None:
                    result = None
            return result
        case c.Not(item):
            value = truth(item, record, ctx, counts)
            return None if value is None else not value
        case c.Empty(col, filled):
            raw = read(col, record, ctx)
            if raw is None:
                return None
            return is_empty(raw) != filled
        case c.Cmp(left, op, right, kind):
            a, b = operand(left, kind, record, ctx, counts), operand(right, kind, record, ctx, counts)
            if a is None or b is None:
                return None
            return _OPS[op](a, b)
    # The remaining checks test one field's value: an empty (or unreadable) field is not evaluated.
    raw = read(check.col, record, ctx)
    if raw is None or is_empty(raw):
        return None
    match check:
        case c.BadDate():
            return as_date(raw) is None
        case c.BadNumber():
            return as_number(raw) is None
        case c.BadPattern(_, pattern):
            return not matches(raw, pattern)
        case c.Values(_, values, negated):
            listed = any(raw.strip(b" ") == _text(v) for v in values)
            return listed != negated
        case c.NotInLists(_, names, at):
            date = _peildatum(at, record, ctx)
            if date is None:
                return None
            code = code_of(raw)
            return not any(row.begin <= date <= row.end
                           for name in names for row in ctx.codelists[name].entries.get(code, ()))
        case c.NotSelectableIn(_, name, at):
            date = _peildatum(at, record, ctx)
            if date is None:
                return None
            # Rows are sorted by begin date: the first one containing the peildatum is the one in force.
            row = next((r for r in ctx.codelists[name].entries.get(code_of(raw), ()) if r.begin <= date <= r.end),
                       None)
            return None if row is None else row.selectable == 0
        case c.Like(_, pattern, negated):
            return like(raw.rstrip(b" ").decode("latin-1"), pattern) != negated
        case c.FailsElfproef():
            if not raw.isdigit():
                return None
            weights = list(range(len(raw), 1, -1)) + [-1]
            return sum(w * (d - 0x30) for w, d in zip(weights, raw)) % 11 != 0
    raise TypeError(f"the reference engine cannot evaluate {check!r}")


def read(col: c.Col, record: bytes | None, ctx: Context) -> bytes | None:
    """The field's bytes from the record, its parent or the packing slip (None when there is none)."""
    fld = col.field
    if col.scope == "slip":
        raw = ctx.slip_text(fld)
    elif record is None:
        raise TypeError(f"{fld.label} is read from a record, but this rule has none")
    elif col.scope == "parent":
        parent = ctx.parents(record, col.path)
        raw = None if parent is None else parent[fld.start:fld.end]
    else:
        raw = record[fld.start:fld.end]
    if raw is not None and col.part is not None:
        raw = raw[col.part[0] - 1:col.part[1]]
    return raw


def operand(node, kind: str, record: bytes | None, ctx: Context, counts=None):
    """One side of a comparison as a comparable Python value, or None when it cannot be evaluated."""
    if isinstance(node, c.CountOf) and node.per is not None:
        return counts[node]
    if isinstance(node, c.CountOf) and node.where is not None:
        if node.file not in ctx.counts:
            return None
        return sum(1 for rec in ctx.records_of(node.file) if truth(node.where, rec, ctx) is True)
    if isinstance(node, c.TodayDate):
        return ctx.today.year * 10000 + ctx.today.month * 100 + ctx.today.day
    if isinstance(node, c.DaysOf):
        since, until = _peildatum(node.since, record, ctx), _peildatum(node.until, record, ctx)
        if since is None or until is None:
            return None
        return (_as_calendar(until) - _as_calendar(since)).days
    if isinstance(node, c.Arith):
        a, b = operand(node.left, "number", record, ctx, counts), operand(node.right, "number", record, ctx, counts)
        if a is None or b is None:
            return None
        return a + b if node.op == "+" else a - b
    if isinstance(node, c.Lookup):
        return _lookup(node, kind, record, ctx)
    if isinstance(node, c.Const):
        if not node.zip_part:
            value = node.value
        else:
            value = (ctx.zip_parts or {}).get(node.zip_part)
            if value is not None and kind == "date":
                # The zip name's date was parsed as a calendar date; compare it as YYYYMMDD.
                value = int(value) if len(value) == 8 and value.isascii() and value.isdigit() else None
        if kind == "text" and value is not None:
            value = _text(value) or None
        return value
    if isinstance(node, c.CountOf):
        return ctx.counts[node.file] if node.file in ctx.counts else None
    if isinstance(node, c.YearsOf):
        since, until = _peildatum(node.since, record, ctx), _peildatum(node.until, record, ctx)
        if since is None or until is None:
            return None
        return whole_years(_as_calendar(since), _as_calendar(until))
    raw = read(node, record, ctx)
    if raw is None:
        return None
    if kind == "date":
        return as_date(raw)
    if kind == "number":
        return as_number(raw)
    if is_empty(raw) or (node.pattern and not matches(raw, node.pattern)):
        return None  # empty or malformed: not evaluated
    return raw.strip(b" ")  # the value without its spaces, leading or trailing (see _text)


def _lookup(node: c.Lookup, kind: str, record: bytes | None, ctx: Context):
    raws = [read(k, record, ctx) for k in node.keys]
    if any(r is None or is_empty(r) for r in raws):
        return None
    date = _peildatum(node.at, record, ctx)
    if date is None:
        return None
    parts = [code_of(r) for r in raws]
    row = ctx.codelists[node.codelist].row_at(parts[0] if len(parts) == 1 else tuple(parts), date)
    text = None if row is None else (getattr(row, "attributes", None) or {}).get(node.attribute)
    if not text:
        return None
    if kind == "text":
        return text.encode("latin-1", errors="replace")
    if kind == "date":  # the column's YYYYMMDD, compared as written
        return int(text) if len(text) == 8 and text.isascii() and text.isdigit() else None
    digits = text[1:] if text.startswith("-") else text
    if not (digits.isascii() and digits.isdigit()):
        return None
    return -int(digits) if text.startswith("-") else int(digits)


def _peildatum(col: c.Col, record: bytes | None, ctx: Context) -> int | None:
    raw = read(col, record, ctx)
    return None if raw is None else as_date(raw)
