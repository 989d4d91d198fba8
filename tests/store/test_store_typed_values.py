"""The one rule of what a delivered N or D field is worth in the store (core/store/typed_columns.py): a number
is leading spaces then digits, a date a real calendar day. The typed values, PostgreSQL's COPY text and
SQLite's blocks all follow `valid_numbers` and `iso_dates`, which test whole byte columns at once for speed;
here they must agree, byte string by byte string, with the rule written out plainly."""
from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pytest

from disval.core.store.typed_columns import iso_dates, valid_numbers

ALPHABET = np.frombuffer(b" 0123456789aZ-+./\x00\x09\x7f\x80\xa0\xb0\xb9\xe9\xff", np.uint8)


def _is_number(raw: bytes) -> bool:
    return re.fullmatch(rb" *[0-9]+", raw) is not None


def _day(raw: bytes) -> str | None:
    """The ISO text of a YYYYMMDD field that is a real calendar day, else None."""
    if not re.fullmatch(rb"[0-9]{8}", raw):
        return None
    try:
        return dt.date(int(raw[:4]), int(raw[4:6]), int(raw[6:])).isoformat()
    except ValueError:  # month 13, 30 February, year 0, ...
        return None


def _cases(rng: np.random.Generator, width: int) -> list[np.ndarray]:
    """Random bytes, right-aligned numbers of every length, and the same seen through strided views (as a
    field is cut from a batch of records)."""
    noise = rng.choice(ALPHABET, size=(3000, width)).astype(np.uint8)
    numbers = np.full((3000, width), 32, np.uint8)
    for i, n in enumerate(rng.integers(0, width + 1, 3000)):
        numbers[i, width - n:] = rng.integers(48, 58, n) if n else []
    numbers[::7, 0] = rng.choice(ALPHABET, size=len(numbers[::7]))  # a stray byte in front
    both = np.concatenate([noise, numbers])
    wide = np.concatenate([both, both[::-1]], axis=1)
    return [noise, numbers, wide[:, 1:width + 1], both[::-1]]


@pytest.mark.parametrize("width", range(1, 13))
def test_a_number_is_leading_spaces_then_digits_in_every_width(width):
    rng = np.random.default_rng(width)
    seen = set()
    for raw in _cases(rng, width):
        expected = [_is_number(bytes(r)) for r in raw]
        assert valid_numbers(raw).tolist() == expected
        seen.update(expected)
    assert seen == {True, False}


def test_a_date_is_a_real_calendar_day_written_as_iso():
    rng = np.random.default_rng(8)
    days = [dt.date(1, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 3_650_000, 4000)]
    real = np.array([list(d.strftime("%Y%m%d").zfill(8).encode()) for d in days], np.uint8)
    nearly = real.copy()
    nearly[np.arange(len(nearly)), rng.integers(0, 8, len(nearly))] = rng.choice(ALPHABET, len(nearly))
    digits = np.array([list(f"{n:08d}".encode()) for n in rng.integers(0, 10 ** 8, 4000)], np.uint8)
    leap = np.array([list(f"{y:04d}0229".encode()) for y in range(0, 2500)], np.uint8)  # 29 February
    strided = np.concatenate([real, real], axis=1)[:, 5:13]
    for raw in (real, nearly, digits, leap, strided, rng.choice(ALPHABET, size=(2000, 8)).astype(np.uint8)):
        iso, valid = iso_dates(raw)
        expected = [_day(bytes(r)) for r in raw]
        assert valid.tolist() == [e is not None for e in expected]
        assert [bytes(i).decode() for i, ok in zip(iso, valid) if ok] == [e for e in expected if e]
    assert iso_dates(np.zeros((3, 6), np.uint8)) is None  # only an 8-wide field is a date
