"""contrib/dataset-csv: a second standard (a CSV registry batch) through hooks alone."""
from __future__ import annotations

import json
import zipfile

import pytest
from contrib_packages import load_contrib

from disval.core.cli import main
from disval.core.language.parser import parse_rules
from disval.core.pipeline import choose_standard, validate
from disval.core.plugins import get_plugin_manager

csv_plugin = load_contrib("disval_dataset_csv")
example = load_contrib("disval_dataset_csv.example")
EP, MS, BATCH = "EPISODE.csv", "MEASUREMENT.csv", "BATCH.csv"


@pytest.fixture
def pm():
    return get_plugin_manager(extra=(csv_plugin,), load_entry_points=False)


def run(pm, tmp_path, change=None, policy=None, **rows_args):
    rows = example.batch_rows(**rows_args)
    if change:
        change(rows)
    return validate(example.write_batch(tmp_path, rows), pm=pm, policy=policy)


def found(result):
    return {(f.rule, f.file, f.line, f.column, f.ddid, f.value) for f in result.findings}


def test_a_clean_batch_is_positive(pm, tmp_path):
    result = run(pm, tmp_path)
    assert (result.standard, result.assessment, result.counts) == ("REG-EXAMPLE-1.0", "positive", {})
    assert result.records == {BATCH: 1, EP: 3, MS: 6}
    assert result.policy == "registry" and result.phase == "test"
    assert [c.name for c in result.codelists] == ["CL_INSTRUMENT_REG"]


def test_the_standard_is_chosen_by_the_batch_name_beside_the_ga(pm):
    assert choose_standard(pm, example.batch_name()).id == "REG-EXAMPLE-1.0"
    assert choose_standard(pm, "DIS_GBG_OHW_TEST_010_94001234_00_20180201_01.zip").id == "GA-OHW-GBG-1.0"


def test_the_ga_still_reads_fixed_width_with_the_csv_reader_installed(pm, ga_delivery):
    assert validate(ga_delivery, pm=pm).counts == {}


def test_every_rule_prints_back_to_its_source():
    path = csv_plugin.standard().rule_files[0]
    rules = parse_rules(path.read_text(encoding="utf-8"), str(path))
    assert len(rules) == 43
    for rule in rules:
        assert parse_rules(str(rule))[0] == rule


# ---------------------------------------------------------------- the reader's own findings


def test_a_value_longer_than_its_column_is_located(pm, tmp_path):
    def change(rows):
        rows[MS][3][3] = "QUESTIONNAIRE"  # 7204 instrument holds 10
    result = run(pm, tmp_path, change)
    assert found(result) == {("CSV-WIDTH", MS, 4, 49, "7204", "QUESTIONNAIRE")}
    [finding] = result.findings
    assert (finding.column_end, finding.field) == (58, "instrument")
    assert "ten hoogste 10 tekens" in finding.message
    assert result.records[MS] == 6  # counted as a record, checked no further
    assert result.assessment == "negative"  # a technical error declines the batch


def test_a_row_with_the_wrong_number_of_values(pm, tmp_path):
    def change(rows):
        rows[EP][2].append("extra")
        del rows[MS][5][-1]
    result = run(pm, tmp_path, change)
    assert found(result) >= {("CSV-FIELDS", EP, 3, None, None, "6 waarden, verwacht 5"),
                             ("CSV-FIELDS", MS, 6, None, None, "5 waarden, verwacht 6")}
    # The episode was not read, so its measurements refer to nothing: the same cascade as a
    # fixed-width traject of the wrong length.
    assert {f.rule for f in result.findings} == {"CSV-FIELDS", "REG-203"}


def test_a_wrong_header_leaves_the_file_unread(pm, tmp_path):
    def change(rows):
        rows[EP][0][1] = "patient"
    result = run(pm, tmp_path, change)
    assert found(result) >= {("CSV-HEADER", EP, 1, None, None,
                              "episode_id;patient;start_date;end_date;care_type")}
    assert EP not in result.records
    assert "REG-011" not in result.counts  # no count to compare with the batch


def test_a_file_without_a_header(pm, tmp_path):
    path = example.write_batch(tmp_path, example.batch_rows())
    with zipfile.ZipFile(path) as zin:
        members = {n: zin.read(n) for n in zin.namelist()}
    members[BATCH] = b""
    with zipfile.ZipFile(path, "w") as zout:
        for name, data in members.items():
            zout.writestr(name, data)
    result = validate(path, pm=pm)
    assert ("CSV-HEADER", BATCH, 1, None, None, "(no header row)") in found(result)


def test_broken_quoting_stops_the_file_at_that_line(pm, tmp_path):
    path = example.write_batch(tmp_path, example.batch_rows())
    with zipfile.ZipFile(path) as zin:
        members = {n: zin.read(n) for n in zin.namelist()}
    members[MS] += b'MS999;EP000001;20240101;"OQ45;B;12\r\n'  # the quote never closes
    with zipfile.ZipFile(path, "w") as zout:
        for name, data in members.items():
            zout.writestr(name, data)
    result = validate(path, pm=pm)
    [syntax] = [f for f in result.findings if f.rule == "CSV-SYNTAX"]
    assert (syntax.file, syntax.line) == (MS, 8)
    assert MS not in result.records


def test_lines_are_lines_of_the_file(pm, tmp_path):
    def change(rows):
        rows[EP][1][1] = "two\nlines"  # a quoted value over two lines
        rows[EP].insert(2, [])  # a blank line is no record
        rows[EP][3][4] = "09"
    result = run(pm, tmp_path, change)
    # Record 2 starts on line 4: the header, record 1 over lines 2-3, then the blank line.
    assert {(f.rule, f.line) for f in result.findings} == {("REC-CHARSET", 2), ("REG-109", 5)}


def test_characters_outside_latin_1_are_reported_where_they_stand(pm, tmp_path):
    def change(rows):
        rows[EP][2][1] = "pseudo-€"
    result = run(pm, tmp_path, change)
    assert found(result) == {("REC-CHARSET", EP, 3, 28, "7102", "0x1A")}  # in 7102, which begins at 21


def test_a_byte_order_mark_is_allowed(pm, tmp_path):
    path = example.write_batch(tmp_path, example.batch_rows())
    with zipfile.ZipFile(path) as zin:
        members = {n: zin.read(n) for n in zin.namelist()}
    with zipfile.ZipFile(path, "w") as zout:
        for name, data in members.items():
            zout.writestr(name, b"\xef\xbb\xbf" + data)
    assert validate(path, pm=pm).counts == {}


# ---------------------------------------------------------------- its rules and blocking policies


def test_rules_across_files_references_and_codelists(pm, tmp_path):
    def change(rows):
        rows[MS][1][3] = "BSI"  # valid until 2022-12-31; measured in 2023
        rows[MS][2][1] = "EP000009"  # no such episode
        rows[EP][1][2] = "20240302"  # after the batch date
        rows[BATCH][1][0] = "87654321"  # not the organisation in the name
    result = run(pm, tmp_path, change)
    assert {(f.rule, f.file, f.line) for f in result.findings} == {
        ("REG-206", MS, 2), ("REG-203", MS, 3), ("REG-106", EP, 2), ("REG-004", BATCH, 2)}


def test_a_count_that_differs_from_the_batch_declines_it(pm, tmp_path):
    def change(rows):
        del rows[MS][-1]
    result = run(pm, tmp_path, change)
    assert {(f.rule, f.value) for f in result.findings} == {("REG-012", "5")}
    assert result.assessment == "negative"


@pytest.mark.parametrize("policy, assessment", [("registry", "positive"), ("strict", "negative")])
def test_a_record_error_blocks_the_record_or_the_batch_by_policy(pm, tmp_path, policy, assessment):
    def change(rows):
        rows[MS][4][4] = "X"  # 7205 moment
    result = run(pm, tmp_path, change, policy=policy)
    assert set(result.counts) == {"REG-207"}
    assert result.assessment == assessment
    assert result.records_with == {MS: {"ERR": 1}}  # the record left out of the import


@pytest.mark.parametrize("policy", ["registry", "strict"])
def test_a_warning_never_blocks(pm, tmp_path, policy):
    def change(rows):
        rows[MS][1][5] = "300"
    result = run(pm, tmp_path, change, policy=policy)
    assert (set(result.counts), result.assessment) == ({"REG-210"}, "positive")


# ---------------------------------------------------------------- installed


def test_installed_it_works_from_the_command_line(installed, tmp_path, capsys):
    installed("disval_dataset_csv")
    clean = example.write_batch(tmp_path / "clean", example.batch_rows())
    assert main(["validate", str(clean), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["standard"], report["assessment"]) == ("REG-EXAMPLE-1.0", "positive")
    rows = example.batch_rows()
    rows[EP][1][0] = ""
    faulty = example.write_batch(tmp_path / "faulty", rows)
    assert main(["validate", str(faulty), "--format", "json", "--policy", "strict"]) == 1
    assert {f["rule"] for f in json.loads(capsys.readouterr().out)["findings"]} == {"REG-101", "REG-203"}
    assert main(["rules", "--standard", "REG-EXAMPLE-1.0", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["rules"]) == 43
