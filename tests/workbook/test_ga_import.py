"""`disval ga import`: the NZa's GA DBC-GGZ 9.0 workbook gives exactly the layout disval ships."""
from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

from disval.core.cli import main
from disval.core.layout import load_layout
from disval.core.workbook.command import import_workbook, standard_name
from disval.core.workbook.sheet import read_workbook
from disval.plugins import ga_dbc_ggz

WORKBOOK = "ga-dbc-ggz-9.0/GA DBC-GGZ 9.0v1.0.xlsx"


@pytest.fixture(scope="module")
def workbook_path(nza_dir):
    path = nza_dir / WORKBOOK
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture(scope="module")
def imported(workbook_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("ggz")
    return import_workbook(workbook_path, out), out


def test_the_imported_layout_is_the_shipped_layout_attribute_by_attribute(imported):
    _, out = imported
    fresh = load_layout(out / "layout.toml")
    shipped = ga_dbc_ggz.standard().layout
    assert [f.name for f in fresh.files] == [f.name for f in shipped.files]
    for new, old in zip(fresh.files, shipped.files):
        assert (new.key, new.packing_slip, new.status_flag, new.record_length) == \
               (old.key, old.packing_slip, old.status_flag, old.record_length), new.name
        assert [f.ddid for f in new.fields] == [f.ddid for f in old.fields], new.name
        for a, b in zip(new.fields, old.fields):
            assert dataclasses.asdict(a) == dataclasses.asdict(b), f"{new.name} {a.ddid}"
    shipped_text = (ga_dbc_ggz.HERE / "layout.toml").read_text(encoding="utf-8")
    assert (out / "layout.toml").read_text(encoding="utf-8") == shipped_text


def test_the_workbook_holds_what_the_nza_readme_counts(workbook_path):
    wb = read_workbook(workbook_path)
    assert len(wb.files) == 10
    assert len(wb.validations) == 356
    assert Counter(v.type for v in wb.validations.values()) == {
        "BR": 103, "M": 89, "S": 77, "R": 32, "V": 19, "PVM": 12, "UK": 9, "FK": 8, "OH": 7}
    assert Counter(v.severity for v in wb.validations.values()) == {"ERR": 325, "WRN": 31}


def test_keys_flags_and_references_follow_from_the_workbook(imported):
    _, out = imported
    layout = load_layout(out / "layout.toml")
    assert layout.packing_slip.name == "PAKBON.txt"
    assert layout.file("PATIENT.txt").key == ("1430", "1431", "1432")  # composite, in column order
    assert layout.file("DIAGNOSE.txt").key == ("1481", "5121")
    assert layout.file("ZORGTRAJECT.txt").status_flag == "1450"
    assert layout.field("1464").references == "1449"  # "1464 ... is niet meegeleverd in ZORGTRAJECT.txt"
    assert layout.field("1453").references == "1432"  # to PATIENT's composite key, by the same name
    assert layout.field("1492").codelists == ("CL_BEROEP_GGZ", "CL_HOOFDBEROEPEN_GGZ")
    assert layout.field("1467").reference == "UZOVI register, Vektis" and not layout.field("1467").codelists


def test_a_length_that_contradicts_the_columns_is_corrected_and_noted(imported):
    result, out = imported
    assert load_layout(out / "layout.toml").field("3001").length == 24  # the GA prints "AN 14, 181-204"
    assert any(n.ddid == "3001" and "length 14" in n.text for n in result.notes)
    assert "# 3001: the GA gives length 14 but columns 181-204" in (out / "layout.toml").read_text(encoding="utf-8")


def test_the_command_writes_into_the_directory_and_says_what(workbook_path, tmp_path, capsys):
    assert main(["ga", "import", str(workbook_path), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "10 files, 141 attributes, 356 validation numbers" in out
    assert (tmp_path / "out" / "layout.toml").is_file()


def test_standard_name_comes_from_the_workbook_name():
    assert standard_name("GA DBC-GGZ 9.0v1.0.xlsx") == "ga_dbc_ggz_9_0"
    assert standard_name("GA OHW-GBG 1.0 v1.2.xlsx") == "ga_ohw_gbg_1_0"


def test_a_file_that_is_no_workbook_is_one_clear_line(tmp_path, capsys):
    bad = tmp_path / "GA X 1.0.xlsx"
    bad.write_text("not a workbook")
    assert main(["ga", "import", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("disval ga import: error:") and "not a readable xlsx workbook" in err
    assert "Traceback" not in err
    assert main(["ga", "import", str(tmp_path / "missing.xlsx"), "--out", str(tmp_path / "o")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_a_workbook_of_another_shape_is_named_with_its_row(tmp_path, capsys):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["Bestandsnaam:", None, "X.txt"])
    wb.active.append(["DDID", "Naam", "Type"])  # a header that is not the GA's
    path = tmp_path / "GA X 1.0.xlsx"
    wb.save(path)
    assert main(["ga", "import", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "row 2: expected the attribute header DDID | Naam | Type | Lengte" in err and "X.txt" in err
    wb = openpyxl.Workbook()
    wb.active.append(["some other sheet"])
    wb.save(path)
    assert main(["ga", "import", str(path), "--out", str(tmp_path / "o")]) == 2
    assert "no 'Bestandsnaam:' block found" in capsys.readouterr().err
