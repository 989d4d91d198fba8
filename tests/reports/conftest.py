"""Fixtures of the report tests; the data itself is in report_support.py."""
from __future__ import annotations

import datetime as dt
import importlib

import pluggy
import pytest
from report_support import BT, GZ, PB, REPORT_MODULES, STANDARD, make_result

from disval.core import hookspecs
from disval.core.findings import CodelistRelease, ValidationResult
from disval.core.gate.processing_reports import FileImport, ImportReport
from disval.core.reports import ReportOptions, formats_by_name


@pytest.fixture
def result() -> ValidationResult:
    return make_result()


@pytest.fixture
def import_report() -> ImportReport:
    return ImportReport(
        delivery="DIS_GBG_OHW_PROD_010_94001234_00_20180301_01.zip",
        provider="94001234-00",
        files=[FileImport(BT, 40, 38, 2, 0), FileImport(GZ, 120, 110, 4, 6, inserted=100, changed=4, deleted=3), FileImport(PB, 1, 1)],
        timestamp=dt.datetime(2018, 3, 2, 9, 30, tzinfo=dt.timezone.utc),
        standard=STANDARD,
        phase="production",
        versions={"disval": "0.1.0", "standard": "1.2"},
        codelists=[CodelistRelease("CL_BEROEP_GBG", dt.date(2018, 1, 1), "20180101 cl beroep_gbg v20171201.txt")],
    )


@pytest.fixture
def pm() -> pluggy.PluginManager:
    """Only the report formats, so these tests do not depend on the other built-ins."""
    manager = pluggy.PluginManager("disval")
    manager.add_hookspecs(hookspecs)
    for name in REPORT_MODULES:
        manager.register(importlib.import_module(f"disval.plugins.reports.{name}"))
    manager.check_pending()
    return manager


@pytest.fixture
def formats(pm):
    return formats_by_name(pm)


@pytest.fixture
def render(formats):
    """render(name, report, **options) -> bytes"""
    def _render(name, report, **options):
        return formats[name].render(report, ReportOptions(**options))
    return _render
