"""`disval generate --standard GA-DBC-GGZ-9.0`: deliveries of all ten files that pass every derived rule."""
from __future__ import annotations

import datetime as dt
import hashlib
import zipfile

import pytest
from ggz_support import records, write_codelists

from disval.core.cli import main
from disval.core.generate import generate_delivery
from disval.core.pipeline import validate
from disval.plugins.ga_dbc_ggz import standard

STANDARD = "GA-DBC-GGZ-9.0"
CREATED = dt.date(2019, 6, 3)
ACTIVITY = {  # file -> (DBC-traject number, date fields)
    "GELEVERD_ZORGPROFIEL_TIJDSCHRIJVEN.txt": ("1488", ("1491",)),
    "GELEVERD_ZORGPROFIEL_DAGBESTEDING.txt": ("1499", ("1502",)),
    "GELEVERD_ZORGPROFIEL_VERBLIJFSDAGEN.txt": ("1507", ("1510", "4145")),
    "GELEVERD_ZORGPROFIEL_VERRICHTINGEN.txt": ("1515", ("1518",)),
}


@pytest.fixture(scope="module")
def lists(tmp_path_factory):
    return write_codelists(tmp_path_factory.mktemp("lists"))


@pytest.fixture(scope="module")
def delivery(tmp_path_factory, lists):
    return generate_delivery(tmp_path_factory.mktemp("ggz"), standard=STANDARD, records=600, seed=3,
                             codelists=lists)


def test_the_delivery_is_named_per_6_2_1_and_holds_the_ten_files(delivery):
    assert delivery.name == "DIS_GGZ_DBC_TEST_090_94001234_00_20190603_01.zip"
    assert standard().naming.parse(delivery.name) is not None
    with zipfile.ZipFile(delivery) as zf:
        assert sorted(zf.namelist()) == sorted(f.name for f in standard().layout.files)
        for file in standard().layout.files:
            lines = zf.read(file.name).split(b"\r\n")[:-1]
            assert lines and all(len(line) == file.record_length for line in lines), file.name


def test_the_packing_slip_counts_every_file(delivery):
    [slip] = records(delivery, "PAKBON.txt")
    counted = {"PATIENT.txt": "1542", "ZORGTRAJECT.txt": "1543", "DBC_TRAJECT.txt": "1544", "DIAGNOSE.txt": "1545",
               "GELEVERD_ZORGPROFIEL_TIJDSCHRIJVEN.txt": "1546", "GELEVERD_ZORGPROFIEL_DAGBESTEDING.txt": "1547",
               "GELEVERD_ZORGPROFIEL_VERBLIJFSDAGEN.txt": "1548", "GELEVERD_ZORGPROFIEL_VERRICHTINGEN.txt": "1549",
               "OVERIGE_VERRICHTING.txt": "1550"}
    for file, ddid in counted.items():
        assert int(slip[ddid]) == len(records(delivery, file)), file
    assert sum(len(records(delivery, f)) for f in ACTIVITY) == 600
    assert slip["1536"] == "09.0" and slip["1538"].strip() == delivery.name and slip["1537"] == "20190603"


def test_every_reference_has_its_parent_and_the_dates_nest(delivery):
    patients = {r["1432"] for r in records(delivery, "PATIENT.txt")}
    zts = {r["1449"]: r for r in records(delivery, "ZORGTRAJECT.txt")}
    dbcs = {r["1462"]: r for r in records(delivery, "DBC_TRAJECT.txt")}
    created = CREATED.strftime("%Y%m%d")
    assert {r["1453"] for r in zts.values()} == patients  # every patient has a zorgtraject
    for dbc in dbcs.values():
        zt = zts[dbc["1464"]]
        assert zt["1451"] <= dbc["1465"] <= dbc["1466"] < created
        assert zt["1452"].strip() == "" or dbc["1466"] <= zt["1452"]
    for file, (parent, dates) in ACTIVITY.items():
        for act in records(delivery, file):
            dbc = dbcs[act[parent]]
            assert all(dbc["1465"] <= act[d] <= dbc["1466"] for d in dates), (file, act)
    for diag in records(delivery, "DIAGNOSE.txt"):
        assert diag["1481"] in dbcs
    assert {r["1527"] for r in records(delivery, "OVERIGE_VERRICHTING.txt")} <= patients


def test_the_patient_file_is_as_the_provider_gives_it_to_the_pvm(delivery):
    for p in records(delivery, "PATIENT.txt"):
        assert p["1433"].strip() and not p["1433"].startswith(" ") and p["1439"].strip()  # name, initials
        assert p["1435"] == "2" and p["1443"] == "NL"
        assert p["1440"][:4].isdigit() and p["1440"][0] != "0" and p["1440"][4:].isalpha()  # 9999XX
        bsn = [int(c) for c in p["1446"]]
        assert len(bsn) == 9 and sum(d * w for d, w in zip(bsn, range(9, 1, -1))) % 11 == bsn[8]  # 11-proef


def test_a_generated_delivery_validates_clean_with_its_codelists(delivery, lists):
    result = validate(delivery, codelists=str(lists))
    assert result.assessment == "positive"
    assert not result.findings, [(f.rule, f.file, f.line, f.message) for f in result.findings[:5]]
    # The codelist rules were evaluated, not skipped for want of a list.
    skipped = {r.rule for r in result.not_evaluated}
    assert not {"410", "465", "503", "508", "511"} & skipped, skipped
    assert {c.name for c in result.codelists} >= {"CL_ZORGTYPE_GGZ", "CL_BEROEP_GGZ", "CL_HOOFDBEROEPEN_GGZ"}


def test_without_codelists_it_writes_fixed_codes_and_still_validates_clean(tmp_path):
    path = generate_delivery(tmp_path, standard=STANDARD, records=80, seed=1)
    result = validate(path)
    assert result.assessment == "positive" and not result.findings
    assert "410" in {r.rule for r in result.not_evaluated}  # no list: the codelist rules say so


def test_the_same_seed_gives_the_same_bytes(tmp_path, lists):
    digests = set()
    for sub in ("a", "b"):
        path = generate_delivery(tmp_path / sub, standard=STANDARD, records=120, seed=5, codelists=lists)
        digests.add(hashlib.sha256(path.read_bytes()).hexdigest())
    assert len(digests) == 1


def test_the_command_line_writes_a_ggz_delivery_and_refuses_ohw_counts(tmp_path, capsys):
    assert main(["generate", "--standard", STANDARD, "--records", "40", "-o", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip().endswith("DIS_GGZ_DBC_TEST_090_94001234_00_20190603_01.zip")
    assert main(["generate", "--standard", STANDARD, "--trajects", "4", "-o", str(tmp_path)]) == 2
    assert "takes records, not trajects" in capsys.readouterr().err


def test_an_empty_delivery_has_empty_files_and_zero_counts(tmp_path):
    path = generate_delivery(tmp_path, standard=STANDARD, records=0)
    [slip] = records(path, "PAKBON.txt")
    assert all(int(slip[d]) == 0 for d in ("1542", "1543", "1544", "1546", "1550"))
    assert validate(path).assessment == "positive"


@pytest.mark.parametrize("seed", [11, 29])
def test_with_the_nzas_own_codelists_it_validates_clean_against_every_rule(nza_dir, tmp_path, seed):
    """Issue 9 part 4: codes drawn from the NZa's real 2019 GGZ lists, validated with those lists and the full
    rule set (derived and hand-written): no finding of any rule, and the rules that read the lists ran."""
    lists = nza_dir / "codelijsten-ggz-2019"
    path = generate_delivery(tmp_path, standard=STANDARD, records=3000, seed=seed, codelists=lists)
    result = validate(path, codelists=str(lists))
    assert result.assessment == "positive"
    assert not result.counts, [(f.rule, f.file, f.line, f.message) for f in result.findings[:5]]
    # Evaluated, not skipped: the codelist rules, 2098 (hoofdbehandelaar against codelist Hoofdberoep) and
    # 1540 (one initial DBC per zorgtraject, by CL_ZORGTYPE_GGZ's groepcode).
    assert {"410", "465", "508", "511", "2098", "1540"}.isdisjoint(r.rule for r in result.not_evaluated)
    # Both rules had something to judge: hoofdbehandelaars, and zorgtrajecten with follow-up DBCs.
    hoofd = [r for r in records(path, "GELEVERD_ZORGPROFIEL_TIJDSCHRIJVEN.txt") if r["4136"] == "J"]
    main_codes = {line.split("|")[2] for line in next(lists.glob("* cl hoofdberoepen *")).read_text(
        encoding="iso-8859-1").splitlines()[1:] if line}
    assert hoofd and {r["1492"].strip() for r in hoofd} <= main_codes
    dbcs = records(path, "DBC_TRAJECT.txt")
    assert len({d["1464"] for d in dbcs}) < len(dbcs)
    assert {d["1468"][0] for d in dbcs} == {"1", "2"}  # initial (1xx) and follow-up (2xx) zorgtypes
