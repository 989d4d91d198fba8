"""Code lookups by distinguishing positions (issue 13): exact, whatever the codes look like.

A code field's value decides a codelist verdict, so each record must get the
id of exactly its own code: a record that differs from a known code anywhere,
even only at a position no two known codes differ at, must not be taken for it.
"""
from __future__ import annotations

import random

import numpy as np
import pytest

from disval.core.engine import columns
from disval.core.engine.code_table import KnownCodes


def block(values: list[bytes]) -> np.ndarray:
    """Field-major (width, n) bytes of equally wide values."""
    return np.ascontiguousarray(np.frombuffer(b"".join(values), np.uint8).reshape(len(values), -1).T)


def table(codes: list[bytes]) -> np.ndarray:
    return block(codes)


def ids_as_codes(index: columns.CodeIndex, f: np.ndarray) -> list[str]:
    return [index.codes[i] for i in index.lookup(f)]


def as_text(values: list[bytes]) -> list[str]:
    return [v.decode("latin-1").strip(" ") for v in values]


def test_known_codes_get_their_own_ids():
    codes = [c.ljust(20) for c in (b"006", b"016", b"106", b"X06", b"0A6")]
    known = KnownCodes.of(table(codes))
    records = [random.Random(1).choice(codes) for _ in range(1000)]
    ids = known.ids(block(records))
    assert [codes[i] for i in ids] == records


@pytest.mark.parametrize("stranger", [
    b"006" + b" " * 16 + b"X",  # differs in the padding, where all known codes agree
    b"007".ljust(20),  # differs at a varying position that is not the key
    b"\x00\x00\x00".ljust(20),  # bytes no code has
])
def test_a_record_that_is_no_known_code_is_not_taken_for_one(stranger):
    codes = [c.ljust(20) for c in (b"006", b"016", b"0A7")]
    known = KnownCodes.of(table(codes))
    assert known.key == (1,) and [p for p, _ in known.checked] == [2]  # the case each stranger probes
    assert known.ids(block([codes[0], stranger, codes[1]])) is None


def test_one_known_code():
    known = KnownCodes.of(table([b"BC01"]))
    assert list(known.ids(block([b"BC01", b"BC01"]))) == [0, 0]
    assert known.ids(block([b"BC01", b"BC02"])) is None


def test_codes_no_two_positions_tell_apart_are_left_to_hashing():
    # 300 codes that differ only in three positions together: no one or two of them are distinct for all.
    rng = random.Random(3)
    codes = sorted({bytes(rng.choice(b"ABCDEFGH") for _ in range(3)) + b"  " for _ in range(2000)})
    assert len(codes) > 256
    known = KnownCodes.of(table(codes))
    f = block(codes)
    assert known is None or [codes[i] for i in known.ids(f)] == codes


def test_code_index_agrees_with_decoding_every_record_across_batches():
    """Batches that bring new codes, strangers close to known codes and blanks: the ids name each
    record's own code, as decoding it would."""
    rng = random.Random(13)
    alphabet = b"0123456789AB. "
    base = [bytes(rng.choice(alphabet) for _ in range(5)).ljust(12) for _ in range(40)]
    index = columns.CodeIndex()
    for batch in range(12):
        pool = base[:5 + 3 * batch]
        values = [rng.choice(pool) for _ in range(3000)]
        for i in rng.sample(range(3000), 20):  # a byte changed anywhere: a new value
            v = bytearray(values[i])
            v[rng.randrange(12)] = rng.choice(alphabet)
            values[i] = bytes(v)
        values[0] = b" " * 12
        assert ids_as_codes(index, block(values)) == as_text(values)
