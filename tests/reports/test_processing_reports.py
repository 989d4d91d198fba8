"""The import and quality reports of delivery processing, rendered through the same formats."""
from __future__ import annotations

from report_support import BT, GZ, PB

from disval.core.gate.processing_reports import FileImport, QualityReport, quality_view
from disval.core.reports import report_kind
from disval.core.standard import DIS_POLICY, GUIDANCE_POLICY


def test_quality_view_keeps_only_what_did_not_block(result):
    quality = quality_view(result, DIS_POLICY)
    assert isinstance(quality, QualityReport) and quality.policy == "dis"
    q = quality.result
    assert [f.rule for f in q.findings] == ["1788"]
    assert q.counts == {"1788": 1}
    assert q.records_with == {BT: {"WRN": 0}, GZ: {"WRN": 0}, PB: {"WRN": 1}}
    assert q.records == result.records and q.rules == result.rules and q.codelists == result.codelists
    assert len(result.findings) == 15, "the validation result itself is left as it was"


def test_under_the_guidance_policy_only_zip_level_findings_block(result):
    result.findings.append(result.findings[0].__class__(
        rule="ZIP-NAME", type="V", severity="ERR", file=None, line=None, column=None, ddid=None, value=None,
        message="De zipfile voldoet niet aan de standaard naamgeving"))
    result.counts["ZIP-NAME"] = 1
    q = quality_view(result, GUIDANCE_POLICY).result
    assert "ZIP-NAME" not in q.counts and q.counts["1801"] == 5
    assert q.policy == "guidance"


def test_kinds(result, import_report):
    assert report_kind(result) == "validation"
    assert report_kind(quality_view(result, DIS_POLICY)) == "quality"
    assert report_kind(import_report) == "import"


def test_import_totals(import_report):
    assert import_report.totals == FileImport("", processed=161, imported=149, rejected=6, already_present=6, inserted=100,
                                               changed=4, deleted=3)


def test_import_report_in_text(render, import_report):
    text = render("text", import_report).decode("utf-8")
    assert text.startswith("Importrapport")
    assert "94001234-00" in text and "2018-03-02T09:30:00+00:00" in text and "CL_BEROEP_GBG" in text
    row = next(line for line in text.splitlines() if line.startswith("GELEVERD_ZORGPROFIEL.txt"))
    assert row.split() == ["GELEVERD_ZORGPROFIEL.txt", "120", "110", "4", "6", "100", "4", "3"]
    assert "Already present" in render("text", import_report, lang="en").decode("utf-8")


def test_quality_report_in_text(render, result):
    text = render("text", quality_view(result, DIS_POLICY)).decode("utf-8")
    assert text.startswith("Kwaliteitsrapport")
    assert "1788 S WRN" in text and "1801 BR ERR" not in text
