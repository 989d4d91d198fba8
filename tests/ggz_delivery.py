"""A small clean GA DBC-GGZ 9.0 delivery, built record by record, and small GGZ codelists to check it with.

One patient with one zorgtraject, one DBC-traject with a record in each geleverd zorgprofiel file and
a diagnosis, and one overige verrichting. The codelists hold a handful of rows with the columns the
hand-written rules read (zorgtype groepcode, activiteit soort, the NZa maximum tariff); lists the
delivery's codes are not in (circuit, reden sluiten, overige producten) are left out, so their R
rules are not evaluated. Tests plant one fault and expect exactly its finding.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

from disval.core.codelists import CodeRow
from disval.core.plugins import get_plugin_manager, hookimpl
from listed_codelists import ListedCodelists

ZIP_NAME = "DIS_GGZ_DBC_TEST_090_12345678_00_20190501_01.zip"

PT, ZT, DBC = "PATIENT.txt", "ZORGTRAJECT.txt", "DBC_TRAJECT.txt"
TS, DB, VB, VR = ("GELEVERD_ZORGPROFIEL_TIJDSCHRIJVEN.txt", "GELEVERD_ZORGPROFIEL_DAGBESTEDING.txt",
                  "GELEVERD_ZORGPROFIEL_VERBLIJFSDAGEN.txt", "GELEVERD_ZORGPROFIEL_VERRICHTINGEN.txt")
DG, OV, PB = "DIAGNOSE.txt", "OVERIGE_VERRICHTING.txt", "PAKBON.txt"

RECORDS = {
    PT: [{"1430": "12345678", "1431": "00", "1432": "P0001", "1433": "Jansen", "1435": "2", "1439": "J",
          "1440": "1234AB", "1443": "NL", "1444": "19700101", "1445": "1", "1446": "123456782"}],
    ZT: [{"1449": "ZT1", "1451": "20190101", "1453": "P0001", "5119": "010", "1458": "20190115"}],
    DBC: [{"1462": "DBC1", "1464": "ZT1", "1465": "20190101", "1466": "20190430", "4091": "12345678",
           "4093": "MB", "4171": "N", "4095": "01", "4146": "87654321", "1468": "101", "1469": "C1",
           "1470": "1", "1471": "100000", "1473": "100123", "1474": "000000000123", "1475": "D00001",
           "1476": "90000", "1477": "0", "3217": "0", "3218": "0"}],
    TS: [{"1488": "DBC1", "1489": "A1", "1490": "act_2.1", "1491": "20190201", "4135": "11111111", "1492": "MB",
          "4136": "J", "1493": "60", "1495": "0", "1494": "0"}],
    DB: [{"1499": "DBC1", "1500": "A2", "1501": "act_8.1", "1502": "20190202", "1503": "4"}],
    VB: [{"1507": "DBC1", "1508": "A3", "1509": "act_8.8.01", "1510": "20190203", "4145": "20190205", "1511": "3"}],
    VR: [{"1515": "DBC1", "1516": "A4", "1517": "act_9.1", "1518": "20190204", "1519": "1"}],
    DG: [{"1481": "DBC1", "1482": "20190110", "5121": "020", "5223": "1"}],
    OV: [{"1523": "OV1", "1525": "20190301", "1526": "20190301", "1527": "P0001", "1530": "X1", "1531": "1000",
          "1532": "1"}],
}

SLIP = {"1534": "12345678", "1535": "00", "1536": "09.0", "1537": "20190501", "3006": "01", "1538": ZIP_NAME,
        "1539": "Leverancier", "1540": "Pakket", "1541": "1.0", "3001": "gebruiker"}
COUNTS = {"1542": PT, "1543": ZT, "1544": DBC, "1545": DG, "1546": TS, "1547": DB, "1548": VB, "1549": VR,
          "1550": OV}


def fit(fld, value) -> bytes:
    """A value as it stands in the field: numbers right-aligned, the rest left-aligned, cut to the width."""
    raw = value if isinstance(value, bytes) else str(value).encode("latin-1")
    raw = raw[: fld.length]
    return raw.rjust(fld.length) if fld.type == "N" else raw.ljust(fld.length)


def record(layout, file: str, values: dict) -> bytearray:
    """One record of `file`: `values` by DDID, every other field blank."""
    rec = bytearray(b" " * layout.file(file).record_length)
    for ddid, value in values.items():
        fld = layout.field(ddid)
        rec[fld.start:fld.end] = fit(fld, value)
    return rec


def clean_members(layout) -> dict[str, list[bytearray]]:
    """The clean delivery's records per file, the packing slip counting them."""
    members = {name: [record(layout, name, values) for values in rows] for name, rows in RECORDS.items()}
    slip = dict(SLIP, **{ddid: str(len(members[name])) for ddid, name in COUNTS.items()})
    members[PB] = [record(layout, PB, slip)]
    return members


def set_field(members, layout, file: str, line: int, ddid: str, value) -> None:
    """Plant a value into one field of one record."""
    fld = layout.field(ddid)
    assert fld.file == file, (ddid, fld.file)
    members[file][line - 1][fld.start:fld.end] = fit(fld, value)


def recount(members, layout) -> None:
    """Make the packing slip's counts agree with the records again (after adding or removing some)."""
    for ddid, name in COUNTS.items():
        set_field(members, layout, PB, 1, ddid, str(len(members.get(name, []))))


def write_zip(members: dict[str, list[bytearray]], target: Path) -> Path:
    """The members as a delivery zip (CRLF line ends)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, lines in members.items():
            zf.writestr(name, b"".join(bytes(line) + b"\r\n" for line in lines))
    return target


def _row(begin=20000101, end=99991231, selectable=1, **attributes) -> CodeRow:
    return CodeRow(begin, end, selectable, attributes={k: str(v) for k, v in attributes.items()})


CODELISTS = {
    "CL_ZORGTYPE_GGZ": {"100": (_row(selectable=0, groepcode=""),), "101": (_row(groepcode="100"),),
                        "201": (_row(groepcode="200"),), "301": (_row(groepcode="300"),),
                        "199": (_row(selectable=0, groepcode="100"),)},
    "CL_BEROEP_GGZ": {"MB": (_row(),), "PS": (_row(),), "AG": (_row(selectable=0),)},
    "CL_HOOFDBEROEPEN_GGZ": {"MB": (_row(),)},
    "CL_ACTIVITEIT_GGZ": {"act_2.1": (_row(soort="Tijdschrijven"),), "act_6.1": (_row(soort="Tijdschrijven"),),
                          "act_2": (_row(selectable=0, soort="Tijdschrijven"),),
                          "act_8.1": (_row(soort="Dagbesteding"),), "act_8.8.01": (_row(soort="Verblijfsdag"),),
                          "act_9.1": (_row(soort="Verrichting"),), "act_8": (_row(selectable=0, soort="Dagbesteding"),),
                          "act_8.8": (_row(selectable=0, soort="Verblijfsdag"),),
                          "act_9": (_row(selectable=0, soort="Verrichting"),)},
    "CL_TARIEF_GGZ": {("100123", "D00001"): (_row(dbc_tarief_max="95000"),),
                      ("100124", "D00001"): (_row(dbc_tarief_max="0"),)},
    "CL_PRODUCTGROEP_GGZ": {"100123": (_row(),), "100124": (_row(),), "100999": (_row(selectable=0),)},
    "CL_DIAGNOSE_GGZ": {"010": (_row(),), "020": (_row(),), "030": (_row(end=20181231),)},
}


class _Provider:
    @hookimpl
    def disval_codelist_provider(self, standard, location):
        return ListedCodelists(CODELISTS, "small GGZ test lists") if standard.id == "GA-DBC-GGZ-9.0" else None


def ggz_pm():
    """The plugin manager with the built-ins and the small GGZ test lists."""
    pm = get_plugin_manager()
    pm.register(_Provider())
    return pm
