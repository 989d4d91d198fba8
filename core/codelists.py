"""Codelists (NZa codelijsten): codes with validity windows, and the provider interface.

A provider serves a codelist by name for a delivery date; the release in
force on that date is the provider's business. Validity of a code is judged
at a rule's peildatum.

A standard may declare, per GA codelist name, which NZa list file serves it
and which of its columns are the key, the validity window and selecteerbaar
(`CodelistSpec`). The NZa names files and headers without the branch the GA
adds (`CL_BEROEP_GGZ` is read from `20180101 cl beroep v20170701.txt`, whose
columns are `cl_beroep_*`), and some lists name their columns after other
lists (`cl tarief ggz`: `cl_dbc_tarief_agb_code|cl_productgroep_code|...`).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Mapping, Protocol, Union

OPEN_END = 99991231

# A code, or for a list with a composite key the tuple of its parts in the order of `CodelistSpec.key`.
CodeKey = Union[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class CodeRow:
    """One validity window of a code; dates as YYYYMMDD integers, both ends inclusive.

    `attributes` holds every column of the row by its column name (see
    `column_name`), as text without surrounding spaces: activiteitsoort,
    branche_indicatie, a tariff. A row is identified by its window and
    selecteerbaar; the attributes are what it carries, so they take no part
    in comparing rows.
    """

    begin: int
    end: int
    selectable: int | None = None  # selecteerbaar: 0 = not selectable (a grouping level), 1 or 2
    attributes: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False, repr=False)


@dataclass(frozen=True)
class CodelistSpec:
    """Where a standard's codelist comes from: the NZa list file and the meaning of its columns.

    `name` is the GA's name (`CL_TARIEF_GGZ`); `file` the NZa list name as in
    the file name after "cl " (`tarief ggz` for `20190101 cl tarief ggz
    v20181123.txt`). Column names are the header's with `cl_` dropped and then
    the list's own prefix (the file's words joined by "_", then "_") dropped
    where a column starts with it: in `cl beroep`, `cl_beroep_code` is `code`;
    in `cl tarief ggz`, `cl_dbc_tarief_max` is `dbc_tarief_max`. `key` names
    the key column(s): several make a composite key, looked up with a tuple.
    `selectable` may be absent from the file (then rows have no selecteerbaar).
    """

    name: str
    file: str
    key: tuple[str, ...] = ("code",)
    begin: str = "begindatum"
    end: str = "einddatum"
    selectable: str = "selecteerbaar"

    def __post_init__(self):
        if isinstance(self.key, str):  # a single column given bare: one way to hold it
            object.__setattr__(self, "key", (self.key,))
        if not self.key:
            raise ValueError(f"codelist {self.name}: expected at least one key column")

    @property
    def list_name(self) -> str:
        """The list's words as compared with a file name's: lower case, single spaces."""
        return list_words(self.file)

    def column_name(self, header_column: str) -> str:
        """The name of one header column of this list (see the class docstring)."""
        return column_name(header_column, self.list_name)


def list_words(text: str) -> str:
    """A list name's words, lower case and joined by one space ('Tarief_GGZ' -> 'tarief ggz')."""
    return " ".join(w for w in re.split(r"[\s_\-]+", text.strip().lower()) if w)


def column_name(header_column: str, list_name: str) -> str:
    """A header column without `cl_` and without the list's own prefix: ('cl_beroep_code', 'beroep') -> 'code'."""
    name = header_column.strip().lower()
    if name.startswith("cl_"):
        name = name[3:]
    prefix = list_words(list_name).replace(" ", "_") + "_"
    if name.startswith(prefix) and len(name) > len(prefix):
        name = name[len(prefix):]
    return name


def specs_from_table(table: Mapping[str, Mapping]) -> dict[str, CodelistSpec]:
    """Codelist declarations from a parsed TOML table `[codelists.CL_X] file = "..." key = [...]`.

    Raises ValueError naming the list and the key that is wrong, so a plugin's
    layout file fails loudly when it is loaded.
    """
    known = {"file", "key", "begin", "end", "selectable"}
    specs = {}
    for name, raw in table.items():
        if not isinstance(raw, Mapping) or not isinstance(raw.get("file"), str) or not raw["file"].strip():
            raise ValueError(f"codelists.{name}: expected a table with file = \"<NZa list name>\"")
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"codelists.{name}: unknown key(s) {', '.join(unknown)}; expected {', '.join(sorted(known))}")
        key = raw.get("key", ("code",))
        key = (key,) if isinstance(key, str) else tuple(key)
        if not key or not all(isinstance(k, str) and k.strip() for k in key):
            raise ValueError(f"codelists.{name}: expected key as a column name or a list of column names")
        texts = {k: raw[k] for k in ("begin", "end", "selectable") if k in raw}
        for k, v in texts.items():
            if not isinstance(v, str) or not v.strip():
                raise ValueError(f"codelists.{name}: expected {k} as a column name, found {v!r}")
        specs[name.upper()] = CodelistSpec(name.upper(), raw["file"], tuple(k.lower() for k in key),
                                           **{k: v.lower() for k, v in texts.items()})
    return specs


@dataclass(frozen=True)
class Codelist:
    """One release of one codelist.

    `entries` maps each code (a tuple of codes for a composite key) to its
    rows, sorted by begin date. `key` and `columns` name the key column(s) and
    every column, as in `CodeRow.attributes`.
    """

    name: str  # e.g. CL_BEROEP_GBG
    release: dt.date | None
    source: str  # file, table or URL it came from
    entries: dict[CodeKey, tuple[CodeRow, ...]] = field(default_factory=dict)
    fallback: bool = False  # True when no release was dated on or before the delivery date
    key: tuple[str, ...] = ("code",)
    columns: tuple[str, ...] = ()
    # True when the list is not the registry's own but made up (e.g. disval's shipped samples):
    # reports say so loudly, and --require-real-codelists refuses a positive assessment on it.
    sample: bool = False
    _indexes: dict = field(default_factory=dict, compare=False, repr=False)

    def index(self, column: str) -> dict[str, tuple[CodeRow, ...]]:
        """Rows by the value of any one column, each value's rows sorted by begin date; built once per column.

        For a rule that looks a list up by one column that is not its key, e.g.
        whether a declaratiecode occurs in the tariff list at all.
        """
        if column not in self._indexes:
            if column not in self.columns:
                raise KeyError(f"codelist {self.name} has no column {column!r}; it has {', '.join(self.columns)}")
            found: dict[str, list[CodeRow]] = {}
            for rows in self.entries.values():
                for row in rows:
                    found.setdefault(row.attributes.get(column, ""), []).append(row)
            self._indexes[column] = {v: tuple(sorted(rs, key=lambda r: r.begin)) for v, rs in found.items()}
        return self._indexes[column]

    def row_at(self, code: CodeKey, date: int) -> CodeRow | None:
        """The row of `code` in force at `date` (YYYYMMDD), or None.

        `code` is a str, or for a composite key a tuple of str in the order of
        `key`. Codes are compared without surrounding spaces, as everywhere.
        """
        if isinstance(code, tuple):
            code = tuple(part.strip() for part in code)
            if len(code) == 1:
                code = code[0]
        else:
            code = code.strip()
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
