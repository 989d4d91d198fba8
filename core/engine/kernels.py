"""Kernels: each typed check compiled into a function of a batch, evaluated with numpy.

A kernel returns two masks, "certainly violated" and "certainly not violated"
(three-valued logic: a comparison with an empty or malformed operand is
neither, so `not` and `or` never turn "not evaluated" into a finding).
Decoded columns are cached per batch, so rules that read the same field share
the work.
"""
from __future__ import annotations

import operator

import numpy as np

from ..language import compiler as c
from . import columns
from .common import Context
from .parents import cols_of
from .reads import cached as _cached, column_raw as _column_raw, ctx_has, decoded as _decoded, empty as _empty
from .value_kernels import elfproef as _elfproef, like as _like, lookup as _lookup

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "=": operator.eq, "!=": operator.ne}


def kernel(check, ctx: Context):
    """Compile a typed check into batch -> (violated, not violated)."""
    if isinstance(check, (c.And, c.Or, c.Not)):
        return _logic(check, ctx)
    leaf = _leaf(check, ctx)
    # A count's condition is its own kernel, run on the counted file's batches.
    parent_cols = sorted({col for col in cols_of(check, into_counts=False) if col.scope == "parent"}, key=repr)
    if not parent_cols:
        return leaf

    def with_parents(b):
        # A record whose parent was not delivered cannot be judged on the parent's fields (the
        # foreign-key rule reports it): the test is neither violated nor met.
        present = np.ones(len(b), dtype=bool)
        for col in parent_cols:
            present &= ctx.parents.column(b, col)[1]
        t, f = leaf(b)
        return t & present, f & present
    return with_parents


def _logic(check, ctx: Context):
    if isinstance(check, c.And):
        parts = [kernel(i, ctx) for i in check.items]

        def all_of(b):
            t, f = True, False
            for k in parts:
                kt, kf = k(b)
                t, f = t & kt, f | kf
            return t, f
        return all_of
    if isinstance(check, c.Or):
        parts = [kernel(i, ctx) for i in check.items]

        def any_of(b):
            t, f = False, True
            for k in parts:
                kt, kf = k(b)
                t, f = t | kt, f & kf
            return t, f
        return any_of
    if isinstance(check, c.Not):
        inner = kernel(check.item, ctx)

        def negated(b):
            t, f = inner(b)
            return f, t
        return negated


def _leaf(check, ctx: Context):
    if isinstance(check, c.Empty):
        if not ctx_has(check.col, ctx):  # no usable packing slip: neither empty nor filled, unknown
            return lambda b: (False, False)
        get = _empty(check.col, ctx)
        if check.filled:
            return lambda b: (lambda e: (~e, e))(get(b))
        return lambda b: (lambda e: (e, ~e))(get(b))
    if isinstance(check, c.BadDate):
        return _bad(check.col, ctx, "date")
    if isinstance(check, c.BadNumber):
        return _bad(check.col, ctx, "number")
    if isinstance(check, c.BadPattern):
        return _bad_pattern(check, ctx)
    if isinstance(check, c.Values):
        return _values(check, ctx)
    if isinstance(check, c.NotInLists):
        return _not_in_lists(check, ctx)
    if isinstance(check, c.NotSelectableIn):
        return _not_selectable(check, ctx)
    if isinstance(check, c.Cmp):
        return _comparison(check, ctx)
    if isinstance(check, c.Like):
        return _like(check, ctx)
    if isinstance(check, c.FailsElfproef):
        return _elfproef(check, ctx)
    raise TypeError(f"no kernel for {check!r}")


def _bad(col: c.Col, ctx: Context, kind: str):
    decoded, empty = _decoded(col, ctx, kind), _empty(col, ctx)

    def bad(b):
        _, valid = decoded(b)
        filled = ~empty(b) if ctx_has(col, ctx) else np.zeros(1, bool)
        return filled & ~valid, filled & valid
    return bad


def _bad_pattern(check: c.BadPattern, ctx: Context):
    raw_of, empty = _column_raw(check.col, ctx), _empty(check.col, ctx)

    def bad(b):
        raw = raw_of(b)
        if raw is None:
            return False, False
        filled = ~empty(b)
        ok = columns.pattern_ok(raw, check.pattern)
        return filled & ~ok, filled & ok
    return bad


def _aligned(col: c.Col, ctx: Context):
    """batch -> the field left-aligned (None where it cannot be read): text is compared without its spaces."""
    raw_of = _column_raw(col, ctx)

    def get(b):
        def compute():
            raw = raw_of(b)
            return None if raw is None else columns.left_aligned(raw)
        return _cached(b, ("aligned", col), compute)
    return get


def _values(check: c.Values, ctx: Context):
    raw_of, empty = _aligned(check.col, ctx), _empty(check.col, ctx)
    width = check.col.width
    wanted = [w for w in (columns.padded(v.strip(" "), width) for v in check.values) if w is not None]

    def test(b):
        raw = raw_of(b)
        if raw is None:
            return False, False
        filled = ~empty(b)
        hit = np.zeros(raw.shape[1], dtype=bool)
        for w in wanted:
            hit |= columns.equals(raw, w)
        inside = hit if not check.negated else ~hit
        return filled & inside, filled & ~inside
    return test


def _codes(col: c.Col, ctx: Context):
    raw_of = _column_raw(col, ctx)
    index = columns.CodeIndex()
    return lambda b: _cached(b, ("codes", col), lambda: columns.codes(raw_of(b), index))


def _windows(codes: list[str], lists, with_selectable: bool):
    """Per distinct code, its validity windows padded to a common count: begin, end, selectable,
    each (codes, windows) int32."""
    rows = [[row for cl in lists for row in cl.entries.get(code, ())] for code in codes]
    k = max(1, max((len(r) for r in rows), default=1))
    begin = np.full((len(codes), k), 1, dtype=np.int32)
    end = np.zeros((len(codes), k), dtype=np.int32)  # begin > end: a window nothing falls in
    sel = np.ones((len(codes), k), dtype=np.int32)
    for i, rs in enumerate(rows):
        for j, row in enumerate(rs):
            begin[i, j], end[i, j] = row.begin, row.end
            sel[i, j] = 1 if row.selectable is None else row.selectable
    return begin, end, sel


def _windows_of(lists, with_selectable: bool):
    """codes -> _windows(codes, ...), worked out again only when the list of distinct codes has grown
    (a CodeIndex's list grows in place; a batch grouped on its own brings a list of its own)."""
    seen: dict = {}

    def get(codes: list[str]):
        if seen.get("codes") is not codes or seen.get("n") != len(codes):
            seen.update(codes=codes, n=len(codes), windows=_windows(codes, lists, with_selectable))
        return seen["windows"]
    return get


def _not_in_lists(check: c.NotInLists, ctx: Context):
    codes_of, empty = _codes(check.col, ctx), _empty(check.col, ctx)
    at = _decoded(check.at, ctx, "date")
    windows = _windows_of([ctx.codelists[name] for name in check.codelists], False)

    def test(b):
        if not ctx_has(check.col, ctx):
            return False, False
        inverse, codes = codes_of(b)
        date, date_ok = at(b)
        begin, end, _ = windows(codes)
        # One window at a time, gathered per record from the small per-code table: cheaper than an
        # (n, windows) matrix reduced along its short axis.
        valid = np.zeros(len(inverse), dtype=bool)
        for j in range(begin.shape[1]):
            valid |= (begin[:, j].take(inverse) <= date) & (date <= end[:, j].take(inverse))
        known = ~empty(b) & date_ok
        return known & ~valid, known & valid
    return test


def _not_selectable(check: c.NotSelectableIn, ctx: Context):
    codes_of = _codes(check.col, ctx)
    at = _decoded(check.at, ctx, "date")
    windows = _windows_of([ctx.codelists[check.codelist]], True)

    def test(b):
        if not ctx_has(check.col, ctx):
            return False, False
        inverse, codes = codes_of(b)
        date, date_ok = at(b)
        begin, end, sel = windows(codes)
        in_force = np.zeros(len(inverse), dtype=bool)
        not_selectable = np.zeros(len(inverse), dtype=bool)
        for j in range(begin.shape[1]):  # windows are sorted by begin: the first one in force counts
            inside = (begin[:, j].take(inverse) <= date) & (date <= end[:, j].take(inverse))
            not_selectable |= inside & ~in_force & (sel[:, j].take(inverse) == 0)
            in_force |= inside
        in_force &= date_ok
        return in_force & not_selectable, in_force & ~not_selectable
    return test


def _comparison(check: c.Cmp, ctx: Context):
    op = _OPS[check.op]
    if check.kind == "text":
        fast = _text_equality(check, ctx)
        if fast is not None:
            return fast
    left, right = _operand(check.left, check.kind, ctx), _operand(check.right, check.kind, ctx)

    def compare(b):
        lv, lok = left(b)
        rv, rok = right(b)
        known = lok & rok
        result = np.asarray(op(lv, rv), dtype=bool)  # text values may be an object array (see text_values)
        return known & result, known & ~result
    return compare


def _text_equality(check: c.Cmp, ctx: Context):
    """`field = 'x'` / `field != zip.part` on a record field: compare the padded bytes directly."""
    if check.op not in ("=", "!="):
        return None
    col, other = check.left, check.right
    if not isinstance(col, c.Col):
        col, other = other, col
    if not (isinstance(col, c.Col) and col.scope == "record" and isinstance(other, c.Const)):
        return None
    raw_of, aligned, empty = _column_raw(col, ctx), _aligned(col, ctx), _empty(col, ctx)
    width = col.width
    value = _const(other, "text", ctx)
    if value is None or value.strip(" ") == "":  # a blank literal is an empty operand: unknown
        return lambda b: (False, False)
    target = columns.padded(value.strip(" "), width)
    equal_if = check.op == "="

    def compare(b):
        filled = _well_formed(col, raw_of(b), empty(b))
        if target is None:  # longer than the field: never equal
            same = np.zeros(len(b), dtype=bool)
        else:
            same = columns.equals(aligned(b), target)
        hit = same if equal_if else ~same
        return filled & hit, filled & ~hit
    return compare


def _const(const: c.Const, kind: str, ctx: Context):
    """The value of a literal or zip part in the comparison's kind; None when the zip name has no such part."""
    if not const.zip_part:
        return const.value
    value = (ctx.zip_parts or {}).get(const.zip_part)
    if value is None:
        return None
    if kind == "date":
        return int(value) if value.isdigit() else None
    return value


def _operand(node, kind: str, ctx: Context):
    """batch -> (values, valid) for one side of a comparison."""
    if isinstance(node, c.Const):
        value = _const(node, kind, ctx)
        if kind == "text" and value is not None:
            value = value.strip(" ").encode("latin-1", errors="replace")
            ok = value != b""
        else:
            ok = value is not None
        placeholder = b"" if kind == "text" else 0  # the zip name lacks the part: compared, then masked
        return lambda b: (value if value is not None else placeholder, np.bool_(ok))
    if isinstance(node, c.CountOf):
        if node.per is not None:  # counted per parent record: the aggregate batch carries the counts
            return lambda b: (b.cache[("per", node)], np.bool_(True))
        if node.where is not None:
            return lambda b: (ctx.where_counts.get(node, 0), np.bool_(node.file in ctx.counts))
        return lambda b: (ctx.counts.get(node.file, 0), np.bool_(node.file in ctx.counts))
    if isinstance(node, c.TodayDate):
        return lambda b: (ctx.today_yyyymmdd, np.bool_(True))
    if isinstance(node, c.DaysOf):
        since, until = _decoded(node.since, ctx, "date"), _decoded(node.until, ctx, "date")

        def days(b):
            s, sok = since(b)
            u, uok = until(b)
            return columns.day_number(u) - columns.day_number(s), sok & uok
        return days
    if isinstance(node, c.Arith):
        left, right = _operand(node.left, "number", ctx), _operand(node.right, "number", ctx)
        op = operator.add if node.op == "+" else operator.sub

        def arith(b):
            lv, lok = left(b)
            rv, rok = right(b)
            return op(np.asarray(lv, np.int64), np.asarray(rv, np.int64)), lok & rok
        return arith
    if isinstance(node, c.Lookup):
        return _lookup(node, kind, ctx)
    if isinstance(node, c.YearsOf):
        since, until = _decoded(node.since, ctx, "date"), _decoded(node.until, ctx, "date")

        def years(b):
            s, sok = since(b)
            u, uok = until(b)
            return columns.years_between(s, u), sok & uok
        return years
    col = node
    if kind in ("date", "number"):
        return _decoded(col, ctx, kind)
    raw_of, aligned, empty = _column_raw(col, ctx), _aligned(col, ctx), _empty(col, ctx)

    def text(b):
        raw = raw_of(b)
        if raw is None:
            return np.array([b""]), np.zeros(1, bool)
        return columns.text_values(aligned(b)), _well_formed(col, raw, empty(b))
    return text


def _well_formed(col: c.Col, raw: np.ndarray, empty: np.ndarray) -> np.ndarray:
    """Filled, and following the field's digit pattern if it has one: only such text is compared."""
    if col.pattern is None:
        return ~empty
    return ~empty & columns.pattern_ok(raw, col.pattern)
