"""Kernels for text patterns, check digits and codelist columns (see kernels.py for the rest).

`like` and codelist lookups work on the distinct values of a batch's column:
codes and prefixes repeat across millions of records, so each distinct value
is matched or looked up once.
"""
from __future__ import annotations

import re

import numpy as np

from ..codelists import Codelist
from ..language import compiler as c
from . import columns
from .common import Context
from .reads import cached as _cached, column_raw as _column_raw, decoded as _decoded, empty as _empty


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


def like_positions(pattern: str) -> tuple[list, bool] | None:
    """A `like` pattern as (one test per position, whether it ends in `%`), or None when it has another `%`.

    A test is None (any byte), "9" (a digit), "X" (a letter A-Z) or a byte value (that character).
    Patterns of this shape (`act\\_6.%`, `9999XX`) are matched on whole columns at once.
    """
    tokens, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            i += 1
            ch = pattern[i]
            token = ord(ch)
        elif ch == "%":
            if i != len(pattern) - 1:
                return None
            return tokens, True
        else:
            token = {"_": None, "9": "9", "X": "X"}.get(ch, ord(ch))
        if isinstance(token, int) and token > 0xFF:  # no latin-1 byte: leave it to the regular expression
            return None
        tokens.append(token)
        i += 1
    return tokens, False


def like_columns(raw: np.ndarray, tokens: list, open_end: bool) -> np.ndarray:
    """Which records of a field-major block match a `like` pattern taken apart by `like_positions`.

    The same verdict as the regular expression on the value without its trailing spaces: every
    position matches its test, and the stripped value is exactly as long (or, with a closing `%`, at
    least as long) as the pattern.
    """
    width, n = raw.shape
    if len(tokens) > width:
        return np.zeros(n, bool)
    hit = np.ones(n, bool)
    for at, token in enumerate(tokens):
        row = raw[at]
        if token == "9":
            hit &= (row >= columns.ZERO) & (row <= columns.NINE)
        elif token == "X":
            hit &= (row >= 0x41) & (row <= 0x5A)
        elif token is not None:
            hit &= row == token
    if open_end:
        if tokens:  # at least len(tokens) characters before the trailing spaces
            hit &= (raw[len(tokens) - 1:] != 0x20).any(axis=0)
    else:
        hit &= (raw[len(tokens):] == 0x20).all(axis=0)
        if tokens:
            hit &= raw[len(tokens) - 1] != 0x20
    return hit


_MANY = 1 << 16  # distinct values worth remembering across batches


def _distinct(raw: np.ndarray, index: columns.CodeIndex | None = None) -> tuple[np.ndarray, list[bytes]]:
    """(inverse, distinct values) of a field-major block, compared bytewise.

    With a CodeIndex the distinct values are remembered across batches (ids stay the same), so the
    per-value work of a kernel can be kept by id too.
    """
    w, n = raw.shape
    if n == 0:
        return np.zeros(0, np.int64), []
    if index is not None:
        try:
            return index.lookup(raw), index.raw
        except columns.Collision:
            pass
    values = np.ascontiguousarray(raw.T).view(np.dtype((np.void, w))).reshape(-1)
    unique, inverse = np.unique(values, return_inverse=True)
    return inverse.reshape(-1), [bytes(u) for u in unique]


def _distinct_of(col: c.Col, ctx: Context):
    """batch -> (inverse, distinct raw values) of a column, shared by the kernels that read it."""
    raw_of, state = _column_raw(col, ctx), {"index": columns.CodeIndex()}

    def get(b):
        raw = raw_of(b)
        if raw is None:
            return None
        index = state["index"]
        if index is not None and len(index.raw) > _MANY:
            state["index"] = index = None  # not a code (names, numbers): distinct per batch only
        return _distinct(raw, index)
    return lambda b: _cached(b, ("distinct", col), lambda: get(b))


def like(check: c.Like, ctx: Context):
    """Kernel of `F like 'P'` / `F not like 'P'`."""
    empty = _empty(check.col, ctx)
    positional = like_positions(check.pattern)
    if positional is not None:
        # One numpy comparison per pattern position over the whole column: no per-value Python work,
        # which matters for fields of mostly distinct values (names, BSNs).
        raw_of = _column_raw(check.col, ctx)

        def test_columns(b):
            raw = raw_of(b)
            if raw is None:
                return False, False
            hit = like_columns(raw, *positional)
            if check.negated:
                hit = ~hit
            filled = ~empty(b)
            return filled & hit, filled & ~hit
        return test_columns
    distinct = _distinct_of(check.col, ctx)
    regex = like_regex(check.pattern)
    verdicts: dict[bytes, bool] = {}  # per distinct value: codes repeat across batches

    def matches(value: bytes) -> bool:
        if len(verdicts) > _MANY:
            verdicts.clear()
        if value not in verdicts:
            verdicts[value] = regex.fullmatch(value.rstrip(b" ").decode("latin-1")) is not None
        return verdicts[value]

    def test(b):
        found = distinct(b)
        if found is None:
            return False, False
        inverse, values = found
        hits = np.fromiter((matches(v) for v in values), dtype=bool, count=len(values))
        hit = hits[inverse] if len(values) else np.zeros(0, bool)
        if check.negated:
            hit = ~hit
        filled = ~empty(b)
        return filled & hit, filled & ~hit
    return test


def elfproef(check: c.FailsElfproef, ctx: Context):
    """Kernel of `F fails elfproef`: weights n .. 2 and -1, not evaluated unless every position is a digit."""
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


def lookup(node: c.Lookup, kind: str, ctx: Context):
    """batch -> (values, valid): the codelist column of the row in force, read as `kind`."""
    keys = [_column_raw(k, ctx) for k in node.keys]
    widths = [k.width for k in node.keys]
    at = _decoded(node.at, ctx, "date")
    codelist = ctx.codelists[node.codelist]
    # Codes repeat across batches: remembering them by hash spares sorting each batch's bytes values.
    state = {"index": columns.CodeIndex()}

    def value(b):
        blocks = [get(b) for get in keys]
        if any(x is None for x in blocks):
            return np.zeros(1, np.int64), np.zeros(1, bool)
        date, date_ok = at(b)
        n = max(block.shape[1] for block in blocks)
        block = np.concatenate([np.broadcast_to(x, (x.shape[0], n)) for x in blocks])
        index = state["index"]
        if index is not None and len(index.raw) > _MANY:
            state["index"] = index = None  # not codes after all: distinct per batch only
        inverse, distinct = _distinct(block, index)
        date = np.broadcast_to(np.asarray(date, np.int64), (n,))
        date_ok = np.broadcast_to(date_ok, (n,))
        filled = np.logical_and.reduce([~columns.empty(np.broadcast_to(x, (x.shape[0], n))) for x in blocks])
        if by_rows:
            values, valid = _values_by_code(inverse, distinct, np.where(date_ok, date, 0))
            return values, valid & filled & date_ok
        pairs, where = np.unique(inverse.astype(np.int64) * 100_000_000 + np.where(date_ok, date, 0),
                                 return_inverse=True)
        out, ok = [], []
        for pair in pairs.tolist():
            code, day = divmod(pair, 100_000_000)
            parts, at_ = [], 0
            for w in widths:
                parts.append(distinct[code][at_:at_ + w].decode("latin-1").strip(" "))
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

    # A codelist whose row_at is the plain one (rows per code, the first in force wins) is resolved a
    # code at a time over all of that code's dates with array operations: real lists have hundreds of
    # codes, and a million records bring hundreds of thousands of (code, date) pairs.
    by_rows = type(codelist).row_at is Codelist.row_at and hasattr(codelist, "entries")

    def _values_by_code(inverse, distinct, day):
        n = len(day)
        values = np.full(n, b"" if kind == "text" else 0, dtype=object if kind == "text" else np.int64)
        valid = np.zeros(n, bool)
        inverse = inverse.reshape(-1)
        order = np.argsort(inverse, kind="stable")
        ids, starts = np.unique(inverse[order], return_index=True)
        for cid, idx in zip(ids.tolist(), np.split(order, starts[1:])):
            parts, at_ = [], 0
            for w in widths:
                parts.append(distinct[cid][at_:at_ + w].decode("latin-1").strip())  # as row_at strips
                at_ += w
            rows = codelist.entries.get(parts[0] if len(parts) == 1 else tuple(parts), ())
            d = day[idx]
            open_ = d != 0  # no date: no row
            for row in rows:
                hit = open_ & (row.begin <= d) & (d <= row.end)
                if not hit.any():
                    continue
                open_ &= ~hit
                text = (getattr(row, "attributes", None) or {}).get(node.attribute)
                v = convert(text, kind)
                if v is not None:
                    values[idx[hit]] = v
                    valid[idx[hit]] = True
        return values, valid
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
