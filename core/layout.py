"""The layout model: files and attributes of a Gegevensaanleverstandaard (GA §6.3-6.4).

A standard's plugin supplies its layout as data (a TOML file); the core only
knows the shape: files made of fixed-width fields identified by a DDID.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib  # novermin (3.10 takes the fallback below)
except ImportError:  # Python 3.10: the same parser, published as tomli
    import tomli as tomllib

FIELD_TYPES = ("AN", "N", "D")


class LayoutError(ValueError):
    """A layout file that does not describe a consistent fixed-width layout."""


@dataclass(frozen=True)
class Field:
    """One attribute of a file (GA: attribuut), addressed by its DDID."""

    ddid: str
    name: str
    type: str  # AN, N or D
    length: int
    begin: int  # 1-based, inclusive
    end: int  # 1-based, inclusive
    file: str
    pattern: str = ""
    mandatory: str = "O"
    key: str = ""
    codelists: tuple[str, ...] = ()
    reference: str = ""  # an external register the GA names (AGB, KvK), for people
    identifying: bool = False
    references: str = ""  # DDID of the key field this foreign key refers to (GA: FK), "" if none
    name_en: str = ""  # the name in English, for reports in English ("" : the GA's Dutch name is used)

    @property
    def start(self) -> int:
        """0-based offset of the first byte of the field within a record."""
        return self.begin - 1

    @property
    def label(self) -> str:
        """DDID and name as the GA writes them, e.g. '3262 Begindatum behandeltraject'."""
        return f"{self.ddid} {self.name}"


@dataclass(frozen=True)
class FileLayout:
    """One member file of a delivery (GA: subbestand)."""

    name: str
    title: str
    fields: tuple[Field, ...]
    key: tuple[str, ...] = ()
    packing_slip: bool = False
    status_flag: str = ""  # DDID of the status vlag (' ' new or changed, 'V' deleted), "" for full loads

    @property
    def record_length(self) -> int:
        """Bytes per record, without the CR/LF line end."""
        return max(f.end for f in self.fields)

    @property
    def stem(self) -> str:
        """The file name without its extension, e.g. 'BEHANDELTRAJECT'."""
        return self.name.rsplit(".", 1)[0]


@dataclass(frozen=True)
class AbsentAttribute:
    """An attribute named by the standard's rules that this standard does not deliver."""

    ddid: str
    name: str
    file: str


@dataclass(frozen=True)
class Layout:
    """All files of a standard, with a DDID index over their fields."""

    files: tuple[FileLayout, ...]
    absent: tuple[AbsentAttribute, ...] = ()
    absent_files: dict[str, str] = field(default_factory=dict)  # file name -> key DDID

    def __post_init__(self):
        index: dict[str, Field] = {}
        for f in self.files:
            for fld in f.fields:
                if fld.ddid in index:
                    raise LayoutError(f"DDID {fld.ddid} occurs in {index[fld.ddid].file} and {f.name}")
                index[fld.ddid] = fld
        object.__setattr__(self, "_index", index)

    def field(self, ddid: str) -> Field | None:
        """The delivered field with this DDID, or None."""
        return self._index.get(ddid)

    def absent_attribute(self, ddid: str) -> AbsentAttribute | None:
        """The attribute with this DDID if the standard names it but does not deliver it."""
        return next((a for a in self.absent if a.ddid == ddid), None)

    def file(self, name: str) -> FileLayout | None:
        """The file layout with this name; names match case-insensitively (the GA writes .txt and .TXT)."""
        low = name.lower()
        return next((f for f in self.files if f.name.lower() == low), None)

    @property
    def packing_slip(self) -> FileLayout | None:
        """The file that describes the delivery itself (GA: pakbon), if the standard has one."""
        return next((f for f in self.files if f.packing_slip), None)

    @property
    def fields(self) -> list[Field]:
        """Every delivered field, in file order."""
        return [fld for f in self.files for fld in f.fields]


def load_layout(path: Path) -> Layout:
    """Read a layout TOML file and check that every file's columns are contiguous and consistent."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise LayoutError(f"{path}: {exc}") from None
    files = []
    for fdata in data.get("files", []):
        fields = []
        for raw in fdata["fields"]:
            fld = Field(
                ddid=str(raw["ddid"]),
                name=raw["name"],
                type=raw["type"],
                length=int(raw["length"]),
                begin=int(raw["begin"]),
                end=int(raw["end"]),
                file=fdata["name"],
                pattern=raw.get("pattern", ""),
                mandatory=raw.get("mandatory", "O"),
                key=raw.get("key", ""),
                codelists=tuple(raw.get("codelist", ())),
                reference=raw.get("reference", ""),
                identifying=bool(raw.get("identifying", False)),
                references=str(raw.get("references", "")),
                name_en=str(raw.get("name_en", "")),
            )
            _check_field(path, fld)
            fields.append(fld)
        expected = 1
        for fld in sorted(fields, key=lambda f: f.begin):
            if fld.begin != expected:
                raise LayoutError(f"{path}: {fdata['name']} field {fld.ddid} begins at {fld.begin}, expected {expected}")
            expected = fld.end + 1
        files.append(
            FileLayout(
                name=fdata["name"],
                title=fdata.get("title", fdata["name"]),
                fields=tuple(fields),
                key=tuple(fdata.get("key", ())),
                packing_slip=bool(fdata.get("packing_slip", False)),
                status_flag=str(fdata.get("status_flag", "")),
            )
        )
    absent = tuple(AbsentAttribute(str(a["ddid"]), a["name"], a["file"]) for a in data.get("absent", []))
    absent_files = {a["name"]: str(a.get("key", "")) for a in data.get("absent_files", [])}
    layout = Layout(files=tuple(files), absent=absent, absent_files=absent_files)
    _check_links(path, layout)
    return layout


def _check_links(path, layout: Layout) -> None:
    """Foreign keys must name a delivered field; a status flag must be a field of its own file."""
    for f in layout.files:
        for fld in f.fields:
            if fld.references and layout.field(fld.references) is None:
                raise LayoutError(f"{path}: field {fld.ddid} references {fld.references}, which no file delivers")
        if f.status_flag and f.status_flag not in {fld.ddid for fld in f.fields}:
            raise LayoutError(f"{path}: {f.name} declares status flag {f.status_flag}, which is not one of its fields")


def _check_field(path, fld: Field) -> None:
    if fld.type not in FIELD_TYPES:
        raise LayoutError(f"{path}: field {fld.ddid} has type {fld.type!r}, expected one of {FIELD_TYPES}")
    if fld.end - fld.begin + 1 != fld.length:
        raise LayoutError(f"{path}: field {fld.ddid} spans {fld.begin}-{fld.end} but has length {fld.length}")
