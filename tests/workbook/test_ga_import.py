"""`disval ga import`: the NZa's GA DBC-GGZ 9.0 workbook gives exactly the layout disval ships."""
from __future__ import annotations

import dataclasses
import json
from collections import Counter
from importlib import resources
from pathlib import Path

import pytest

from disval.core.cli import main
from disval.core.language.parser import parse_rules
from disval.core.layout import load_layout
from disval.core.workbook.command import import_workbook, standard_name
from disval.core.workbook.english import untranslated_rules
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
    return import_workbook(workbook_path, out, english=ga_dbc_ggz.HERE / "english.toml"), out


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


# ---------------------------------------------------------------- the derived rules


def test_the_imported_rules_are_the_shipped_rules(imported):
    _, out = imported
    shipped = resources.files("disval.rules").joinpath("ga_dbc_ggz_9_0.rules").read_text(encoding="utf-8")
    assert (out / "ga_dbc_ggz_9_0.rules").read_text(encoding="utf-8") == shipped


def test_every_number_is_derived_or_in_the_table_once(imported):
    result, out = imported
    derived = [d.validation.number for d in result.derived]
    left = [u.validation.number for u in result.underived]
    assert len(set(derived)) == len(derived) and not set(derived) & set(left)
    assert set(derived) | set(left) == set(result.workbook.validations)
    table = (out / "underived.md").read_text(encoding="utf-8")
    for u in result.underived:
        assert f"| {u.validation.number} | {u.validation.type} |" in table
    # The hand-written file starts out listing exactly the numbers it has to define.
    header = (out / "ga_dbc_ggz_9_0_hand.rules").read_text(encoding="utf-8")
    listed = {w for line in header.splitlines() for w in line.replace(":", " ").split() if w.isdigit()}
    assert set(left) <= listed and not set(derived) & listed


def test_only_the_mechanical_types_are_derived_and_never_pvm_texts(imported):
    result, _ = imported
    assert {d.validation.type for d in result.derived} <= {"V", "M", "S", "UK", "FK", "R"}
    assert not [d for d in result.derived if d.validation.text.startswith("PVM")]
    reasons = {u.validation.number: u.reason for u in result.underived}
    assert "composite" in reasons["553"]  # 1432 + 1430 + 1431 is niet uniek
    assert "composite key" in reasons["373"]  # 1453 not in PATIENT.txt, whose key is three fields
    assert "parent record" in reasons["2318"]  # peildatum 1465 is in DBC_TRAJECT.txt
    assert "YYYYMM" in reasons["1217"]


def test_each_derived_rule_says_what_its_text_says(imported):
    result, _ = imported
    rules = {d.validation.number: d for d in result.derived}
    assert rules["568"].violation == "1449 is empty"  # 1449 Zorgtrajectnummer is niet gevuld
    assert rules["563"].violation == "1451 is not a date"
    assert rules["578"].violation == "1542 is not a number"
    assert rules["1554"].violation == "1431 does not match 'NN'"
    assert rules["2097"].violation == "4136 not in ('J', 'N')"  # pattern 'J' of 'N' of [spatie]
    assert rules["571"].violation == "1450 not in ('V')"  # [spatie] of 'V'
    assert rules["452"].violation == "count(ZORGTRAJECT.txt) != 1543"
    assert rules["1302"].violation == "record length of DBC_TRAJECT.txt is wrong"
    assert rules["394"].violation == "1464 not in file ZORGTRAJECT.txt"
    assert rules["402"].violation == "1462 is not unique"
    assert rules["465"].violation == "1492 not in CL_BEROEP_GGZ or CL_HOOFDBEROEPEN_GGZ at 1491"
    assert rules["534"].violation == "1534 != zip.provider"
    assert rules["551"].violation == "1430 != 1534"
    assert " until 2014-12-31 " in rules["2236"].source()  # Geldig t/m 31-12-2014
    assert " from 2008-01-01 " in rules["597"].source()


def test_the_shipped_standard_compiles_every_derived_rule(capsys):
    assert main(["rules", "--standard", "GA-DBC-GGZ-9.0", "--format", "json"]) == 0
    rules = json.loads(capsys.readouterr().out)["rules"]
    # The derived rules file's numbers (the hand-written file also has M, S and R numbers, some of them
    # not applicable or needing the store).
    text = resources.files("disval.rules").joinpath("ga_dbc_ggz_9_0.rules").read_text(encoding="utf-8")
    numbers = {rule.number for rule in parse_rules(text)}
    derived = [r for r in rules if r["rule"] in numbers]
    assert len(derived) == len(numbers) and all(r["status"] == "active" for r in derived)
    assert len({r["rule"] for r in rules}) == len(rules)


def test_the_shipped_table_of_underived_numbers_is_current(imported):
    _, out = imported
    assert (out / "underived.md").read_text(encoding="utf-8") == \
        (ga_dbc_ggz.HERE / "underived.md").read_text(encoding="utf-8")


def test_a_second_import_never_overwrites_the_hand_written_rules(workbook_path, tmp_path):
    out = tmp_path / "std"
    import_workbook(workbook_path, out)
    hand = out / "ga_dbc_ggz_9_0_hand.rules"
    hand.write_text("# my own rules\n", encoding="utf-8")
    (out / "ga_dbc_ggz_9_0.rules").write_text("# stale\n", encoding="utf-8")
    result = import_workbook(workbook_path, out)
    assert hand.read_text(encoding="utf-8") == "# my own rules\n"
    assert hand not in result.written
    assert (out / "ga_dbc_ggz_9_0.rules").read_text(encoding="utf-8").count(" => ") == 186


# ---------------------------------------------------------------- English, kept across imports


def test_the_english_names_survive_a_new_import(imported):
    """english.toml is merged into what the import writes: layout names and the derived messages' words."""
    result, out = imported
    assert result.untranslated == [] and result.english == ga_dbc_ggz.HERE / "english.toml"
    layout = load_layout(out / "layout.toml")
    assert all(f.name_en.strip() for f in layout.fields)
    assert layout.field("1449").name_en == "Care trajectory number"
    rules = {r.number: r for r in parse_rules((out / "ga_dbc_ggz_9_0.rules").read_text(encoding="utf-8"))}
    assert rules["568"].message_en == "1449 Care trajectory number is empty"
    assert rules["452"].message_en.endswith("1543 Number of care trajectories in the packing slip")
    assert "the Care type codelist" in rules["410"].message_en


def test_what_english_toml_lacks_is_listed_and_noted_not_silently_dutch(workbook_path, tmp_path, capsys):
    """A new GA version's new attribute (here: two names and a codelist taken out) is reported as work to do."""
    lines = (ga_dbc_ggz.HERE / "english.toml").read_text(encoding="utf-8").splitlines()
    drop = ('1449 = ', '1543 = ', '"Zorgtype" = ')
    partial = tmp_path / "english.toml"
    partial.write_text("\n".join(x for x in lines if not x.startswith(drop)) + "\n", encoding="utf-8")
    out = tmp_path / "std"
    assert main(["ga", "import", str(workbook_path), "--out", str(out), "--english", str(partial)]) == 0
    printed = capsys.readouterr().out
    assert "English: 3 texts without English (names belong in" in printed
    for text in ("  1449 Zorgtrajectnummer", "  1543 Aantal zorgtraject", "  codelist Zorgtype"):
        assert text in printed.splitlines() or any(line.startswith(text) for line in printed.splitlines())
    layout_text = (out / "layout.toml").read_text(encoding="utf-8")
    assert "# 1449: no English name in english.toml" in layout_text
    assert not load_layout(out / "layout.toml").field("1449").name_en


def test_without_an_english_file_every_name_is_listed(workbook_path, tmp_path, capsys):
    assert main(["ga", "import", str(workbook_path), "--out", str(tmp_path / "o")]) == 0
    printed = capsys.readouterr().out
    assert "English: 146 texts without English (names belong in english.toml (none found)" in printed  # 141 + 5
    assert main(["ga", "import", str(workbook_path), "--out", str(tmp_path / "o"),
                 "--english", str(tmp_path / "missing.toml")]) == 2
    assert "missing.toml: no such file" in capsys.readouterr().err


def test_hand_written_rules_without_english_are_listed(workbook_path, tmp_path, capsys):
    out = tmp_path / "std"
    out.mkdir()
    (out / "english.toml").write_bytes((ga_dbc_ggz.HERE / "english.toml").read_bytes())
    (out / "ga_dbc_ggz_9_0_hand.rules").write_text(
        '1451 > 1452 => ERR 566 BR "1451 Begindatum zorgtraject > 1452 Einddatum zorgtraject"\n'
        '1443 is filled => ERR 541 R "1443 Landcode ..." en "1443 Country code ..." not-applicable "een register"\n'
        '1515 < 0 => ERR 9001 BR "x" en "x"\n', encoding="utf-8")
    assert main(["ga", "import", str(workbook_path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert "  ga_dbc_ggz_9_0_hand.rules: rule 566 message" in printed
    assert "  ga_dbc_ggz_9_0_hand.rules: rule 541 not-applicable" in printed
    assert not [line for line in printed if "rule 9001" in line or "rule 541 message" in line]
    assert any(line.startswith("English: 2 texts without English") for line in printed)


def test_the_shipped_hand_written_rules_all_have_their_english():
    hand = resources.files("disval.rules").joinpath("ga_dbc_ggz_9_0_hand.rules")
    assert untranslated_rules(Path(str(hand))) == []


def test_a_broken_english_file_is_one_clear_line(workbook_path, tmp_path, capsys):
    bad = tmp_path / "english.toml"
    bad.write_text("[names]\n1430 = \n", encoding="utf-8")
    assert main(["ga", "import", str(workbook_path), "--out", str(tmp_path), "--english", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("disval ga import: error:") and "english.toml: not a readable TOML file" in err
    bad.write_text('[names]\n1430 = ""\n', encoding="utf-8")
    assert main(["ga", "import", str(workbook_path), "--out", str(tmp_path)]) == 2
    assert "[names] must map each key to a non-empty English text" in capsys.readouterr().err
