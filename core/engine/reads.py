"""How a kernel reads a column of a batch: the record's own field, a parent's, the packing slip's.

Decoded columns (emptiness, dates, numbers) are cached per batch, so the
rules that read the same field share the work.
"""
from __future__ import annotations

import numpy as np

from ..language import compiler as c
from . import columns
from .common import Batch, Context


def cached(batch: Batch, key, compute):
    """The batch's cached value under `key`, computed once."""
    cache = batch.cache
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def column_raw(col: c.Col, ctx: Context):
    """batch -> (width, n) bytes of the field; a slip field as one record (None without a packing slip)."""
    fld = col.field
    if col.part is not None:
        whole, (first, last) = column_raw(c.Col(fld, col.scope, col.path), ctx), col.part
        return lambda b: (lambda raw: None if raw is None else raw[first - 1:last])(whole(b))
    if col.scope == "record":
        return lambda b: b.column(fld)
    if col.scope == "parent":
        return lambda b: ctx.parents.column(b, col)[0]

    def slip(b):
        raw = ctx.slip_text(fld)
        return None if raw is None else np.frombuffer(raw, dtype=np.uint8).reshape(-1, 1)
    return slip


def empty(col: c.Col, ctx: Context):
    """batch -> where the column is all spaces."""
    raw_of = column_raw(col, ctx)

    def compute(b):
        raw = raw_of(b)
        return np.zeros(1, bool) if raw is None else columns.empty(raw)  # None: no usable packing slip

    return lambda b: cached(b, ("empty", col), lambda: compute(b))


def decoded(col: c.Col, ctx: Context, kind: str):
    """batch -> (values, valid) for a date or number field; invalid everywhere without a packing slip."""
    raw_of = column_raw(col, ctx)
    decode = columns.dates if kind == "date" else columns.numbers

    def get(b):
        def compute():
            raw = raw_of(b)
            if raw is None:
                return np.zeros(1, np.int64), np.zeros(1, bool)
            return decode(raw)
        return cached(b, (kind, col), compute)
    return get


def ctx_has(col: c.Col, ctx: Context) -> bool:
    """Whether the column can be read at all (a slip field needs a usable packing slip)."""
    return col.scope != "slip" or ctx.slip_row is not None
