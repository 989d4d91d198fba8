"""Read an NZa GA workbook (xlsx) into plain values: files, attributes, validations.

The sheet's shape (GA DBC-GGZ 9.0 v1.0, and the NZa's other GA workbooks):

- per file: a row `Bestandsnaam: | NAME`, a header row `DDID | Naam | Type |
  Lengte | Begin | Eind | Patroon | Verplicht | Sleutel | Codetabel | Code org`,
  one row per attribute, then `Directe validaties` with rows `Type | Soort |
  Omschrijving | Validatienummer | Peildatum | Geldig van | Geldig t/m`;
- after the row `Attribuutdefinities`: per attribute `Bestand:`, `DDID:`,
  `Naam:`, `Toelichting:`, its definition row, then `Directe validaties` and
  `Gerelateerde validaties` whose rows are `Type | Soort | Omschrijving | - | -
  | Validatienummer | Peildatum | Geldig van | Geldig t/m`.

A validation number can be listed under several attributes. The workbook
sometimes words or types those copies differently; `choose` keeps the copy
listed directly under the attribute the text starts with, and the
differences are kept as `variants` so that a person can see them.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

ATTRIBUTE_HEADER = ("DDID", "Naam", "Type", "Lengte", "Begin", "Eind", "Patroon", "Verplicht", "Sleutel",
                    "Codetabel", "Code org")
VALIDATION_TYPES = frozenset({"M", "S", "R", "V", "UK", "FK", "BR", "PVM", "OH"})
OPEN_BEGIN = dt.date(1901, 1, 1)
OPEN_END = dt.date(9999, 12, 31)


class WorkbookError(ValueError):
    """A workbook that does not have the NZa GA shape; the message names the sheet row."""


@dataclass(frozen=True)
class Attribute:
    """One row of a file's attribute table, as the workbook writes it."""

    ddid: str
    name: str
    type: str
    length: int
    begin: int
    end: int
    pattern: str
    mandatory: str
    key: str  # "", "PK", "FK" or "PK, FK"
    codetable: str
    code_org: str
    row: int  # sheet row, for messages


@dataclass(frozen=True)
class Validation:
    """One listing of a numbered validation."""

    number: str
    type: str  # M, S, R, V, UK, FK, BR, PVM, OH
    severity: str  # ERR or WRN
    text: str
    peildatum: str  # "n.v.t.", "Systeemdatum", or a field ("1465 Begindatum DBC-traject")
    valid_from: dt.date
    valid_until: dt.date
    file: str  # the file whose block lists it
    ddid: str  # the attribute whose block lists it ("" for a file's own validations)
    direct: bool  # listed under "Directe validaties"
    row: int

    @property
    def subject(self) -> str:
        """The DDID the text starts with ("1464 Zorgtrajectnummer is ..." -> "1464"), or ""."""
        m = re.match(r"(\d{4})\b", self.text)
        return m.group(1) if m else ""


@dataclass(frozen=True)
class WorkbookFile:
    """One file (subbestand) of the GA."""

    name: str
    description: str
    attributes: tuple[Attribute, ...]


@dataclass(frozen=True)
class GaWorkbook:
    """Everything read from the workbook."""

    source: str
    files: tuple[WorkbookFile, ...]
    listings: tuple[Validation, ...]
    validations: dict[str, Validation] = field(default_factory=dict)  # number -> the chosen listing
    variants: dict[str, tuple[Validation, ...]] = field(default_factory=dict)  # number -> differing listings

    def attribute(self, ddid: str) -> Attribute | None:
        """The attribute with this DDID, in whichever file."""
        return next((a for f in self.files for a in f.attributes if a.ddid == ddid), None)

    def file_of(self, ddid: str) -> WorkbookFile | None:
        """The file that holds the attribute with this DDID."""
        return next((f for f in self.files if any(a.ddid == ddid for a in f.attributes)), None)


def read_workbook(path: Path) -> GaWorkbook:
    """Read the first sheet of an NZa GA workbook. Raises WorkbookError on a sheet of another shape."""
    import openpyxl  # imported here: only `disval ga import` and its tests need it

    path = Path(path)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds (zip, xml, key errors) for a file that is no workbook
        raise WorkbookError(f"{path}: not a readable xlsx workbook ({exc.__class__.__name__}: {exc})") from None
    try:
        rows = [tuple(_clean(c) for c in row) for row in wb.worksheets[0].iter_rows(values_only=True)]
    finally:
        wb.close()
    return parse_rows(rows, source=str(path))


def parse_rows(rows: list[tuple], source: str = "workbook") -> GaWorkbook:
    """Parse the sheet's rows (values, None for an empty cell) into a GaWorkbook."""
    files: list[WorkbookFile] = []
    listings: list[Validation] = []
    i, n = 0, len(rows)
    in_definitions = False
    current_file, current_ddid, direct = "", "", True

    def cell(r, c):
        row = rows[r]
        return row[c] if c < len(row) else None

    while i < n:
        first = cell(i, 0)
        if first == "Attribuutdefinities":
            in_definitions = True
        elif not in_definitions and first == "Bestandsnaam:":
            name = str(_label_value(rows[i]) or "").strip()
            if not name:
                raise WorkbookError(f"{source}: row {i + 1}: 'Bestandsnaam:' without a file name")
            description = ""
            j = i + 1
            while j < n and cell(j, 0) != "DDID":
                if cell(j, 0) == "Toelichting":
                    description = str(_label_value(rows[j]) or "")
                j += 1
            header = tuple(str(c or "") for c in rows[j][: len(ATTRIBUTE_HEADER)]) if j < n else ()
            if header != ATTRIBUTE_HEADER:
                raise WorkbookError(f"{source}: row {j + 1}: expected the attribute header "
                                    f"{' | '.join(ATTRIBUTE_HEADER)} for {name}")
            attributes = []
            j += 1
            while j < n and _is_ddid(cell(j, 0)):
                attributes.append(_attribute(rows[j], j + 1, source))
                j += 1
            files.append(WorkbookFile(name, description, tuple(attributes)))
            current_file, current_ddid, direct = name, "", True
            i = j
            continue
        elif in_definitions and first == "Bestand:":
            current_file = _file_name(str(_label_value(rows[i]) or ""), files)
        elif in_definitions and first == "DDID:":
            current_ddid, direct = str(_label_value(rows[i])), True
        elif first == "Directe validaties":
            direct = True
        elif first == "Gerelateerde validaties":
            direct = False
        elif first in VALIDATION_TYPES and first != "DDID":
            number_col = 5 if in_definitions else 3
            number = cell(i, number_col)
            if isinstance(number, int) or (isinstance(number, str) and number.strip().isdigit()):
                listings.append(_validation(rows[i], number_col, i + 1, source, current_file, current_ddid, direct))
        i += 1
    if not files:
        raise WorkbookError(f"{source}: no 'Bestandsnaam:' block found; is this an NZa GA workbook?")
    validations, variants = choose(listings)
    return GaWorkbook(source, tuple(files), tuple(listings), validations, variants)


def choose(listings: list[Validation]) -> tuple[dict[str, Validation], dict[str, tuple[Validation, ...]]]:
    """One listing per number: the one directly under the attribute its text starts with, else the first.

    Returns (chosen, variants): variants holds, per number whose copies differ in type, severity, text,
    peildatum or window, every distinct copy.
    """
    by_number: dict[str, list[Validation]] = {}
    for v in listings:
        by_number.setdefault(v.number, []).append(v)
    chosen, variants = {}, {}
    for number, copies in by_number.items():
        own = [v for v in copies if v.direct and v.ddid and v.ddid == v.subject]
        chosen[number] = (own or [v for v in copies if v.direct] or copies)[0]
        distinct = {_content(v): v for v in copies}
        if len(distinct) > 1:
            variants[number] = tuple(distinct.values())
    return chosen, variants


def _content(v: Validation):
    return (v.type, v.severity, v.text, v.peildatum, v.valid_from, v.valid_until)


def _attribute(row: tuple, line: int, source: str) -> Attribute:
    values = list(row) + [None] * (11 - len(row))
    ddid, name, typ, length, begin, end, pattern, mandatory, key, table, org = values[:11]
    try:
        return Attribute(
            ddid=str(int(ddid)), name=str(name).strip(), type=str(typ).strip(), length=int(length),
            begin=int(begin), end=int(end), pattern=str(pattern or "").strip(), mandatory=str(mandatory or "O").strip(),
            key=str(key or "").strip(), codetable=str(table or "").strip(), code_org=str(org or "").strip(), row=line,
        )
    except (TypeError, ValueError):
        raise WorkbookError(f"{source}: row {line}: attribute row {values[:6]} lacks a DDID, type, length, "
                            "begin or end") from None


def _validation(row, number_col, line, source, file, ddid, direct) -> Validation:
    values = list(row) + [None] * (number_col + 4 - len(row))
    typ, severity, text = values[0], values[1], values[2]
    peil, start, until = values[number_col + 1], values[number_col + 2], values[number_col + 3]
    return Validation(
        number=str(int(values[number_col])), type=str(typ), severity=str(severity or "").strip(),
        text=" ".join(str(text or "").split()), peildatum=" ".join(str(peil or "n.v.t.").split()),
        valid_from=_date(start, OPEN_BEGIN, line, source), valid_until=_date(until, OPEN_END, line, source),
        file=file, ddid=ddid, direct=direct, row=line,
    )


def _date(value, default: dt.date, line: int, source: str) -> dt.date:
    if value is None or value == "":
        return default
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip().strip("'")
    for fmt in ("%d-%m-%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    raise WorkbookError(f"{source}: row {line}: {value!r} is not a date (expected dd-mm-jjjj)")


def _file_name(name: str, files: list[WorkbookFile]) -> str:
    """The attribute blocks write 'PATIENT.TXT'; give the name as the file table spells it."""
    low = name.strip().lower()
    return next((f.name for f in files if f.name.lower() == low), name.strip())


def _label_value(row: tuple):
    """The value of a `Label: | value` row: the first filled cell after the label (the sheet merges cells)."""
    return next((c for c in row[1:] if c is not None), None)


def _is_ddid(value) -> bool:
    return isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit())


def _clean(value):
    if isinstance(value, str):
        value = value.replace("\xa0", " ").strip()
        return value or None
    return value
