"""A batch's violations as one `FindingBlock`: values cut from the byte matrix in bulk.

The findings are those `record_finding` makes one at a time (the same
values, related values, columns and messages); the equivalence of the two
ways is tested (tests/engine/test_finding_blocks.py).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..finding_block import FindingBlock
from ..language.compiler import CompiledRule
from .common import Batch, Context, _columns, field_text, key_text, record_finding


def field_texts(raw: np.ndarray) -> list[str]:
    """`field_text` of each row of a 2-D byte matrix (one decode for all of them)."""
    n, width = raw.shape
    if width == 0:
        return [""] * n
    text = raw.tobytes().decode("latin-1")
    return [text[i:i + width].rstrip(" ") for i in range(0, n * width, width)]


def key_texts(values: np.ndarray, widths: tuple[int, ...]) -> list[str]:
    """`key_text` of each of the keys `values` (one key per item, or per row of a byte matrix)."""
    n = len(values)
    if n == 0:
        return []
    raw = values.tobytes()
    size = len(raw) // n
    if len(widths) <= 1:
        text = raw.decode("latin-1")
        return [text[i:i + size].rstrip(" ") for i in range(0, n * size, size)]
    return [key_text(raw[i:i + size], widths) for i in range(0, n * size, size)]


def record_block(rule: CompiledRule, batch: Batch, idx: np.ndarray, ctx: Context) -> FindingBlock | None:
    """The findings of `rule` at the batch's rows `idx`, with the rule's other fields' values; None when
    the batch is not of the rule's file (the one-at-a-time way then says what to show)."""
    if batch.file.name != rule.file:
        return None
    subject = rule.subject
    n = len(idx)
    if subject is not None and subject.file == batch.file.name:
        values = field_texts(batch.rows[idx, subject.start:subject.end])
    else:
        raw = ctx.slip_text(subject) if subject and subject.file == (ctx.slip.name if ctx.slip else None) else None
        values = [field_text(raw) if raw is not None else None] * n
    names, columns = [], []
    for col in _columns(rule.check):  # as `related_values` reads them
        fld = col.field
        if subject is not None and fld.ddid == subject.ddid:
            continue
        names.append((fld.ddid, fld.name, None))
        if col.scope == "slip":
            raw = ctx.slip_text(fld)
            columns.append([None if raw is None else field_text(raw)] * n)
        elif fld.file == rule.file:
            columns.append(field_texts(batch.rows[idx, fld.start:fld.end]))
        else:
            columns.append([None] * n)
    head = dataclasses.replace(record_finding(rule, 0, None), line=None, related=tuple(names))
    return FindingBlock(head, batch.lines[idx].tolist(), values, list(zip(*columns)) if columns else None)


def line_block(rule: CompiledRule, lines: list[int], values: list[str | None]) -> FindingBlock:
    """Findings of `rule` at `lines` with `values` and no related fields (keys, aggregates)."""
    head = dataclasses.replace(record_finding(rule, 0, None), line=None)
    return FindingBlock(head, lines, values)
