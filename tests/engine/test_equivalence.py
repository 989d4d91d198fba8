"""The columnar engine against the straightforward reference engine (issue 3).

Clean generated deliveries get many seeded random faults in every file and
field: blank and malformed values, codes outside their codelist or not
selectable, duplicate keys, dangling references, broken record lengths and
line ends, bytes outside ISO-8859-1's printable range, packing-slip and
zip-name mismatches, a missing or doubled packing slip. Both engines must
report exactly the same findings, counts and records with findings, also
when batches are small enough that keys and rules cross batch boundaries.
The columnar engine runs as `disval validate` does (batches read ahead on a
second thread, the fastest inflater), the reference engine on one thread
with the standard library's zlib: the straightforward evaluation.

Next to the GA's own rules runs a file of extra rules that use the forms the
GA needs nowhere (`not`, `or`, `years`, text ordering, field against field,
packing-slip fields from a record rule; parent fields, counts per parent, like patterns, days,
today, positions, the elfproef, composite and cross-file keys), so that every kind of check and the
three-valued logic behind them are compared too.
"""
from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from disval.core.engine import reference as ref
from disval.core.faults import rewrite_member
from disval.core.generate import generate_delivery
from disval.core.pipeline import validate
from disval.plugins.ga_ohw_gbg import standard

LAYOUT = standard().layout
BT, GZ, PB = "BEHANDELTRAJECT.txt", "GELEVERD_ZORGPROFIEL.txt", "PAKBON.txt"

EXTRA_RULES = """
not 3263 is empty and 3272 is empty => WRN EQ-01 BR "closed without a reason"
3263 is empty or 3263 < 3262 => WRN EQ-02 BR "open, or closed before it began"
not (3315 <= 3316) or 3355 >= 90 => WRN EQ-03 BR "more direct than indirect time, or long travel"
years(3262, 3263) >= 1 and not 4046 = 'J' => WRN EQ-04 BR "a year or more without a disorder"
3348 > 3310 => WRN EQ-05 BR "text ordering between fields"
3266 = 3272 => WRN EQ-06 BR "text equality between fields"
3309 < 'BT0000000005' => WRN EQ-07 BR "text ordering against a literal"
3312 < 2017-01-01 and 3314 in ('PS.05', 'MB.03', 'HB.06') => WRN EQ-08 BR "a date literal and a value list"
not 3314 not selectable in CL_BEROEP_GBG at 3312 => WRN EQ-09 BR "certainly selectable"
not 3311 not in CL_BEHANDELCOMPONENTEN_GBG at 3312 and 3311 = 'BC11' => WRN EQ-10 BR "a valid BC11"
not 3361 is empty and 3257 is filled => WRN EQ-11 BR "a packing-slip field tested from a record rule"
3262 >= zip.created or 3263 = zip.created => WRN EQ-12 BR "a date against the zip name"
3258 != 3339 and not 3258 > 3341 => WRN EQ-13 BR "record text against packing-slip text"
count(GELEVERD_ZORGPROFIEL.txt) < 3345 => WRN EQ-14 V "fewer profiles than trajects on the slip"
count(BEHANDELTRAJECT.txt) > 50 or 3233 < 2018-01-01 => WRN EQ-15 V "a file rule with or"
zip.sequence > '01' => WRN EQ-16 V "a zip rule"
not 3315 is not a number and 3315 > 150 => WRN EQ-17 BR "a number test under not"
3371 does not match 'NN' or 3234 in ('00', '99') => WRN EQ-18 BR "a pattern or a value"
not 4046 not in ('J', 'N') and 3266 is empty => WRN EQ-19 BR "a value list under not"
3316 = -5 or 3355 != 0 and not 3355 is not a number => WRN EQ-20 BR "a negative literal"
zip.provider != 3362 and 3337 < '02.0' => WRN EQ-21 BR "the zip part on the left"
years(3312, 3233) > 1 => WRN EQ-22 BR "years against the packing slip"
3314 not in CL_HOOFDBEROEPEN_GBG at 3233 => WRN EQ-23 R "a packing-slip peildatum"
3314 not selectable in CL_BEROEP_GBG at 3233 => WRN EQ-24 BR "a packing-slip peildatum, selectable"
3337 not in ('01.0') and 3258 is filled => WRN EQ-25 S "a packing-slip value list from a record rule"
(3233 is not a date or 3345 is not a number or 3234 does not match 'NN') and 3262 is filled
    => WRN EQ-26 S "packing-slip formats from a record rule"
3348 != '  ' or 3362 = ' ' => WRN EQ-27 BR "a blank literal is an empty operand"
3312 < 3262 or 3312 > 3263 => WRN EQ-28 BR "a profile outside its traject (the parent's fields)"
count(GELEVERD_ZORGPROFIEL.txt where 3315 > 100 per 3309) > 1 => WRN EQ-29 BR "a count per parent"
count(GELEVERD_ZORGPROFIEL.txt where 3311 like 'BC%1') > 5 => WRN EQ-30 V "a count"
3311 like 'BC\\_%' or 3314 not like 'XX.99' => WRN EQ-31 BR "like patterns"
days(3262, 3263) + 3315 - 3316 > 400 or 3312 > today => WRN EQ-32 BR "days, arithmetic and today"
3310[3..4] = 3309[11..12] or 3266 = 4046[1..1] => WRN EQ-33 BR "positions"
3362 fails elfproef and 3257 is filled => WRN EQ-34 BR "the elfproef (a packing-slip field)"
(3310, 3309) is not unique => WRN EQ-35 UK "a composite key"
3348 is not unique across 3257 => WRN EQ-36 BR "across files"
CL_BEROEP_GBG(3314 at 3262).omschrijving = 'x' => WRN EQ-37 BR "a codelist column (none in the test lists)"
"""

# ---------------------------------------------------------------- faults

DATES = ["20180231", "2018-01-", "99999999", "18991231", "19000101", "99991231", "20190101", "20180202",
         "20180201", "20151231", "20160101", "20161231", "20170101", "20160229", "20170229", "00000000",
         "2018010 ", " 2018010", "abcdefgh", "20171301", "20171200", "2O180101"]
NUMBERS = ["  1 2 ", "-", " -", "12-", "abc", "    -5", "-00000", "     0", "    +5", "999999", "-99999",
           " - 5", "\t   5", "000007", "7     ", "-", "--5", "    -0", "1e3", " 150", "151", "   91"]
CODES = {
    "3266": ["999", "001", "  001", "01", "ZZZ", "018", "019", "020", "1", "00\xa01"],
    "3272": ["08", "21", "12", "13", "7", "99", "00", "1", " 01", "01\x00"],
    "3311": ["BC11", "BC1", "bc01", "BC99", "BC10", " BC01", "BC01\x85", " BC11", "   BC11"],
    "3314": ["PS", "MB", "VB", "OB", "VB.02", "PS.05", "MB.03", "HB.06", "HB.01", "XX.01", "PS.01 ", " PS.01",
             "ps.01", "OB.02", "PS.0\x7f", "  PS.05", " MB.03"],
}
SLIP = {
    "3362": ["94001235", "9400123", "94001234", "AGB00001"],
    "3371": ["0A", "1", " 1", "00", "01", "99"],
    "3337": ["01.0", "1.0", "01,0", "0100", "10.0", "01.1", "00.9"],
    "3234": ["01", "02", "1", "AA", "00", "99"],
    "3344": ["DIS_GBG_OHW_TEST_010_94001234_00_20180201_02.zip", "dis_gbg_ohw_test_010_94001234_00_20180201_01.zip",
             "X"],
    "3339": ["ZELFBOUW", "A"],
    "3341": ["gbg94001234", "zzz", "AAA"],
    "3361": ["12345678"],
}
TEXT = ["X", "BT0000000001", "BT0000000002", "BC000000000001", "AF00000001", " A", "\xe9\xe8", "J", "N", "a"]
NON_PRINTABLE = [0x00, 0x01, 0x09, 0x0A, 0x0D, 0x1F, 0x7F, 0x85, 0x9F, 0xA0, 0xFF]


def _fit(fld, text: str | bytes) -> bytes:
    raw = text if isinstance(text, bytes) else text.encode("latin-1")
    raw = raw[: fld.length]
    return raw.rjust(fld.length) if fld.type == "N" else raw.ljust(fld.length)


def _value_for(fld, rng: random.Random, members) -> bytes:
    """A random, often wrong, value for one field."""
    if rng.random() < 0.15:
        return b" " * fld.length
    if fld.ddid in ("3257", "3310", "3309") and rng.random() < 0.6:
        # A key of another record: duplicates (3257, 3310) and references that do or do not resolve (3309).
        source = LAYOUT.field("3257" if fld.ddid != "3310" else "3310")
        lines = members.get(source.file) or [b""]
        other = rng.choice(lines)[source.start:source.end]
        if fld.ddid == "3309" and rng.random() < 0.3:
            other = b" " + other[:-1]  # one space in front: other bytes, but the same key
        return _fit(fld, bytes(other) or b"BT9999999999")
    if fld.type == "D":
        return _fit(fld, rng.choice(DATES))
    if fld.type == "N":
        return _fit(fld, rng.choice(NUMBERS + [str(rng.randint(-3, 200))]))
    if fld.ddid in CODES:
        return _fit(fld, rng.choice(CODES[fld.ddid]))
    if fld.ddid == "4046":
        return _fit(fld, rng.choice("JN X j0"))
    if fld.ddid in SLIP and rng.random() < 0.7:
        return _fit(fld, rng.choice(SLIP[fld.ddid]))
    return _fit(fld, rng.choice(TEXT))


def _plant_record_faults(members: dict[str, list[bytearray]], rng: random.Random, n: int) -> None:
    for _ in range(n):
        name = rng.choices([BT, GZ, PB], weights=[10, 20, 1])[0]
        lines = members.get(name)
        if not lines:
            continue
        i = rng.randrange(len(lines))
        roll = rng.random()
        if not lines[i]:
            continue
        if roll < 0.80:
            fld = rng.choice(LAYOUT.file(name).fields)
            lines[i][fld.start:fld.end] = _value_for(fld, rng, members)
        elif roll < 0.86:
            lines[i][rng.randrange(len(lines[i]))] = rng.choice(NON_PRINTABLE)
        elif roll < 0.90:  # a record of the wrong length
            if rng.random() < 0.5:
                del lines[i][rng.randrange(len(lines[i]))]
            else:
                lines[i].insert(rng.randrange(len(lines[i])), 0x20)
        elif roll < 0.94:  # the same record twice
            lines.insert(i, bytearray(lines[i]))
        elif roll < 0.97:
            del lines[i]
        else:
            lines.insert(i, bytearray())  # an empty line


def _plant_slip_faults(members, rng: random.Random, fields: int | None = None) -> None:
    """Break the packing slip as a whole, or (always, when `fields` is given) that many of its fields."""
    slip = members.get(PB)
    if not slip:
        return
    roll = 1.0 if fields else rng.random()
    if roll < 0.06:
        del members[PB]  # no packing slip: slip fields cannot be read
    elif roll < 0.10:
        slip.append(bytearray(slip[0]))  # two records
    elif roll < 0.13:
        slip.clear()
    elif roll < 0.16:
        slip[0] = slip[0][:-3]  # wrong length
    elif roll < 0.55 or fields:
        for _ in range(fields or rng.randint(1, 3)):
            fld = rng.choice(LAYOUT.file(PB).fields)
            if fld.ddid in ("3345", "3245") and rng.random() < 0.5:
                count = len(members.get(BT if fld.ddid == "3345" else GZ, []))
                slip[0][fld.start:fld.end] = _fit(fld, str(rng.choice([count - 1, count + 1, count + 500, -count])))
            elif fields and rng.random() < 0.2:
                slip[0][fld.start:fld.end] = b" " * fld.length
            else:
                slip[0][fld.start:fld.end] = _value_for(fld, rng, members)


ZIP_NAMES = [
    "DIS_GBG_OHW_TEST_010_94001234_00_{created}_01.zip",
    "DIS_GBG_OHW_TEST_010_94001234_00_{created}_02.zip",
    "DIS_GBG_OHW_PROD_010_94001235_01_{created}_01.zip",
    "DIS_GBG_OHW_TEST_011_94001234_00_{created}_01.zip",
    "DIS_GBG_OHW_TEST_010_94001234_00_20180202_01.zip",
    "DIS_GBG_OHW_TEST_010_94001234_00_18991231_01.zip",
    "DIS_GBG_OHW_TEST_010_9400123_00_{created}_01.zip",  # not the §6.2.1 name: no zip parts
]


def read_members(clean: Path) -> dict[str, list[bytearray]]:
    """Each member's records, without line ends."""
    with zipfile.ZipFile(clean) as zf:
        return {name: [bytearray(line) for line in zf.read(name).split(b"\r\n")[:-1]] for name in zf.namelist()}


def write_delivery(clean: Path, members: dict[str, list[bytearray]], target: Path, rng=None) -> Path:
    """`clean` with its members replaced by `members` (a member left out is dropped), written to `target`.

    With `rng`, some records end in LF only and a member may lack the line end after its last record.
    """
    work = target.with_name("work-" + target.name)
    step = target.with_name("step-" + target.name)
    shutil.copyfile(clean, work)
    for member in (BT, GZ, PB):
        lines = members.get(member)
        data = None
        if lines is not None:
            data = b"".join(bytes(line) + (b"\n" if rng and rng.random() < 0.02 else b"\r\n") for line in lines)
            if lines and rng and rng.random() < 0.1:
                data = data.rstrip(b"\n").rstrip(b"\r")
        rewrite_member(work, step, member, lambda _lines, data=data: None if data is None else [data])
        step.replace(work)
    work.replace(target)
    return target


def faulty_delivery(clean: Path, out_dir: Path, seed: int, faults: int, slip_fields: int | None = None) -> Path:
    """A copy of `clean` with `faults` random record faults, packing-slip faults and perhaps another name."""
    rng = random.Random(seed)
    members = read_members(clean)
    _plant_record_faults(members, rng, faults)
    _plant_slip_faults(members, rng, slip_fields)
    created = clean.name.split("_")[-2]
    name = rng.choice(ZIP_NAMES).format(created=created) if rng.random() < 0.4 else clean.name
    out_dir.mkdir(parents=True, exist_ok=True)
    return write_delivery(clean, members, out_dir / name, rng)


def edited_delivery(clean: Path, out_dir: Path, edits: dict, change=None, name: str | None = None) -> Path:
    """A copy of `clean` with exact field values, then `change(members)`; edits: (file, line, ddid) -> value."""
    members = read_members(clean)
    for (file, line, ddid), value in edits.items():
        fld = LAYOUT.field(ddid)
        assert fld.file == file
        members[file][line - 1][fld.start:fld.end] = _fit(fld, value)
    if change is not None:
        change(members)
    out_dir.mkdir(parents=True, exist_ok=True)
    return write_delivery(clean, members, out_dir / (name or clean.name))


# ---------------------------------------------------------------- running both engines


@pytest.fixture(scope="module")
def clean_deliveries(tmp_path_factory) -> list[Path]:
    base = tmp_path_factory.mktemp("clean")
    made = []
    for i, created in enumerate((dt.date(2018, 2, 1), dt.date(2017, 3, 15), dt.date(2015, 3, 1))):
        trajects = 60 if created.year > 2015 else 20
        made.append(generate_delivery(base / str(i), trajects=trajects, profiles=4 * trajects, seed=i,
                                      created=created))
    return made


@pytest.fixture(scope="module")
def extra_rules(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("rules") / "equivalence.rules"
    path.write_text(EXTRA_RULES, encoding="utf-8")
    return path


def _outcome(path: Path, engine: str, inflater: str | None = None, **options):
    before = os.environ.get("DISVAL_INFLATER")
    try:
        if inflater:
            os.environ["DISVAL_INFLATER"] = inflater
        result = validate(path, engine=engine, max_per_rule=None, **options)
    finally:
        os.environ.pop("DISVAL_INFLATER", None)
        if before is not None:
            os.environ["DISVAL_INFLATER"] = before
    return result, Counter(result.findings)


def assert_same(path: Path, **options) -> int:
    """Validate with both engines and assert identical results; return the number of findings."""
    return sum(same_result(path, **options).counts.values())


def same_result(path: Path, **options):
    """Validate with both engines and assert identical results; return the columnar result.

    The columnar engine runs as `disval validate` does: the next batches read ahead on a second
    thread, inflated by the fastest library installed. The reference engine is the straightforward
    evaluation: one thread, the standard library's zlib.
    """
    col, col_findings = _outcome(path, "columnar", **options)
    ref_result, ref_findings = _outcome(path, "reference", inflater="zlib", read_ahead=0, **options)
    only_col = sorted(map(repr, col_findings - ref_findings))
    only_ref = sorted(map(repr, ref_findings - col_findings))
    assert not only_col and not only_ref, (
        f"{path.name}: columnar only {len(only_col)}: {only_col[:5]}; reference only {len(only_ref)}: {only_ref[:5]}")
    assert dict(col.counts) == dict(ref_result.counts)
    assert col.records_with == ref_result.records_with
    assert col.records == ref_result.records
    assert col.assessment == ref_result.assessment
    return col


def test_clean_deliveries_agree(clean_deliveries, extra_rules):
    for path in clean_deliveries:
        assert assert_same(path) == 0
        assert_same(path, extra_rules=(extra_rules,))


@pytest.mark.parametrize("seed", range(16))
def test_random_faults_agree(seed, clean_deliveries, extra_rules, tmp_path):
    clean = clean_deliveries[seed % len(clean_deliveries)]
    path = faulty_delivery(clean, tmp_path, seed, faults=40 + 10 * (seed % 5))
    batch = [7, 1, 64, 1 << 16][seed % 4]
    assert assert_same(path, batch_records=batch, extra_rules=(extra_rules,)) > 0


def windowed_codelists(directory: Path) -> Path:
    """The shipped GBG codelists, every code of every list given several validity windows: overlapping
    (the first in force counts), with a gap, and (by code) selectable in one window and not in another,
    so that a date decides the verdict."""
    from disval.plugins.ga_ohw_gbg import standard as gbg

    directory.mkdir(parents=True, exist_ok=True)
    windows = [(20140101, 20161130), (20160101, 20170630), (20170801, 99991231)]
    for source in Path(gbg().codelists_dir).glob("*.txt"):
        header, *rows = source.read_text(encoding="iso-8859-1").splitlines()
        kept = [header]
        for i, row in enumerate(rows):
            _, _, code, text, *rest = row.split("|")
            for j, (begin, end) in enumerate(windows[i % 2:]):
                selectable = [str((i // 2 + j) % 2)] if rest else []
                kept.append("|".join([str(begin), str(end), code, text, *selectable]))
        (directory / source.name).write_bytes(("\r\n".join(kept) + "\r\n").encode("iso-8859-1"))
    return directory


@pytest.mark.parametrize("seed", range(300, 304))
def test_codes_with_several_validity_windows_agree(seed, clean_deliveries, extra_rules, tmp_path):
    """Codelist verdicts that depend on which of a code's windows the date falls in (issue 13's one
    window at a time), with codes crossing batches."""
    lists = windowed_codelists(tmp_path / "lists")
    path = faulty_delivery(clean_deliveries[seed % len(clean_deliveries)], tmp_path, seed, faults=30)
    result = same_result(path, codelists=str(lists), batch_records=[5, 1 << 16][seed % 2],
                         extra_rules=(extra_rules,))
    # Codes outside their windows (1753, 1758) or not selectable at their date (2249) were found.
    assert {"1753", "1758", "2249"} & {rule for rule, n in result.counts.items() if n}


@pytest.mark.parametrize("seed", range(200, 208))
def test_keys_spilled_to_disk_agree(seed, clean_deliveries, extra_rules, tmp_path, monkeypatch):
    """Keys beyond the memory budget go to disk by hash partition (issue 13): no budget at all, or
    room for some keys only (so that some columns spill and others stay), the same findings."""
    from disval.core.engine import key_spill

    spilled = []
    write = key_spill.Segments.write
    monkeypatch.setattr(key_spill.Segments, "write", lambda self, *a: (spilled.append(len(a[0])), write(self, *a)))
    monkeypatch.setenv("DISVAL_KEY_MEMORY", ["0", "0.002", "0.006"][seed % 3])
    clean = clean_deliveries[seed % len(clean_deliveries)]
    path = faulty_delivery(clean, tmp_path, seed, faults=60 + 10 * (seed % 4))
    result = same_result(path, batch_records=[5, 64, 1 << 16][seed % 3], extra_rules=(extra_rules,))
    assert sum(spilled) > 0
    # Repeated keys (1630, 1988, a composite key, across files) and dangling references (1987) were found.
    assert {"1630", "1988", "1987", "EQ-35", "EQ-36"} & {rule for rule, n in result.counts.items() if n}


@pytest.mark.parametrize("seed", range(100, 116))
def test_packing_slip_faults_agree(seed, clean_deliveries, extra_rules, tmp_path):
    """Several packing-slip fields wrong at once, besides a few record faults."""
    path = faulty_delivery(clean_deliveries[2], tmp_path, seed, faults=5, slip_fields=3 + seed % 6)
    assert assert_same(path, batch_records=5, extra_rules=(extra_rules,)) > 0


def test_every_record_faulty_agrees(clean_deliveries, extra_rules, tmp_path):
    """Hundreds of faults on a small delivery: most records carry several."""
    path = faulty_delivery(clean_deliveries[0], tmp_path, 1000, faults=600)
    assert_same(path, batch_records=13, extra_rules=(extra_rules,))


# Edge cases planted on purpose: each has tripped, or could trip, one of the engines.
EDGES = {
    "trailing NUL in text compared field to field": ({
        (BT, 1, "3266"): b"01", (BT, 1, "3272"): b"01\x00",
        (GZ, 1, "3310"): b"BC01", (GZ, 1, "3348"): b"BC01\x00",
        (GZ, 2, "3310"): b"BC01\x00", (GZ, 2, "3348"): b"BC01",
        # A NUL as the field's last byte: a repeated key and a dangling reference, shown with their NUL.
        (GZ, 3, "3310"): b"BC99".ljust(19) + b"\x00", (GZ, 4, "3310"): b"BC99".ljust(19) + b"\x00",
        (GZ, 5, "3309"): b"BT99".ljust(19) + b"\x00",
    }, None, None),
    "codes around their validity windows": ({
        (GZ, 2, "3314"): "PS.05", (GZ, 2, "3312"): "20160601",
        (GZ, 3, "3314"): "PS", (GZ, 4, "3314"): "VB.02",
        (GZ, 5, "3314"): "HB.06", (GZ, 5, "3312"): "20170101",
        (GZ, 6, "3314"): " PS.01", (GZ, 7, "3314"): "MB.03", (GZ, 7, "3312"): "20161231",
        (GZ, 8, "3311"): "BC11", (GZ, 8, "3312"): "20161231",
        (GZ, 9, "3314"): b"PS.01\xa0", (GZ, 10, "3314"): "OB", (GZ, 10, "3312"): "2016-6-1",
        (BT, 2, "3272"): "08", (BT, 2, "3262"): "20160101",
        (BT, 3, "3272"): "21", (BT, 3, "3262"): "20151231",
    }, None, None),
    "numbers and dates at their edges": ({
        (GZ, 1, "3315"): "    -0", (GZ, 2, "3315"): "-00001", (GZ, 3, "3316"): "-", (GZ, 4, "3355"): "     -",
        (GZ, 5, "3355"): "-99999", (GZ, 6, "3316"): "000000", (GZ, 7, "3315"): "+1",
        (BT, 1, "3262"): "19000101", (BT, 1, "3263"): "18991231", (BT, 2, "3262"): "99991231",
        (BT, 3, "3262"): "20160229", (BT, 3, "3263"): "20170228", (BT, 4, "3263"): "20170229",
    }, None, None),
    "no packing slip": ({}, lambda members: members.pop(PB), None),
    "two packing-slip records": ({}, lambda members: members[PB].append(bytearray(members[PB][0])), None),
    "an empty packing slip": ({}, lambda members: members[PB].clear(), None),
    "a packing slip of the wrong length": ({}, lambda members: members[PB][0].extend(b" "), None),
    "a zip name without parts": ({}, None, "DIS_GBG_OHW_TEST_010_9400123_00_20180201_01.zip"),
    "a zip name of another version and provider": ({}, None, "DIS_GBG_OHW_PROD_011_94001235_07_20180101_09.zip"),
    "no BEHANDELTRAJECT.txt": ({}, lambda members: members.pop(BT), None),
    "a BEHANDELTRAJECT.txt without records": ({}, lambda members: members[BT].clear(), None),
}


@pytest.mark.parametrize("case", EDGES)
def test_edge_cases_agree(case, clean_deliveries, extra_rules, tmp_path):
    edits, change, name = EDGES[case]
    path = edited_delivery(clean_deliveries[0], tmp_path, edits, change, name)
    assert_same(path, batch_records=3, extra_rules=(extra_rules,))


# ---------------------------------------------------------------- the reference decoders themselves


@pytest.mark.parametrize("raw, value", [
    (b"20180201", 20180201), (b"20160229", 20160229), (b"19000101", 19000101), (b"99991231", 99991231),
    (b"20170229", None), (b"20180231", None), (b"18991231", None), (b"2018-01-", None), (b"99999999", None),
    (b"2018010 ", None), (b"00000000", None),
])
def test_reference_dates(raw, value):
    assert ref.as_date(raw) == value


@pytest.mark.parametrize("raw, value", [
    (b"     0", 0), (b"   123", 123), (b"    -5", -5), (b"-00000", 0), (b"000007", 7),
    (b"  1 2 ", None), (b"     -", None), (b"   12-", None), (b"   abc", None), (b"    +5", None),
    (b"7     ", None), (b"  - 5 ", None), (b"      ", None),
])
def test_reference_numbers(raw, value):
    assert ref.as_number(raw) == value


def test_reference_patterns():
    assert ref.matches(b"01.0", "NN.N") and ref.matches(b"7 ", "N")
    assert not ref.matches(b"0100", "NN.N") and not ref.matches(b"1 ", "NN") and not ref.matches(b"77", "N")
