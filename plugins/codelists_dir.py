"""Built-in codelist source: a directory of NZa codelist files (codelijsten).

An NZa codelist file is pipe-separated ISO-8859-1 text with one header row
whose columns are mostly named `cl_<naam>_<kolom>`, e.g.

    cl_beroep_begindatum|cl_beroep_einddatum|cl_beroep_code|...

The file name carries the release date first, then the list's name:
`20180101 cl beroep v20170701.txt`. A directory may hold several releases of
one list; the release in force on the delivery date is used.

A list the standard declares (`Standard.codelists`, a `CodelistSpec` per GA
name) is found by the list name in its file name and read through its
declaration, whatever its header looks like. Any other list is found by the
name its header implies: the columns' common prefix (`CL_BEROEP_GBG` for
`cl_beroep_gbg_*`). An NZa-named file whose header implies no name and that
no declaration claims is passed over, until a list it could be is asked for:
then its header is the error.

A file whose name has the word `SAMPLE` in it (`20180101 cl beroep gbg
SAMPLE.txt`) holds an invented list, not the NZa's: its `Codelist` is marked
`sample=True`, reports say so, and `--require-real-codelists` refuses a
positive assessment on it.

Lines end at LF (CR/LF as well); nothing else ends a line. Descriptions hold
Windows-1252 bytes such as 0x85 ("..."), which read as ISO-8859-1 are C1
control characters that `str.splitlines()` would take for line ends.

This provider is `trylast`, so any installed `disval_codelist_provider` wins.
"""
from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Mapping, NamedTuple

from disval.core.codelists import OPEN_END, Codelist, CodelistSpec, CodeRow, column_name, list_words
from disval.core.plugins import hookimpl

# Release date first, then a space, underscore or hyphen, then anything; `.txt` in any case.
_FILE_NAME = re.compile(r"(?P<release>\d{8})[ _-].*\.txt", re.IGNORECASE)
# The NZa's own names: "<release> cl <list> v<version date>.txt" (the version part is optional here).
_NZA_FILE_NAME = re.compile(r"\d{8}[ _-]+cl[ _-]+(?P<list>.+?)(?:[ _-]+v\d{8})?\.txt", re.IGNORECASE)
_REQUIRED_KINDS = ("begindatum", "einddatum", "code")
_UTF8_BOM = "\u00ef\u00bb\u00bf"  # a UTF-8 byte order mark read as ISO-8859-1
# The word SAMPLE, in any case, between separators: marks an invented list.
_SAMPLE = re.compile(r"(?:^|[ _.-])sample(?:[ _.-]|$)", re.IGNORECASE)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")  # C0 controls, DEL and C1 controls: not printable


class CodelistError(ValueError):
    """A codelist source that cannot be read; the message says `file:line: what was expected`."""


class Release(NamedTuple):
    """One codelist file in the directory."""

    name: str  # e.g. CL_BEROEP_GBG, from the header (from the file name when the header implies none)
    release: dt.date  # from the file name
    path: Path
    list_name: str | None = None  # the NZa list name in the file name ("tarief ggz"), if it follows the NZa's


@hookimpl(trylast=True)
def disval_codelist_provider(standard, location):
    """The directory given with `--codelists`, else the standard's shipped codelists (or None)."""
    specs = getattr(standard, "codelists", None) or {}
    if location:
        path = Path(location)
        if not path.is_dir():
            raise CodelistError(
                f"{path}: expected a directory of NZa codelist files (--codelists DIR), "
                f"but {'it is a file' if path.exists() else 'it does not exist'}"
            )
        return DirectoryCodelistProvider(path, specs)
    if standard.codelists_dir is not None and Path(standard.codelists_dir).is_dir():
        return DirectoryCodelistProvider(Path(standard.codelists_dir), specs)
    return None


class DirectoryCodelistProvider:
    """Serves the NZa codelist files in one directory; parsed lists are cached per (name, release).

    `specs` are the standard's codelist declarations by GA name; a list not
    declared is found by the name its header implies.
    """

    def __init__(self, directory: Path, specs: Mapping[str, CodelistSpec] | None = None):
        self.directory = Path(directory)
        self.specs = {name.upper(): spec for name, spec in (specs or {}).items()}
        self._releases: list[Release] | None = None
        # NZa-named files whose header implies no list name, with why: (CL_<list>, error), raised
        # only when a list that file could be is asked for (see `codelist`).
        self._unnamed: list[tuple[str, CodelistError]] = []
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
        spec = self.specs.get(name)
        if spec is not None:
            candidates = [r for r in self.releases() if r.list_name == spec.list_name]
        else:
            candidates = [r for r in self.releases() if r.name == name]
        if not candidates:
            for stem, error in self._unnamed:
                if name == stem or name.startswith(stem + "_"):  # cl beroep could be CL_BEROEP_GBG: say why not
                    raise error
            return None
        candidates.sort(key=lambda r: (r.release, r.path.name))
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
            self._cache[key] = _read_codelist(chosen, spec)
        cached = self._cache[key]
        if cached.fallback != fallback:
            # Same parsed entries; only the flag depends on the delivery date.
            return replace(cached, fallback=fallback, _indexes={})
        return cached

    def _scan(self):
        try:
            paths = sorted(p for p in self.directory.iterdir() if p.suffix.lower() == ".txt" and p.is_file())
        except OSError as exc:
            raise CodelistError(f"{self.directory}: cannot list the codelist directory ({exc.strerror})") from None
        declared = {spec.list_name for spec in self.specs.values()}
        for path in paths:
            release = _release_date(path)
            m = _NZA_FILE_NAME.fullmatch(path.name)
            # "... cl beroep gbg SAMPLE.txt" is a sample of list "beroep gbg": the word is no part of the name.
            list_name = list_words(_SAMPLE.sub(" ", m["list"])) if m else None
            try:
                with path.open("rb") as fh:
                    first = _first_line(fh.readline())
            except OSError as exc:
                raise CodelistError(f"{path}: cannot read the file ({exc.strerror})") from None
            if list_name is None and not _header_columns(first)[0].startswith("cl_"):
                # Neither named nor headed like a codelist: notes kept beside the lists (the NZa's
                # "Toelichting Codelijsten" as text), skipped like a README.
                continue
            try:
                name, _kinds = _parse_header(path, first)
            except CodelistError as error:
                if list_name is None:
                    raise  # named like no NZa list either: nothing else could tell what it is
                name = "CL_" + list_name.upper().replace(" ", "_")
                if list_name not in declared:
                    # Not an error yet: the standard may need other lists of the directory only (the
                    # NZa's tariff lists have headers that name other lists). Asking for it is one.
                    self._unnamed.append((name, error))
                    continue
                # A declared list is read through its declaration, whatever its header implies.
            yield Release(name, release, path, list_name)


def _first_line(data: bytes) -> str:
    """The first line of a file read with readline(), which only ends lines at LF."""
    return data.decode("iso-8859-1").rstrip("\r\n")


def lines_of(data: bytes) -> list[str]:
    """ISO-8859-1 text split into lines at LF or CR/LF only.

    `str.splitlines()` also ends a line at U+0085 and other C1 and C0
    controls, which are bytes an NZa description may hold (0x85, "...").
    A final line end does not start another line.
    """
    text = data.decode("iso-8859-1")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


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
    columns = _header_columns(line)
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


def _read_codelist(release: Release, spec: CodelistSpec | None = None) -> Codelist:
    path = release.path
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CodelistError(f"{path}: cannot read the file ({exc.strerror})") from None
    lines = lines_of(data)
    rows = ((f"{path}:{number}", line.split("|")) for number, line in enumerate(lines[1:], start=2) if line.strip())
    return codelist_from_rows(lines[0] if lines else "", rows, release=release.release, source=str(path),
                              where=str(path), spec=spec, sample=is_sample_name(path.name))


def is_sample_name(file_name: str) -> bool:
    """Whether a codelist file's name marks it as a sample (the word SAMPLE), not the NZa's list."""
    return bool(_SAMPLE.search(Path(file_name).stem))


class _Header(NamedTuple):
    """How a header row is read: the list's name, every column's name, and where key, dates and selecteerbaar are."""

    name: str
    columns: tuple[str, ...]
    key: tuple[int, ...]
    begin: int
    end: int
    selectable: int | None


def _header(where, line: str, spec: CodelistSpec | None) -> _Header:
    if spec is None:
        name, kinds = _parse_header(where, line)
        sel = kinds.index("selecteerbaar") if "selecteerbaar" in kinds else None
        return _Header(name, tuple(kinds), (kinds.index("code"),), kinds.index("begindatum"),
                       kinds.index("einddatum"), sel)
    raw = _header_columns(line)
    at = f"{where}:1"
    blank = [str(i + 1) for i, c in enumerate(raw) if not c]
    if blank:
        raise CodelistError(f"{at}: expected a name for every column of the header, found none in column {blank[0]}")
    columns = [spec.column_name(c) for c in raw]
    doubles = sorted({c for c in columns if columns.count(c) > 1})
    if doubles:
        raise CodelistError(f"{at}: expected each column once, found {', '.join(doubles)} twice")
    needed = (*spec.key, spec.begin, spec.end)
    missing = [c for c in needed if c not in columns]
    if missing:
        raise CodelistError(
            f"{at}: expected columns {', '.join(needed)} for {spec.name} (list '{spec.file}'); "
            f"missing {', '.join(missing)}; the header has {', '.join(columns)}"
        )
    sel = columns.index(spec.selectable) if spec.selectable in columns else None
    return _Header(spec.name, tuple(columns), tuple(columns.index(k) for k in spec.key),
                   columns.index(spec.begin), columns.index(spec.end), sel)


def _header_columns(line: str) -> list[str]:
    """The header's column names as written, lower case, without a byte order mark or a trailing separator."""
    line = line.rstrip("\r\n")
    if line.startswith(_UTF8_BOM):
        line = line[len(_UTF8_BOM):]
    columns = [c.strip().lower() for c in line.split("|")]
    if len(columns) > 1 and columns[-1] == "":
        columns.pop()  # a trailing separator
    return columns


def codelist_from_rows(header: str, rows, *, release: dt.date | None, source: str, where: str,
                       spec: CodelistSpec | None = None, sample: bool = False) -> Codelist:
    """Build one codelist release from its header (`cl_<naam>_<kolom>|...`) and its rows.

    `rows` yields (location, values) with one value per column; the location
    ("file:line", "workbook[sheet]:row") is what an error message names. Any
    other source of NZa codelists (a workbook, a table) can feed this, so the
    rules for codes, dates and selecteerbaar are written once. With a `spec`
    the header is read through that declaration (its key, date and
    selecteerbaar columns, the list named as the spec says); without one the
    header must follow `cl_<naam>_<kolom>` and the key is its `code` column.
    `sample` marks an invented list (see `Codelist.sample`).
    """
    h = _header(where, header, spec)
    width = len(h.columns)
    found: dict = {}
    shared: dict[str, str] = {}  # one object per distinct value: tariff lists repeat 'groen', '0', '' a lot
    for at, values in rows:
        if len(values) == width + 1 and values[-1].strip() == "":
            values = values[:-1]  # a trailing separator
        if len(values) != width:
            raise CodelistError(f"{at}: expected {width} columns separated by '|', found {len(values)}")
        texts = [shared.setdefault(v, v) for v in (v.strip() for v in values)]
        for i in h.key:
            if not texts[i]:
                raise CodelistError(f"{at}: expected a code in column {i + 1} ({h.columns[i]}), found nothing")
            if _CONTROL.search(texts[i]):
                # A description may hold a Windows-1252 byte such as 0x85; a code never holds a control byte.
                raise CodelistError(f"{at}: expected a code of printable ISO-8859-1 characters in column {i + 1} "
                                    f"({h.columns[i]}), found {texts[i]!r}")
        code = texts[h.key[0]] if len(h.key) == 1 else tuple(texts[i] for i in h.key)
        begin = _date(at, h.columns[h.begin], values[h.begin], open_end=False)
        end = _date(at, h.columns[h.end], values[h.end], open_end=True)
        if end < begin:
            raise CodelistError(f"{at}: expected {h.columns[h.end]} {end} on or after {h.columns[h.begin]} {begin}")
        selectable = _selectable(at, values[h.selectable]) if h.selectable is not None else None
        found.setdefault(code, []).append(CodeRow(begin, end, selectable, dict(zip(h.columns, texts))))
    entries = {code: tuple(sorted(rs, key=lambda r: r.begin)) for code, rs in found.items()}
    key = tuple(h.columns[i] for i in h.key)
    return Codelist(name=h.name, release=release, source=source, entries=entries, key=key, columns=h.columns,
                    sample=sample)


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
