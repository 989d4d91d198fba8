"""The reference engine's own reading of the GA's field formats (GA §4.2) and of `like` patterns.

Written from the rule semantics with the standard library alone, sharing
nothing with the columnar engine's decoders (columns.py), so that the
equivalence tests compare two independent readings.
"""
from __future__ import annotations

import datetime as dt

_FIRST_DATE = dt.date(1900, 1, 1)  # DIS accepts dates from 1900-01-01 to 9999-12-31 (date.max)


def is_empty(raw: bytes) -> bool:
    """A field is empty when it holds only spaces."""
    return raw.strip(b" ") == b""


def as_date(raw: bytes) -> int | None:
    """A D field (YYYYMMDD, a real date from 1900-01-01 to 9999-12-31) as an int YYYYMMDD, or None."""
    if len(raw) != 8 or not raw.isdigit():
        return None
    try:
        date = dt.date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
    except ValueError:
        return None
    return int(raw) if date >= _FIRST_DATE else None


def _as_calendar(yyyymmdd: int) -> dt.date:
    return dt.date(yyyymmdd // 10000, yyyymmdd // 100 % 100, yyyymmdd % 100)


def whole_years(since: dt.date, until: dt.date) -> int:
    """Completed years from `since` to `until` (an age: the birthday counts from its day on)."""
    return until.year - since.year - ((until.month, until.day) < (since.month, since.day))


def as_number(raw: bytes) -> int | None:
    """An N field (leading spaces, an optional '-', then digits to the end) as an int, or None."""
    text = raw.lstrip(b" ")
    digits = text[1:] if text.startswith(b"-") else text
    if not digits.isdigit():  # bytes.isdigit: ASCII digits only, and False for b""
        return None
    return -int(digits) if text.startswith(b"-") else int(digits)


def matches(raw: bytes, pattern: str) -> bool:
    """Whether the field follows the pattern: 'N' a digit, other characters literal, then spaces."""
    for i, byte in enumerate(raw):
        if i >= len(pattern):
            ok = byte == 0x20
        elif pattern[i] == "N":
            ok = 0x30 <= byte <= 0x39
        else:
            ok = bytes([byte]) == pattern[i].encode("latin-1", errors="replace")
        if not ok:
            return False
    return True


def _text(value: str) -> bytes:
    """A literal as compared: without surrounding spaces, as field values are (one rule for `=`, `in`, codelists)."""
    return value.encode("latin-1", errors="replace").strip(b" ")


def code_of(raw: bytes) -> str:
    """A codelist code as written in a field: the text without its spaces, leading or trailing."""
    return raw.decode("latin-1").strip(" ")


def like(value: str, pattern: str) -> bool:
    """Whether `value` follows a `like` pattern: % any run, _ any one character, 9 a digit, X a letter A-Z,
    \\c the character c itself."""
    if not pattern:
        return value == ""
    head, rest = pattern[0], pattern[1:]
    if head == "%":
        return any(like(value[i:], rest) for i in range(len(value) + 1))
    if not value:
        return False
    if head == "\\" and rest:
        return value[0] == rest[0] and like(value[1:], rest[1:])
    if head == "_":
        ok = True
    elif head == "9":
        ok = "0" <= value[0] <= "9"
    elif head == "X":
        ok = "A" <= value[0] <= "Z"
    else:
        ok = value[0] == head
    return ok and like(value[1:], rest)
