"""Several formats in one run, each written atomically; a failing format leaves nothing behind."""
from __future__ import annotations

import json

import pytest

from disval.core.plugins import hookimpl
from disval.core.gate.processing_reports import quality_view
from disval.core.reports import ReportFormat, ReportOptions, write_reports
from disval.core.standard import DIS_POLICY

STEM = "DIS_GBG_OHW_TEST_010_94001234_00_20180201_01"


class Broken:
    """A third-party format that fails while rendering."""

    @hookimpl
    def disval_report_formats(self):
        def render(report, options):
            raise RuntimeError("this format always fails")

        return [ReportFormat(name="broken", extension="broken", media_type="text/plain", render=render)]


def test_writes_each_format(tmp_path, pm, result):
    paths = write_reports(result, ["json", "xlsx", "html", "junit"], tmp_path, ReportOptions(), pm)
    assert [p.name for p in paths] == [f"{STEM}.json", f"{STEM}.xlsx", f"{STEM}.html", f"{STEM}.junit.xml"]
    assert json.loads(paths[0].read_text("utf-8"))["delivery"] == result.delivery
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)


def test_options_and_stem_are_used(tmp_path, pm, result):
    (path,) = write_reports(result, ["json"], tmp_path / "out", ReportOptions(max_examples=1), pm, stem="report")
    assert path == tmp_path / "out" / "report.json"
    assert json.loads(path.read_text("utf-8"))["not_listed"]["1801"] == 4


def test_a_failing_format_writes_nothing(tmp_path, pm, result):
    pm.register(Broken())
    with pytest.raises(RuntimeError, match="always fails"):
        write_reports(result, ["json", "text", "broken"], tmp_path, ReportOptions(), pm)
    assert list(tmp_path.iterdir()) == []


def test_a_failing_format_leaves_the_previous_reports_whole(tmp_path, pm, result):
    (path,) = write_reports(result, ["json"], tmp_path, ReportOptions(), pm)
    before = path.read_bytes()
    pm.register(Broken())
    with pytest.raises(RuntimeError):
        write_reports(result, ["json", "broken"], tmp_path, ReportOptions(lang="en"), pm)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_refusals_before_anything_is_written(tmp_path, pm, result, import_report):
    with pytest.raises(ValueError, match="unknown report format 'pdf'; available: csv, html, json"):
        write_reports(result, ["json", "pdf"], tmp_path, ReportOptions(), pm)
    with pytest.raises(ValueError, match="'junit' cannot write import reports"):
        write_reports(import_report, ["json", "junit"], tmp_path, ReportOptions(), pm)
    assert list(tmp_path.iterdir()) == []


def test_two_formats_with_one_extension_are_refused(tmp_path, pm, result):
    class Semicolon:
        @hookimpl
        def disval_report_formats(self):
            return [ReportFormat(name="csv-nl", extension="csv", media_type="text/csv", render=lambda r, o: b"")]

    pm.register(Semicolon())
    with pytest.raises(ValueError, match="same file"):
        write_reports(result, ["csv", "csv-nl"], tmp_path, ReportOptions(), pm)


def test_a_repeated_name_is_written_once(tmp_path, pm, result):
    assert len(write_reports(result, ["json", "json"], tmp_path, ReportOptions(), pm)) == 1


def test_quality_and_import_reports_get_their_own_names(tmp_path, pm, result, import_report):
    (quality,) = write_reports(quality_view(result, DIS_POLICY), ["json"], tmp_path, ReportOptions(), pm)
    assert quality.name == f"{STEM}.quality.json"
    paths = write_reports(import_report, ["text", "csv"], tmp_path, ReportOptions(), pm)
    assert [p.name for p in paths] == ["DIS_GBG_OHW_PROD_010_94001234_00_20180301_01.import.txt",
                                       "DIS_GBG_OHW_PROD_010_94001234_00_20180301_01.import.csv"]


def test_written_reports_get_the_usual_permissions(tmp_path):
    """A report is a file to hand on: readable as any file the user creates, not owner-only like a temp file."""
    import os

    from disval.core.reports import write_atomically

    umask = os.umask(0o022)
    try:
        write_atomically(tmp_path / "r.json", b"{}")
    finally:
        os.umask(umask)
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o644
