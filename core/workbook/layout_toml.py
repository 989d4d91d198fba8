"""From a read workbook to the layout a standard plugin ships (the format of `disval.core.layout`).

What the workbook states is taken as it is; what it leaves implicit is derived
by rules an NZa GA follows, each named here:

- a file's key is its attributes marked PK, in column order;
- a foreign key refers to the key of the file its FK validation names
  ("1464 Zorgtrajectnummer is niet meegeleverd in ZORGTRAJECT.txt"); when that
  key is composite, to its attribute of the same name (Koppelnummer);
- the attribute named "Status vlag" is the file's status flag (GA: mutation model);
- the file PAKBON.txt is the packing slip;
- a Codetabel entry that names CL_... lists is the field's codelists, any
  other entry (AGB register, UZOVI, ISO 3166-1) is an external reference for people;
- where an attribute's length disagrees with its begin and end columns (the
  GA prints "AN 14, 181-204"), the columns win, since they fix every later
  field's position, and the correction is noted in the file.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .english import ENGLISH_FILE, English
from .sheet import Attribute, GaWorkbook

PACKING_SLIP = "PAKBON.txt"
STATUS_FLAG_NAME = "status vlag"
_FK_TEXT = re.compile(r"^(\d{4}) .+ is niet meegeleverd in (\S+\.txt)$", re.IGNORECASE)
_CODELIST = re.compile(r"\bCL_[A-Z0-9_]+")


@dataclass(frozen=True)
class LayoutNote:
    """Something the importer decided that the workbook does not state outright."""

    ddid: str
    text: str


def layout_data(wb: GaWorkbook, english: English | None = None) -> tuple[dict, list[LayoutNote]]:
    """The layout as TOML-ready data ({"files": [...]}) and the notes on what was corrected.

    Each attribute's `name_en` comes from `english` (the standard's english.toml); an attribute it does
    not name gets a note when a file was read, so the gap is visible in the layout itself.
    """
    english = english or English()
    notes: list[LayoutNote] = []
    references = foreign_keys(wb, notes)
    files = []
    for f in wb.files:
        fields = []
        for a in f.attributes:
            fields.append(_field(a, references.get(a.ddid, ""), notes))
            if a.ddid in english.names:
                fields[-1]["name_en"] = english.names[a.ddid]
            elif english.source:
                notes.append(LayoutNote(a.ddid, f"no English name in {ENGLISH_FILE}: reports in English show "
                                                f"the Dutch name"))
        entry: dict = {"name": f.name, "title": _title(f.name)}
        key = [a.ddid for a in f.attributes if "PK" in _keys(a.key)]
        if key:
            entry["key"] = key
        if f.name.lower() == PACKING_SLIP.lower():
            entry["packing_slip"] = True
        flag = next((a.ddid for a in f.attributes if a.name.lower() == STATUS_FLAG_NAME), "")
        if flag:
            entry["status_flag"] = flag
        entry["fields"] = fields
        files.append(entry)
    return {"files": files}, notes


def foreign_keys(wb: GaWorkbook, notes: list[LayoutNote] | None = None) -> dict[str, str]:
    """{FK DDID: DDID of the key attribute it refers to}, from the FK validations' text."""
    out: dict[str, str] = {}
    for v in wb.validations.values():
        m = _FK_TEXT.match(v.text) if v.type == "FK" else None
        if not m:
            continue
        ddid, target_name = m.groups()
        target = next((f for f in wb.files if f.name.lower() == target_name.lower()), None)
        fk = wb.attribute(ddid)
        if target is None or fk is None:
            continue
        key = [a for a in target.attributes if "PK" in _keys(a.key)]
        same_name = [a for a in key if a.name.lower() == fk.name.lower()]
        if len(key) == 1:
            out[ddid] = key[0].ddid
        elif len(same_name) == 1:
            out[ddid] = same_name[0].ddid
            if notes is not None:
                notes.append(LayoutNote(ddid, f"refers to {same_name[0].ddid} {same_name[0].name}, the attribute of "
                                              f"the same name in {target.name}'s composite key"))
    return out


def _field(a: Attribute, references: str, notes: list[LayoutNote]) -> dict:
    length = a.end - a.begin + 1
    if length != a.length:
        notes.append(LayoutNote(a.ddid, f"the GA gives length {a.length} but columns {a.begin}-{a.end}; "
                                        f"length {length} is used"))
    out: dict = {"ddid": a.ddid, "name": a.name, "type": a.type, "length": length, "begin": a.begin, "end": a.end}
    if a.pattern:
        out["pattern"] = a.pattern
    out["mandatory"] = a.mandatory
    if a.key:
        out["key"] = a.key
    codelists = _CODELIST.findall(a.codetable)
    if codelists:
        out["codelist"] = codelists
    rest = _CODELIST.sub("", a.codetable)
    if re.sub(r"\bof\b|[\s,]", "", rest) or (a.codetable and not codelists):
        out["reference"] = ", ".join(x for x in (a.codetable, a.code_org) if x)
    if references:
        out["references"] = references
    return out


def _keys(key: str) -> set[str]:
    return {k.strip().upper() for k in key.split(",") if k.strip()}


def _title(name: str) -> str:
    """'DBC_TRAJECT.txt' -> 'DBC traject': sentence case, short words (abbreviations) kept upper case."""
    words = name.rsplit(".", 1)[0].split("_")
    out = [w if len(w) <= 3 else w.lower() for w in words]
    if out and len(out[0]) > 3:
        out[0] = out[0].capitalize()
    return " ".join(out)


def render_layout(data: dict, notes: list[LayoutNote], header: str) -> str:
    """The layout as TOML text, one inline table per field, in the style of the shipped layouts."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    lines += [
        "# begin/end are 1-based inclusive byte columns; mandatory: V (verplicht), O (optioneel),",
        "# CV (conditioneel verplicht); key: PK/FK as the GA marks it; references: the key a foreign key refers to.",
    ]
    if any("name_en" in fld for f in data["files"] for fld in f["fields"]):
        lines.append(f"# name_en: the attribute's name in English, for reports under --lang en (from {ENGLISH_FILE}).")
    by_ddid = {}
    for note in notes:
        by_ddid.setdefault(note.ddid, []).append(note.text)
    for f in data["files"]:
        lines += ["", "[[files]]"]
        for k in ("name", "title", "key", "packing_slip", "status_flag"):
            if k in f:
                lines.append(f"{k} = {_value(f[k])}")
        lines.append("fields = [")
        width = max((len(_value(fld["name"])) for fld in f["fields"]), default=0)
        for fld in f["fields"]:
            for text in by_ddid.get(fld["ddid"], ()):
                lines.append(f"  # {fld['ddid']}: {text}")
            parts = []
            for k, v in fld.items():
                part = f"{k} = {_value(v)}"
                if k == "name":
                    part += "," + " " * (width - len(_value(v)))
                    parts.append(part)
                    continue
                parts.append(part + ",")
            body = " ".join(parts).rstrip(",")
            lines.append(f"  {{ {body} }},")
        lines.append("]")
    return "\n".join(lines) + "\n"


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return json.dumps(str(v), ensure_ascii=False)  # a JSON string is a valid TOML basic string
