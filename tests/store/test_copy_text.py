"""The COPY text PostgreSQL's first import is written with (`copy_text.lines`) holds, value for value, what
the typed columns give (`typed_columns.column`, the reference every import agrees with): for every type
and width, padded, empty, invalid and left-padded keys, with and without the stage's line numbers."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from disval.core.store import copy_text
from disval.core.store.typed_columns import column

ALPHABET = np.frombuffer(b"   0123456789AB-/x", np.uint8)


def layout(rng, count: int) -> list[SimpleNamespace]:
    """`count` fields of random types and widths (a D field mostly 8 wide, as the GA writes dates)."""
    fields, at = [], 0
    for i in range(count):
        kind = str(rng.choice(["AN", "N", "D"]))
        width = 8 if kind == "D" and rng.random() < 0.8 else int(rng.integers(1, 12))
        fields.append(SimpleNamespace(ddid=str(1000 + i), type=kind, start=at, end=at + width, key="",
                                      references="FK" if rng.random() < 0.2 else ""))
        at += width
    return fields


def records(rng, fields, n: int) -> np.ndarray:
    """n records: mostly as the GA pads values (N right-aligned, AN left-aligned, real and unreal dates,
    empty values), the rest random bytes (not numbers, inner and leading spaces)."""
    rows = ALPHABET[rng.integers(0, len(ALPHABET), size=(n, fields[-1].end))]
    for f in fields:
        width = f.end - f.start
        for j, r in enumerate(rng.random(n)):
            if f.type == "N" and r < 0.7:
                digits = int(rng.integers(0, width + 1))
                rows[j, f.start:f.end] = 32
                rows[j, f.end - digits:f.end] = 48 + rng.integers(0, 10, digits)
            elif f.type == "D" and width == 8 and r < 0.6:
                day = b"%04d%02d%02d" % (rng.integers(1900, 2030), rng.integers(0, 14), rng.integers(0, 32))
                rows[j, f.start:f.end] = np.frombuffer(day, np.uint8)
            elif f.type == "AN" and r < 0.3:
                rows[j, f.start:f.end] = 32
            elif f.type == "AN" and r < 0.6:
                rows[j, f.start + int(rng.integers(0, width + 1)):f.end] = 32
    return rows


def as_copy_text(value) -> str:
    return "\\N" if value is None else str(value)


def read(text: bytes, fields, first: int) -> list[list]:
    """The lines of `text` split into values, an N field's read as a number (as the server reads it:
    leading zeros are no part of the value), the `first` columns before the fields as they are."""
    out = []
    for line in text.decode().splitlines():
        values = line.split("\t")
        out.append(values[:first] + [int(v) if f.type == "N" and v != "\\N" else v
                                     for f, v in zip(fields, values[first:], strict=True)])
    return out


@pytest.mark.parametrize("seed", range(6))
def test_copy_text_holds_the_typed_values(seed):
    rng = np.random.default_rng(seed)
    for _ in range(40):
        fields = layout(rng, int(rng.integers(1, 8)))
        rows = records(rng, fields, int(rng.integers(1, 200)))
        keys = {f.ddid for f in fields if rng.random() < 0.3}
        typed = [column(rows, f, f.ddid in keys) for f in fields]
        text = copy_text.lines(rows, fields, keys, b"7\t9\t")
        want = [["7", "9", *(v[i] if f.type == "N" and v[i] is not None else as_copy_text(v[i])
                             for f, v in zip(fields, typed))] for i in range(len(rows))]
        assert read(text, fields, 2) == want
        # A stage's lines: the record's line number and its status flag (a field's text, or NULL) first.
        numbers = rng.integers(0, 10 ** int(rng.integers(1, 9)), len(rows))
        flag = fields[int(rng.integers(0, len(fields)))] if rng.random() < 0.7 else None
        flags = column(rows, SimpleNamespace(**{**vars(flag), "type": "AN", "references": ""})) if flag else None
        staged = copy_text.lines(rows, fields, keys, numbers=numbers, flag=flag)
        want = [[str(numbers[i]), as_copy_text(flags[i] if flags else None), *w[2:]] for i, w in enumerate(want)]
        assert read(staged, fields, 2) == want


def test_records_copy_text_cannot_hold_are_left_to_the_typed_path():
    fields = [SimpleNamespace(ddid="1", type="AN", start=0, end=4, key="", references="")]
    for odd in (b"A\\B ", b"A\tB ", "é   ".encode("latin-1")):
        rows = np.frombuffer(b"ABCD" + odd, np.uint8).reshape(2, 4)
        assert copy_text.lines(rows, fields, set()) is None
    assert copy_text.lines(np.frombuffer(b"ABCDAB  ", np.uint8).reshape(2, 4), fields, set()) == b"ABCD\nAB\n"
