"""The Excel report format: registered here, written by `xlsx_workbook` (XlsxWriter).

The writer is imported only when a workbook is actually written, not at every
start of the command line.
"""
from __future__ import annotations

from disval.core.plugins import hookimpl
from disval.core.reports import ReportFormat, ReportOptions


def render(report, options: ReportOptions) -> bytes:
    """The report as an .xlsx workbook."""
    from .xlsx_workbook import render as write_workbook

    return write_workbook(report, options)


@hookimpl
def disval_report_formats():
    return [
        ReportFormat(
            name="xlsx", extension="xlsx",
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", render=render,
            kinds=("validation", "quality", "import"), binary=True,
            description="Excel workbook: summary, findings (filter, frozen header, hints) and rules sheets",
        )
    ]
