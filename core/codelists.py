"""Codelists (NZa codelijsten): codes with validity windows, and the provider interface.

A provider serves a codelist by name for a delivery date; the release in
force on that date is the provider's business. Validity of a code is judged
at a rule's peildatum.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

OPEN_END = 99991231


@dataclass(frozen=True, slots=True)
class CodeRow:
    """One validity window of a code; dates as YYYYMMDD integers, both ends inclusive."""

    begin: int
    end: int
    selectable: int | None = None  # selecteerbaar: 0 = not selectable (a grouping level), 1 or 2
    # Every column of the row by its name without the list's prefix (cl_activiteit_soort -> "soort"),
    # as text without surrounding spaces: what rules read as CL_X(code at date).soort.
    attributes: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Codelist:
    """One release of one codelist."""

    name: str  # e.g. CL_BEROEP_GBG
    release: dt.date | None
    source: str  # file, table or URL it came from
    entries: dict[str | tuple[str, ...], tuple[CodeRow, ...]] = field(default_factory=dict)
    fallback: bool = False  # True when no release was dated on or before the delivery date
    # True when the list is not the registry's own but made up (e.g. disval's shipped samples):
    # reports say so loudly, and --require-real-codelists refuses a positive assessment on it.
    sample: bool = False

    def row_at(self, code: str | tuple[str, ...], date: int) -> CodeRow | None:
        """The row of `code` in force at `date` (YYYYMMDD), or None; a tuple of str for a composite key."""
        for row in self.entries.get(code, ()):
            if row.begin <= date <= row.end:
                return row
        return None


class CodelistProvider(Protocol):
    """What the `disval_codelist_provider` hook returns."""

    def codelist(self, name: str, delivery_date: dt.date) -> Codelist | None:
        """The release of codelist `name` in force on `delivery_date`, or None if the source lacks it."""

    def describe(self) -> str:
        """A short human description of the source, for reports."""
