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

import datetime as dt
import operator

import numpy as np

from ..findings import FindingCollector
from ..language import compiler as c
from ..layout import Field, Layout
from .common import Batch, Context, RecordMarks, expected_count, field_text, record_finding, scalar_value

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "=": operator.eq, "!=": operator.ne}
_FIRST_DATE = dt.date(1900, 1, 1)  # DIS accepts dates from 1900-01-01 to 9999-12-31 (date.max)


class ReferenceEngine:
    """Same interface as the columnar engine: `record_batch` per batch of records, `finish` once at the end."""

    def __init__(self, rules: list[c.CompiledRule], layout: Layout, ctx: Context, collector: FindingCollector,
                 marks: RecordMarks):
        self.ctx, self.collector, self.marks = ctx, collector, marks
        self.record_rules: dict[str, list[c.CompiledRule]] = {}
        for rule in rules:
            if rule.kind == c.RECORD:
                self.record_rules.setdefault(rule.file, []).append(rule)
        self.scalar_rules = [r for r in rules if r.kind in (c.FILE, c.ZIP)]
        self.unique = [r for r in rules if r.kind == c.UNIQUE]
        self.references = [r for r in rules if r.kind == c.REFERENCE]
        # Every filled value of each key field, with its line, in reading order: (file, ddid) -> [(line, raw)].
        self.keys: dict[tuple[str, str], list[tuple[int, bytes]]] = {}
        self.targets: dict[str, Field] = {}
        self.read_whole: set[str] = set()
        for rule in self.unique + self.references:
            self.keys.setdefault((rule.file, rule.subject.ddid), [])
        for rule in self.references:
            target = layout.file(rule.target)
            key = layout.field(target.key[0])
            self.targets[rule.number] = key
            self.keys.setdefault((key.file, key.ddid), [])

    # -- per batch
    def record_batch(self, batch: Batch) -> None:
        """Check every record of the batch against its file's record rules, and remember its keys."""
        name = batch.file.name
        rules = self.record_rules.get(name, [])
        key_fields = [(fld, self.keys[(name, fld.ddid)]) for fld in batch.file.fields if (name, fld.ddid) in self.keys]
        hits: dict[str, list[int]] = {}
        for i in range(len(batch)):
            record = batch.rows[i].tobytes()
            line = int(batch.lines[i])
            for rule in rules:
                if truth(rule.check, record, self.ctx) is True:
                    hits.setdefault(rule.number, []).append(line)
                    self.collector.add(record_finding(rule, line, self._record_value(rule, record),
                                                      record=record, ctx=self.ctx))
            for fld, remembered in key_fields:
                raw = record[fld.start:fld.end]
                if not is_empty(raw):  # blank keys are left to the M rules
                    remembered.append((line, raw))
        for rule in rules:
            if rule.number in hits:
                self.marks.mark(rule.file, rule.rule.severity, np.array(hits[rule.number], dtype=np.int64))

    def _record_value(self, rule: c.CompiledRule, record: bytes) -> str | None:
        subject = rule.subject
        if subject is None:
            return None
        if subject.file == rule.file:
            return field_text(record[subject.start:subject.end])
        raw = self.ctx.slip_text(subject)
        return None if raw is None else field_text(raw)

    # -- after reading
    def file_finished(self, name: str) -> None:
        """Called when every record of `name` has been read (and only then): references to it can be checked."""
        self.read_whole.add(name)

    def finish(self) -> None:
        """File and zip rules (record counts are known now), then uniqueness and references."""
        for rule in self.scalar_rules:
            if truth(rule.check, None, self.ctx) is True:
                self.collector.add(record_finding(rule, None, scalar_value(rule.check, self.ctx),
                                                  expected=expected_count(rule.check, self.ctx)))
        for rule in self.unique:
            seen: set[bytes] = set()
            repeats = []
            for line, raw in self.keys[(rule.file, rule.subject.ddid)]:
                if raw in seen:
                    repeats.append((line, raw))
                seen.add(raw)
            self._report_keys(rule, repeats)
        for rule in self.references:
            if rule.target not in self.read_whole:
                # A file missing or unreadable (726, ZIP-*) has no keys to look up: not evaluated.
                continue
            target = self.targets[rule.number]
            width = max(rule.subject.length, target.length)
            known = {raw.ljust(width, b" ") for _, raw in self.keys[(target.file, target.ddid)]}
            dangling = [(line, raw) for line, raw in self.keys[(rule.file, rule.subject.ddid)]
                        if raw.ljust(width, b" ") not in known]
            self._report_keys(rule, dangling)

    def _report_keys(self, rule: c.CompiledRule, found: list[tuple[int, bytes]]) -> None:
        found = sorted(found, key=lambda item: item[0])
        if found:
            self.marks.mark(rule.file, rule.rule.severity, np.array([line for line, _ in found], dtype=np.int64))
        for line, raw in found:
            self.collector.add(record_finding(rule, line, field_text(raw)))



# ---------------------------------------------------------------- three-valued evaluation


def truth(check, record: bytes | None, ctx: Context) -> bool | None:
    """Whether `check` is violated by `record` (None for file and zip rules): True, False or None (unknown)."""
    match check:
        case c.And(items):
            result = True
            for item in items:
                value = truth(item, record, ctx)
                if value is False:
                    return False
                if value is None:
                    result = None
            return result
        case c.Or(items):
            result = False
            for item in items:
                value = truth(item, record, ctx)
                if value is True:
                    return True
                if value is None:
                    result = None
            return result
        case c.Not(item):
            value = truth(item, record, ctx)
            return None if value is None else not value
        case c.Empty(col, filled):
            raw = read(col, record, ctx)
            if raw is None:
                return None
            return is_empty(raw) != filled
        case c.Cmp(left, op, right, kind):
            a, b = operand(left, kind, record, ctx), operand(right, kind, record, ctx)
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
            listed = any(raw == _padded(v, len(raw)) for v in values)
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
    raise TypeError(f"the reference engine cannot evaluate {check!r}")


def read(col: c.Col, record: bytes | None, ctx: Context) -> bytes | None:
    """The field's bytes from the record, or from the packing slip (None without a usable one)."""
    fld = col.field
    if col.scope == "slip":
        return ctx.slip_text(fld)
    if record is None:
        raise TypeError(f"{fld.label} is read from a record, but this rule has none")
    return record[fld.start:fld.end]


def operand(node, kind: str, record: bytes | None, ctx: Context):
    """One side of a comparison as a comparable Python value, or None when it cannot be evaluated."""
    if isinstance(node, c.Const):
        if not node.zip_part:
            value = node.value
        else:
            value = (ctx.zip_parts or {}).get(node.zip_part)
            if value is not None and kind == "date":
                # The zip name's date was parsed as a calendar date; compare it as YYYYMMDD.
                value = int(value) if len(value) == 8 and value.isascii() and value.isdigit() else None
        if kind == "text" and value is not None:
            value = value.rstrip(" ").encode("latin-1", errors="replace") or None
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
    return raw.rstrip(b" ")


def _peildatum(col: c.Col, record: bytes | None, ctx: Context) -> int | None:
    raw = read(col, record, ctx)
    return None if raw is None else as_date(raw)


# ---------------------------------------------------------------- field formats (GA §4.2)


def is_empty(raw: bytes) -> bool:
    """A field is empty when it holds only spaces."""
    return raw.strip(b" ") == b""


def as_date(raw: bytes) -> int | None:
    """A D field (YYYYMMDD, a real date from 1900-01-01 to 9999-12-31) as an int YYYYMMDD, or None."""
    if len(raw) != 8 or not raw.isdigit():
        return None
    try:
        date = dt.date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
    except ValueError:
        return None
    return int(raw) if date >= _FIRST_DATE else None


def _as_calendar(yyyymmdd: int) -> dt.date:
    return dt.date(yyyymmdd // 10000, yyyymmdd // 100 % 100, yyyymmdd % 100)


def whole_years(since: dt.date, until: dt.date) -> int:
    """Completed years from `since` to `until` (an age: the birthday counts from its day on)."""
    return until.year - since.year - ((until.month, until.day) < (since.month, since.day))


def as_number(raw: bytes) -> int | None:
    """An N field (leading spaces, an optional '-', then digits to the end) as an int, or None."""
    text = raw.lstrip(b" ")
    digits = text[1:] if text.startswith(b"-") else text
    if not digits.isdigit():  # bytes.isdigit: ASCII digits only, and False for b""
        return None
    return -int(digits) if text.startswith(b"-") else int(digits)


def matches(raw: bytes, pattern: str) -> bool:
    """Whether the field follows the pattern: 'N' a digit, other characters literal, then spaces."""
    for i, byte in enumerate(raw):
        if i >= len(pattern):
            ok = byte == 0x20
        elif pattern[i] == "N":
            ok = 0x30 <= byte <= 0x39
        else:
            ok = bytes([byte]) == pattern[i].encode("latin-1", errors="replace")
        if not ok:
            return False
    return True


def _padded(value: str, width: int) -> bytes:
    """A listed value as it stands in a field: left-aligned, padded with spaces."""
    return value.encode("latin-1", errors="replace").ljust(width, b" ")


def code_of(raw: bytes) -> str:
    """A codelist code as written in a field: the text without its padding."""
    return raw.decode("latin-1").strip()
