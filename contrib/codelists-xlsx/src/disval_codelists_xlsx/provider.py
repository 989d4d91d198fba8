"""Read NZa codelists from one workbook: one sheet per list, a header row of `cl_<naam>_<kolom>`.

A sheet is read the way the built-in provider reads a text file (same header
rules, dates, `selecteerbaar`, several rows per code), so one set of lists
gives the same codes whichever source serves it. The list's name comes from
the header, not the sheet's title. Sheets whose first cell does not start
with `cl_` (a cover sheet, notes) are skipped.

One workbook is one release: its date is the file name's leading YYYYMMDD,
as for the text files (`20180101 codelijsten GBG.xlsx`). A workbook dated
after the delivery is still used, marked as a fallback, so the report warns.

A list the standard declares (`Standard.codelists`) is the sheet titled
after its NZa list name, with or without `cl` in front (`tarief ggz`,
`cl_tarief_ggz`), read through its declaration, whatever its header.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from typing import Mapping

from disval.core.codelists import Codelist, CodelistSpec, list_words
from disval.plugins.codelists_dir import CodelistError, codelist_from_rows

_RELEASE = re.compile(r"(?P<release>\d{8})[ _-].*\.xlsx", re.IGNORECASE)


class WorkbookCodelistProvider:
    """Serves every codelist in one workbook; the workbook is read once, on first use."""

    def __init__(self, path: Path, specs: Mapping[str, CodelistSpec] | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise CodelistError(f"{self.path}: expected an .xlsx workbook of NZa codelists, "
                                f"but {'it is a directory' if self.path.exists() else 'it does not exist'}")
        self.release = _release_date(self.path)
        self.specs = {name.upper(): spec for name, spec in (specs or {}).items()}
        self._sheets: list[tuple[str, list[list[str]]]] | None = None
        self._lists: dict[str, Codelist] | None = None  # the lists named by their headers
        self._declared: dict[str, Codelist | None] = {}

    def describe(self) -> str:
        """E.g. 'NZa codelist workbook /path/20180101 codelijsten.xlsx'."""
        return f"NZa codelist workbook {self.path}"

    def names(self) -> list[str]:
        """The lists the workbook holds, by name (a declared list by its GA name)."""
        declared = [name for name in self.specs if self._declared_list(name) is not None]
        return sorted({*self._load(), *declared})

    def codelist(self, name: str, delivery_date: dt.date) -> Codelist | None:
        """The list `name` from the workbook (None if it lacks it); a fallback when dated after the delivery."""
        name = name.upper()
        found = self._declared_list(name) if name in self.specs else self._load().get(name)
        if found is None:
            return None
        fallback = self.release is not None and self.release > delivery_date
        if not fallback:
            return found
        return Codelist(found.name, found.release, found.source, found.entries, fallback, found.key, found.columns)

    def _all_sheets(self) -> list[tuple[str, list[list[str]]]]:
        if self._sheets is None:
            self._sheets = _sheets(self.path)
        return self._sheets

    def _declared_list(self, name: str) -> Codelist | None:
        if name not in self._declared:
            spec = self.specs[name]
            found = [(sheet, rows) for sheet, rows in self._all_sheets() if _sheet_list(sheet) == spec.list_name]
            if len(found) > 1:
                raise CodelistError(f"{self.path}: sheets {', '.join(s for s, _ in found)} all hold list "
                                    f"'{spec.file}' ({name}); expected one sheet per list")
            self._declared[name] = (_read_sheet(self.path, *found[0], self.release, spec) if found else None)
        return self._declared[name]

    def _load(self) -> dict[str, Codelist]:
        if self._lists is None:
            self._lists = {}
            declared = {spec.list_name for spec in self.specs.values()}
            for sheet, rows in self._all_sheets():
                if _sheet_list(sheet) in declared:
                    continue  # read through its declaration, by its GA name
                codelist = _read_sheet(self.path, sheet, rows, self.release)
                if codelist is None:
                    continue
                if codelist.name in self._lists:
                    raise CodelistError(f"{self.path}: two sheets hold {codelist.name}; expected one sheet per list")
                self._lists[codelist.name] = codelist
        return self._lists


def _release_date(path: Path) -> dt.date | None:
    m = _RELEASE.fullmatch(path.name)
    if not m:
        return None
    try:
        return dt.datetime.strptime(m["release"], "%Y%m%d").date()
    except ValueError:
        raise CodelistError(f"{path}: release date {m['release']!r} in the file name is not a date (YYYYMMDD)") from None


def _sheets(path: Path):
    """(title, rows as lists of text) for every sheet; the workbook is closed before parsing starts."""
    import openpyxl  # imported here so that registering the plugin stays cheap

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise CodelistError(f"{path}: cannot read the workbook ({type(exc).__name__}: {exc})") from None
    try:
        return [(ws.title, [[_text(v) for v in row] for row in ws.iter_rows(values_only=True)])
                for ws in book.worksheets]
    finally:
        book.close()


def _text(value) -> str:
    """A cell as the text file would have it: 20140101 stays 20140101 whether typed as number, text or date."""
    if value is None:
        return ""
    if isinstance(value, (dt.datetime, dt.date)):
        return value.strftime("%Y%m%d")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _sheet_list(title: str) -> str:
    """The NZa list name a sheet title stands for: its words, without a leading 'cl' ('cl_tarief_ggz' -> 'tarief ggz')."""
    words = list_words(title)
    return words[3:] if words.startswith("cl ") else words


def _read_sheet(path: Path, sheet: str, rows: list[list[str]], release: dt.date | None,
                spec: CodelistSpec | None = None) -> Codelist | None:
    where = f"{path}[{sheet}]"
    header = _trim(rows[0]) if rows else []
    if not header or not header[0].strip().lower().startswith("cl_"):
        return None
    width = len(header)

    def rows_of():
        for number, row in enumerate(rows[1:], start=2):
            values = _trim(row)
            if any(v.strip() for v in values):
                yield f"{where}:{number}", values + [""] * (width - len(values))

    return codelist_from_rows("|".join(header), rows_of(), release=release, source=where, where=where, spec=spec)


def _trim(row: list[str]) -> list[str]:
    """The row without the empty cells Excel leaves to its right."""
    end = len(row)
    while end and row[end - 1] == "":
        end -= 1
    return list(row[:end])
