"""The typed checks a compiled rule evaluates: the engines' input.

The compiler turns a rule's condition into these values, with every field
resolved against the layout and every comparison typed (date, number or
text). The columnar and the reference engine both evaluate exactly these.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..layout import Field


@dataclass(frozen=True)
class Col:
    """A field read from the record being checked, or (scope 'slip') from the packing slip."""

    field: Field
    scope: str  # record | slip

    @property
    def pattern(self) -> str | None:
        """The digit pattern an AN field's value must follow (GA §6.1.2, e.g. NN or NN.N), or None.

        A value that breaks it is malformed, so a comparison with it is not evaluated (the S rule
        reports it), just as with a D or N field that does not hold a date or number.
        """
        p = self.field.pattern
        return p if self.field.type == "AN" and re.fullmatch(r"N[N.\-/:]*", p or "") else None


@dataclass(frozen=True)
class Const:
    """A literal or a zip-name part; `value` is an int for dates (YYYYMMDD) and numbers, str for text."""

    value: object
    zip_part: str = ""  # non-empty when the value comes from the zip name at run time


@dataclass(frozen=True)
class CountOf:
    """The number of records of a file."""

    file: str


@dataclass(frozen=True)
class YearsOf:
    """Whole years from one date field to another."""

    since: Col
    until: Col


@dataclass(frozen=True)
class Cmp:
    """`left op right`, typed: kind is date (YYYYMMDD ints), number (ints) or text (bytes)."""

    left: object
    op: str
    right: object
    kind: str  # date | number | text


@dataclass(frozen=True)
class Empty:
    """`F is empty` (or, with filled, `F is filled`)."""

    col: Col
    filled: bool = False  # True: the test is "is filled"


@dataclass(frozen=True)
class BadDate:
    """`F is not a date`."""

    col: Col


@dataclass(frozen=True)
class BadNumber:
    """`F is not a number`."""

    col: Col


@dataclass(frozen=True)
class BadPattern:
    """`F does not match 'NN'`."""

    col: Col
    pattern: str


@dataclass(frozen=True)
class Values:
    """`F in (...)` / `F not in (...)`."""

    col: Col
    values: tuple[str, ...]
    negated: bool


@dataclass(frozen=True)
class NotInLists:
    """`F not in CL_A or CL_B at D`."""

    col: Col
    codelists: tuple[str, ...]
    at: Col


@dataclass(frozen=True)
class NotSelectableIn:
    """`F not selectable in CL at D`."""

    col: Col
    codelist: str
    at: Col


@dataclass(frozen=True)
class And:
    """All items hold."""

    items: tuple


@dataclass(frozen=True)
class Or:
    """Some item holds."""

    items: tuple


@dataclass(frozen=True)
class Not:
    """The item does not hold."""

    item: object
