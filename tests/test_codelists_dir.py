"""The built-in directory codelist provider and the shipped GA OHW-GBG codelists."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pluggy
import pytest

from disval.core import hookspecs
from disval.core.codelists import OPEN_END, CodelistSpec, CodeRow, column_name, specs_from_table
from disval.plugins import codelists_dir
from disval.plugins.codelists_dir import CodelistError, DirectoryCodelistProvider, disval_codelist_provider
from disval.plugins.ga_ohw_gbg import standard

KINDS = ("begindatum", "einddatum", "code", "omschrijving", "selecteerbaar")
HEADER = "|".join(f"cl_beroep_gbg_{kind}" for kind in KINDS)


def write(directory: Path, name: str, *lines: str, header: str = HEADER, end: str = "\r\n") -> Path:
    path = directory / name
    path.write_bytes((end.join((header, *lines)) + end).encode("iso-8859-1"))
    return path


def test_the_name_comes_from_the_header_not_the_file_name(tmp_path):
    write(tmp_path, "20180101 whatever.txt", "20140101|99991231|PS.01|GZ-psycholoog|1")
    provider = DirectoryCodelistProvider(tmp_path)
    assert [r.name for r in provider.releases()] == ["CL_BEROEP_GBG"]
    assert provider.codelist("CL_BEROEP_GBG", dt.date(2018, 2, 1)).name == "CL_BEROEP_GBG"
    assert provider.codelist("cl_beroep_gbg", dt.date(2018, 2, 1)) is not None


def test_the_name_is_the_common_prefix_even_when_column_kinds_contain_underscores(tmp_path):
    header = "cl_x_gbg_code|cl_x_gbg_begindatum|cl_x_gbg_einddatum|cl_x_gbg_branche_indicatie"
    write(tmp_path, "20180101_cl_x.txt", "A1|20140101|20141231|3", header=header)
    cl = DirectoryCodelistProvider(tmp_path).codelist("CL_X_GBG", dt.date(2018, 2, 1))
    assert cl.entries == {"A1": (CodeRow(20140101, 20141231, None),)}


@pytest.mark.parametrize(
    "delivery, release, fallback",
    [
        (dt.date(2018, 6, 1), "20180101", False),
        (dt.date(2018, 1, 1), "20180101", False),  # a release dated on the delivery date is in force
        (dt.date(2017, 12, 31), "20170101", False),
        (dt.date(2025, 1, 1), "20190101", False),
        (dt.date(2016, 5, 1), "20170101", True),  # nothing that old: the oldest, flagged
    ],
)
def test_release_is_the_newest_on_or_before_the_delivery_date(tmp_path, delivery, release, fallback):
    for date in ("20170101", "20190101", "20180101"):
        write(tmp_path, f"{date} cl beroep v{date}.txt", f"20140101|99991231|R{date}|release {date}|1")
    cl = DirectoryCodelistProvider(tmp_path).codelist("CL_BEROEP_GBG", delivery)
    assert cl.release == dt.datetime.strptime(release, "%Y%m%d").date()
    assert list(cl.entries) == [f"R{release}"]
    assert cl.fallback is fallback
    assert cl.source.endswith(f"{release} cl beroep v{release}.txt")


def test_underscores_and_hyphens_may_follow_the_release_date(tmp_path):
    write(tmp_path, "20170101_cl_beroep.txt", "20140101|99991231|A|a|1")
    write(tmp_path, "20180101-cl-beroep.TXT", "20140101|99991231|B|b|1")
    provider = DirectoryCodelistProvider(tmp_path)
    assert [r.release for r in provider.releases()] == [dt.date(2017, 1, 1), dt.date(2018, 1, 1)]
    assert list(provider.codelist("CL_BEROEP_GBG", dt.date(2018, 2, 1)).entries) == ["B"]


def test_a_code_keeps_every_validity_window_sorted_by_begin(tmp_path):
    write(
        tmp_path, "20180101 cl beroep.txt",
        "20170101|99991231|PS.05|Psycholoog|1",
        "20140101|20151231|PS.05|Psycholoog|1",
        "20140101||OPEN|Empty einddatum|1",
    )
    cl = DirectoryCodelistProvider(tmp_path).codelist("CL_BEROEP_GBG", dt.date(2018, 2, 1))
    assert cl.entries["PS.05"] == (CodeRow(20140101, 20151231, 1), CodeRow(20170101, 99991231, 1))
    assert cl.row_at("PS.05", 20150601) is not None
    assert cl.row_at("PS.05", 20160601) is None  # the gap between the windows
    assert cl.row_at("PS.05", 20170101) is not None
    assert cl.entries["OPEN"] == (CodeRow(20140101, OPEN_END, 1),)


def test_selecteerbaar_is_read_and_optional(tmp_path):
    write(
        tmp_path, "20180101 cl beroep.txt",
        "20140101|99991231|PS|Groep|0", "20140101|99991231|PS.01|A|1",
        "20140101|99991231|PS.02|B|2", "20140101|99991231|PS.03|C|",
    )
    cl = DirectoryCodelistProvider(tmp_path).codelist("CL_BEROEP_GBG", dt.date(2018, 2, 1))
    assert {c: rows[0].selectable for c, rows in cl.entries.items()} == {"PS": 0, "PS.01": 1, "PS.02": 2, "PS.03": None}
    write(tmp_path, "20180101 cl reden.txt", "20140101|99991231|12",
          header="cl_reden_begindatum|cl_reden_einddatum|cl_reden_code")
    reden = DirectoryCodelistProvider(tmp_path).codelist("CL_REDEN", dt.date(2018, 2, 1))
    assert reden.entries["12"] == (CodeRow(20140101, OPEN_END, None),)


def test_codes_are_stripped_and_compared_exactly(tmp_path):
    write(tmp_path, "20180101 cl beroep.txt", "20140101|99991231|  012 |padded|1")
    cl = DirectoryCodelistProvider(tmp_path).codelist("CL_BEROEP_GBG", dt.date(2018, 2, 1))
    assert list(cl.entries) == ["012"]
    assert cl.row_at("12", 20180101) is None


def test_latin1_descriptions_and_a_trailing_separator_are_read(tmp_path):
    write(tmp_path, "20180101 cl reden.txt", "20140101|99991231|02|Voortijdig beëindigd|",
          header="cl_reden_begindatum|cl_reden_einddatum|cl_reden_code|cl_reden_omschrijving|")
    assert "02" in DirectoryCodelistProvider(tmp_path).codelist("CL_REDEN", dt.date(2018, 2, 1)).entries


def test_unknown_list_is_none_and_describe_names_the_directory(tmp_path):
    write(tmp_path, "20180101 cl beroep.txt", "20140101|99991231|A|a|1")
    provider = DirectoryCodelistProvider(tmp_path)
    assert provider.codelist("CL_DIAGNOSE_GBG", dt.date(2018, 2, 1)) is None
    assert provider.describe() == f"NZa codelist files in {tmp_path.name}/"
    assert DirectoryCodelistProvider(tmp_path / "empty").describe().startswith("NZa codelist files in")


def test_scanning_reads_only_headers_and_parsed_lists_are_cached(tmp_path, monkeypatch):
    write(tmp_path, "20180101 cl beroep.txt", "20140101|99991231|A|a|1")
    write(tmp_path, "20180101 cl broken.txt", "not|a|row",
          header="cl_broken_begindatum|cl_broken_einddatum|cl_broken_code")
    provider = DirectoryCodelistProvider(tmp_path)
    assert {r.name for r in provider.releases()} == {"CL_BEROEP_GBG", "CL_BROKEN"}  # the bad row is not read yet
    first = provider.codelist("CL_BEROEP_GBG", dt.date(2018, 2, 1))
    monkeypatch.setattr(codelists_dir, "_read_codelist", lambda release: pytest.fail("read twice"))
    assert provider.codelist("CL_BEROEP_GBG", dt.date(2018, 3, 1)) is first
    monkeypatch.undo()
    with pytest.raises(CodelistError, match=r"cl broken\.txt:2: expected begindatum as a date YYYYMMDD, found 'not'"):
        provider.codelist("CL_BROKEN", dt.date(2018, 2, 1))


@pytest.mark.parametrize(
    "lines, header, message",
    [
        (["20140101|99991231|A|a"], HEADER, r":2: expected 5 columns separated by '\|', found 4"),
        (["20140101|99991231|A|a|1", "20140101|99991231|A|a|1|x|y"], HEADER, r":3: expected 5 columns .* found 7"),
        (["20140231|99991231|A|a|1"], HEADER, r":2: expected begindatum as a date YYYYMMDD, found '20140231'"),
        (["20140101|31-12-9999|A|a|1"], HEADER, r":2: expected einddatum as a date YYYYMMDD, found '31-12-9999'"),
        (["20150101|20141231|A|a|1"], HEADER, r":2: expected einddatum 20141231 on or after begindatum 20150101"),
        (["20140101|99991231|A|a|J"], HEADER, r":2: expected selecteerbaar 0, 1 or 2, found 'J'"),
        (["20140101|99991231||a|1"], HEADER, r":2: expected a code in column 3"),
        (["20140101|99991231|A"], "begindatum|einddatum|code",
         r":1: expected a header row of columns named cl_<naam>_<kolom>, found 'begindatum'"),
        (["A|a"], "cl_x_code|cl_x_omschrijving",
         r":1: expected columns cl_x_begindatum, cl_x_einddatum, cl_x_code; missing cl_x_begindatum, cl_x_einddatum$"),
        (["A|B"], "cl_x_code|cl_y_code", r":1: expected every column to share one cl_<naam>_ prefix"),
    ],
)
def test_bad_input_is_a_located_error(tmp_path, lines, header, message):
    path = write(tmp_path, "20180101 cl beroep.txt", *lines, header=header)
    with pytest.raises(CodelistError, match=re.escape(str(path)) + message):
        DirectoryCodelistProvider(tmp_path).codelist("CL_BEROEP_GBG", dt.date(2018, 2, 1))


def test_a_file_without_a_release_date_first_is_a_located_error(tmp_path):
    write(tmp_path, "cl beroep v20170701.txt", "20140101|99991231|A|a|1")
    expected = r"cl beroep v20170701\.txt: expected a codelist file name that starts with its release date"
    with pytest.raises(CodelistError, match=expected):
        DirectoryCodelistProvider(tmp_path).releases()
    (tmp_path / "cl beroep v20170701.txt").rename(tmp_path / "20181301 cl beroep.txt")
    with pytest.raises(CodelistError, match=r"release date '20181301' in the file name is not a date"):
        DirectoryCodelistProvider(tmp_path).releases()


def test_two_files_of_one_release_are_refused(tmp_path):
    write(tmp_path, "20180101 cl beroep a.txt", "20140101|99991231|A|a|1")
    write(tmp_path, "20180101 cl beroep b.txt", "20140101|99991231|B|b|1")
    with pytest.raises(CodelistError, match="2 files hold release 20180101 of CL_BEROEP_GBG"):
        DirectoryCodelistProvider(tmp_path).codelist("CL_BEROEP_GBG", dt.date(2018, 2, 1))


def test_other_files_such_as_a_readme_are_ignored(tmp_path):
    (tmp_path / "README.md").write_text("notes")
    write(tmp_path, "20180101 cl beroep.txt", "20140101|99991231|A|a|1")
    assert len(DirectoryCodelistProvider(tmp_path).releases()) == 1


@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_only_lf_ends_a_line_so_control_bytes_in_a_description_stay_in_it(tmp_path, end):
    # 0x85 (NEL), 0x0b, 0x0c, 0x1c-0x1e are line ends to str.splitlines(); in an NZa file they are text.
    description = "door\x85. \x0c \x1c \x1d \x1e \x0b end"
    write(tmp_path, "20180101 cl beroep.txt", f"20140101|99991231|A|{description}|1", "20140101|99991231|B|b|1",
          end=end)
    cl = DirectoryCodelistProvider(tmp_path).codelist("CL_BEROEP_GBG", dt.date(2018, 2, 1))
    assert sorted(cl.entries) == ["A", "B"]
    assert cl.row_at("A", 20180101).attributes["omschrijving"] == description


def test_a_control_byte_in_a_code_is_a_located_error(tmp_path):
    path = write(tmp_path, "20180101 cl beroep.txt", "20140101|99991231|A|a|1", "20140101|99991231|B\x00|b|1")
    with pytest.raises(CodelistError, match=re.escape(f"{path}:3: expected a code of printable ISO-8859-1 "
                                                      "characters in column 3 (code), found 'B\\x00'")):
        DirectoryCodelistProvider(tmp_path).codelist("CL_BEROEP_GBG", dt.date(2018, 2, 1))


def test_every_column_is_an_attribute_by_its_name_without_the_list_prefix(tmp_path):
    write(tmp_path, "20180101 cl beroep.txt", "20140101|99991231| PS.01 |  GZ-psycholoog |1")
    cl = DirectoryCodelistProvider(tmp_path).codelist("CL_BEROEP_GBG", dt.date(2018, 2, 1))
    assert cl.columns == KINDS and cl.key == ("code",)
    assert dict(cl.row_at("PS.01", 20180101).attributes) == {
        "begindatum": "20140101", "einddatum": "99991231", "code": "PS.01", "omschrijving": "GZ-psycholoog",
        "selecteerbaar": "1"}
    assert cl.row_at("  PS.01 ", 20180101) is not None  # lookups strip, as the rules' lookups do


@pytest.mark.parametrize("column, list_name, expected", [
    ("cl_activiteit_soort", "activiteit", "soort"),
    ("cl_dbc_tarief_max", "tarief ggz", "dbc_tarief_max"),
    ("CL_D5_diagnose_code", "diagnose conversie", "d5_diagnose_code"),
    ("cl_d5_diagnose_groep_code", "d5 diagnose", "groep_code"),
    ("cl_beroep", "beroep", "beroep"),  # nothing would be left: the prefix stays
    ("omschrijving", "beroep", "omschrijving"),
])
def test_column_names_drop_cl_and_then_the_lists_own_prefix(column, list_name, expected):
    assert column_name(column, list_name) == expected


TARIEF_HEADER = ("cl_dbc_tarief_agb_code|cl_productgroep_code|cl_declaratiecode|cl_dbc_tarief_max"
                 "|cl_dbc_tarief_begindatum|cl_dbc_tarief_einddatum")
TARIEF = CodelistSpec("CL_TARIEF_GGZ", "tarief ggz", key=("productgroep_code", "declaratiecode"),
                      begin="dbc_tarief_begindatum", end="dbc_tarief_einddatum")


def test_a_declared_list_is_found_by_its_file_name_and_its_release_by_the_leading_date(tmp_path):
    for release, tariff in (("20170101", "100"), ("20190101", "300"), ("20180101", "200")):
        write(tmp_path, f"{release} cl tarief ggz v{release}.txt", f"0329|000165|102818|{tariff}|20100101|",
              header=TARIEF_HEADER)
    write(tmp_path, "20180101 cl beroep v20170701.txt", "20140101|99991231|A|a|1")
    provider = DirectoryCodelistProvider(tmp_path, {"CL_TARIEF_GGZ": TARIEF})
    for on, tariff, fallback in ((dt.date(2018, 6, 1), "200", False), (dt.date(2019, 1, 1), "300", False),
                                 (dt.date(2016, 1, 1), "100", True)):
        cl = provider.codelist("cl_tarief_ggz", on)
        assert cl.name == "CL_TARIEF_GGZ" and cl.fallback is fallback
        assert cl.row_at(("000165", "102818"), 20180101).attributes["dbc_tarief_max"] == tariff
    assert list(cl.entries) == [("000165", "102818")]
    assert cl.row_at(("000165",), 20180101) is None
    # A list the standard does not declare is still found by the name its header implies.
    assert provider.codelist("CL_BEROEP_GBG", dt.date(2018, 6, 1)).entries.keys() == {"A"}


def test_a_declaration_maps_a_ga_name_to_a_list_the_nza_names_without_its_branch(tmp_path):
    write(tmp_path, "20180101 cl beroep v20170701.txt", "20140101|99991231|A|a|0",
          header="|".join(f"cl_beroep_{k}" for k in KINDS))
    specs = {"CL_BEROEP_GGZ": CodelistSpec("CL_BEROEP_GGZ", "beroep")}
    cl = DirectoryCodelistProvider(tmp_path, specs).codelist("CL_BEROEP_GGZ", dt.date(2019, 4, 15))
    assert cl.name == "CL_BEROEP_GGZ" and cl.row_at("A", 20180101).selectable == 0
    assert DirectoryCodelistProvider(tmp_path).codelist("CL_BEROEP_GGZ", dt.date(2019, 4, 15)) is None


@pytest.mark.parametrize("lines, message", [
    (["0329|000165||1|20100101|"], r":2: expected a code in column 3 \(declaratiecode\), found nothing"),
    (["0329|000165|102818|1|2010-01-01|"], r":2: expected dbc_tarief_begindatum as a date YYYYMMDD, found '2010-01-01'"),
    (["0329|000165|102818|1|20100101|20091231"],
     r":2: expected dbc_tarief_einddatum 20091231 on or after dbc_tarief_begindatum 20100101"),
    (["0329|000165|102818|1|20100101"], r":2: expected 6 columns separated by '\|', found 5"),
])
def test_bad_rows_of_a_declared_list_are_located_errors(tmp_path, lines, message):
    path = write(tmp_path, "20180101 cl tarief ggz v20180101.txt", *lines, header=TARIEF_HEADER)
    with pytest.raises(CodelistError, match=re.escape(str(path)) + message):
        DirectoryCodelistProvider(tmp_path, {"CL_TARIEF_GGZ": TARIEF}).codelist("CL_TARIEF_GGZ", dt.date(2018, 2, 1))


@pytest.mark.parametrize("header, message", [
    ("cl_productgroep_code|cl_declaratiecode|cl_dbc_tarief_begindatum",
     r":1: expected columns productgroep_code, declaratiecode, dbc_tarief_begindatum, dbc_tarief_einddatum for "
     r"CL_TARIEF_GGZ \(list 'tarief ggz'\); missing dbc_tarief_einddatum"),
    ("cl_productgroep_code||cl_declaratiecode", r":1: expected a name for every column of the header, found none "
                                                 r"in column 2"),
    (TARIEF_HEADER + "|cl_declaratiecode", r":1: expected each column once, found declaratiecode twice"),
])
def test_a_header_that_does_not_fit_its_declaration_is_a_located_error(tmp_path, header, message):
    path = write(tmp_path, "20180101 cl tarief ggz.txt", header=header)
    with pytest.raises(CodelistError, match=re.escape(str(path)) + message):
        DirectoryCodelistProvider(tmp_path, {"CL_TARIEF_GGZ": TARIEF}).codelist("CL_TARIEF_GGZ", dt.date(2018, 2, 1))


def test_declarations_are_read_from_a_layout_table():
    specs = specs_from_table({"cl_tarief_ggz": {"file": "tarief ggz", "key": ["productgroep_code", "Declaratiecode"],
                                                "begin": "dbc_tarief_begindatum", "end": "dbc_tarief_einddatum"},
                              "CL_BEROEP_GGZ": {"file": "beroep"}})
    assert specs == {"CL_TARIEF_GGZ": TARIEF, "CL_BEROEP_GGZ": CodelistSpec("CL_BEROEP_GGZ", "beroep")}
    for table, message in (({"CL_X": {"key": "code"}}, r"codelists\.CL_X: expected a table with file"),
                           ({"CL_X": {"file": "x", "keys": ["a"]}}, r"codelists\.CL_X: unknown key\(s\) keys"),
                           ({"CL_X": {"file": "x", "key": []}}, r"codelists\.CL_X: expected key as a column name"),
                           ({"CL_X": {"file": "x", "begin": 3}}, r"codelists\.CL_X: expected begin as a column name")):
        with pytest.raises(ValueError, match=message):
            specs_from_table(table)


def test_notes_beside_the_lists_are_skipped(tmp_path):
    (tmp_path / "20180101 Toelichting Codelijsten v20170713.txt").write_text("Toelichting op de codelijsten\n")
    write(tmp_path, "20180101 cl beroep.txt", "20140101|99991231|A|a|1")
    assert [r.name for r in DirectoryCodelistProvider(tmp_path).releases()] == ["CL_BEROEP_GBG"]


# ---------------------------------------------------------------- the hook


def hook_manager():
    pm = pluggy.PluginManager("disval")
    pm.add_hookspecs(hookspecs)
    pm.register(codelists_dir)
    return pm


def test_the_hook_serves_the_given_directory_or_the_shipped_lists(tmp_path):
    hook = hook_manager().hook.disval_codelist_provider
    given = hook(standard=standard(), location=str(tmp_path))
    assert isinstance(given, DirectoryCodelistProvider) and given.directory == tmp_path
    shipped = hook(standard=standard(), location=None)
    assert shipped.directory == standard().codelists_dir


def test_the_hook_refuses_a_location_that_is_not_a_directory(tmp_path):
    hook = hook_manager().hook.disval_codelist_provider
    with pytest.raises(CodelistError, match=r"nope: expected a directory of NZa codelist files .* it does not exist"):
        hook(standard=standard(), location=str(tmp_path / "nope"))
    afile = write(tmp_path, "20180101 cl beroep.txt", "20140101|99991231|A|a|1")
    with pytest.raises(CodelistError, match="it is a file"):
        hook(standard=standard(), location=str(afile))


def test_the_builtin_is_trylast_so_an_installed_provider_wins():
    class Installed:
        @pluggy.HookimplMarker("disval")
        def disval_codelist_provider(self, standard, location):
            return "installed"

    pm = hook_manager()
    pm.register(Installed())
    assert pm.hook.disval_codelist_provider(standard=standard(), location=None) == "installed"


# ---------------------------------------------------------------- the shipped lists


def shipped():
    return disval_codelist_provider(standard(), None)


def test_every_codelist_the_rules_and_layout_name_is_shipped_in_iso_8859_1():
    named = set(re.findall(r"CL_[A-Z0-9_]+", standard().rule_files[0].read_text(encoding="utf-8")))
    named |= {cl for f in standard().layout.fields for cl in f.codelists}
    provider = shipped()
    assert {r.name for r in provider.releases()} == named
    for release in provider.releases():
        release.path.read_bytes().decode("iso-8859-1")
        assert provider.codelist(release.name, dt.date(2018, 2, 1)).entries


def test_the_diagnosis_list_is_the_gas_own():
    cl = shipped().codelist("CL_DIAGNOSE_GBG", dt.date(2018, 2, 1))
    assert sorted(cl.entries) == [f"{i:03d}" for i in range(1, 18)] + ["999"]
    assert all(rows == (CodeRow(20140101, OPEN_END, 1),) for rows in cl.entries.values())
    assert "SAMPLE" not in cl.source


def test_the_sample_lists_say_so_and_hold_what_the_rules_and_tests_need():
    provider = shipped()
    for release in provider.releases():
        if release.name != "CL_DIAGNOSE_GBG":
            assert "SAMPLE" in release.path.name
    on = dt.date(2018, 2, 1)
    assert {"12", "13", "21"} <= set(provider.codelist("CL_REDENSLUITEN_GBG", on).entries)
    beroep = provider.codelist("CL_BEROEP_GBG", on)
    assert any(rows[0].selectable == 0 for rows in beroep.entries.values())
    assert any(len(rows) == 2 for rows in beroep.entries.values())
    assert beroep.entries["MB.03"][-1].end == 20161231
    assert provider.codelist("CL_HOOFDBEROEPEN_GBG", on).entries
    assert provider.codelist("CL_BEHANDELCOMPONENTEN_GBG", on).entries


def test_the_hook_gives_the_provider_the_standards_declarations(tmp_path):
    import dataclasses

    declared = dataclasses.replace(standard(), codelists={"CL_TARIEF_GGZ": TARIEF})
    write(tmp_path, "20180101 cl tarief ggz.txt", "0329|000165|102818|1|20100101|", header=TARIEF_HEADER)
    provider = hook_manager().hook.disval_codelist_provider(standard=declared, location=str(tmp_path))
    assert provider.codelist("CL_TARIEF_GGZ", dt.date(2018, 2, 1)).row_at(("000165", "102818"), 20180101)
