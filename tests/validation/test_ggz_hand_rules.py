"""GA DBC-GGZ 9.0's hand-written rules: each planted fault gives exactly its finding (and the ones it implies).

A small clean delivery (tests/ggz_delivery.py) has no findings; each case below plants one fault and
expects the numbers listed: the planted rule's, plus those the same fault breaks by the GA's own
logic (a blank field is also an M finding of the derived rules; a delivery date after which an
activity falls is also outside its DBC). Both engines give the same findings.
"""
from __future__ import annotations

import datetime as dt
import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ggz_delivery import (  # noqa: E402
    DB, DBC, DG, OV, PB, PT, TS, VB, VR, ZIP_NAME, ZT, clean_members, ggz_pm, recount, set_field, write_zip,
)

from disval.core.language import compiler as c  # noqa: E402
from disval.core.pipeline import rulebook, validate  # noqa: E402
from disval.plugins.ga_dbc_ggz import standard  # noqa: E402

TODAY = dt.date(2019, 5, 2)
LAYOUT = standard().layout


def _count_rule(ddid: str) -> str:
    """The derived V rule that compares a file's records with packing-slip count `ddid`."""
    return next(r.number for r in rulebook(ggz_pm(), standard()).rules
                if r.kind == c.FILE and isinstance(r.check, c.Cmp)
                and any(isinstance(side, c.Col) and side.field.ddid == ddid for side in (r.check.left, r.check.right)))


def _shift_to_2007(members):
    """Every date of the clean delivery's trajects and activities moved to 2007 (before 1-1-2008)."""
    for file, ddid, value in ((ZT, "1451", "20070101"), (ZT, "1458", "20070115"), (DBC, "1465", "20070101"),
                              (DBC, "1466", "20071231"), (TS, "1491", "20070201"), (DB, "1502", "20070202"),
                              (VB, "1510", "20070203"), (VB, "4145", "20070205"), (VR, "1518", "20070204"),
                              (DG, "1482", "20070110")):
        set_field(members, LAYOUT, file, 1, ddid, value)


def _append_copy(file, **values):
    def change(members):
        members[file].append(bytearray(members[file][0]))
        for ddid, value in values.items():
            set_field(members, LAYOUT, file, len(members[file]), ddid, value)
        recount(members, LAYOUT)
    return change


# number -> (edits (file, ddid, value) on line 1, a change of the whole delivery or None, numbers expected)
PLANTED = {
    # PATIENT
    "549": ([(PT, "1440", "")], None, {"549", "775"}),
    "774": ([(PT, "1440", "1234ab")], None, {"774"}),
    "553": ([], _append_copy(PT), {"553"}),
    "544": ([(PT, "1435", "3")], None, {"544"}),
    "773": ([(PT, "1438", "3")], None, {"773"}),
    "666": ([(PT, "1436", "Bakker")], None, {"666"}),
    "606": ([(PT, "1446", "")], None, {"606"}),
    "659": ([(PT, "1433", "")], None, {"659"}),
    "667": ([(PT, "1439", "")], None, {"667"}),
    "1681": ([(PT, "1435", "")], None, {"1681"}),
    "613": ([(PT, "1446", "12345678A")], None, {"613"}),
    "1912": ([(PT, "1446", "12345678")], None, {"1912"}),
    "1908": ([(PT, "1433", " Jansen")], None, {"1908"}),
    "1909": ([(PT, "1444", "20200101")], None, {"1909", "2324"}),  # born after the DBC began: under 18 too
    "1911": ([(PT, "1446", "123456789")], None, {"1911"}),
    "1524": ([(PT, "1433", "XXXJansen")], None, {"1524"}),
    "1907": ([(PT, "1436", "XXX"), (PT, "1438", "1")], None, {"1907"}),
    "1525": ([(PT, "1439", "X")], None, {"1525"}),
    "1910": ([(PT, "1446", "999999999")], None, {"1910"}),
    "1216": ([(PT, "3183", "201913")], None, {"1216", "1518"}),
    "1217": ([(PT, "3182", "18991")], None, {"1217", "1520"}),
    "2324": ([(PT, "1444", "20050101")], None, {"2324"}),
    # PAKBON
    "449": ([(PB, "3006", "02")], None, {"449"}),
    "450": ([(PB, "1538", "other.zip")], None, {"450"}),
    "741": ([], lambda m: m[PB].append(bytearray(m[PB][0])), {"741"}),
    # ZORGTRAJECT
    "566": ([(ZT, "1452", "20181231")], None, {"566"}),
    "1567": ([(ZT, "1451", "20190601")], None, {"1567", "1388"}),  # the DBC now begins before it
    "373": ([(ZT, "1453", "P0002")], None, {"373"}),
    "1540": ([], _append_copy(DBC, **{"1462": "DBC2"}), {"1540"}),
    "1329": ([(ZT, "1458", "")], None, {"1329"}),
    "2134": ([(ZT, "1458", "20190501")], None, {"2134"}),
    "2313": ([(ZT, "5119", "")], None, {"2313"}),
    # DBC_TRAJECT
    "390": ([], _shift_to_2007, {"390"}),
    "393": ([(DBC, "1476", "0"), (DBC, "1477", "5")], _shift_to_2007, {"393"}),
    "515": ([(DBC, "1466", "20181231")], None, {"515", "2126", "2129", "2130", "2131", "2133", "2134"}),
    "589": ([(DBC, "1466", "20190601")], None, {"589"}),
    "2132": ([(DBC, "1465", "20190502"), (DBC, "1466", "20190601")], None,
             {"2132", "589", "2126", "2129", "2130", "2131"}),  # every activity now lies before the DBC
    "1388": ([(DBC, "1465", "20181231")], None, {"1388"}),
    "1392": ([(DBC, "1471", "-1")], None, {"1392"}),
    "1396": ([(DBC, "1476", "-1")], None, {"1396"}),
    "1405": ([(DBC, "1477", "-1")], None, {"1405"}),
    "1577": ([(DBC, "3217", "-1")], None, {"1577"}),
    "1578": ([(DBC, "3218", "-1")], None, {"1578"}),
    "1547": ([(DBC, "1476", "95001")], None, {"1547"}),
    "2068": ([(DBC, "1474", "000000000124")], None, {"2068"}),
    "2083": ([(DBC, "4091", "")], None, {"2083"}),
    "2191": ([(DBC, "4093", "")], None, {"2191"}),
    "2200": ([(DBC, "4092", "12345679")], None, {"2200"}),
    "2114": ([(DBC, "1468", "199")], None, {"2114"}),
    "2115": ([(DBC, "1473", "100999"), (DBC, "1474", "000000000999")], None, {"2115"}),
    "2124": ([(DBC, "1465", "20180101"), (ZT, "1451", "20180101")], None, {"2124"}),
    "2201": ([(DBC, "4146", "")], None, {"2201"}),
    "2120": ([(DBC, "4093", "PS")], None, {"2120"}),
    "2121": ([(DBC, "4094", "PS"), (DBC, "4092", "12345679")], None, {"2121"}),
    # DIAGNOSE
    "2133": ([(DG, "1482", "20190501")], None, {"2133"}),
    "2322": ([(DG, "5223", "0")], None, {"2322"}),
    "2323": ([], _append_copy(DG), {"2323"}),
    # geleverd zorgprofiel
    "2126": ([(TS, "1491", "20190501")], None, {"2126"}),
    "2129": ([(DB, "1502", "20181231")], None, {"2129"}),
    "2130": ([(VB, "1510", "20181231")], None, {"2130"}),
    "2131": ([(VR, "1518", "20181231")], None, {"2131"}),
    "1406": ([(TS, "1491", "20190502")], None, {"1406", "2126"}),  # after the pakbon is after the DBC too
    "1407": ([(DB, "1502", "20190502")], None, {"1407", "2129"}),
    "1408": ([(VB, "1510", "20190502"), (VB, "4145", "20190505")], None, {"1408", "2130"}),
    "1413": ([(VR, "1518", "20190502")], None, {"1413", "2131"}),
    "1571": ([(TS, "1493", "-1")], None, {"1571"}),
    "1572": ([(TS, "1494", "-1")], None, {"1572"}),
    "1573": ([(TS, "1495", "-1")], None, {"1573"}),
    "1574": ([(DB, "1503", "-1")], None, {"1574"}),
    "1575": ([(VB, "1511", "-1")], None, {"1575"}),
    "1576": ([(VR, "1519", "-1")], None, {"1576"}),
    "1579": ([(DB, "3231", "-1")], None, {"1579"}),
    "1580": ([(VB, "3210", "-1")], None, {"1580"}),
    "1581": ([(VR, "3224", "-1")], None, {"1581"}),
    "2057": ([(TS, "1492", "AG"), (TS, "4136", "N")], None, {"2057"}),
    "2058": ([(TS, "1490", "act_2")], None, {"2058"}),
    "2059": ([(DB, "1501", "act_8")], None, {"2059"}),
    "2060": ([(VB, "1509", "act_8.8")], None, {"2060"}),
    "2061": ([(VR, "1517", "act_9")], None, {"2061"}),
    "2064": ([(TS, "1490", "act_8.1")], None, {"2064"}),
    "2065": ([(DB, "1501", "act_2.1")], None, {"2065"}),
    "2066": ([(VB, "1509", "act_9.1")], None, {"2066"}),
    "2078": ([(VR, "1517", "act_8.1")], None, {"2078"}),
    "2095": ([(TS, "4135", "")], None, {"2095"}),
    "2098": ([(TS, "1492", "PS")], None, {"2098"}),
    "2140": ([(TS, "1493", "481")], None, {"2140"}),
    "2173": ([(TS, "1490", "act_6.1"), (TS, "1493", "1441")], None, {"2173"}),
    "2148": ([(TS, "1490", "act_6.1"), (TS, "1495", "1441")], None, {"2148"}),
    "2149": ([(TS, "1490", "act_6.1"), (TS, "1494", "1441")], None, {"2149"}),
    "2175": ([(TS, "1494", "1441")], None, {"2175"}),
    "2176": ([(TS, "1495", "1441")], None, {"2176"}),
    "2141": ([(DB, "1503", "13")], None, {"2141"}),
    "2142": ([(VB, "1511", "4")], None, {"2142"}),
    "443": ([(TS, "1490", "act_7")], None, {"443"}),
    "430": ([(DB, "1501", "act_7")], None, {"430"}),
    "480": ([(VB, "1509", "act_7")], None, {"480"}),
    "493": ([(VR, "1517", "act_7")], None, {"493"}),
    "1355": ([(DB, "1500", "A1")], None, {"1355", "1356"}),  # the same number in two files: both report
    "1357": ([(VB, "1508", "A1")], None, {"1357", "1356"}),
    "1358": ([(VR, "1516", "A1")], None, {"1358", "1356"}),
    # OVERIGE_VERRICHTING
    "362": ([(OV, "1526", "20190228")], None, {"362"}),
    "1361": ([(OV, "1526", "20190502")], None, {"1361"}),
    "2194": ([(OV, "1525", "20190502"), (OV, "1526", "20190502")], None, {"2194", "1361"}),
    "1397": ([(OV, "1531", "-1")], None, {"1397"}),
    "1398": ([(OV, "1532", "-1")], None, {"1398"}),
    "372": ([(OV, "1527", "P0002")], None, {"372"}),
    "2063": ([(OV, "1528", "AG")], None, {"2063"}),
}
# Counts below zero also differ from the records counted (the V rule of that file).
for number, ddid in (("673", "1542"), ("674", "1543"), ("675", "1544"), ("676", "1545"), ("677", "1546"),
                     ("678", "1547"), ("679", "1548"), ("680", "1549"), ("681", "1550")):
    PLANTED[number] = ([(PB, ddid, "-1")], None, {number, _count_rule(ddid)})


@pytest.fixture(scope="module")
def pm():
    return ggz_pm()


def run(pm, members, tmp: Path, engine="columnar"):
    return validate(write_zip(members, tmp / ZIP_NAME), pm=pm, engine=engine, max_per_rule=None, today=TODAY)


def test_the_clean_delivery_is_clean(pm, tmp_path):
    result = run(pm, clean_members(LAYOUT), tmp_path)
    assert result.findings == [] and result.assessment == "positive"


def test_a_deletion_record_needs_only_its_keys(pm, tmp_path):
    """GA §5.3: a DBC-traject with status vlag 'V' fills its keys; its other fields may be blank."""
    members = clean_members(LAYOUT)
    deletion = {"1462": "DBC9", "1463": "V", "1464": "ZT1"}
    fld = LAYOUT.file(DBC)
    members[DBC].append(bytearray(b" " * fld.record_length))
    for ddid, value in deletion.items():
        set_field(members, LAYOUT, DBC, 2, ddid, value)
    recount(members, LAYOUT)
    assert run(pm, members, tmp_path).findings == []
    set_field(members, LAYOUT, DBC, 2, "1463", " ")  # the same record, not a deletion: many findings
    assert len(run(pm, members, tmp_path).counts) > 10
    set_field(members, LAYOUT, DBC, 2, "1463", "V")
    set_field(members, LAYOUT, DBC, 2, "1464", "")  # a deletion without its foreign key
    assert set(run(pm, members, tmp_path).counts) == {"409"}


def test_every_decidable_hand_rule_has_a_planted_fault(pm):
    """Each number of the hand-written rules that one delivery decides is planted above."""
    hand = [r for r in rulebook(pm, standard()).rules if r.rule.span.source.endswith("ga_dbc_ggz_9_0_hand.rules")]
    assert len(hand) == 170
    # 2096's window in the workbook ends before it begins (geldig t/m 31-12-0999): never in force.
    never = {r.number for r in hand if r.rule.valid_until and r.rule.valid_from and r.rule.valid_until < r.rule.valid_from}
    assert never == {"2096"}
    live = {r.number for r in hand if r.status == c.ACTIVE} - never
    planted = set().union(*(expected for _, _, expected in PLANTED.values()))
    assert live <= planted, sorted(live - planted, key=int)
    assert len(live) == 120


@pytest.mark.parametrize("number", sorted(PLANTED, key=int))
def test_a_planted_fault_gives_exactly_its_findings(number, pm, tmp_path):
    edits, change, expected = PLANTED[number]
    members = clean_members(LAYOUT)
    if change is not None:
        change(members)
    for file, ddid, value in edits:
        set_field(members, LAYOUT, file, 1, ddid, value)
    result = run(pm, members, tmp_path)
    assert set(result.counts) == expected
    assert Counter(result.findings) == Counter(run(pm, members, tmp_path, "reference").findings)
