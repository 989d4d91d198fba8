"""The real NZa GGZ codelists of 2019 (../shared/nza/codelijsten-ggz-2019), read through declarations.

The files are read where they are (the `nza_dir` fixture), never copied,
through the declarations GA DBC-GGZ 9.0 needs (`nza_codelists.GGZ_2019_SPECS`).
"""
from __future__ import annotations

import datetime as dt

import pytest

from disval.core.codelists import CodelistSpec
from disval.plugins.codelists_dir import CodelistError, DirectoryCodelistProvider, lines_of

from nza_codelists import GGZ_2019_SPECS

ON = dt.date(2019, 4, 15)  # GA DBC-GGZ 9.0 is valid from 15 April 2019


@pytest.fixture(scope="module")
def lists_dir(nza_dir):
    return nza_dir / "codelijsten-ggz-2019"


@pytest.fixture(scope="module")
def provider(lists_dir):
    return DirectoryCodelistProvider(lists_dir, GGZ_2019_SPECS)


def data_lines(path) -> list[bytes]:
    """The file's LF-terminated lines after the header, as bytes: what a reader must count as rows."""
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b"", f"{path.name} does not end with LF"
    return [line for line in lines[1:-1] if line.strip()]


def test_every_real_list_file_loads_through_a_declaration_with_all_its_rows(provider, lists_dir):
    list_files = sorted(p.name for p in lists_dir.iterdir() if " cl " in p.name and p.suffix == ".txt")
    served = set()
    for name, spec in GGZ_2019_SPECS.items():
        cl = provider.codelist(name, ON)
        assert cl is not None, f"{name}: no file for list '{spec.file}'"
        assert cl.name == name and cl.key == spec.key
        path = lists_dir / cl.source.rsplit("/", 1)[-1]
        served.add(path.name)
        rows = [row for rs in cl.entries.values() for row in rs]
        assert len(rows) == len(data_lines(path)), name
        assert all(set(row.attributes) == set(cl.columns) for row in rows)
    assert sorted(served) == list_files  # every list the NZa package holds, each by one declaration


def test_the_diagnosis_list_is_not_split_at_byte_0x85(provider, lists_dir):
    path = lists_dir / "20190101 cl diagnose v20181123.txt"
    data = path.read_bytes()
    # What made the bug: read as ISO-8859-1, 0x85 is U+0085, a line end to str.splitlines().
    assert len(data.decode("iso-8859-1").splitlines()) > len(lines_of(data))
    line_182 = data.split(b"\n")[181]
    assert b"\x85" in line_182
    begin, _end, code, _group, _element, description = line_182.decode("iso-8859-1").split("|")[:6]
    row = provider.codelist("CL_DIAGNOSE_GGZ", ON).row_at(code, int(begin))
    assert row is not None and row.begin == int(begin)
    assert row.attributes["beschrijving"] == description.strip()
    assert row.attributes["beschrijving"].endswith("door\x85.")
    assert len(lines_of(data)) == len(data_lines(path)) + 1


def test_a_real_tariff_is_found_by_its_composite_key(provider):
    tarief = provider.codelist("CL_TARIEF_GGZ", ON)
    # 20190101 cl tarief ggz: 0329|000165|102818|groen|181487|0|0|20140101|20141231|
    row = tarief.row_at(("000165", "102818"), 20140601)
    assert (row.begin, row.end) == (20140101, 20141231)
    assert row.attributes["dbc_tarief_basis"] == "181487"
    assert row.attributes["dbc_tarief_max"] == "0"
    assert row.attributes["dbc_tarief_agb_code"] == "0329"
    # 0329|000165|102818|groen|174646|0|0|20110101|20111231|: another window, another tariff
    assert tarief.row_at(("000165", "102818"), 20110601).attributes["dbc_tarief_basis"] == "174646"
    assert tarief.row_at(("102818", "000165"), 20140601) is None  # the key's order is the declaration's
    assert tarief.row_at(("000165", "102818"), 20081231) is None  # before its first window


def test_a_list_is_indexed_by_any_column(provider):
    tarief = provider.codelist("CL_TARIEF_GGZ", ON)
    rows = tarief.index("declaratiecode")["102818"]
    assert {r.attributes["productgroep_code"] for r in rows} == {"000165"}
    assert [r.begin for r in rows] == sorted(r.begin for r in rows)
    assert sum(len(rs) for rs in tarief.index("declaratiecode").values()) == sum(map(len, tarief.entries.values()))
    with pytest.raises(KeyError, match="CL_TARIEF_GGZ has no column 'tarief'"):
        tarief.index("tarief")


def test_a_real_activity_code_carries_its_columns(provider):
    activiteit = provider.codelist("CL_ACTIVITEIT_GGZ", ON)
    # 20190101 cl activiteit: 20130101|99991231|act_1||Pré intake|Pré intake|D|1|1|20|Tijdschrijven|N|J|N|J||0
    row = activiteit.row_at("act_1", 20190415)
    assert row.selectable == 1
    assert row.attributes["soort"] == "Tijdschrijven"
    assert row.attributes["beschrijving"] == "Pré intake"
    assert (row.attributes["mag_direct"], row.attributes["mag_indirect"]) == ("N", "J")
    assert row.attributes["branche_indicatie"] == "0"
    assert activiteit.row_at("act_1", 20100101).attributes["aanspraak_type"] == ""  # the earlier window


def test_without_declarations_the_other_lists_load_and_asking_for_a_tariff_list_says_why_not(lists_dir):
    # The tariff lists' headers imply no list name (cl_dbc_tarief_*|cl_productgroep_code|...): only a
    # declaration reads them. They do not stand in the way of the lists that do follow cl_<naam>_*.
    provider = DirectoryCodelistProvider(lists_dir)
    names = {r.name for r in provider.releases()}
    assert {"CL_BEROEP", "CL_DIAGNOSE", "CL_ACTIVITEIT"} <= names and "CL_TARIEF_GGZ" not in names
    assert provider.codelist("CL_DIAGNOSE", ON).row_at("as1_11.05.01", 20100101) is not None
    assert provider.codelist("CL_BEROEP_GBG", ON) is None
    with pytest.raises(CodelistError, match=r"cl tarief ggz v20181123\.txt:1: expected every column "
                                            r"to share one cl_<naam>_ prefix"):
        provider.codelist("CL_TARIEF_GGZ", ON)


def test_a_declaration_naming_a_column_the_file_lacks_is_a_located_error(lists_dir):
    wrong = CodelistSpec("CL_TARIEF_GGZ", "tarief ggz", key=("productgroep", "declaratiecode"),
                         begin="dbc_tarief_begindatum", end="dbc_tarief_einddatum")
    provider = DirectoryCodelistProvider(lists_dir, {**GGZ_2019_SPECS, "CL_TARIEF_GGZ": wrong})
    with pytest.raises(CodelistError, match=r"cl tarief ggz v20181123\.txt:1: expected columns productgroep, "
                                            r"declaratiecode, .* missing productgroep; the header has "
                                            r"dbc_tarief_agb_code, productgroep_code"):
        provider.codelist("CL_TARIEF_GGZ", ON)


def test_the_declarations_serve_every_codelist_ga_dbc_ggz_names_that_the_package_holds(lists_dir):
    import re

    from disval.plugins.ga_dbc_ggz import standard as ggz

    std = ggz()
    assert std.codelists == GGZ_2019_SPECS  # the plugin declares what this test reads the lists with
    named = {cl for f in std.layout.fields for cl in f.codelists}
    for path in std.rule_files:
        named |= set(re.findall(r"\bCL_[A-Z0-9_]+", path.read_text(encoding="utf-8")))
    provider = DirectoryCodelistProvider(lists_dir, GGZ_2019_SPECS)
    missing = {name for name in named if provider.codelist(name, ON) is None}
    # The 2019 package ("Totaalbestand ggz") holds no lists of prestatiecodes, productgroepen or overige producten.
    assert missing == {"CL_OVERIGE_PRODUCTEN", "CL_PRESTATIECODE_GGZ", "CL_PRODUCTGROEP_GGZ"}
