"""contrib/codelists-xlsx: the same codelists from an Excel workbook, winning only when asked for."""
from __future__ import annotations

import datetime as dt
import shutil

import openpyxl
import pytest
from contrib_packages import load_contrib

from disval.core.cli import main
from disval.core.faults import plant_fault
from disval.core.pipeline import validate
from disval.core.plugins import get_plugin_manager
from disval.plugins.codelists_dir import CodelistError, DirectoryCodelistProvider
from disval.plugins.ga_ohw_gbg import HERE as GA_DIR
from disval.plugins.ga_ohw_gbg import standard as ga_standard

xlsx = load_contrib("disval_codelists_xlsx")
build = load_contrib("disval_codelists_xlsx.build")
TEXT_LISTS = GA_DIR / "codelists"
DELIVERED = dt.date(2018, 2, 1)
GZ, BT = "GELEVERD_ZORGPROFIEL.txt", "BEHANDELTRAJECT.txt"


@pytest.fixture(scope="module")
def workbook(tmp_path_factory):
    """The shipped text codelists, built into one workbook the way the NZa would publish them."""
    return build.build_workbook(TEXT_LISTS, tmp_path_factory.mktemp("workbook"))


@pytest.fixture
def pm():
    return get_plugin_manager(extra=(xlsx,), load_entry_points=False)


@pytest.fixture(autouse=True)
def no_workbook_in_the_environment(monkeypatch):
    monkeypatch.delenv(xlsx.ENV_VAR, raising=False)


def test_the_workbook_holds_every_shipped_list_with_the_same_codes(workbook):
    assert workbook.name == "20180101 codelijsten.xlsx"
    text = DirectoryCodelistProvider(TEXT_LISTS)
    book = xlsx.WorkbookCodelistProvider(workbook)
    names = sorted({r.name for r in text.releases()})
    assert book.names() == names
    for name in names:
        a, b = text.codelist(name, DELIVERED), book.codelist(name, DELIVERED)
        assert (b.name, b.release, b.entries, b.fallback) == (a.name, a.release, a.entries, a.fallback)


def test_validation_gives_the_same_findings_from_either_source(pm, ga_delivery, workbook, tmp_path):
    path = ga_delivery
    for file, line, ddid, value in [(GZ, 1, "3311", "BC77"), (GZ, 2, "3314", "PS"), (GZ, 3, "3314", "ZZ.99"),
                                    (BT, 1, "3266", "XYZ"), (BT, 2, "3272", "77")]:
        path = plant_fault(path, tmp_path / f"{ddid}-{line}", file, line, ddid, value)
    from_text = validate(path, pm=pm)
    from_book = validate(path, pm=pm, codelists=str(workbook))
    assert {c.source for c in from_book.codelists} == {f"{workbook}[{n.lower()}]" for n in xlsx.WorkbookCodelistProvider(
        workbook).names()}
    assert set(from_text.counts) == {"1753", "2249", "1758", "1778", "1632"}
    assert [f.as_dict() for f in from_book.findings] == [f.as_dict() for f in from_text.findings]
    assert (from_book.counts, from_book.assessment) == (from_text.counts, from_text.assessment)


def test_the_built_in_directory_provider_stays_the_default(pm, workbook, tmp_path, monkeypatch):
    std = ga_standard()
    # Not installed: the built-in answers, and a workbook means nothing to it.
    bare = get_plugin_manager(load_entry_points=False)
    assert isinstance(bare.hook.disval_codelist_provider(standard=std, location=None), DirectoryCodelistProvider)
    with pytest.raises(CodelistError, match="expected a directory"):
        bare.hook.disval_codelist_provider(standard=std, location=str(workbook))
    # Installed: it answers only for a workbook ...
    assert isinstance(pm.hook.disval_codelist_provider(standard=std, location=None), DirectoryCodelistProvider)
    assert isinstance(pm.hook.disval_codelist_provider(standard=std, location=str(TEXT_LISTS)),
                      DirectoryCodelistProvider)
    assert isinstance(pm.hook.disval_codelist_provider(standard=std, location=str(workbook)),
                      xlsx.WorkbookCodelistProvider)
    # ... or for the workbook in the environment when --codelists is not given; --codelists wins.
    monkeypatch.setenv(xlsx.ENV_VAR, str(workbook))
    assert isinstance(pm.hook.disval_codelist_provider(standard=std, location=None), xlsx.WorkbookCodelistProvider)
    assert isinstance(pm.hook.disval_codelist_provider(standard=std, location=str(TEXT_LISTS)),
                      DirectoryCodelistProvider)
    monkeypatch.setenv(xlsx.ENV_VAR, str(TEXT_LISTS))
    with pytest.raises(ValueError, match="expected the path of an .xlsx workbook"):
        pm.hook.disval_codelist_provider(standard=std, location=None)


def test_an_installed_plugin_wins_through_its_entry_point(installed, workbook):
    installed("disval_codelists_xlsx")
    provider = get_plugin_manager().hook.disval_codelist_provider(standard=ga_standard(), location=str(workbook))
    assert provider.describe() == f"NZa codelist workbook {workbook}"


def test_a_missing_workbook_is_a_one_line_error(installed, ga_delivery, tmp_path, capsys):
    installed("disval_codelists_xlsx")
    missing = tmp_path / "20180101 nergens.xlsx"
    assert main(["validate", str(ga_delivery), "--codelists", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err == f"disval: {missing}: expected an .xlsx workbook of NZa codelists, but it does not exist\n"


def test_a_workbook_dated_after_the_delivery_is_used_with_a_warning(pm, ga_delivery, workbook, tmp_path):
    later = shutil.copy(workbook, tmp_path / "20190101 codelijsten.xlsx")
    result = validate(ga_delivery, pm=pm, codelists=str(later))
    assert result.counts == {}
    assert any("no release of CL_BEROEP_GBG is dated on or before 2018-02-01" in w for w in result.warnings)


def test_cells_typed_as_dates_numbers_or_text_read_the_same(tmp_path):
    book = openpyxl.Workbook()
    notes = book.active
    notes.title = "toelichting"
    notes.append(["Codelijsten voor de GGZ", None])  # a cover sheet is skipped
    sheet = book.create_sheet("diagnose")
    sheet.append(["cl_diagnose_gbg_begindatum", "cl_diagnose_gbg_einddatum", "cl_diagnose_gbg_code",
                  "cl_diagnose_gbg_selecteerbaar"])
    sheet.append([dt.datetime(2014, 1, 1), 99991231.0, "001", 1])
    sheet.append(["20140101", None, "002", "0"])
    path = tmp_path / "20180101 lijsten.xlsx"
    book.save(path)
    found = xlsx.WorkbookCodelistProvider(path).codelist("CL_DIAGNOSE_GBG", DELIVERED)
    assert {code: [(r.begin, r.end, r.selectable) for r in rows] for code, rows in found.entries.items()} == {
        "001": [(20140101, 99991231, 1)], "002": [(20140101, 99991231, 0)]}


def test_a_bad_sheet_is_reported_with_its_place(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "beroep"
    sheet.append(["cl_beroep_gbg_begindatum", "cl_beroep_gbg_einddatum", "cl_beroep_gbg_code"])
    sheet.append(["20140101", "gisteren", "PS.01"])
    path = tmp_path / "20180101 lijsten.xlsx"
    book.save(path)
    with pytest.raises(CodelistError, match=r"\[beroep\]:2: expected einddatum as a date YYYYMMDD, found 'gisteren'"):
        xlsx.WorkbookCodelistProvider(path).codelist("CL_BEROEP_GBG", DELIVERED)


def test_the_build_script(tmp_path, capsys):
    target = tmp_path / "lists.xlsx"
    assert build.main([str(TEXT_LISTS), str(target)]) == 0
    assert capsys.readouterr().out.strip() == str(target)
    assert build.main([str(TEXT_LISTS), str(tmp_path), "--on", "2017-12-31"]) == 2
    assert "no codelist files dated on or before 2017-12-31" in capsys.readouterr().err


def test_the_real_nza_lists_read_the_same_from_a_workbook_through_the_declarations(nza_dir, tmp_path):
    from nza_codelists import GGZ_2019_SPECS

    lists = nza_dir / "codelijsten-ggz-2019"
    on = dt.date(2019, 4, 15)
    workbook = build.build_workbook(lists, tmp_path, specs=GGZ_2019_SPECS)
    text = DirectoryCodelistProvider(lists, GGZ_2019_SPECS)
    book = xlsx.WorkbookCodelistProvider(workbook, GGZ_2019_SPECS)
    assert set(GGZ_2019_SPECS) <= set(book.names())
    for name in GGZ_2019_SPECS:
        a, b = text.codelist(name, on), book.codelist(name, on)
        assert (b.name, b.key, b.columns, b.entries) == (a.name, a.key, a.columns, a.entries), name
        assert all(ra.attributes == rb.attributes
                   for code in a.entries for ra, rb in zip(a.entries[code], b.entries[code])), name
    row = book.codelist("CL_TARIEF_GGZ", on).row_at(("000165", "102818"), 20140601)
    assert row.attributes["dbc_tarief_basis"] == "181487"
