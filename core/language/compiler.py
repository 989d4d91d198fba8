"""Check parsed rules against a standard and turn them into typed checks.

The compiler resolves every DDID, file and codelist against the standard's
layout, types every comparison (date, number or text), decides what each rule
reads (one record, a whole file, the zip) and what it reports on. The result,
a `RuleBook`, is built once and evaluated many times by an engine.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

from ..layout import Field, FileLayout
from ..standard import Standard
from . import ast
from .checks import (  # noqa: F401  (the typed checks are part of what the compiler returns)
    And, Arith, BadDate, BadNumber, BadPattern, Cmp, Col, Const, CountOf, DaysOf, Empty, FailsElfproef, Hop, Like,
    Lookup, Not, NotInLists, NotSelectableIn, Or, TodayDate, Values, YearsOf,
)
from .rule_error import RuleError, decode_rules
from .operand_compiler import OperandCompiler, Problem as _Problem, children_of, field_refs as _field_refs
from .paths import PathError, key_fields, record_scope, referenced_fields

# ---------------------------------------------------------------- compiled rules

RECORD, FILE, ZIP, UNIQUE, REFERENCE, LENGTH, MEMBER, HISTORY, AGGREGATE = (
    "record", "file", "zip", "unique", "reference", "length", "member", "history", "aggregate",
)
ACTIVE, NOT_APPLICABLE, NEEDS_STORE = "active", "not applicable", "needs store"


@dataclass(frozen=True)
class CompiledRule:
    """A rule with everything an engine needs to evaluate it."""

    rule: ast.Rule
    kind: str  # record | file | zip | unique | reference | length | member | history | aggregate
    status: str  # active | not applicable | needs store
    file: str | None = None  # the file findings are reported on
    subject: Field | None = None  # the field findings point at
    check: object = None  # typed check (record, file, zip, aggregate kinds)
    target: str | None = None  # reference: the referenced file
    codelists: tuple[str, ...] = ()
    reason: str = ""
    keys: tuple[Field, ...] = ()  # unique, reference: the (composite) key read from each record
    target_keys: tuple[Field, ...] = ()  # reference: the key fields referred to; unique: fields of `across`
    skip_deleted: Field | None = None  # the status vlag: records flagged 'V' are not checked by this rule

    @property
    def number(self) -> str:
        return self.rule.number

    def in_force(self, on: dt.date) -> bool:
        """Whether the rule's validity window (GA: geldig van / t/m) contains `on`."""
        r = self.rule
        return (r.valid_from is None or r.valid_from <= on) and (r.valid_until is None or on <= r.valid_until)


@dataclass(frozen=True)
class RuleBook:
    """All compiled rules of a standard plus any extra rule files, in source order."""

    standard: Standard
    rules: tuple[CompiledRule, ...]
    sources: tuple[str, ...] = ()

    @property
    def codelists(self) -> set[str]:
        """Every codelist an active rule needs."""
        return {c for r in self.rules if r.status == ACTIVE for c in r.codelists}


def compile_rulebook(standard: Standard, extra_files: tuple[Path, ...] = ()) -> RuleBook:
    """Parse and compile the standard's rule files plus `extra_files`; raise RuleError on the first problem."""
    compiled: list[CompiledRule] = []
    seen: dict[str, ast.Span | None] = {}
    sources = []
    for path in tuple(standard.rule_files) + tuple(extra_files):
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise RuleError(f"cannot read rules file: {exc.strerror or exc}", str(path), 0, 0) from None
        text = decode_rules(data, str(path))
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
        sources.append(f"{path.name} sha256:{digest}")
        compiled.extend(compile_text(standard, text, str(path), seen))
    return RuleBook(standard, tuple(compiled), tuple(sources))


def compile_text(standard: Standard, text: str, source: str = "<rules>", seen=None) -> list[CompiledRule]:
    """Compile the rules in `text`; `seen` maps numbers already defined to their span (clash check)."""
    from .parser import parse_rules  # here: lark is imported only when rules are compiled, not read from the cache

    seen = {} if seen is None else seen
    out = []
    for rule in parse_rules(text, source):
        if rule.number in seen:
            first = seen[rule.number]
            where = f" (first defined at {first})" if first else ""
            raise RuleError(f"rule number {rule.number} is defined twice{where}", source,
                            rule.span.line, rule.span.column, text)
        seen[rule.number] = rule.span
        try:
            out.append(_Compiler(standard).compile(rule))
        except _Problem as p:
            span = p.span or rule.span
            raise RuleError(p.message, source, span.line, span.column, text) from None
    return out


class _Compiler(OperandCompiler):
    """Compiles one rule."""

    def __init__(self, standard: Standard):
        self.standard = standard
        self.layout = standard.layout
        self.slip = self.layout.packing_slip
        self.specs = getattr(standard, "codelists", None) or {}
        self.known_codelists = {c for f in self.layout.fields for c in f.codelists} | set(self.specs)

    # -- entry
    def compile(self, rule: ast.Rule) -> CompiledRule:
        v = rule.violation
        types = getattr(self.standard, "rule_types", None) or ()
        if types and rule.type not in types:
            raise _Problem(f"unknown validation type {rule.type}: {self.standard.id} declares {', '.join(types)}",
                           rule.span)
        if rule.not_applicable:
            return CompiledRule(rule, self._kind_of(v), NOT_APPLICABLE, file=self._file_hint(v),
                                subject=self._subject_hint(v), reason=rule.not_applicable)
        if rule.needs_store:
            fields = [self._field(f) for f in self._history_fields(v)]
            if isinstance(v, ast.DeletedNotStored) and not self.layout.file(fields[0].file).status_flag:
                raise _Problem(f"{fields[0].file} declares no status flag: it has no deletion records", v.span)
            return CompiledRule(rule, HISTORY, NEEDS_STORE, file=fields[0].file, subject=fields[0],
                                reason="needs the delivery store (earlier deliveries or the customer registry)")
        if isinstance(v, ast.NotUnique):
            fields = self._same_file(v.fields, v.span)
            across = tuple(self._field(f) for f in v.across)
            if across and len(fields) > 1:
                raise _Problem("'across' compares a single field with fields of other files", v.span)
            for fld, ref in zip(across, v.across):
                if fld.file == fields[0].file:
                    raise _Problem(f"{fld.label} is in {fld.file} itself; name fields of other files", ref.span)
            return CompiledRule(rule, UNIQUE, ACTIVE, file=fields[0].file, subject=fields[0], keys=fields,
                                target_keys=across)
        if isinstance(v, ast.MissingReference):
            fields = self._same_file(v.fields, v.span)
            target = self._file(v.file, v.span)
            target_keys = referenced_fields(self.layout, fields, target.name)
            if isinstance(target_keys, str):
                raise _Problem(target_keys, v.span)
            return CompiledRule(rule, REFERENCE, ACTIVE, file=fields[0].file, subject=fields[0], target=target.name,
                                keys=fields, target_keys=target_keys)
        if isinstance(v, ast.WrongRecordLength):
            return CompiledRule(rule, LENGTH, ACTIVE, file=self._file(v.file, v.span).name)
        if isinstance(v, ast.MemberCheck):
            return CompiledRule(rule, MEMBER, ACTIVE, check=v.kind)
        return self._condition_rule(rule)

    def _same_file(self, refs, span) -> tuple[Field, ...]:
        fields = tuple(self._field(r) for r in refs)
        if len({f.file for f in fields}) > 1:
            raise _Problem("the fields of a key must be of one file", span)
        return fields

    def _kind_of(self, v) -> str:
        return {ast.NotUnique: UNIQUE, ast.MissingReference: REFERENCE, ast.WrongRecordLength: LENGTH,
                ast.MemberCheck: MEMBER}.get(type(v), HISTORY if isinstance(v, ast.HISTORY_FORMS) else RECORD)

    def _file_hint(self, v) -> str | None:
        """For a not-applicable rule: the delivered file it would report on, if any."""
        for ref in _field_refs(v):
            fld = self.layout.field(ref.ddid)
            if fld:
                return fld.file
            absent = self.layout.absent_attribute(ref.ddid)
            if absent:
                return absent.file
        return None

    def _subject_hint(self, v) -> Field | None:
        for ref in _field_refs(v):
            if self.layout.field(ref.ddid):
                return self.layout.field(ref.ddid)
        return None

    @staticmethod
    def _history_fields(v):
        if isinstance(v, ast.StoredElsewhere):
            return (v.field, v.other)
        if isinstance(v, (ast.ChangedSinceLast, ast.DeletedNotStored)):
            return (v.field,)
        return v.fields

    # -- lookups
    def _field(self, ref: ast.FieldRef) -> Field:
        fld = self.layout.field(ref.ddid)
        if fld is not None:
            return fld
        absent = self.layout.absent_attribute(ref.ddid)
        if absent is not None:
            raise _Problem(
                f"{absent.ddid} {absent.name} ({absent.file}) is named by the standard but not delivered; "
                "add not-applicable \"reason\" to the rule", ref.span)
        raise _Problem(f"unknown field {ref.ddid}: {self.standard.id} has no attribute with this DDID", ref.span)

    def _file(self, name: str, span) -> FileLayout:
        f = self.layout.file(name)
        if f is None:
            known = ", ".join(x.name for x in self.layout.files)
            raise _Problem(f"unknown file {name}: {self.standard.id} delivers {known}", span)
        return f

    # -- conditions
    def _condition_rule(self, rule: ast.Rule) -> CompiledRule:
        v = rule.violation
        fields = [self._field(r) for r in _field_refs(v)]
        counts = [c for c in _count_refs(v)]
        per = [c for c in counts if isinstance(c, ast.CountWhere) and c.per is not None]
        record_files = {f.file for f in fields if not (self.slip and f.file == self.slip.name)}
        if per:
            return self._aggregate_rule(rule, per, fields)
        if counts:
            if record_files:
                raise _Problem("count() is compared with packing-slip fields, literals or zip parts only", v.span)
            kind, file = FILE, self._file(counts[0].file, counts[0].span).name
        elif record_files:
            kind, file = RECORD, None
        elif fields:
            kind, file = RECORD, self.slip.name
        else:
            kind, file = ZIP, None
        scope = None
        if kind == RECORD:
            scope = self._scope(record_files, v.span) if record_files else (file, {})
            file = scope[0]
        check = self._cond(v, scope)
        subject = next((f for f in fields if f.file == file), fields[0] if fields else None)
        codelists = tuple(sorted(_codelists_of(check)))
        skip = self._skip_deleted(rule, file, fields) if kind == RECORD else None
        return CompiledRule(rule, kind, ACTIVE, file=file, subject=subject, check=check, codelists=codelists,
                            skip_deleted=skip)

    def _scope(self, files: set[str], span):
        try:
            return record_scope(self.layout, files)
        except PathError as exc:
            raise _Problem(str(exc), span) from None

    def _skip_deleted(self, rule: ast.Rule, file: str, fields) -> Field | None:
        """The status flag, when the rule reads more than a deletion record holds (GA DBC-GGZ §5.3)."""
        flag = self.layout.file(file).status_flag if self.layout.file(file) else ""
        if not flag or rule.deletions:
            return None
        keys = key_fields(self.layout, file)
        if all(f.file == file and f.ddid in keys for f in fields):
            return None  # keys and the flag only: a deletion record must fill these too
        return self.layout.field(flag)

    def _aggregate_rule(self, rule: ast.Rule, per, fields) -> CompiledRule:
        """`count(F where C per FK) > 1`: compared per parent record, reported on it."""
        v = rule.violation
        outside = [f for f in _field_refs(v)]
        if outside or any(not (isinstance(c, ast.CountWhere) and c.per) for c in _count_refs(v)):
            raise _Problem("a count per parent record is compared with literals or other counts per the same "
                           "parent only", v.span)
        parents = set()
        for c in per:
            fk = self._field(c.per)
            if fk.file != self._file(c.file, c.span).name or not fk.references:
                raise _Problem(f"{fk.label} is no foreign key of {c.file}: 'per' names one", c.per.span)
            parents.add(self.layout.field(fk.references).file)
        if len(parents) > 1:
            raise _Problem("the counts are per records of different files", v.span)
        parent = parents.pop()
        check = self._cond(v, None)
        key = self.layout.field(self._field(per[0].per).references)
        return CompiledRule(rule, AGGREGATE, ACTIVE, file=parent, subject=key, check=check,
                            codelists=tuple(sorted(_codelists_of(check))))

    def _col(self, ref: ast.FieldRef, scope, part=None) -> Col:
        fld = self._field(ref)
        file, paths = scope if scope is not None else (None, {})
        if file is not None and fld.file == file:
            return Col(fld, "record", part=part)
        if self.slip is not None and fld.file == self.slip.name:
            return Col(fld, "slip", part=part)
        if fld.file in paths:
            return Col(fld, "parent", paths[fld.file], part=part)
        raise _Problem(f"{fld.label} is in {fld.file}; this rule reads {file or 'no record'}", ref.span)

    def _cond(self, node, scope):
        if isinstance(node, ast.AllOf):
            return And(tuple(self._cond(i, scope) for i in node.items))
        if isinstance(node, ast.AnyOf):
            return Or(tuple(self._cond(i, scope) for i in node.items))
        if isinstance(node, ast.Negated):
            return Not(self._cond(node.item, scope))
        if isinstance(node, ast.IsEmpty):
            return Empty(self._col(node.field, scope))
        if isinstance(node, ast.IsFilled):
            return Empty(self._col(node.field, scope), filled=True)
        if isinstance(node, ast.NotDate):
            return BadDate(self._col(node.field, scope))
        if isinstance(node, ast.NotNumber):
            return BadNumber(self._col(node.field, scope))
        if isinstance(node, ast.NotPattern):
            col = self._col(node.field, scope)
            if len(node.pattern) > col.field.length:
                raise _Problem(f"pattern '{node.pattern}' is longer than {col.field.label} "
                               f"({col.field.length} positions)", node.span)
            return BadPattern(col, node.pattern)
        if isinstance(node, ast.InValues):
            col = self._col(node.field, scope)
            for value in node.values:
                if len(value) > col.field.length:
                    raise _Problem(f"'{value}' does not fit in {col.field.label} ({col.field.length} positions)",
                                   node.span)
            return Values(col, node.values, node.negated)
        if isinstance(node, ast.NotInCodelist):
            for name in node.codelists:
                self._codelist(name, node.span)
            return NotInLists(self._col(node.field, scope), node.codelists, self._date_col(node.at, scope))
        if isinstance(node, ast.NotSelectable):
            self._codelist(node.codelist, node.span)
            return NotSelectableIn(self._col(node.field, scope), node.codelist, self._date_col(node.at, scope))
        if isinstance(node, ast.Like):
            col = self._col(node.field, scope)
            _like_ok(node)
            return Like(col, node.pattern, node.negated)
        if isinstance(node, ast.FailsElfproef):
            return FailsElfproef(self._col(node.field, scope))
        if isinstance(node, ast.Comparison):
            return self._comparison(node, scope)
        raise _Problem(f"'{node}' cannot be combined with other conditions", getattr(node, "span", None))

def _like_ok(node: ast.Like) -> None:
    if node.pattern.endswith("\\") and not node.pattern.endswith("\\\\"):
        raise _Problem(f"pattern '{node.pattern}' ends in an escape (\\) with nothing to escape", node.span)


def _count_refs(node):
    """Every count in a violation, left to right; iterative, so no input is too deep."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, (ast.Count, ast.CountWhere)):
            yield item
            continue
        stack.extend(reversed(children_of(item, skip=(ast.Span,))))


def _codelists_of(check) -> set[str]:
    """Every codelist a typed check reads (anywhere inside it)."""
    found = set()
    stack = [check]
    while stack:
        item = stack.pop()
        if isinstance(item, NotInLists):
            found |= set(item.codelists)
        elif isinstance(item, (NotSelectableIn, Lookup)):
            found.add(item.codelist)
        stack.extend(children_of(item, skip=(Field, Hop)))
    return found
