"""`like` matched a column at a time (patterns with at most a closing `%`) against the reference.

The columnar engine takes such patterns apart into one test per position and
matches whole columns with numpy; every other pattern goes through a regular
expression per distinct value. Both must give the reference engine's verdict
on the value without its trailing spaces, for every value and pattern.
"""
from __future__ import annotations

import random

import numpy as np
import pytest

from disval.core.engine.reference_formats import like as reference_like
from disval.core.engine.value_kernels import like_columns, like_positions, like_regex

ALPHABET = "aA9Z0_%. \\x\xe9"
PIECES = ["%", "_", "9", "X", "\\X", "\\%", "\\_", "\\9", "a", "A", ".", " ", "\xe9", "\\"]


def _column(values: list[bytes], width: int) -> np.ndarray:
    raw = np.frombuffer(b"".join(v.ljust(width, b" ") for v in values), dtype=np.uint8)
    return raw.reshape(len(values), width).T


def _check(patterns: list[str], values: list[bytes], width: int) -> int:
    raw, compared = _column(values, width), 0
    for pattern in patterns:
        positional = like_positions(pattern)
        if positional is None:  # a `%` before the end: the per-value regular expression decides
            continue
        got = like_columns(raw, *positional)
        for value, hit in zip(values, got.tolist()):
            text = value.rstrip(b" ").decode("latin-1")
            assert hit == reference_like(text, pattern), (pattern, value)
            assert hit == (like_regex(pattern).fullmatch(text) is not None), (pattern, value)
            compared += 1
    return compared


def test_ggz_patterns_on_edge_values():
    patterns = ["act\\_6.%", "9999XX", "999999", "_________", "\\X\\X\\X%", "\\X%", " %", "%", "", "\\",
                "ab\\", "_"]
    values = [b"act_6.1", b"act_6.", b"act_6", b"actx6.1", b"ACT_6.1", b"1234AB", b"1234ab", b"1234 AB",
              b"1234A", b"201905", b"20190", b"123456789", b"12345678", b"1234567890", b"XXX", b"XX",
              b"XXXY", b"X", b" X", b"  ", b"", b"\\", b"ab\\", b"a", b"\xe9\xe9", b"\x00\x00", b"9999XX"]
    assert _check(patterns, values, 12) == len(patterns) * len(values)


@pytest.mark.parametrize("seed", range(4))
def test_random_patterns_and_values(seed):
    rng = random.Random(seed)
    patterns = ["".join(rng.choice(PIECES) for _ in range(rng.randrange(0, 6))) for _ in range(60)]
    values = [("".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 7)))).encode("latin-1")
              for _ in range(300)]
    # Values also built from the patterns, so that matches are common and not only misses.
    for pattern in patterns[:30]:
        made = pattern.replace("\\", "").replace("%", "ab").replace("_", "q").replace("9", "7")
        values.append(made.encode("latin-1")[:8])
    assert _check(patterns, values, 8) > 10_000


def test_a_pattern_longer_than_the_field_matches_nothing():
    raw = _column([b"1234", b"12"], 4)
    assert not like_columns(raw, *like_positions("99999")).any()
    assert like_columns(raw, *like_positions("9999")).tolist() == [True, False]
