"""Sample codelists are never used silently: every report and the terminal say so, and
`--require-real-codelists` (on in `disval submit`) refuses a positive assessment on them."""
from __future__ import annotations

import io
import json
import shutil

import openpyxl
import pytest

from disval.core.cli import main
from disval.core.pipeline import validate
from disval.core.reports import ReportOptions
from disval.plugins.codelists_dir import is_sample_name
from disval.plugins.ga_ohw_gbg import HERE
from disval.plugins.reports import html, json as json_report, junit, text, xlsx

SAMPLES = {"CL_BEHANDELCOMPONENTEN_GBG", "CL_BEROEP_GBG", "CL_HOOFDBEROEPEN_GBG", "CL_REDENSLUITEN_GBG"}


@pytest.fixture(scope="module")
def real_looking(tmp_path_factory):
    """The shipped lists renamed as a user's own NZa releases would be (no SAMPLE in the names)."""
    lists = tmp_path_factory.mktemp("nza") / "codelijsten"
    lists.mkdir()
    for f in (HERE / "codelists").glob("*.txt"):
        shutil.copy(f, lists / f.name.replace(" SAMPLE", " v20180101"))
    return lists


def test_file_names_say_which_lists_are_samples():
    assert is_sample_name("20180101 cl beroep gbg SAMPLE.txt") and is_sample_name("20180101_cl_x_sample.txt")
    assert not is_sample_name("20180101 cl beroep v20170701.txt") and not is_sample_name("20180101 cl samples2.txt")


def test_the_shipped_lists_are_marked_and_every_report_says_so(clean):
    result = validate(clean.path)
    assert {c.name for c in result.codelists if c.sample} == SAMPLES
    assert result.assessment == "positive"  # without --require-real-codelists a sample does not block
    for lang, word in (("nl", "VOORBEELD"), ("en", "SAMPLE")):
        options = ReportOptions(lang=lang)
        shown = {
            "text": text.render(result, options).decode(),
            "html": html.render(result, options).decode(),
            "junit": junit.render(result, options).decode(),
            "json": json_report.render(result, options).decode(),
            "xlsx": _cells(xlsx.render(result, options)),
        }
        for name, body in shown.items():
            assert word in body, (name, lang)
            assert all(sample in body for sample in SAMPLES), (name, lang)
    doc = json.loads(json_report.render(result, ReportOptions()))
    assert {c["name"] for c in doc["codelists"] if c["sample"]} == SAMPLES
    assert any("CL_BEROEP_GBG" in w for w in doc["warnings"])


def test_real_lists_are_not_called_samples(clean, real_looking):
    result = validate(clean.path, codelists=str(real_looking), require_real_codelists=True)
    assert not any(c.sample for c in result.codelists) and result.warnings == []
    assert result.assessment == "positive"


def test_reports_name_a_codelist_by_file_not_by_the_servers_path(clean, real_looking):
    result = validate(clean.path, codelists=str(real_looking))
    for render in (text.render, html.render, junit.render, json_report.render):
        body = render(result, ReportOptions()).decode()
        assert str(real_looking) not in body and "20180101 cl beroep gbg v20180101.txt" in body
    assert str(real_looking) not in _cells(xlsx.render(result, ReportOptions()))


def test_require_real_codelists_refuses_a_positive_assessment_on_samples(clean, real_looking, capsys):
    assert main(["validate", str(clean.path), "--format", "json"]) == 0
    out = capsys.readouterr()
    assert "SAMPLE codelists" in out.err  # the terminal says it although the report goes elsewhere

    assert main(["validate", str(clean.path), "--format", "json", "--require-real-codelists"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["assessment"] == "negative" and doc["findings"] == []
    assert any("--require-real-codelists" in w for w in doc["warnings"])

    assert main(["validate", str(clean.path), "--require-real-codelists", "--codelists", str(real_looking)]) == 0
    assert "SAMPLE" not in capsys.readouterr().err


def _cells(workbook: bytes) -> str:
    wb = openpyxl.load_workbook(io.BytesIO(workbook))
    return "\n".join(str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value)
