"""Built-in codelist source: a directory of NZa codelist files (codelijsten).

An NZa codelist file is pipe-separated ISO-8859-1 text with one header row
whose columns are named `cl_<naam>_<kolom>`, e.g.

    cl_beroep_gbg_begindatum|cl_beroep_gbg_einddatum|cl_beroep_gbg_code|...

The list's name is the columns' common prefix (`CL_BEROEP_GBG`), not the file
name; the file name only carries the release date, first:
`20180101 cl beroep v20170701.txt`. A directory may hold several releases of
one list; the release in force on the delivery date is used.

A file whose name has the word `SAMPLE` in it (`20180101 cl beroep gbg
SAMPLE.txt`) holds an invented list, not the NZa's: its `Codelist` is marked
`sample=True`, reports say so, and `--require-real-codelists` refuses a
positive assessment on it.

This provider is `trylast`, so any installed `disval_codelist_provider` wins.
"""
from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import NamedTuple

from disval.core.codelists import OPEN_END, Codelist, CodeRow
from disval.core.plugins import hookimpl

# Release date first, then a space, underscore or hyphen, then anything; `.txt` in any case.
_FILE_NAME = re.compile(r"(?P<release>\d{8})[ _-].*\.txt", re.IGNORECASE)
_REQUIRED_KINDS = ("begindatum", "einddatum", "code")
_UTF8_BOM = "\u00ef\u00bb\u00bf"  # a UTF-8 byte order mark read as ISO-8859-1
# The word SAMPLE, in any case, between separators: marks an invented list.
_SAMPLE = re.compile(r"(?:^|[ _.-])sample(?:[ _.-]|$)", re.IGNORECASE)


class CodelistError(ValueError):
    """A codelist source that cannot be read; the message says `file:line: what was expected`."""


class Release(NamedTuple):
    """One codelist file in the directory."""

    name: str  # e.g. CL_BEROEP_GBG, from the header
    release: dt.date  # from the file name
    path: Path


@hookimpl(trylast=True)
def disval_codelist_provider(standard, location):
    """The directory given with `--codelists`, else the standard's shipped codelists (or None)."""
    if location:
        path = Path(location)
        if not path.is_dir():
            raise CodelistError(
                f"{path}: expected a directory of NZa codelist files (--codelists DIR), "
                f"but {'it is a file' if path.exists() else 'it does not exist'}"
            )
        return DirectoryCodelistProvider(path)
    if standard.codelists_dir is not None and Path(standard.codelists_dir).is_dir():
        return DirectoryCodelistProvider(Path(standard.codelists_dir))
    return None


class DirectoryCodelistProvider:
    """Serves the NZa codelist files in one directory; parsed lists are cached per (name, release)."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self._releases: list[Release] | None = None
        self._cache: dict[tuple[str, dt.date], Codelist] = {}

    def describe(self) -> str:
        """E.g. 'NZa codelist files in codelists/': the directory's name, not the server's layout."""
        return f"NZa codelist files in {self.directory.name}/"

    def releases(self) -> list[Release]:
        """Every codelist file in the directory, by name then release date (only headers are read)."""
        if self._releases is None:
            self._releases = sorted(self._scan(), key=lambda r: (r.name, r.release, r.path.name))
        return list(self._releases)

    def codelist(self, name: str, delivery_date: dt.date) -> Codelist | None:
        """The newest release of `name` dated on or before `delivery_date`.

        When every release is newer than the delivery, the oldest one is used
        and marked `fallback=True`. None when the directory lacks the list.
        """
        name = name.upper()
        candidates = [r for r in self.releases() if r.name == name]
        if not candidates:
            return None
        in_force = [r for r in candidates if r.release <= delivery_date]
        fallback = not in_force
        chosen = in_force[-1] if in_force else candidates[0]
        twins = [r.path.name for r in candidates if r.release == chosen.release]
        if len(twins) > 1:
            raise CodelistError(
                f"{self.directory}: {len(twins)} files hold release {chosen.release:%Y%m%d} of {name} "
                f"({', '.join(twins)}); expected one file per release"
            )
        key = (name, chosen.release)
        if key not in self._cache:
            self._cache[key] = _read_codelist(chosen)
        cached = self._cache[key]
        if cached.fallback != fallback:
            # Same parsed entries; only the flag depends on the delivery date.
            return Codelist(cached.name, cached.release, cached.source, cached.entries, fallback, cached.sample)
        return cached

    def _scan(self):
        try:
            paths = sorted(p for p in self.directory.iterdir() if p.suffix.lower() == ".txt" and p.is_file())
        except OSError as exc:
            raise CodelistError(f"{self.directory}: cannot list the codelist directory ({exc.strerror})") from None
        for path in paths:
            release = _release_date(path)
            try:
                with path.open("rb") as fh:
                    first = fh.readline()
            except OSError as exc:
                raise CodelistError(f"{path}: cannot read the file ({exc.strerror})") from None
            name, _kinds = _parse_header(path, first.decode("iso-8859-1"))
            yield Release(name, release, path)


def _release_date(path: Path) -> dt.date:
    m = _FILE_NAME.fullmatch(path.name)
    if not m:
        raise CodelistError(
            f"{path}: expected a codelist file name that starts with its release date, "
            f"e.g. '20180101 cl beroep v20170701.txt'"
        )
    try:
        return dt.datetime.strptime(m["release"], "%Y%m%d").date()
    except ValueError:
        raise CodelistError(
            f"{path}: release date {m['release']!r} in the file name is not a date (YYYYMMDD)"
        ) from None


def _parse_header(path: Path, line: str) -> tuple[str, list[str]]:
    """The list name and the kind of each column (begindatum, code, ...) from the header row."""
    line = line.rstrip("\r\n")
    if line.startswith(_UTF8_BOM):
        line = line[len(_UTF8_BOM):]
    columns = [c.strip().lower() for c in line.split("|")]
    if len(columns) > 1 and columns[-1] == "":
        columns.pop()  # a trailing separator
    where = f"{path}:1"
    for col in columns:
        if not col.startswith("cl_"):
            raise CodelistError(f"{where}: expected a header row of columns named cl_<naam>_<kolom>, found {col!r}")
    # The name may itself contain underscores (cl_beroep_gbg_...), so cut the common prefix back
    # to its last underscore rather than at the first one after "cl_".
    prefix = os.path.commonprefix(columns)
    prefix = prefix[: prefix.rfind("_") + 1]
    if len(prefix) <= len("cl_"):
        raise CodelistError(f"{where}: expected every column to share one cl_<naam>_ prefix, found {line!r}")
    kinds = [c[len(prefix):] for c in columns]
    missing = [k for k in _REQUIRED_KINDS if k not in kinds]
    if missing:
        raise CodelistError(
            f"{where}: expected columns {', '.join(prefix + k for k in _REQUIRED_KINDS)}; "
            f"missing {', '.join(prefix + k for k in missing)}"
        )
    doubles = sorted({k for k in kinds if kinds.count(k) > 1})
    if doubles:
        raise CodelistError(f"{where}: expected each column once, found {', '.join(prefix + k for k in doubles)} twice")
    return prefix[:-1].upper(), kinds


def _read_codelist(release: Release) -> Codelist:
    path = release.path
    try:
        text = path.read_bytes().decode("iso-8859-1")
    except OSError as exc:
        raise CodelistError(f"{path}: cannot read the file ({exc.strerror})") from None
    lines = text.splitlines()
    rows = ((f"{path}:{number}", line.split("|")) for number, line in enumerate(lines[1:], start=2) if line.strip())
    return codelist_from_rows(lines[0] if lines else "", rows, release=release.release, source=str(path),
                              where=str(path), sample=is_sample_name(path.name))


def is_sample_name(file_name: str) -> bool:
    """Whether a codelist file's name marks it as a sample (the word SAMPLE), not the NZa's list."""
    return bool(_SAMPLE.search(Path(file_name).stem))


def codelist_from_rows(header: str, rows, *, release: dt.date | None, source: str, where: str,
                       sample: bool = False) -> Codelist:
    """Build one codelist release from its header (`cl_<naam>_<kolom>|...`) and its rows.

    `rows` yields (location, values) with one value per column; the location
    ("file:line", "workbook[sheet]:row") is what an error message names. Any
    other source of NZa codelists (a workbook, a table) can feed this, so the
    rules for codes, dates and selecteerbaar are written once. `sample` marks
    an invented list (see `Codelist.sample`).
    """
    name, kinds = _parse_header(where, header)
    width = len(kinds)
    i_begin, i_end, i_code = (kinds.index(k) for k in _REQUIRED_KINDS)
    i_sel = kinds.index("selecteerbaar") if "selecteerbaar" in kinds else None
    found: dict[str, list[CodeRow]] = {}
    for at, values in rows:
        if len(values) == width + 1 and values[-1].strip() == "":
            values = values[:-1]  # a trailing separator
        if len(values) != width:
            raise CodelistError(f"{at}: expected {width} columns separated by '|', found {len(values)}")
        code = values[i_code].strip()
        if not code:
            raise CodelistError(f"{at}: expected a code in column {i_code + 1} ({kinds[i_code]}), found nothing")
        begin = _date(at, kinds[i_begin], values[i_begin], open_end=False)
        end = _date(at, kinds[i_end], values[i_end], open_end=True)
        if end < begin:
            raise CodelistError(f"{at}: expected einddatum {end} on or after begindatum {begin}")
        selectable = _selectable(at, values[i_sel]) if i_sel is not None else None
        found.setdefault(code, []).append(CodeRow(begin, end, selectable))
    entries = {code: tuple(sorted(rs, key=lambda r: r.begin)) for code, rs in found.items()}
    return Codelist(name=name, release=release, source=source, entries=entries, sample=sample)


def _date(where: str, kind: str, raw: str, open_end: bool) -> int:
    value = raw.strip()
    if not value and open_end:
        return OPEN_END
    try:
        if len(value) != 8 or not value.isdigit():
            raise ValueError
        dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise CodelistError(f"{where}: expected {kind} as a date YYYYMMDD, found {raw!r}") from None
    return int(value)


def _selectable(where: str, raw: str) -> int | None:
    value = raw.strip()
    if not value:
        return None
    if value not in ("0", "1", "2"):
        raise CodelistError(f"{where}: expected selecteerbaar 0, 1 or 2, found {raw!r}")
    return int(value)
