"""One planted fault per validation number: exactly that finding, and no other (issue 2, "Done means").

Every rule that one delivery can decide (status active in `disval rules`) has
a row in PLANTS: how to spoil a clean generated delivery so that only that
rule fires, and where its finding must point (file, line). The faults are
planted on records that nothing else depends on, so nothing cascades: keys
and record lengths are spoiled on a traject that no zorgprofiel refers to,
dates stay on or before the creation date unless that is the fault, and so on.

Five numbers cannot fire alone in GA OHW-GBG 1.0; their row names the one
companion finding the same fault necessarily causes, and says why.
"""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from disval.core.generate import generate_delivery
from disval.core.pipeline import validate
from disval.plugins.ga_ohw_gbg import standard

from planting import (
    BT, CREATED, GZ, NOT_DECIDABLE, PB, PROFILES, TRAJECTS, Clean, counted, edit_member, found, join_records, plant,
    run_cli, set_fields, split_records, write_zip,
)

LONELY = "a traject that no zorgprofiel refers to"


@dataclass(frozen=True)
class Plant:
    """How to plant one rule's fault, and where its finding must point."""

    file: str | None  # the file the finding names (None: the zip itself)
    line: int | str | None  # 1-based record, LONELY, or None for file- and zip-level findings
    how: Callable[[Clean, Path], Path]  # (clean delivery, empty directory) -> the spoilt zip
    also: tuple[tuple[str, str | None, int | None], ...] = ()  # companions the fault cannot avoid
    why: str = ""  # why there are companions


def lonely(clean: Clean, line):
    return clean.lonely[-1] if line == LONELY else line


def fields(file: str, line, **values: str):
    """Set fields (f<DDID>=value) of one record."""
    return lambda clean, out: plant(clean.path, out, file, lonely(clean, line), **values)


def records(file: str, edit):
    """Replace a member's records by `edit(records, clean)`; None leaves the member out."""
    return lambda clean, out: edit_member(clean.path, out, file, lambda recs: edit(recs, clean))


def zip_members(edit, name: Callable[[str], str] = lambda n: n):
    """Write the clean members through `edit(members, clean)` into a zip called `name(clean name)`."""
    return lambda clean, out: write_zip(out / name(clean.name), edit(list(clean.members), clean))


def one_byte_short(line):
    def edit(recs, clean):
        n = lonely(clean, line) - 1
        recs[n] = recs[n][:-1]
        return recs
    return edit


def copy_key(ddid: str, source_line: int, line):
    """Give record `line` the key of record `source_line` (an earlier one, so the later is reported)."""
    def edit(recs, clean):
        fld = standard().layout.field(ddid)
        target = lonely(clean, line)
        assert source_line < target
        recs[target - 1] = set_fields(recs[target - 1], {ddid: recs[source_line - 1][fld.start:fld.end].decode()})
        return recs
    return edit


def version_020(members, clean):
    """The zip named with GA version 020; its packing slip agrees (3337 '02.0', 3344) so 1814/1807 stay quiet."""
    out = []
    for name, data in members:
        if name == PB:
            slip = split_records(data)[0]
            data = join_records([set_fields(slip, {"3337": "02.0", "3344": clean.name.replace("_010_", "_020_")})])
        out.append((name, data))
    return out


PLANTS: dict[str, Plant] = {
    # ---- §6.2.2 the zip
    "726": Plant(GZ, None, records(GZ, lambda recs, clean: None)),
    "737": Plant(None, None, zip_members(version_020, name=lambda n: n.replace("_010_", "_020_"))),
    "738": Plant(GZ, None, zip_members(lambda ms, clean: ms + [m for m in ms if m[0] == GZ])),
    "739": Plant("README.txt", None, zip_members(lambda ms, clean: ms + [("README.txt", b"read me\r\n")])),
    # ---- BEHANDELTRAJECT.txt
    "1643": Plant(BT, LONELY, records(BT, one_byte_short(LONELY))),
    "1642": Plant(BT, None, fields(PB, 1, f3345=str(TRAJECTS + 1))),
    "1774": Plant(BT, LONELY, fields(BT, LONELY, f3257="")),
    "1630": Plant(BT, LONELY, records(BT, copy_key("3257", 1, LONELY))),
    "1775": Plant(BT, LONELY, fields(BT, LONELY, f3258="")),
    # 3263 emptied too: the begin date must not pass the end date (1771) of a closed traject.
    "1801": Plant(BT, LONELY, fields(BT, LONELY, f3262="20180202", f3263="")),
    "1771": Plant(BT, LONELY, fields(BT, LONELY, f3262="20170601", f3263="20170501")),
    "1768": Plant(BT, LONELY, fields(BT, LONELY, f3262="")),
    "1769": Plant(BT, LONELY, fields(BT, LONELY, f3262="20171301")),
    "1780": Plant(BT, LONELY, fields(BT, LONELY, f3262="20170601", f3263="20180202")),
    "1772": Plant(BT, LONELY, fields(BT, LONELY, f3263="20170231")),
    "1941": Plant(BT, LONELY, fields(BT, LONELY, f4046="X")),
    "1958": Plant(BT, LONELY, fields(BT, LONELY, f4046="J", f3266="")),
    "1778": Plant(BT, LONELY, fields(BT, LONELY, f3266="ZZZ")),
    "1632": Plant(BT, LONELY, fields(BT, LONELY, f3272="77")),
    # ---- GELEVERD_ZORGPROFIEL.txt (nothing refers to a zorgprofiel, so any record will do)
    "1652": Plant(GZ, 1, records(GZ, one_byte_short(1))),
    "1651": Plant(GZ, None, fields(PB, 1, f3245=str(PROFILES + 1))),
    "1756": Plant(GZ, 1, fields(GZ, 1, f3310="")),
    "1988": Plant(GZ, 2, records(GZ, copy_key("3310", 1, 2))),
    "1987": Plant(GZ, 1, fields(GZ, 1, f3309="BT9999999999")),
    "1759": Plant(GZ, 1, fields(GZ, 1, f3309="")),
    "1752": Plant(GZ, 1, fields(GZ, 1, f3311="")),
    "1753": Plant(GZ, 1, fields(GZ, 1, f3311="BC99")),
    "1765": Plant(GZ, 1, fields(GZ, 1, f3312="20180202")),
    "1754": Plant(GZ, 1, fields(GZ, 1, f3312="")),
    "1755": Plant(GZ, 1, fields(GZ, 1, f3312="20170231")),
    # PS: a grouping level of CL_BEROEP_GBG, valid but selecteerbaar 0 (checked in test_2249_code_is_a_grouping).
    "2249": Plant(GZ, 1, fields(GZ, 1, f3314="PS")),
    "1757": Plant(GZ, 1, fields(GZ, 1, f3314="")),
    "1758": Plant(GZ, 1, fields(GZ, 1, f3314="XX.99")),
    "1751": Plant(GZ, 1, fields(GZ, 1, f3315="-5")),
    "1762": Plant(GZ, 1, fields(GZ, 1, f3315="")),
    "1763": Plant(GZ, 1, fields(GZ, 1, f3315="1a")),
    "1849": Plant(GZ, 1, fields(GZ, 1, f3355="-5")),
    "1850": Plant(GZ, 1, fields(GZ, 1, f3355="1a")),
    "1749": Plant(GZ, 1, fields(GZ, 1, f3316="-5")),
    "1761": Plant(GZ, 1, fields(GZ, 1, f3316="")),
    "1764": Plant(GZ, 1, fields(GZ, 1, f3316="1a")),
    # ---- PAKBON.txt
    "1654": Plant(PB, None, records(PB, lambda recs, clean: recs + recs)),
    "1653": Plant(PB, 1, records(PB, one_byte_short(1))),
    "1791": Plant(PB, 1, fields(PB, 1, f3362="94001235")),
    "1793": Plant(PB, 1, fields(PB, 1, f3362="")),
    "1790": Plant(PB, 1, fields(PB, 1, f3371="01")),
    "1787": Plant(PB, 1, fields(PB, 1, f3371="")),
    # A value that breaks its pattern (NN, NN.N) is malformed: the comparison with the zip name is not
    # evaluated (1790, 1806, 1814), the S rule reports it alone.
    "1798": Plant(PB, 1, fields(PB, 1, f3371="AB")),
    "1814": Plant(PB, 1, fields(PB, 1, f3337="02.0")),
    "1789": Plant(PB, 1, fields(PB, 1, f3337="")),
    "1788": Plant(PB, 1, fields(PB, 1, f3337="1.0")),
    "1781": Plant(PB, 1, fields(PB, 1, f3233="20180202")),  # after the zip's date, so no record date passes it
    "1782": Plant(PB, 1, fields(PB, 1, f3233="")),
    "1803": Plant(PB, 1, fields(PB, 1, f3233="20181301")),
    "1806": Plant(PB, 1, fields(PB, 1, f3234="02")),
    "1805": Plant(PB, 1, fields(PB, 1, f3234="")),
    "1821": Plant(PB, 1, fields(PB, 1, f3234="AB")),
    "1807": Plant(PB, 1, fields(PB, 1, f3344="DIS_GBG_OHW_TEST_010_94001234_00_20180201_02.zip")),
    "1792": Plant(PB, 1, fields(PB, 1, f3344="")),
    "1802": Plant(PB, 1, fields(PB, 1, f3339="")),
    "1804": Plant(PB, 1, fields(PB, 1, f3334="")),
    "1799": Plant(PB, 1, fields(PB, 1, f3342="")),
    "1816": Plant(PB, 1, fields(PB, 1, f3345="-1"), also=(("1642", BT, None),),
                  why="no file has -1 records, so the count check against 3345 fails too"),
    "1783": Plant(PB, 1, fields(PB, 1, f3345="")),
    "1795": Plant(PB, 1, fields(PB, 1, f3345="abc")),
    "1817": Plant(PB, 1, fields(PB, 1, f3245="-1"), also=(("1651", GZ, None),),
                  why="no file has -1 records, so the count check against 3245 fails too"),
    "1784": Plant(PB, 1, fields(PB, 1, f3245="")),
    "1796": Plant(PB, 1, fields(PB, 1, f3245="abc")),
    "1811": Plant(PB, 1, fields(PB, 1, f3341="")),
}


def shipped_rules() -> list[dict]:
    """Every rule of the shipped rules file, as `disval rules --format json` lists it."""
    done = run_cli("rules", "--standard", "GA-OHW-GBG-1.0", "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["rules"]


@pytest.fixture(scope="module")
def rules() -> list[dict]:
    return shipped_rules()


def not_evaluated(result) -> dict[str, str]:
    return {info.rule: info.status for info in result.not_evaluated}


# ---------------------------------------------------------------- the table covers the rules


def test_table_covers_every_active_rule(rules):
    """A new rule without a planted fault, or a row for a rule that is no longer active, fails here."""
    active = {r["rule"] for r in rules if r["status"] == "active"}
    assert sorted(active - set(PLANTS)) == [], "active rules without a planted fault"
    assert sorted(set(PLANTS) - active) == [], "planted faults for rules that are not active"


def test_the_rules_one_delivery_cannot_decide(rules):
    status = {r["rule"]: r["status"] for r in rules if r["status"] != "active"}
    assert status == NOT_DECIDABLE


def test_every_validation_number_once(rules):
    """§6.2.2 numbers four zip validations, §6.3-6.4 another 75 distinct ones: each is one rule."""
    numbers = [r["rule"] for r in rules]
    assert len(numbers) == len(set(numbers))
    assert set(numbers) == set(PLANTS) | set(NOT_DECIDABLE)
    assert len(set(numbers) - {"726", "737", "738", "739"}) == 75


# ---------------------------------------------------------------- clean deliveries


def test_clean_delivery_has_no_findings(clean):
    result = validate(clean.path)
    assert result.findings == []
    assert counted(result) == {}
    assert result.assessment == "positive"
    assert result.records == {BT: TRAJECTS, GZ: PROFILES, PB: 1}
    assert not_evaluated(result) == NOT_DECIDABLE


def test_fixture_has_what_the_table_needs(clean):
    """Trajects 2 and 4 have no zorgprofiel, and the earlier one's key can be copied onto the later."""
    assert clean.lonely[-1] > 1
    assert len(clean.lines[GZ]) >= 2


def test_2249_code_is_a_grouping(clean):
    """The code planted for 2249 is in CL_BEROEP_GBG at the profile's date, with selecteerbaar 0."""
    from disval.plugins.codelists_dir import disval_codelist_provider

    provider = disval_codelist_provider(standard=standard(), location=None)
    beroep = provider.codelist("CL_BEROEP_GBG", CREATED)
    on = int(clean.field(GZ, 1, "3312"))
    row = beroep.row_at("PS", on)
    assert row is not None and row.selectable == 0
    for name in ("CL_BEROEP_GBG", "CL_HOOFDBEROEPEN_GBG"):  # and 1758's code is in neither list
        assert provider.codelist(name, CREATED).row_at("XX.99", on) is None


# ---------------------------------------------------------------- one fault, one finding


@pytest.mark.parametrize("rule", sorted(PLANTS, key=int))
def test_planted_fault_gives_exactly_its_finding(rule, clean, tmp_path):
    case = PLANTS[rule]
    path = case.how(clean, tmp_path)
    assert path.name == (clean.name if rule != "737" else clean.name.replace("_010_", "_020_"))
    result = validate(path)

    expected = {(rule, case.file, lonely(clean, case.line))} | set(case.also)
    assert found(result) == expected, case.why
    assert counted(result) == Counter(r for r, _, _ in expected)
    # Under the default policy every ERR blocks and a WRN never does.
    assert result.assessment == ("positive" if all(i.severity == "WRN" for i in result.rules
                                                   if i.rule in result.counts) else "negative")
    assert not_evaluated(result) == NOT_DECIDABLE
    mine = next(f for f in result.findings if f.rule == rule)
    info = next(i for i in result.rules if i.rule == rule)
    assert (mine.type, mine.severity, mine.message) == (info.type, info.severity, info.message)


# ---------------------------------------------------------------- 1788's validity window (from 2015-01-01)


@pytest.fixture(scope="module")
def early_codelists(tmp_path_factory) -> Path:
    """The shipped codelists as a release of 2013 whose codes are valid from 2000, for deliveries of 2014."""
    out = tmp_path_factory.mktemp("codelists-2013")
    for path in sorted(standard().codelists_dir.glob("*.txt")):
        text = path.read_bytes().replace(b"|20140101|", b"|20000101|")
        text = b"\n".join(b"20000101" + line[8:] if line.startswith(b"20140101|") else line
                          for line in text.split(b"\n"))
        (out / ("20130101" + path.name[8:])).write_bytes(text)
    return out


def delivery_of(day: dt.date, codelists: Path, out: Path) -> Path:
    return generate_delivery(out, trajects=TRAJECTS, profiles=PROFILES, seed=7, created=day, codelists=codelists)


def test_1788_not_in_force_in_2014(early_codelists, tmp_path):
    clean = delivery_of(dt.date(2014, 12, 31), early_codelists, tmp_path / "clean")
    result = validate(clean, codelists=str(early_codelists))
    assert found(result) == set()
    assert [w for w in result.warnings if w.key != "codelist_sample"] == []  # no release before 2014: no fallback

    spoilt = plant(clean, tmp_path / "spoilt", PB, 1, f3337="1.0")
    result = validate(spoilt, codelists=str(early_codelists))
    # 3337 breaks NN.N, so 1814 is not evaluated (malformed operand) and 1788 is not in force yet.
    assert found(result) == set()
    assert not_evaluated(result)["1788"] == "not in force"
    assert not_evaluated(result) == NOT_DECIDABLE | {"1788": "not in force"}


def test_1788_in_force_from_2015_01_01(early_codelists, tmp_path):
    clean = delivery_of(dt.date(2015, 1, 1), early_codelists, tmp_path / "clean")
    spoilt = plant(clean, tmp_path / "spoilt", PB, 1, f3337="1.0")
    result = validate(spoilt, codelists=str(early_codelists))
    assert found(result) == {("1788", PB, 1)}
    assert "1788" not in not_evaluated(result)
