"""A small test standard with parents, children and grandchildren, for the rule language's new forms.

OUDER.txt (parent) <- KIND.txt (child, through 9203; has a status vlag) <- KLEINKIND.txt (grandchild,
through 9302, composite key 9302 + 9301). The foreign key 9203 is wider than the key it refers to, so
keys are compared padded. Codelists: CL_SOORT (one key, with a `soort` column) and CL_TARIEF (keyed by
groep + code, with a `max` column). Deliveries are built record by record, so tests plant exactly the
values they mean.
"""
from __future__ import annotations

import dataclasses
import random
import re
import zipfile
from pathlib import Path

from disval.core.codelists import CodeRow
from disval.core.layout import load_layout
from disval.core.plugins import get_plugin_manager, hookimpl
from listed_codelists import ListedCodelists
from disval.core.standard import DIS_POLICY, RULE_TYPES, Standard, ZipNaming

LAYOUT = """
[[files]]
name = "PAKBON.txt"
packing_slip = true
fields = [
  {ddid = "9001", name = "Creatiedatum", type = "D", length = 8, begin = 1, end = 8},
  {ddid = "9002", name = "Aantal kind", type = "N", length = 6, begin = 9, end = 14},
]

[[files]]
name = "OUDER.txt"
key = ["9101"]
fields = [
  {ddid = "9101", name = "Oudernummer", type = "AN", length = 6, begin = 1, end = 6, key = "PK"},
  {ddid = "9102", name = "Begindatum ouder", type = "D", length = 8, begin = 7, end = 14},
  {ddid = "9103", name = "Einddatum ouder", type = "D", length = 8, begin = 15, end = 22},
  {ddid = "9104", name = "Naam", type = "AN", length = 8, begin = 23, end = 30},
  {ddid = "9105", name = "BSN", type = "AN", length = 9, begin = 31, end = 39, pattern = "NNNNNNNNN"},
  {ddid = "9106", name = "Postcode", type = "AN", length = 6, begin = 40, end = 45},
]

[[files]]
name = "KIND.txt"
key = ["9201"]
status_flag = "9202"
fields = [
  {ddid = "9201", name = "Kindnummer", type = "AN", length = 6, begin = 1, end = 6, key = "PK"},
  {ddid = "9202", name = "Status vlag", type = "AN", length = 1, begin = 7, end = 7},
  {ddid = "9203", name = "Oudernummer", type = "AN", length = 8, begin = 8, end = 15, key = "FK", references = "9101"},
  {ddid = "9204", name = "Begindatum kind", type = "D", length = 8, begin = 16, end = 23},
  {ddid = "9205", name = "Einddatum kind", type = "D", length = 8, begin = 24, end = 31},
  {ddid = "9206", name = "Soortcode", type = "AN", length = 10, begin = 32, end = 41, codelist = ["CL_SOORT"]},
  {ddid = "9207", name = "Aantal", type = "N", length = 4, begin = 42, end = 45},
  {ddid = "9208", name = "Tarief", type = "N", length = 6, begin = 46, end = 51, codelist = ["CL_TARIEF"]},
  {ddid = "9209", name = "Groep", type = "AN", length = 3, begin = 52, end = 54},
  {ddid = "9210", name = "Prestatie", type = "AN", length = 12, begin = 55, end = 66},
]

[[files]]
name = "KLEINKIND.txt"
key = ["9302", "9301"]
fields = [
  {ddid = "9301", name = "Kleinkindnummer", type = "AN", length = 6, begin = 1, end = 6, key = "PK"},
  {ddid = "9302", name = "Kindnummer", type = "AN", length = 6, begin = 7, end = 12, key = "FK", references = "9201"},
  {ddid = "9303", name = "Datum", type = "D", length = 8, begin = 13, end = 20},
  {ddid = "9304", name = "Soortcode", type = "AN", length = 10, begin = 21, end = 30, codelist = ["CL_SOORT"]},
]
"""

NAMING = ZipNaming(
    pattern=re.compile(r"FAM_(?P<phase>PROD|TEST)_(?P<provider>\d{8})_(?P<branch>\d{2})_(?P<created>\d{8})"
                       r"_(?P<sequence>\d{2})\.zip"),
    claims=re.compile(r"FAM_.*"),
    phases={"PROD": "production", "TEST": "test"},
    part_types={"phase": "AN", "provider": "AN", "branch": "AN", "created": "D", "sequence": "AN", "name": "AN"},
)

# Codelist declarations (Standard.codelists, CodelistSpec) come with the real-codelist work of issue 9;
# where this disval has them, the family standard declares CL_TARIEF's composite key.
DECLARATIONS = "codelists" in {f.name for f in dataclasses.fields(Standard)}


def _specs() -> dict:
    if not DECLARATIONS:
        return {}
    from disval.core.codelists import CodelistSpec

    return {"CL_SOORT": CodelistSpec("CL_SOORT", "soort"),
            "CL_TARIEF": CodelistSpec("CL_TARIEF", "tarief", key=("groep", "code"))}


def family_standard(tmp: Path, rules: str, rule_types=RULE_TYPES + ("PVM",)) -> Standard:
    """The family standard with `rules` as its only rules file (written into `tmp`)."""
    (tmp / "family.toml").write_text(LAYOUT, encoding="utf-8")
    (tmp / "family.rules").write_text(rules, encoding="utf-8")
    return Standard(
        id="FAMILY-1", title="test standard: parents and children", version="1", layout=load_layout(tmp / "family.toml"),
        rule_files=(tmp / "family.rules",), naming=NAMING, policies={"dis": DIS_POLICY}, default_policy="dis",
        rule_types=rule_types, **({"codelists": _specs()} if DECLARATIONS else {}),
    )


def _row(begin, end, selectable=1, **attributes) -> CodeRow:
    return CodeRow(begin, end, selectable, attributes={k: str(v) for k, v in attributes.items()})


CODELISTS = {
    "CL_SOORT": {
        "A1": (_row(20000101, 20171231, soort="Tijd"), _row(20180101, 99991231, soort="Dag")),
        "A2": (_row(20000101, 99991231, soort="Tijd"),),
        "act_6.1": (_row(20000101, 99991231, soort="Crisis"),),
        "B7": (_row(20100101, 20191231, 0, soort="Dag"),),
        "C9": (_row(20000101, 99991231, soort=""),),
    },
    "CL_TARIEF": {
        ("P01", "A1"): (_row(20000101, 99991231, max=5000),),
        ("P01", "A2"): (_row(20000101, 20181231, max=100), _row(20190101, 99991231, max="n.v.t.")),
        ("P02", "A1"): (_row(20000101, 99991231, max=0),),
    },
}


class FamilyPlugin:
    """Declares the family standard and its codelists."""

    def __init__(self, std: Standard):
        self.std = std

    @hookimpl
    def disval_standards(self):
        return [self.std]

    @hookimpl
    def disval_codelist_provider(self, standard, location):
        return ListedCodelists(CODELISTS, "the family test lists") if standard.id == self.std.id else None


def family_pm(std: Standard):
    """A plugin manager with the built-ins and the family standard."""
    pm = get_plugin_manager()
    pm.register(FamilyPlugin(std))
    return pm


def fit(fld, value) -> bytes:
    """A value as it stands in the field: numbers right-aligned, the rest left-aligned, cut to the width."""
    raw = value if isinstance(value, bytes) else str(value).encode("latin-1")
    raw = raw[: fld.length]
    return raw.rjust(fld.length) if fld.type == "N" else raw.ljust(fld.length)


def record(layout, file: str, values: dict) -> bytearray:
    """One record of `file`: `values` by DDID, every other field blank."""
    f = layout.file(file)
    rec = bytearray(b" " * f.record_length)
    for ddid, value in values.items():
        fld = layout.field(ddid)
        rec[fld.start:fld.end] = fit(fld, value)
    return rec


def clean_members(layout) -> dict[str, list[bytearray]]:
    """A small delivery that breaks none of the rules in RULES: two parents, three children, two grandchildren."""
    ouder = [
        record(layout, "OUDER.txt", {"9101": "O1", "9102": "20180101", "9103": "20181231", "9104": "Jansen",
                                     "9105": "111222333", "9106": "1234AB"}),
        record(layout, "OUDER.txt", {"9101": "O2", "9102": "20170601", "9103": "20190101", "9104": "Bakker",
                                     "9105": "123456782", "9106": "9999ZZ"}),
    ]
    kind = [
        record(layout, "KIND.txt", {"9201": "K1", "9203": "O1", "9204": "20180201", "9205": "20180301",
                                    "9206": "A1", "9207": "10", "9208": "4000", "9209": "P01", "9210": "xxxxxxxxxA1x"}),
        record(layout, "KIND.txt", {"9201": "K2", "9203": "O2", "9204": "20180101", "9205": "20181231",
                                    "9206": "A2", "9207": "300", "9208": "90", "9209": "P01", "9210": "xxxxxxxxxA2x"}),
        record(layout, "KIND.txt", {"9201": "K3", "9203": "O1", "9204": "20180301", "9205": "20180310",
                                    "9206": "act_6.1", "9207": "5", "9208": "0", "9209": "P02", "9210": "123"}),
    ]
    klein = [
        record(layout, "KLEINKIND.txt", {"9301": "G1", "9302": "K1", "9303": "20180215", "9304": "A1"}),
        record(layout, "KLEINKIND.txt", {"9301": "G2", "9302": "K2", "9303": "20180601", "9304": "A2"}),
    ] + [record(layout, "KLEINKIND.txt", {"9301": k, "9302": k, "9303": day, "9304": "A2"})
         for k, day in (("K1", "20180215"), ("K2", "20180601"), ("K3", "20180305"))]
    slip = [record(layout, "PAKBON.txt", {"9001": "20190105", "9002": "3"})]
    return {"PAKBON.txt": slip, "OUDER.txt": ouder, "KIND.txt": kind, "KLEINKIND.txt": klein}


def write_zip(members: dict[str, list[bytearray]], target: Path) -> Path:
    """The members as a delivery zip (CRLF line ends)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, lines in members.items():
            zf.writestr(name, b"".join(bytes(line) + b"\r\n" for line in lines))
    return target


ZIP_NAME = "FAM_TEST_12345678_00_20190105_01.zip"

# Every new form of the language, at least once; each rule is broken by none of clean_members().
RULES = """
9204 < 9102 => ERR F-01 BR "a child may not begin before its parent"
9204 < 9102 or 9205 > 9103 => ERR F-02 BR "a child lies within its parent's period"
9303 < 9204 or 9303 > 9205 => ERR F-03 BR "a grandchild's date within its child's period"
9303 < 9102 => WRN F-04 BR "a grandchild's date before its grandparent began"
9104 = 'Bakker' and 9207 > 500 => WRN F-05 BR "a parent's text field"
count(KIND.txt where 9206 = 'act_6.1' per 9203) > 1 => ERR F-06 BR "more than one crisis child per parent"
count(KLEINKIND.txt where 9303 is filled per 9302) > 2 => WRN F-07 BR "more than two grandchildren per child"
count(OUDER.txt where 9104 like 'XX%') = count(OUDER.txt) => ERR F-08 BR "every name pseudonymised"
count(KIND.txt where 9202 = 'V') > 9002 => WRN F-09 V "more deletions than children on the slip"
CL_SOORT(9206 at 9204).soort != 'Tijd' and 9207 > 200 => ERR F-10 BR "more than 200 for other than Tijd"
9208 > CL_TARIEF(9209, 9206 at 9204).max => WRN F-11 BR "tariff above the maximum"
CL_SOORT(9304 at 9204).soort = 'Crisis' => WRN F-12 BR "a grandchild's code read at its child's date"
days(9204, 9205) + 1 > 365 => WRN F-13 BR "longer than a year"
9207 > days(9204, 9205) + 1 => ERR F-14 BR "more than one per day"
9207 - 1 + 2 < 0 => ERR F-15 BR "arithmetic to the left"
9206[1..2] != 9210[10..11] and 9210 like 'xxxxxxxxx%' => ERR F-16 BR "positions against positions"
9106 not like '9999XX' => ERR F-17 BR "a Dutch postcode"
9206 like 'act\\_6.%' and 9207 > 100 => WRN F-18 BR "a crisis code with much time"
9105 fails elfproef and 9105 != '111222333' => ERR F-19 PVM "the BSN fails the elfproef"
9102 > today => ERR F-20 PVM "begins in the future"
(9302, 9301) is not unique => ERR F-21 UK "grandchild key twice"
(9201, 9201) not in file KLEINKIND.txt => WRN F-22 FK "no grandchild numbered as the child itself (a composite reference)"
9301 is not unique across 9101 => WRN F-23 BR "a number used by a parent and a grandchild"
9203 not in file OUDER.txt => ERR F-24 FK "the child's parent is not delivered"
9204 is empty => ERR F-25 M "begin date missing (not on deletions)"
9203 is empty => ERR F-26 M "parent number missing (also on deletions)"
9207 < 0 => ERR F-27 BR "a negative amount, checked on deletions too" applies to deletions
9201 deleted but not stored => WRN F-28 BR "a deletion of a child DIS does not hold"
9206 not selectable in CL_SOORT at 9204 => ERR F-29 BR "not selectable"
9302 not in file KIND.txt => ERR F-30 FK "the grandchild's child is not delivered"
count(KLEINKIND.txt where 9303 < 9102) > 1 => WRN F-31 BR "a count whose condition reads the grandparent"
count(KIND.txt where 9204 > 9103 per 9203) > 0 => WRN F-32 BR "a count per parent whose condition reads the parent"
"""


def random_members(layout, seed: int) -> dict[str, list[bytearray]]:
    """A delivery full of near misses: dangling and blank keys, deletions, odd dates, codes and numbers."""
    rng = random.Random(seed)
    dates = ["20180101", "20180215", "20171231", "20181231", "20190101", "20160229", "20180231", "        ",
             "2018010 ", "20991231", "19000101"]
    codes = ["A1", "A2", "act_6.1", "act_6.", "B7", "C9", "ZZ", "  A1", "a1", "          "]
    numbers = ["10", "0", "-3", "400", "1", "abc", "", "9999", "366", "-0"]
    keys = ["O1", "O2", "O3", "O1  ", " O1", "", "K1", "K2", "K3", "G1", "O1\x00"]
    ouder = [record(layout, "OUDER.txt", {
        "9101": rng.choice(keys[:6]), "9102": rng.choice(dates), "9103": rng.choice(dates),
        "9104": rng.choice(["XXab", "Jansen", "XX", "xX", "", "Bakker"]),
        "9105": rng.choice(["123456782", "111222333", "123456789", "12345678 ", "999999999", "", "1234567a9"]),
        "9106": rng.choice(["1234AB", "1234ab", "123AB", "9999ZZ", "", "1234 AB", "12345A"]),
    }) for _ in range(rng.randint(0, 6))]
    crisis = rng.random() < 0.3  # many crisis children: several per parent
    kind = [record(layout, "KIND.txt", {
        "9201": rng.choice(keys[6:9] + ["G1", "K4", ""]), "9202": rng.choice([" ", " ", "V", "X"]),
        "9203": rng.choice(keys), "9204": rng.choice(dates), "9205": rng.choice(dates),
        "9206": "act_6.1" if crisis and rng.random() < 0.6 else rng.choice(codes), "9207": rng.choice(numbers), "9208": rng.choice(numbers + ["5001", "4999"]),
        "9209": rng.choice(["P01", "P02", "P03", ""]),
        "9210": rng.choice(["xxxxxxxxxA1x", "xxxxxxxxxA2x", "xxxxxxxxxac", "", "123"]),
    }) for _ in range(rng.randint(0, 12))]
    klein = [record(layout, "KLEINKIND.txt", {
        "9301": rng.choice(["G1", "G2", "K1", "", "G3", "O1"]), "9302": rng.choice(["K1", "K1", "K2", "", "K4", "K1 "]),
        "9303": rng.choice(dates), "9304": rng.choice(codes),
    }) for _ in range(rng.randint(0, 10))]
    slip = [record(layout, "PAKBON.txt", {"9001": "20190105", "9002": rng.choice(["3", "0", "x"])})]
    members = {"PAKBON.txt": slip, "OUDER.txt": ouder, "KIND.txt": kind, "KLEINKIND.txt": klein}
    if rng.random() < 0.1:
        del members["OUDER.txt"]
    return members

# One example of each grammar alternative the GA OHW-GBG standard cannot show (it has no status vlag,
# no composite keys, no codelist columns); tests/language checks none is missing.
FAMILY_FORMS = {
    "not_unique_composite": "(9302, 9301) is not unique => ERR 1 UK \"m\"",
    "not_unique_across": "9301 is not unique across 9101, 9201 => WRN 1 BR \"m\"",
    "missing_reference_composite": "(9201, 9201) not in file KLEINKIND.txt => ERR 1 FK \"m\"",
    "deleted_not_stored": "9201 deleted but not stored => WRN 1 BR \"m\"",
    "like": "9206 like 'act\\_6.%' => WRN 1 BR \"m\"",
    "not_like": "9106 not like '9999XX' => ERR 1 BR \"m\"",
    "fails_elfproef": "9105 fails elfproef and 9105 != '999999999' => ERR 1 PVM \"m\"",
    "add": "9207 > days(9204, 9205) + 1 => ERR 1 BR \"m\"",
    "subtract": "9207 - 9208 < 0 => WRN 1 BR \"m\"",
    "substring": "9206[1..2] != 9210[10..11] => ERR 1 BR \"m\"",
    "today": "9102 > today => ERR 1 BR \"m\"",
    "count_where": "count(OUDER.txt where 9104 like 'XX%') = count(OUDER.txt) => ERR 1 BR \"m\"",
    "count_per": "count(KIND.txt where 9206 = 'A1' per 9203) > 1 => ERR 1 BR \"m\"",
    "days": "days(9204, 9205) > 365 => WRN 1 BR \"m\"",
    "lookup": "9208 > CL_TARIEF(9209, 9206 at 9204).max => WRN 1 BR \"m\"",
    "applies_to_deletions": "9207 < 0 => ERR 1 BR \"m\" applies to deletions",
    "parent field": "9204 < 9102 => ERR 1 BR \"m\"",
    "grandparent field": "9303 < 9102 => ERR 1 BR \"m\"",
}
