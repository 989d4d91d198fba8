"""The rule language's operands, and the source span every node of the syntax tree carries.

Part of the syntax tree of `ast.py` (which re-exports these names): what a
comparison compares. Every node prints back to the rule language with `str()`.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    """Where a node stands in its source: 1-based line and column."""

    source: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.source}:{self.line}:{self.column}"


def _no_span():
    return field(default=None, compare=False, repr=False)


# ---------------------------------------------------------------- operands


@dataclass(frozen=True)
class FieldRef:
    """A delivered attribute, by DDID: `3262`."""

    ddid: str
    span: Span | None = _no_span()

    def __str__(self) -> str:
        return self.ddid


@dataclass(frozen=True)
class ZipPart:
    """A part of the delivery's zip name: `zip.agb`."""

    name: str
    span: Span | None = _no_span()

    def __str__(self) -> str:
        return f"zip.{self.name}"


@dataclass(frozen=True)
class Number:
    """An integer literal: `0`, `1_440`."""

    value: int
    span: Span | None = _no_span()

    def __str__(self) -> str:
        return f"{self.value:_d}"


@dataclass(frozen=True)
class Text:
    """A text literal in single quotes, as the GA writes values: `'J'`."""

    value: str
    span: Span | None = _no_span()

    def __str__(self) -> str:
        return f"'{self.value}'"


@dataclass(frozen=True)
class DateLiteral:
    """A date literal: `2016-10-01`."""

    value: dt.date
    span: Span | None = _no_span()

    def __str__(self) -> str:
        return self.value.isoformat()


@dataclass(frozen=True)
class Count:
    """The number of records in a member file: `count(BEHANDELTRAJECT.txt)`."""

    file: str
    span: Span | None = _no_span()

    def __str__(self) -> str:
        return f"count({self.file})"


@dataclass(frozen=True)
class Years:
    """Whole years from the first date to the second: `years(3246, 3262)`."""

    since: FieldRef
    until: FieldRef
    span: Span | None = _no_span()

    def __str__(self) -> str:
        return f"years({self.since}, {self.until})"


@dataclass(frozen=True)
class Substring:
    """Positions `first` to `last` (1-based, inclusive) of a text field: `1474[10..12]`."""

    field: FieldRef
    first: int
    last: int
    span: Span | None = _no_span()

    def __str__(self) -> str:
        return f"{self.field}[{self.first}..{self.last}]"


@dataclass(frozen=True)
class Days:
    """Days from the first date to the second: `days(1510, 4145)` (0 on the same day)."""

    since: FieldRef
    until: FieldRef
    span: Span | None = _no_span()

    def __str__(self) -> str:
        return f"days({self.since}, {self.until})"


@dataclass(frozen=True)
class Today:
    """The date of the run (`today`): fixed per run and recorded in the report, so a run can be repeated."""

    span: Span | None = _no_span()

    def __str__(self) -> str:
        return "today"


@dataclass(frozen=True)
class Arithmetic:
    """`left + right` or `left - right` on numbers."""

    left: object
    op: str
    right: object
    span: Span | None = _no_span()

    def __str__(self) -> str:
        return f"{self.left} {self.op} {self.right}"  # the grammar nests to the left only


@dataclass(frozen=True)
class Lookup:
    """A column of the codelist row in force: `CL_TARIEF_GGZ(1473, 1475 at 1465).dbc_tarief_max`.

    The fields give the code (several for a codelist with a composite key, in the
    order the standard declares); `at` is the peildatum.
    """

    codelist: str
    keys: tuple[FieldRef, ...]
    at: FieldRef
    attribute: str
    span: Span | None = _no_span()

    def __str__(self) -> str:
        return f"{self.codelist}({', '.join(map(str, self.keys))} at {self.at}).{self.attribute}"


@dataclass(frozen=True)
class CountWhere:
    """Records of a file that meet a condition, over the file or per value of a foreign key.

    `count(PATIENT.txt where 1433 like 'XX%')` counts in the whole file;
    `count(DBC_TRAJECT.txt where 1468 = '101' per 1464)` counts per parent record.
    """

    file: str
    where: object
    per: FieldRef | None = None
    span: Span | None = _no_span()

    def __str__(self) -> str:
        per = f" per {self.per}" if self.per else ""
        return f"count({self.file} where {self.where}{per})"


Operand = FieldRef | ZipPart | Number | Text | DateLiteral | Count | Years | Substring | Days | Today | Arithmetic \
    | Lookup | CountWhere
