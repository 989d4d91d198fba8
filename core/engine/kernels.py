"""Kernels: each typed check compiled into a function of a batch, evaluated with numpy.

A kernel returns two masks, "certainly violated" and "certainly not violated"
(three-valued logic: a comparison with an empty or malformed operand is
neither, so `not` and `or` never turn "not evaluated" into a finding).
Decoded columns are cached per batch, so rules that read the same field share
the work.
"""
from __future__ import annotations

import operator
import re

import numpy as np

from ..language import compiler as c
from . import columns
from .common import Batch, Context
from .parents import cols_of

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "=": operator.eq, "!=": operator.ne}


def kernel(check, ctx: Context):
    """Compile a typed check into batch -> (violated, not violated)."""
    if isinstance(check, (c.And, c.Or, c.Not)):
        return _logic(check, ctx)
    leaf = _leaf(check, ctx)
    parent_cols = sorted({col for col in cols_of(check) if col.scope == "parent"}, key=repr)
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


def _cached(batch: Batch, key, compute):
    cache = batch.cache
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def _column_raw(col: c.Col, ctx: Context):
    """batch -> (width, n) bytes of the field; a slip field as one record (None without a packing slip)."""
    fld = col.field
    if col.part is not None:
        whole, (first, last) = _column_raw(c.Col(fld, col.scope, col.path), ctx), col.part
        return lambda b: (lambda raw: None if raw is None else raw[first - 1:last])(whole(b))
    if col.scope == "record":
        return lambda b: b.column(fld)
    if col.scope == "parent":
        return lambda b: ctx.parents.column(b, col)[0]

    def slip(b):
        raw = ctx.slip_text(fld)
        return None if raw is None else np.frombuffer(raw, dtype=np.uint8).reshape(-1, 1)
    return slip


def _empty(col: c.Col, ctx: Context):
    raw_of = _column_raw(col, ctx)

    def compute(b):
        raw = raw_of(b)
        return np.zeros(1, bool) if raw is None else columns.empty(raw)  # None: no usable packing slip

    return lambda b: _cached(b, ("empty", col), lambda: compute(b))


def _decoded(col: c.Col, ctx: Context, kind: str):
    """batch -> (values, valid) for a date or number field; invalid everywhere without a packing slip."""
    raw_of = _column_raw(col, ctx)
    decode = columns.dates if kind == "date" else columns.numbers

    def get(b):
        def compute():
            raw = raw_of(b)
            if raw is None:
                return np.zeros(1, np.int64), np.zeros(1, bool)
            return decode(raw)
        return _cached(b, (kind, col), compute)
    return get


def _bad(col: c.Col, ctx: Context, kind: str):
    decoded, empty = _decoded(col, ctx, kind), _empty(col, ctx)

    def bad(b):
        _, valid = decoded(b)
        filled = ~empty(b) if ctx_has(col, ctx) else np.zeros(1, bool)
        return filled & ~valid, filled & valid
    return bad


def ctx_has(col: c.Col, ctx: Context) -> bool:
    """Whether the column can be read at all (a slip field needs a usable packing slip)."""
    return col.scope != "slip" or ctx.slip_row is not None


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


def _values(check: c.Values, ctx: Context):
    raw_of, empty = _column_raw(check.col, ctx), _empty(check.col, ctx)
    width = check.col.width
    wanted = [columns.padded(v, width) for v in check.values]

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
    """Per distinct code, its validity windows padded to a common count: begin, end[, selectable]."""
    rows = [[row for cl in lists for row in cl.entries.get(code, ())] for code in codes]
    k = max(1, max((len(r) for r in rows), default=1))
    begin = np.full((len(codes), k), 1, dtype=np.int64)
    end = np.zeros((len(codes), k), dtype=np.int64)  # begin > end: a window nothing falls in
    sel = np.ones((len(codes), k), dtype=np.int64)
    for i, rs in enumerate(rows):
        for j, row in enumerate(rs):
            begin[i, j], end[i, j] = row.begin, row.end
            sel[i, j] = 1 if row.selectable is None else row.selectable
    return begin, end, sel


def _not_in_lists(check: c.NotInLists, ctx: Context):
    codes_of, empty = _codes(check.col, ctx), _empty(check.col, ctx)
    at = _decoded(check.at, ctx, "date")
    lists = [ctx.codelists[name] for name in check.codelists]

    def test(b):
        if not ctx_has(check.col, ctx):
            return False, False
        inverse, codes = codes_of(b)
        date, date_ok = at(b)
        begin, end, _ = _windows(codes, lists, False)
        d = date[:, None] if np.ndim(date) else date
        valid = ((begin[inverse] <= d) & (d <= end[inverse])).any(axis=1)
        known = ~empty(b) & date_ok
        return known & ~valid, known & valid
    return test


def _not_selectable(check: c.NotSelectableIn, ctx: Context):
    codes_of = _codes(check.col, ctx)
    at = _decoded(check.at, ctx, "date")
    codelist = ctx.codelists[check.codelist]

    def test(b):
        if not ctx_has(check.col, ctx):
            return False, False
        inverse, codes = codes_of(b)
        date, date_ok = at(b)
        begin, end, sel = _windows(codes, [codelist], True)
        d = date[:, None] if np.ndim(date) else date
        inside = (begin[inverse] <= d) & (d <= end[inverse])
        in_force = inside.any(axis=1) & date_ok
        first = inside.argmax(axis=1)  # rows are sorted by begin: the first window in force
        not_selectable = sel[inverse, first] == 0
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
    raw_of, empty = _column_raw(col, ctx), _empty(col, ctx)
    width = col.width
    value = _const(other, "text", ctx)
    if value is None or value.rstrip(" ") == "":  # a blank literal is an empty operand: unknown
        return lambda b: (False, False)
    target = columns.padded(value, width)
    equal_if = check.op == "="

    def compare(b):
        filled = _well_formed(col, raw_of(b), empty(b))
        if target is None:  # longer than the field: never equal
            same = np.zeros(len(b), dtype=bool)
        else:
            same = columns.equals(raw_of(b), target)
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
            value = value.rstrip(" ").encode("latin-1", errors="replace")
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
    raw_of, empty = _column_raw(col, ctx), _empty(col, ctx)

    def text(b):
        raw = raw_of(b)
        if raw is None:
            return np.array([b""]), np.zeros(1, bool)
        return columns.text_values(raw), _well_formed(col, raw, empty(b))
    return text


def _well_formed(col: c.Col, raw: np.ndarray, empty: np.ndarray) -> np.ndarray:
    """Filled, and following the field's digit pattern if it has one: only such text is compared."""
    if col.pattern is None:
        return ~empty
    return ~empty & columns.pattern_ok(raw, col.pattern)


# ---------------------------------------------------------------- patterns, check digits, codelist columns


def like_regex(pattern: str) -> re.Pattern:
    """`like` pattern -> regular expression: % any run, _ any one character, 9 a digit, X a letter A-Z,
    \\c the character c itself."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append({"%": ".*", "_": ".", "9": "[0-9]", "X": "[A-Z]"}.get(ch, re.escape(ch)))
        i += 1
    return re.compile("".join(out), re.S)


def _distinct(raw: np.ndarray) -> tuple[np.ndarray, list[bytes]]:
    """(inverse, distinct values) of a field-major block, compared bytewise."""
    w, n = raw.shape
    if n == 0:
        return np.zeros(0, np.int64), []
    values = np.ascontiguousarray(raw.T).view(np.dtype((np.void, w))).reshape(-1)
    unique, inverse = np.unique(values, return_inverse=True)
    return inverse.reshape(-1), [bytes(u) for u in unique]


def _like(check: c.Like, ctx: Context):
    raw_of, empty = _column_raw(check.col, ctx), _empty(check.col, ctx)
    regex = like_regex(check.pattern)

    def test(b):
        raw = raw_of(b)
        if raw is None:
            return False, False
        inverse, values = _distinct(raw)
        hits = np.array([regex.fullmatch(v.rstrip(b" ").decode("latin-1")) is not None for v in values], dtype=bool)
        hit = hits[inverse] if len(values) else np.zeros(0, bool)
        if check.negated:
            hit = ~hit
        filled = ~empty(b)
        return filled & hit, filled & ~hit
    return test


def _elfproef(check: c.FailsElfproef, ctx: Context):
    raw_of = _column_raw(check.col, ctx)

    def test(b):
        raw = raw_of(b)
        if raw is None:
            return False, False
        n = raw.shape[0]
        digits = np.logical_and.reduce((raw >= columns.ZERO) & (raw <= columns.NINE), axis=0)
        weights = np.array(list(range(n, 1, -1)) + [-1], dtype=np.int64)[:, None]
        total = ((raw.astype(np.int64) - columns.ZERO) * weights).sum(axis=0)
        fails = total % 11 != 0
        return digits & fails, digits & ~fails
    return test


def _lookup(node: c.Lookup, kind: str, ctx: Context):
    """batch -> (values, valid): the codelist column of the row in force, read as `kind`."""
    keys = [_column_raw(k, ctx) for k in node.keys]
    widths = [k.width for k in node.keys]
    at = _decoded(node.at, ctx, "date")
    codelist = ctx.codelists[node.codelist]

    def value(b):
        blocks = [get(b) for get in keys]
        if any(x is None for x in blocks):
            return np.zeros(1, np.int64), np.zeros(1, bool)
        date, date_ok = at(b)
        n = max(block.shape[1] for block in blocks)
        block = np.concatenate([np.broadcast_to(x, (x.shape[0], n)) for x in blocks])
        inverse, distinct = _distinct(block)
        date = np.broadcast_to(np.asarray(date, np.int64), (n,))
        date_ok = np.broadcast_to(date_ok, (n,))
        filled = np.logical_and.reduce([~columns.empty(np.broadcast_to(x, (x.shape[0], n))) for x in blocks])
        pairs, where = np.unique(inverse.astype(np.int64) * 100_000_000 + np.where(date_ok, date, 0),
                                 return_inverse=True)
        out, ok = [], []
        for pair in pairs.tolist():
            code, day = divmod(pair, 100_000_000)
            parts, at_ = [], 0
            for w in widths:
                parts.append(distinct[code][at_:at_ + w].decode("latin-1").strip())
                at_ += w
            row = codelist.row_at(parts[0] if len(parts) == 1 else tuple(parts), day) if day else None
            text = None if row is None else (getattr(row, "attributes", None) or {}).get(node.attribute)
            v = convert(text, kind)
            out.append(v)
            ok.append(v is not None)
        placeholder = b"" if kind == "text" else 0
        dtype = object if kind == "text" else np.int64
        values = np.array([placeholder if v is None else v for v in out] or [placeholder], dtype=dtype)
        valid = np.array(ok or [False], dtype=bool)
        where = where.reshape(-1)
        return values[where], valid[where] & filled & date_ok
    return lambda b: _cached(b, ("lookup", node, kind), lambda: value(b))


def convert(text: str | None, kind: str):
    """A codelist column's text as a comparable value of `kind`, or None when it is not one."""
    if text is None or text == "":
        return None
    if kind == "text":
        return text.encode("latin-1", errors="replace")
    if kind == "date":
        return int(text) if len(text) == 8 and text.isascii() and text.isdigit() else None
    body = text[1:] if text.startswith("-") else text
    if not (body.isascii() and body.isdigit()):
        return None
    return int(text)
