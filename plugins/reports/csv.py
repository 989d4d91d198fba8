"""The CSV report: one row per listed finding, the columns of the JSON findings.

Encoding and separator are chosen for the spreadsheet the readers have: the
data managers of Dutch care providers, opening the file in Excel with a Dutch
locale. That Excel reads a double-clicked CSV in the ANSI code page unless the
file starts with a UTF-8 byte order mark, and splits columns on the locale's
list separator, which is ';' (the ',' is the decimal separator). So: UTF-8
with BOM ('patiëntgebonden' stays readable), ';' between fields, CR/LF line
ends, every field that needs it quoted. Python's csv module and pandas read it
with `encoding="utf-8-sig", delimiter=";"`. For a locale-proof spreadsheet use
the xlsx format.
"""
from __future__ import annotations

import codecs
import csv
import io
import re

from disval.core.plugins import hookimpl
from disval.core.gate.processing_reports import IMPORT_COUNTS, ImportReport
from disval.core.reports import ReportFormat, ReportOptions, streamed
from disval.core.report_view import FINDING_COLUMNS, related_text, validation_view, visible_import

DELIMITER = ";"
IMPORT_COLUMNS = ("file", *IMPORT_COUNTS)

# A cell that starts like a formula is run as one by a spreadsheet ("CSV
# injection"); file names and values come from the delivery, so such text gets
# a leading apostrophe. A minus sign before a number stays as it is: -5 is a
# value the rules report (3315 < 0).
_FORMULA = re.compile(r"^(?:[=+@]|-(?![\d.,\s]*$))")


def write(report, options: ReportOptions, out) -> None:
    """Write the findings (or the import counts per file) as CSV, UTF-8 with BOM, to the binary file `out`,
    row by row as the findings are read."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=DELIMITER, lineterminator="\r\n")
    out.write(codecs.BOM_UTF8)

    def flush():
        out.write(buffer.getvalue().encode("utf-8"))
        buffer.seek(0)
        buffer.truncate()

    if isinstance(report, ImportReport):
        writer.writerow(IMPORT_COLUMNS)
        for f in visible_import(report).files:
            writer.writerow([_cell(f.file), *f.counts()])
    else:
        writer.writerow(FINDING_COLUMNS)
        for n, row in enumerate(validation_view(report, options).findings, 1):
            writer.writerow([_cell(row[c]) for c in FINDING_COLUMNS])
            if n % _FLUSH_EVERY == 0:
                flush()
    flush()


render = streamed(write)
_FLUSH_EVERY = 4096


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, list):  # related: the other fields the rule read
        value = related_text(value)
    if isinstance(value, str) and _FORMULA.match(value):
        return "'" + value
    return value


@hookimpl
def disval_report_formats():
    return [
        ReportFormat(
            name="csv", extension="csv", media_type="text/csv; charset=utf-8", render=render, write=write,
            kinds=("validation", "quality", "import"),
            description="One row per listed finding (';'-separated, UTF-8 with BOM, for Excel)",
        )
    ]
