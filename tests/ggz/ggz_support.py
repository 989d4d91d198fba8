"""Helpers for the GA DBC-GGZ 9.0 tests: records of a generated delivery, and a small codelist directory."""
from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path

from disval.core.standard import Standard
from disval.plugins.ga_dbc_ggz import standard

# A handful of codes per list, valid over the years a generated delivery spans (2017-2019). Made up
# for the tests, except that they have the NZa's shapes; the real lists live in ../shared/nza.
CODES = {
    "CL_ZORGTYPE_GGZ": [("101", "1"), ("106", "1"), ("100", "0")],
    "CL_CIRCUIT_GGZ": [("1", ""), ("2", "")],
    "CL_REDENSLUITEN_GGZ": [("1", ""), ("3", "")],
    "CL_BEROEP_GGZ": [("MB.01", "1"), ("MB.02", "1"), ("MB", "0")],
    "CL_HOOFDBEROEPEN_GGZ": [("MB.01", ""), ("MB.02", "")],
    "CL_ACTIVITEIT_GGZ": [("act_1", "1"), ("act_2", "1"), ("act_8.1", "1"), ("act_9.1", "1"), ("act_10.1", "1")],
    "CL_DIAGNOSE_GGZ": [("as1_1.01", "1"), ("as1_2.02", "1")],
}


def records(zip_path: Path, member: str) -> list[dict[str, str]]:
    """Each record of `member` as {DDID: raw text}."""
    layout = standard().layout.file(member)
    data = zipfile.ZipFile(zip_path).read(member).decode("iso-8859-1")
    lines = data.split("\r\n")
    assert lines[-1] == ""
    return [{f.ddid: line[f.start:f.end] for f in layout.fields} for line in lines[:-1]]


def write_codelists(directory: Path) -> Path:
    """Write CODES as NZa codelist files the installed codelist provider reads as the GA's lists.

    With per-standard codelist declarations (`Standard.codelists`) the files are named and headed as the
    NZa does ("cl beroep", cl_beroep_*); before them, the header must carry the GA's name itself.
    """
    directory.mkdir(parents=True, exist_ok=True)
    declared = "codelists" in {f.name for f in dataclasses.fields(Standard)}
    from disval.plugins.ga_dbc_ggz import codelist_declarations

    files = codelist_declarations()
    for name, codes in CODES.items():
        if declared:
            list_name = files[name]["file"]
            prefix = "cl_" + list_name.replace(" ", "_")
        else:
            list_name = name.removeprefix("CL_").lower().replace("_", " ")
            prefix = name.lower()
        header = "|".join(f"{prefix}_{c}" for c in ("begindatum", "einddatum", "code", "selecteerbaar"))
        rows = [f"20100101|99991231|{code}|{sel}" for code, sel in codes]
        (directory / f"20190101 cl {list_name} v20190101.txt").write_text("\n".join([header, *rows]) + "\n",
                                                                     encoding="iso-8859-1")
    return directory
