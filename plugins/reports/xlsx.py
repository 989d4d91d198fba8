"""The Excel report format: registered here, written by `xlsx_workbook` (XlsxWriter).

The writer is imported only when a workbook is actually written, not at every
start of the command line.
"""
from __future__ import annotations

from disval.core.plugins import hookimpl
from disval.core.reports import ReportFormat, ReportOptions, streamed


def write(report, options: ReportOptions, out) -> None:
    """Write the report as an .xlsx workbook to the binary file `out` (rows stream to disk as written)."""
    from .xlsx_workbook import write as write_workbook

    write_workbook(report, options, out)


render = streamed(write)


@hookimpl
def disval_report_formats():
    return [
        ReportFormat(
            name="xlsx", extension="xlsx",
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", render=render,
            kinds=("validation", "quality", "import"), binary=True, write=write,
            description="Excel workbook: summary, findings (filter, frozen header, hints) and rules sheets",
        )
    ]
