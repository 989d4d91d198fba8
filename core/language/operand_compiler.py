"""Operands and comparisons: how the compiler types what a rule compares.

Each operand is resolved against the layout and given a kind (date, number,
text; a codelist column takes the kind of what it is compared with), so that
both sides of a comparison agree or the rule does not compile. `OperandCompiler`
is the part of the rule compiler (compiler.py) that does this; it relies on
the compiler's `_col`, `_field`, `_file`, `_scope` and `_cond`.
"""
from __future__ import annotations

from . import ast
from .checks import Arith, Cmp, Col, Const, CountOf, DaysOf, Lookup, TodayDate, YearsOf


class Problem(Exception):
    """A rule that does not compile, with the span to point at."""

    def __init__(self, message: str, span: ast.Span | None):
        super().__init__(message)
        self.message, self.span = message, span


_Problem = Problem


class OperandCompiler:
    """Types operands and comparisons (mixed into the rule compiler)."""

    def _codelist(self, name: str, span) -> None:
        """Refuse a codelist the standard does not know."""
        if name not in self.known_codelists:
            known = ", ".join(sorted(self.known_codelists)) or "none"
            raise _Problem(f"unknown codelist {name}: the layout of {self.standard.id} names {known}", span)

    def _date_col(self, ref: ast.FieldRef, scope) -> Col:
        col = self._col(ref, scope)
        if col.field.type != "D":
            raise _Problem(f"the peildatum {col.field.label} is not a date field", ref.span)
        return col

    def _comparison(self, node: ast.Comparison, scope) -> Cmp:
        left, lkind = self._operand(node.left, scope)
        right, rkind = self._operand(node.right, scope)
        # A codelist column is text until compared: it is read as the other side's kind.
        if lkind == "any" or rkind == "any":
            kind = rkind if lkind == "any" else lkind
            kind = "text" if kind == "any" else kind
            left, right = _typed(left, kind), _typed(right, kind)
            lkind = rkind = kind
        if lkind != rkind:
            raise _Problem(f"cannot compare {_describe(node.left)} ({lkind}) with {_describe(node.right)} ({rkind})",
                           node.span)
        for col, other in ((left, right), (right, left)):
            if (lkind == "text" and isinstance(col, Col) and isinstance(other, Const) and not other.zip_part
                    and len(other.value) > col.field.length):
                raise _Problem(f"'{other.value}' does not fit in {col.field.label} ({col.field.length} positions)",
                               node.span)
        return Cmp(left, node.op, right, lkind)

    def _operand(self, node, scope):
        if isinstance(node, ast.FieldRef):
            col = self._col(node, scope)
            return col, {"D": "date", "N": "number", "AN": "text"}[col.field.type]
        if isinstance(node, ast.Number):
            return Const(node.value), "number"
        if isinstance(node, ast.Text):
            return Const(node.value), "text"
        if isinstance(node, ast.DateLiteral):
            d = node.value
            return Const(d.year * 10000 + d.month * 100 + d.day), "date"
        if isinstance(node, ast.ZipPart):
            types = self.standard.naming.part_types
            if node.name not in types:
                raise _Problem(f"unknown zip part {node.name}: the zip name has {', '.join(types)}", node.span)
            return Const(None, zip_part=node.name), "date" if types[node.name] == "D" else "text"
        if isinstance(node, ast.Count):
            return CountOf(self._file(node.file, node.span).name), "number"
        if isinstance(node, ast.CountWhere):
            counted = self._file(node.file, node.span).name
            refs = {self._field(r).file for r in field_refs(node.where)} - {self.slip.name if self.slip else ""}
            paths = self._scope(refs | {counted}, node.span)
            if paths[0] != counted:
                raise _Problem(f"the condition reads {paths[0]}, which is not a parent of {counted}", node.span)
            where = self._cond(node.where, paths)
            per = self._field(node.per) if node.per else None
            return CountOf(counted, where, per, str(node)), "number"
        if isinstance(node, ast.Years):
            return YearsOf(self._date_col(node.since, scope), self._date_col(node.until, scope)), "number"
        if isinstance(node, ast.Days):
            return DaysOf(self._date_col(node.since, scope), self._date_col(node.until, scope)), "number"
        if isinstance(node, ast.Today):
            return TodayDate(), "date"
        if isinstance(node, ast.Substring):
            fld = self._field(node.field)
            if fld.type != "AN":
                raise _Problem(f"positions are taken of text fields; {fld.label} is {fld.type}", node.span)
            if not 1 <= node.first <= node.last <= fld.length:
                raise _Problem(f"positions {node.first}..{node.last} are not within {fld.label} "
                               f"({fld.length} positions)", node.span)
            return self._col(node.field, scope, (node.first, node.last)), "text"
        if isinstance(node, ast.Arithmetic):
            left, lkind = self._operand(node.left, scope)
            right, rkind = self._operand(node.right, scope)
            for side, kind in ((node.left, lkind), (node.right, rkind)):
                if kind not in ("number", "any"):
                    raise _Problem(f"{side} is a {kind}; + and - take numbers (days() counts days between dates)",
                                   node.span)
            return Arith(_typed(left, "number"), node.op, _typed(right, "number")), "number"
        if isinstance(node, ast.Lookup):
            return self._lookup(node, scope), "any"
        raise _Problem(f"unsupported operand {node}", getattr(node, "span", None))


    def _lookup(self, node: ast.Lookup, scope) -> Lookup:
        self._codelist(node.codelist, node.span)
        # A standard that declares its lists (Standard.codelists) says by how many fields each is keyed;
        # an undeclared list is keyed by its code alone. Without declarations the key is not known here.
        spec = self.specs.get(node.codelist)
        arity = len(spec.key) if spec is not None else 1
        if self.specs and len(node.keys) != arity:
            raise _Problem(f"{node.codelist} is looked up by {arity} field(s)"
                           + (f" ({', '.join(spec.key)})" if spec is not None else " (its code; a standard declares "
                              "a composite key in Standard.codelists)")
                           + f"; the rule names {len(node.keys)}", node.span)
        keys = tuple(self._col(k, scope) for k in node.keys)
        return Lookup(node.codelist, keys, self._date_col(node.at, scope), node.attribute)


def _typed(node, kind: str):
    """A codelist column read as `kind` (other operands are returned as they are)."""
    if isinstance(node, Lookup):
        return Lookup(node.codelist, node.keys, node.at, node.attribute, kind)
    return node


def _describe(node) -> str:
    return str(node)


def children_of(node, skip=()) -> list:
    """The dataclass values directly inside `node` (its span and instances of `skip` left out), in order."""
    out = []
    for name in getattr(node, "__dataclass_fields__", {}):
        if name == "span":
            continue
        value = getattr(node, name)
        out.extend(x for x in (value if isinstance(value, tuple) else (value,))
                   if hasattr(x, "__dataclass_fields__") and not isinstance(x, skip))
    return out


def field_refs(node):
    """Every FieldRef a rule reads from its record, left to right (not those of a count's condition).

    Iterative, so that no rule is too deep to walk.
    """
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.FieldRef):
            yield item
        elif not isinstance(item, ast.CountWhere):
            stack.extend(reversed(children_of(item)))
