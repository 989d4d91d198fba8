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
import re

from disval.core.plugins import hookimpl
from disval.core.gate.processing_reports import IMPORT_COUNTS, ImportReport
from disval.core.reports import ReportFormat, ReportOptions, streamed
from disval.core.report_text import related_texts
from disval.core.report_view import FINDING_COLUMNS, related_text, validation_view, visible_import

DELIMITER = ";"
LINE_END = "\r\n"
IMPORT_COLUMNS = ("file", *IMPORT_COUNTS)

# A cell that starts like a formula is run as one by a spreadsheet ("CSV
# injection"); file names and values come from the delivery, so such text gets
# a leading apostrophe. A minus sign before a number stays as it is: -5 is a
# value the rules report (3315 < 0).
_FORMULA = re.compile(r"^(?:[=+@]|-(?![\d.,\s]*$))")
# What makes a cell quoted, as Python's csv module quotes minimally with this dialect: the separator, the
# quote itself, or a line end (the one the rows end with, or either on its own).
_QUOTED = re.compile(r'[;"\r\n]')
_FLUSH_SIZE = 1 << 18  # characters written at once


def write(report, options: ReportOptions, out) -> None:
    """Write the findings (or the import counts per file) as CSV, UTF-8 with BOM, to the binary file `out`,
    as the findings are read.

    The cells are quoted as `csv.writer(delimiter=";", lineterminator="\\r\\n")` quotes them (the
    tests hold it to that). Rows are made here rather than by the csv module so that a block of
    findings of one rule (`--max-findings 0` on a delivery full of faults: millions) is written from
    its columns, the cells it shares formatted once, instead of a row of cells per finding.
    """
    out.write(codecs.BOM_UTF8)
    if isinstance(report, ImportReport):
        text = _line(IMPORT_COLUMNS) + "".join(_line([_cell(f.file), *f.counts()])
                                                for f in visible_import(report).files)
        out.write(text.encode("utf-8"))
        return
    buffer, size = [_line(FINDING_COLUMNS)], 0
    for texts in validation_view(report, options).findings.rendered(_block, _row):
        buffer.extend(texts)
        size += len(texts)
        if size >= _FLUSH_SIZE // 64:  # rows, at some 64 characters each
            out.write("".join(buffer).encode("utf-8"))
            buffer.clear()
            size = 0
    out.write("".join(buffer).encode("utf-8"))


render = streamed(write)


def _line(cells) -> str:
    """One CSV row: the cells (None is empty) quoted where they must be, ending in CR/LF."""
    fields = [_field(c) for c in cells]
    if fields == [""]:  # a row of one empty cell would be an empty line: the csv module quotes it
        fields = ['""']
    return DELIMITER.join(fields) + LINE_END


def _field(value) -> str:
    text = "" if value is None else str(value)
    return '"' + text.replace('"', '""') + '"' if _QUOTED.search(text) else text


def _row(row: dict) -> str:
    """A listed finding's row."""
    return _line([_cell(row[c]) for c in FINDING_COLUMNS])


_LINE, _VALUE, _RELATED = (FINDING_COLUMNS.index(c) for c in ("line", "value", "related"))


def _block(row: dict, lines: list, values: list, related: list | None) -> list[str]:
    """The rows of a block of findings (`row`: its template, with the line, value and related values None;
    then per finding its line, value shown and related values shown): the template's cells are quoted
    once, what differs per finding is filled into it."""
    cells = [_field(_cell(row[c])).replace("%", "%%") for c in FINDING_COLUMNS]
    cells[_LINE] = cells[_VALUE] = "%s"
    columns = [list(map(str, lines)), [_field(_cell(v)) for v in values]]
    if related:
        cells[_RELATED] = "%s"
        columns.append([_field(_cell(t)) for t in related_texts(row["related"], related)])
    template = DELIMITER.join(cells) + LINE_END
    return [template % cells_ for cells_ in zip(*columns)]


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
