"""The synthetic delivery generator and the fault planting helpers."""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import shutil
import zipfile

import pytest

from disval.core.faults import plant_fault, rewrite_member
from disval.core.generate import add_generate_command, generate_delivery
from disval.plugins.codelists_dir import DirectoryCodelistProvider
from disval.plugins.ga_ohw_gbg import standard

CREATED = dt.date(2018, 2, 1)
NAME = "DIS_GBG_OHW_TEST_010_94001234_00_20180201_01.zip"


@pytest.fixture(scope="module")
def delivery(tmp_path_factory):
    return generate_delivery(tmp_path_factory.mktemp("gen"), trajects=300, profiles=1200, seed=7)


def records(zip_path, member):
    """Each record of `member` as a dict DDID -> raw text, plus the raw lines."""
    layout = standard().layout.file(member)
    data = zipfile.ZipFile(zip_path).read(member)
    lines = data.split(b"\r\n")
    assert lines[-1] == b""  # every record, the last one too, ends in CR/LF
    out = []
    for line in lines[:-1]:
        text = line.decode("iso-8859-1")
        out.append({f.ddid: text[f.start:f.end] for f in layout.fields})
    return out


def test_the_zip_is_named_per_6_2_1_and_holds_the_three_members(delivery):
    assert delivery.name == NAME
    assert standard().naming.parse(delivery.name) is not None
    with zipfile.ZipFile(delivery) as zf:
        assert zf.namelist() == ["BEHANDELTRAJECT.txt", "GELEVERD_ZORGPROFIEL.txt", "PAKBON.txt"]
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in zf.infolist())


def test_every_record_has_the_layouts_length_and_ends_in_crlf(delivery):
    with zipfile.ZipFile(delivery) as zf:
        for file in standard().layout.files:
            data = zf.read(file.name)
            lines = data.split(b"\r\n")[:-1]
            assert lines and all(len(line) == file.record_length for line in lines), file.name
            assert b"\n" not in data.replace(b"\r\n", b"")


def test_the_packing_slip_matches_the_zip_name_and_the_counts(delivery):
    [slip] = records(delivery, "PAKBON.txt")
    assert {d: v.strip() for d, v in slip.items() if d in ("3362", "3371", "3337", "3233", "3234", "3344")} == {
        "3362": "94001234", "3371": "00", "3337": "01.0", "3233": "20180201", "3234": "01", "3344": NAME,
    }
    assert slip["3345"] == "    300" and slip["3245"] == "   1200"  # N: right-aligned, leading spaces
    assert len(records(delivery, "BEHANDELTRAJECT.txt")) == 300
    assert len(records(delivery, "GELEVERD_ZORGPROFIEL.txt")) == 1200
    for ddid in ("3339", "3334", "3342", "3341"):
        assert slip[ddid].strip()
    assert slip["3341"].strip().isalnum()


def test_keys_are_unique_and_every_profile_refers_to_a_traject(delivery):
    trajects = [r["3257"] for r in records(delivery, "BEHANDELTRAJECT.txt")]
    profiles = records(delivery, "GELEVERD_ZORGPROFIEL.txt")
    assert len(set(trajects)) == len(trajects)
    assert len({r["3310"] for r in profiles}) == len(profiles)
    assert {r["3309"] for r in profiles} <= set(trajects)
    assert all(t == t.strip().ljust(20) for t in trajects)  # AN: left-aligned, trailing spaces


def test_dates_and_flags_follow_the_rules(delivery):
    created = int(CREATED.strftime("%Y%m%d"))
    trajects = records(delivery, "BEHANDELTRAJECT.txt")
    for r in trajects:
        begin = r["3262"]
        assert dt.datetime.strptime(begin, "%Y%m%d") and int(begin) <= created
        if r["3263"].strip():
            assert int(begin) <= int(r["3263"]) <= created
        assert r["4046"] in ("J", "N", " ")
        if r["4046"] == "J":
            assert r["3266"].strip()
    assert {r["4046"] for r in trajects} == {"J", "N", " "}
    assert any(not r["3263"].strip() for r in trajects)  # ongoing trajects too
    for r in records(delivery, "GELEVERD_ZORGPROFIEL.txt"):
        assert int(r["3312"]) <= created
        for ddid in ("3315", "3316", "3355"):
            value = r[ddid]
            assert value == value.strip().rjust(6)
            assert (not value.strip() and ddid == "3355") or int(value) >= 0


def test_every_code_is_valid_at_its_peildatum_in_the_shipped_lists(delivery):
    provider = DirectoryCodelistProvider(standard().codelists_dir)
    lists = {r.name: provider.codelist(r.name, CREATED) for r in provider.releases()}

    def valid(code, names, at):
        return any(lists[n].row_at(code.strip(), int(at)) for n in names)

    for r in records(delivery, "BEHANDELTRAJECT.txt"):
        for ddid, name in (("3266", "CL_DIAGNOSE_GBG"), ("3272", "CL_REDENSLUITEN_GBG")):
            assert not r[ddid].strip() or valid(r[ddid], [name], r["3262"]), r
    used = set()
    for r in records(delivery, "GELEVERD_ZORGPROFIEL.txt"):
        assert valid(r["3311"], ["CL_BEHANDELCOMPONENTEN_GBG"], r["3312"]), r
        assert valid(r["3314"], ["CL_BEROEP_GBG", "CL_HOOFDBEROEPEN_GBG"], r["3312"]), r
        row = lists["CL_BEROEP_GBG"].row_at(r["3314"].strip(), int(r["3312"]))
        assert row is None or row.selectable != 0, r
        used.add(r["3314"].strip())
    assert not used & {"PS", "MB", "VB", "OB"}  # grouping levels are never written


def test_the_generator_follows_the_codelists_it_is_given(tmp_path):
    lists = tmp_path / "lists"
    shutil.copytree(standard().codelists_dir, lists)
    (lists / "20180101 cl beroep gbg SAMPLE.txt").write_bytes(
        b"cl_beroep_gbg_begindatum|cl_beroep_gbg_einddatum|cl_beroep_gbg_code|cl_beroep_gbg_selecteerbaar\r\n"
        b"20140101|99991231|ZZ|0\r\n20140101|99991231|ZZ.01|1\r\n"
    )
    (lists / "20180101 cl hoofdberoepen gbg SAMPLE.txt").write_bytes(
        b"cl_hoofdberoepen_gbg_begindatum|cl_hoofdberoepen_gbg_einddatum|cl_hoofdberoepen_gbg_code\r\n"
        b"20140101|99991231|ZZ\r\n20140101|99991231|HB.77\r\n"
    )
    path = generate_delivery(tmp_path, trajects=20, profiles=200, codelists=lists)
    # ZZ is a valid hoofdberoep but selecteerbaar 0 as a beroep (rule 2249), so it is never drawn.
    assert {r["3314"].strip() for r in records(path, "GELEVERD_ZORGPROFIEL.txt")} == {"ZZ.01", "HB.77"}


def test_a_missing_codelist_is_a_clear_error(tmp_path):
    (tmp_path / "lists").mkdir()
    with pytest.raises(ValueError, match="codelist CL_DIAGNOSE_GBG is not in NZa codelist files in"):
        generate_delivery(tmp_path, trajects=1, profiles=1, codelists=tmp_path / "lists")


def test_same_seed_same_bytes_other_seed_other_records(tmp_path):
    def digest(seed, sub):
        path = generate_delivery(tmp_path / sub, trajects=100, profiles=400, seed=seed)
        return hashlib.sha256(path.read_bytes()).hexdigest()

    assert digest(1, "a") == digest(1, "b")
    assert digest(1, "c") != digest(2, "d")


def test_name_parts_come_from_the_arguments(tmp_path):
    path = generate_delivery(tmp_path, trajects=2, profiles=3, phase="production", provider="12345678",
                             branch="07", created=dt.date(2019, 3, 4), sequence="02")
    assert path.name == "DIS_GBG_OHW_PROD_010_12345678_07_20190304_02.zip"
    [slip] = records(path, "PAKBON.txt")
    assert (slip["3362"], slip["3371"], slip["3233"], slip["3234"]) == ("12345678", "07", "20190304", "02")
    assert max(int(r["3262"]) for r in records(path, "BEHANDELTRAJECT.txt")) <= 20190304


def test_an_empty_delivery_has_zero_byte_members(tmp_path):
    path = generate_delivery(tmp_path, trajects=0, profiles=0)
    with zipfile.ZipFile(path) as zf:
        assert zf.read("BEHANDELTRAJECT.txt") == b"" and zf.read("GELEVERD_ZORGPROFIEL.txt") == b""
    [slip] = records(path, "PAKBON.txt")
    assert slip["3345"].strip() == slip["3245"].strip() == "0"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(provider="9400123"), "provider must be 8 digits"),
        (dict(branch="A1"), "branch 2 digits"),
        (dict(phase="acceptance"), "phase must be one of"),
        (dict(trajects=0, profiles=5), "profiles need trajects"),
    ],
)
def test_bad_arguments_are_refused(tmp_path, kwargs, message):
    args = dict(trajects=1, profiles=1) | kwargs
    with pytest.raises(ValueError, match=message):
        generate_delivery(tmp_path, **args)


def test_a_zip_path_must_carry_the_6_2_1_name(tmp_path):
    assert generate_delivery(tmp_path / NAME, trajects=1, profiles=1) == tmp_path / NAME
    with pytest.raises(ValueError, match="the zip must be named " + NAME):
        generate_delivery(tmp_path / "delivery.zip", trajects=1, profiles=1)


def test_the_generate_command(tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="disval")
    add_generate_command(parser.add_subparsers())
    args = parser.parse_args(["generate", "--trajects", "5", "--profiles", "9", "--seed", "3", "--phase",
                              "production", "--created", "2018-03-01", "--sequence", "04", "-o", str(tmp_path)])
    assert args.func(args) == 0
    written = tmp_path / "DIS_GBG_OHW_PROD_010_94001234_00_20180301_04.zip"
    assert capsys.readouterr().out.strip() == str(written)
    assert len(records(written, "GELEVERD_ZORGPROFIEL.txt")) == 9
    args = parser.parse_args(["generate", "--provider", "x", "-o", str(tmp_path)])
    assert args.func(args) == 2
    assert "provider must be 8 digits" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["generate", "--created", "2018-13-01"])


def test_the_validator_finds_nothing_in_a_generated_delivery_and_exactly_the_planted_fault(delivery, tmp_path):
    from disval.core.pipeline import validate

    clean = validate(delivery)
    # The only warning: the shipped codelists are samples (tests/validation/test_sample_codelists.py).
    assert (clean.assessment, clean.counts, [w.key for w in clean.warnings]) == ("positive", {}, ["codelist_sample"])
    assert clean.records == {"BEHANDELTRAJECT.txt": 300, "GELEVERD_ZORGPROFIEL.txt": 1200, "PAKBON.txt": 1}
    faulty = plant_fault(delivery, tmp_path, "GELEVERD_ZORGPROFIEL.txt", 5, "3314", "PS")
    assert validate(faulty).counts == {"2249": 1}  # a grouping level, selecteerbaar 0


# ---------------------------------------------------------------- planting faults


def member_lines(zip_path):
    with zipfile.ZipFile(zip_path) as zf:
        return {name: zf.read(name).split(b"\r\n") for name in zf.namelist()}


def test_plant_fault_changes_exactly_one_field_of_one_record(delivery, tmp_path):
    out = plant_fault(delivery, tmp_path / "faulty", "GELEVERD_ZORGPROFIEL.txt", 17, "3314", "XX.99")
    assert out == tmp_path / "faulty" / NAME
    before, after = member_lines(delivery), member_lines(out)
    assert list(before) == list(after)
    for name in before:
        if name != "GELEVERD_ZORGPROFIEL.txt":
            assert before[name] == after[name]
    old_lines, new_lines = before["GELEVERD_ZORGPROFIEL.txt"], after["GELEVERD_ZORGPROFIEL.txt"]
    assert len(old_lines) == len(new_lines)
    assert [i for i, (a, b) in enumerate(zip(old_lines, new_lines)) if a != b] == [16]
    old, new = old_lines[16], new_lines[16]
    fld = standard().layout.field("3314")
    assert new[:fld.start] == old[:fld.start] and new[fld.end:] == old[fld.end:]
    assert new[fld.start:fld.end] == b"XX.99".ljust(20)


def test_plant_fault_pads_numbers_right_aligned_and_can_work_in_place(delivery, tmp_path):
    copy = shutil.copy(delivery, tmp_path / NAME)
    plant_fault(copy, copy, "PAKBON.txt", 1, "3245", "-1")
    [slip] = records(copy, "PAKBON.txt")
    assert slip["3245"] == "     -1"


@pytest.mark.parametrize(
    "file, line, ddid, value, message",
    [
        ("PAKBON.txt", 1, "3371", "123", "3371 Instelling volgnr DIS: '123' is 3 bytes, the field holds 2"),
        ("PAKBON.txt", 2, "3371", "01", "PAKBON.txt has 1 record; there is no line 2"),
        ("PAKBON.txt", 1, "3314", "X", "PAKBON.txt has no field 3314"),
        ("PATIENT.txt", 1, "3246", "X", "has no file PATIENT.txt"),
        ("PAKBON.txt", 1, "3341", "\u20ac", "cannot be written in ISO-8859-1"),
    ],
)
def test_plant_fault_refuses_what_it_cannot_do(delivery, tmp_path, file, line, ddid, value, message):
    with pytest.raises(ValueError, match=message):
        plant_fault(delivery, tmp_path, file, line, ddid, value)
    assert not list(tmp_path.iterdir())  # nothing half-written is left behind


def test_rewrite_member_transforms_or_drops_one_member(delivery, tmp_path):
    out = rewrite_member(delivery, tmp_path / "lf.zip", "behandeltraject.TXT",
                         lambda lines: (line.replace(b"\r\n", b"\n") for line in lines))
    after = zipfile.ZipFile(out).read("BEHANDELTRAJECT.txt")
    assert b"\r" not in after and after.count(b"\n") == 300
    dropped = rewrite_member(delivery, tmp_path / "dropped.zip", "PAKBON.txt", lambda lines: None)
    assert zipfile.ZipFile(dropped).namelist() == ["BEHANDELTRAJECT.txt", "GELEVERD_ZORGPROFIEL.txt"]
    with pytest.raises(ValueError, match="no member PATIENT.txt"):
        rewrite_member(delivery, tmp_path / "x.zip", "PATIENT.txt", lambda lines: lines)
