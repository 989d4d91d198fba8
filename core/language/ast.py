"""The rule language's syntax tree: small frozen values that carry their source span.

Every node prints back to the rule language with `str()`, so a rule can be
shown as written, and `parse(str(rule))` gives the same tree.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .operands import (  # noqa: F401  (operands are part of the syntax tree)
    Arithmetic, Count, CountWhere, DateLiteral, Days, FieldRef, Lookup, Number, Operand, Span, Text, Today, Years,
    ZipPart, Substring, _no_span,
)


# ---------------------------------------------------------------- record conditions


@dataclass(frozen=True)
class Comparison:
    """`left OP right`; not evaluated when an operand is empty or malformed."""

    left: Operand
    op: str
    right: Operand
    span: Span | None = _no_span()

    def __str__(self) -> str:
        return f"{self.left} {self.op} {self.right}"


@dataclass(frozen=True)
class IsEmpty:
    """`3257 is empty`: all spaces."""

    field: FieldRef
    span: Span | None = _no_span()

    def __str__(self) -> str:
        return f"{self.field} is empty"


@dataclass(frozen=True)
class IsFilled:
    """`3263 is filled`: not all spaces."""

    field: FieldRef
    span: Span | None = _no_span()

    def __str__(self) -> str:
        return f"{self.field} is filled"


@dataclass(frozen=True)
class NotDate:
    """`3262 is not a date`: filled, but not a YYYYMMDD calendar date DIS accepts."""

    field: FieldRef
    span: Span | None = _no_span()

    def __str__(self) -> str:
        return f"{self.field} is not a date"


@dataclass(frozen=True)
class NotNumber:
    """`3315 is not a number`: filled, but not right-aligned digits with an optional minus sign."""

    field: FieldRef
    span: Span | None = _no_span()

    def __str__(self) -> str:
        return f"{self.field} is not a number"


@dataclass(frozen=True)
class NotPattern:
    """`3371 does not match 'NN'`: N is a digit, anything else stands for itself."""

    field: FieldRef
    pattern: str
    span: Span | None = _no_span()

    def __str__(self) -> str:
        return f"{self.field} does not match '{self.pattern}'"


@dataclass(frozen=True)
class InValues:
    """`4046 not in ('J', 'N')` (negated) or `3272 in ('12', '13')`."""

    field: FieldRef
    values: tuple[str, ...]
    negated: bool
    span: Span | None = _no_span()

    def __str__(self) -> str:
        values = ", ".join(f"'{v}'" for v in self.values)
        return f"{self.field} {'not in' if self.negated else 'in'} ({values})"


@dataclass(frozen=True)
class NotInCodelist:
    """`3266 not in CL_DIAGNOSE_GBG at 3262`: no codelist has the code valid at the peildatum."""

    field: FieldRef
    codelists: tuple[str, ...]
    at: FieldRef
    span: Span | None = _no_span()

    def __str__(self) -> str:
        return f"{self.field} not in {' or '.join(self.codelists)} at {self.at}"


@dataclass(frozen=True)
class NotSelectable:
    """`3314 not selectable in CL_BEROEP_GBG at 3312`: the row in force has selecteerbaar 0."""

    field: FieldRef
    codelist: str
    at: FieldRef
    span: Span | None = _no_span()

    def __str__(self) -> str:
        return f"{self.field} not selectable in {self.codelist} at {self.at}"


@dataclass(frozen=True)
class Like:
    """`1490 like 'act\\_6.%'`: % any run, _ any one character, 9 a digit, X a letter A-Z, \\c the character c."""

    field: FieldRef
    pattern: str
    negated: bool
    span: Span | None = _no_span()

    def __str__(self) -> str:
        return f"{self.field} {'not like' if self.negated else 'like'} '{self.pattern}'"


@dataclass(frozen=True)
class FailsElfproef:
    """`1446 fails elfproef`: digits whose weighted sum (n..2, -1) is not a multiple of 11 (BSN)."""

    field: FieldRef
    span: Span | None = _no_span()

    def __str__(self) -> str:
        return f"{self.field} fails elfproef"


@dataclass(frozen=True)
class AllOf:
    """`a and b`."""

    items: tuple
    span: Span | None = _no_span()

    def __str__(self) -> str:
        return " and ".join(_wrap(i, AnyOf) for i in self.items)


@dataclass(frozen=True)
class AnyOf:
    """`a or b`."""

    items: tuple
    span: Span | None = _no_span()

    def __str__(self) -> str:
        return " or ".join(str(i) for i in self.items)


@dataclass(frozen=True)
class Negated:
    """`not a`."""

    item: object
    span: Span | None = _no_span()

    def __str__(self) -> str:
        return f"not {_wrap(self.item, (AnyOf, AllOf, Comparison))}"


def _wrap(node, kinds) -> str:
    return f"({node})" if isinstance(node, kinds) else str(node)


Condition = (
    Comparison | IsEmpty | IsFilled | NotDate | NotNumber | NotPattern | InValues
    | NotInCodelist | NotSelectable | Like | FailsElfproef | AllOf | AnyOf | Negated
)

# ---------------------------------------------------------------- whole-delivery violations


def _key_text(fields: tuple) -> str:
    return str(fields[0]) if len(fields) == 1 else f"({', '.join(map(str, fields))})"


@dataclass(frozen=True)
class NotUnique:
    """`3257 is not unique` or `(1430, 1431, 1432) is not unique`: the second and later occurrences of a key.

    With `across`, `1500 is not unique across 1489, 1508`: records whose value also occurs in one of
    those fields of other files (GA: "niet uniek binnen de totale aanlevering").
    """

    fields: tuple[FieldRef, ...]
    across: tuple[FieldRef, ...] = ()
    span: Span | None = _no_span()

    @property
    def field(self) -> FieldRef:
        """The first key field: the one findings point at."""
        return self.fields[0]

    def __str__(self) -> str:
        across = f" across {', '.join(map(str, self.across))}" if self.across else ""
        return f"{_key_text(self.fields)} is not unique{across}"


@dataclass(frozen=True)
class MissingReference:
    """`3309 not in file BEHANDELTRAJECT.txt`: the value (or values, for a composite key) is no key there."""

    fields: tuple[FieldRef, ...]
    file: str
    span: Span | None = _no_span()

    @property
    def field(self) -> FieldRef:
        """The first referring field: the one findings point at."""
        return self.fields[0]

    def __str__(self) -> str:
        return f"{_key_text(self.fields)} not in file {self.file}"


@dataclass(frozen=True)
class WrongRecordLength:
    """`record length of PAKBON.txt is wrong`."""

    file: str
    span: Span | None = _no_span()

    def __str__(self) -> str:
        return f"record length of {self.file} is wrong"


@dataclass(frozen=True)
class MemberCheck:
    """`member missing`, `member duplicated`, `member unknown`: the zip's member set."""

    kind: str
    span: Span | None = _no_span()

    def __str__(self) -> str:
        return f"member {self.kind}"


# ---------------------------------------------------------------- history (needs the delivery store)


@dataclass(frozen=True)
class StoredElsewhere:
    """`3257 stored with other 3258`: the key is already stored in DIS under another value."""

    field: FieldRef
    other: FieldRef
    span: Span | None = _no_span()

    def __str__(self) -> str:
        return f"{self.field} stored with other {self.other}"


@dataclass(frozen=True)
class ChangedSinceLast:
    """`3339 changed since last delivery`: differs from the previous accepted delivery, no notice given."""

    field: FieldRef
    span: Span | None = _no_span()

    def __str__(self) -> str:
        return f"{self.field} changed since last delivery"


@dataclass(frozen=True)
class AccountUnknown:
    """`account(3341, 3362, 3371) not registered`: user, AGB and volgnr are no active account."""

    fields: tuple[FieldRef, FieldRef, FieldRef]
    span: Span | None = _no_span()

    def __str__(self) -> str:
        return f"account({', '.join(str(f) for f in self.fields)}) not registered"


@dataclass(frozen=True)
class DeletedNotStored:
    """`1449 deleted but not stored`: a deletion record (status vlag 'V') for a key DIS does not hold."""

    field: FieldRef
    span: Span | None = _no_span()

    def __str__(self) -> str:
        return f"{self.field} deleted but not stored"


HISTORY_FORMS = (StoredElsewhere, ChangedSinceLast, AccountUnknown, DeletedNotStored)


# ---------------------------------------------------------------- rules


@dataclass(frozen=True)
class Rule:
    """One numbered validation: violation => severity number type message, plus clauses."""

    violation: object
    severity: str
    number: str
    type: str
    message: str
    message_en: str = ""
    hint: str = ""
    hint_en: str = ""
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    not_applicable: str = ""
    not_applicable_en: str = ""  # the reason in English, when `not_applicable` is in Dutch
    deletions: bool = False  # `applies to deletions`: also checked on records with status vlag 'V'
    span: Span | None = _no_span()

    @property
    def needs_store(self) -> bool:
        """True when the rule can only be decided with earlier deliveries or registries."""
        return isinstance(self.violation, HISTORY_FORMS)

    def __str__(self) -> str:
        parts = [f'{self.violation} => {self.severity} {self.number} {self.type} {_quote(self.message)}']
        if self.valid_from:
            parts.append(f"from {self.valid_from.isoformat()}")
        if self.valid_until:
            parts.append(f"until {self.valid_until.isoformat()}")
        if self.message_en:
            parts.append(f"en {_quote(self.message_en)}")
        if self.hint:
            parts.append(f"hint {_quote(self.hint)}")
        if self.hint_en:
            parts.append(f"hint en {_quote(self.hint_en)}")
        if self.deletions:
            parts.append("applies to deletions")
        if self.not_applicable:
            parts.append(f"not-applicable {_quote(self.not_applicable)}")
        if self.not_applicable_en:
            parts.append(f"not-applicable en {_quote(self.not_applicable_en)}")
        return " ".join(parts)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
