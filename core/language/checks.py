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
class Hop:
    """One step from a record to its parent: the foreign key and the key field it refers to."""

    foreign_key: Field
    key: Field


@dataclass(frozen=True)
class Col:
    """A field read from the record being checked, from the packing slip, or from a parent record.

    A parent's field (scope 'parent') is reached through `path`, the foreign keys from the record's
    file up to the parent's; `part` narrows a text field to positions first..last (1-based).
    """

    field: Field
    scope: str  # record | slip | parent
    path: tuple[Hop, ...] = ()
    part: tuple[int, int] | None = None

    @property
    def width(self) -> int:
        """Bytes read: the field's length, or the part's."""
        return self.field.length if self.part is None else self.part[1] - self.part[0] + 1

    @property
    def pattern(self) -> str | None:
        """The digit pattern an AN field's value must follow (GA §6.1.2, e.g. NN or NN.N), or None.

        A value that breaks it is malformed, so a comparison with it is not evaluated (the S rule
        reports it), just as with a D or N field that does not hold a date or number.
        """
        p = self.field.pattern
        if self.part is not None:
            return None
        return p if self.field.type == "AN" and re.fullmatch(r"N[N.\-/:]*", p or "") else None


@dataclass(frozen=True)
class Const:
    """A literal or a zip-name part; `value` is an int for dates (YYYYMMDD) and numbers, str for text."""

    value: object
    zip_part: str = ""  # non-empty when the value comes from the zip name at run time


@dataclass(frozen=True)
class CountOf:
    """The number of records of a file; with `where`, of those that meet it; with `per`, per parent key."""

    file: str
    where: object = None
    per: Field | None = None  # a foreign key of `file`: counted per value, compared per parent record
    label: str = ""  # the count as written, to tell several counts of one file apart


@dataclass(frozen=True)
class DaysOf:
    """Days from one date field to another."""

    since: Col
    until: Col


@dataclass(frozen=True)
class TodayDate:
    """The run's date (YYYYMMDD)."""


@dataclass(frozen=True)
class Arith:
    """`left + right` / `left - right`, numbers."""

    left: object
    op: str
    right: object


@dataclass(frozen=True)
class Lookup:
    """A column of the codelist row in force for the key fields at the peildatum, typed as `kind`."""

    codelist: str
    keys: tuple[Col, ...]
    at: Col
    attribute: str
    kind: str = "text"  # date | number | text: how the column's text is read


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
class Like:
    """`F like 'P'` / `F not like 'P'`."""

    col: Col
    pattern: str
    negated: bool


@dataclass(frozen=True)
class FailsElfproef:
    """`F fails elfproef`."""

    col: Col


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
