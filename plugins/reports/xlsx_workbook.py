"""The Excel report: a summary sheet, a findings sheet to filter, and a rules sheet.

Registries send this workbook beside their PDF; a data manager filters the
findings sheet by file or rule and hands rows to the vendor. The findings
sheet has the columns of the JSON findings, one row per listed finding, and
the rule's hint on how to fix the export.

XlsxWriter writes the workbook in constant-memory mode, the findings sheets
with their header row only (their layout, filter and frozen header decided
up front, as for any sheet); `xlsx_package` then copies its parts into the
file and streams the findings' rows into those sheets (`xlsx_rows`: the
texts they repeat shared, the XML deflated on a second thread), so that a
million listed findings take seconds and memory does not grow with them.
Where XlsxWriter is not what that expects, every row is written through
XlsxWriter cell by cell instead (the same cells, more slowly).
"""
from __future__ import annotations

import io
import itertools

import xlsxwriter
from xlsxwriter.format import Format

from . import xlsx_package, xlsx_rows

from disval.core.gate.processing_reports import IMPORT_COUNTS, ImportReport
from disval.core.reports import ReportOptions
from disval.core.report_view import (
    FINDING_COLUMNS, MASK, ReportView, codelists_text, label, related_text, run_text, status_text, validation_view,
    versions_text, visible_import, warning_texts,
)

WRAP_FROM = 60  # text longer than this wraps in its cell instead of running over the next columns
A4 = 9  # XlsxWriter's paper size code
EXCEL_ROWS = 1_048_576  # rows in one worksheet, the header included

# The findings sheet: the JSON finding's columns, then the rule's hint.
FINDINGS_SHEET_COLUMNS = (*FINDING_COLUMNS, "hint")


def render(report, options: ReportOptions) -> bytes:
    """The report as an .xlsx workbook."""
    out = io.BytesIO()
    write(report, options, out)
    return out.getvalue()


def write(report, options: ReportOptions, out) -> None:
    """Write the report as an .xlsx workbook to the binary file `out`."""
    # Streamed: XlsxWriter writes the small rest into memory, xlsx_package the file (see the docstring).
    stream = not isinstance(report, ImportReport) and xlsx_package.available(Format)
    parts = io.BytesIO() if stream else out
    wb = xlsxwriter.Workbook(parts, {"constant_memory": True})
    wb.set_properties({"author": "disval", "title": "disval report"})
    book = _Book(wb)
    if isinstance(report, ImportReport):
        _import_sheet(book, visible_import(report), options)
    else:
        view = validation_view(report, options)
        _summary_sheet(book, view)
        streamed = _findings_sheet(book, view, stream)
        _rules_sheet(book, view)
    wb.close()
    if stream:
        xlsx_package.write(parts.getvalue(), out, *streamed)


class _Book:
    """The workbook with its few cell formats, and a writer for each sheet."""

    def __init__(self, wb):
        self.wb = wb
        self.bold = wb.add_format({"bold": True})
        self.title = wb.add_format({"bold": True, "font_size": 14})
        self.wrap = wb.add_format({"text_wrap": True, "valign": "top"})

    def sheet(self, title: str, widths, rows: int | None = None) -> "_Sheet":
        """A new sheet with its column widths and print layout; with `rows`, a table with a frozen header row
        and a filter over its `rows` rows below it."""
        ws = self.wb.add_worksheet(title[:31])  # Excel's limit on a sheet name
        for i, width in enumerate(widths):
            ws.set_column(i, i, width)
        # Printed, a sheet is as wide as the paper and as long as it needs: landscape, one page wide.
        ws.set_landscape()
        ws.set_paper(A4)
        ws.fit_to_pages(1, 0)
        if rows is not None:
            ws.freeze_panes(1, 0)
            ws.repeat_rows(0)  # the header on every printed page
            ws.autofilter(0, 0, rows, len(widths) - 1)
        return _Sheet(self, ws)


class _Sheet:
    """Appends rows to one worksheet, in order (constant-memory mode writes each row once)."""

    def __init__(self, book: _Book, ws):
        self.book, self.ws, self.row = book, ws, 0

    def append(self, values, bold_first: bool = False, fmt=None) -> None:
        """Write one row; text is always text, never a formula or a link."""
        for col, value in enumerate(values):
            cell_fmt = fmt if fmt is not None else (self.book.bold if bold_first and col == 0 else None)
            if value is None or value == "":
                if cell_fmt is not None:
                    self.ws.write_blank(self.row, col, None, cell_fmt)
            elif isinstance(value, bool) or not isinstance(value, (int, float)):
                # XlsxWriter writes control characters as _xHHHH_ escapes, so any text makes valid XML.
                text = str(value)
                if cell_fmt is None and len(text) > WRAP_FROM:
                    cell_fmt = self.book.wrap
                self.ws.write_string(self.row, col, text, cell_fmt)
            else:
                self.ws.write_number(self.row, col, value, cell_fmt)
        self.row += 1

    def header(self, values) -> None:
        """A bold header row."""
        self.append(values, fmt=self.book.bold)

    def table(self, headers, rows, gap: bool = True) -> None:
        """A bold header and its rows, after an empty row unless `gap` is False."""
        if gap:
            self.row += 1
        self.header(headers)
        for row in rows:
            self.append(row)


def _summary_sheet(book: _Book, view: ReportView) -> None:
    r, lab = view.result, view.label
    ws = book.sheet(lab("summary"), [26, 48, 16, 16, 10, 12, 70, 70])
    ws.append([view.title], fmt=book.title)
    assessment = lab(r.assessment) if r.assessment in ("positive", "negative") else r.assessment
    for key, value in [
        ("delivery", r.delivery), ("standard", r.standard + (f" ({r.standard_title})" if r.standard_title else "")),
        ("policy", r.policy), ("phase", r.phase or "-"), ("assessment", assessment),
        ("versions", versions_text(r.versions)), ("run", run_text(r, view.options)),
        ("codelists", codelists_text(r.codelists, view.options)),
    ]:
        ws.append([lab(key), value], bold_first=True)
    for warning in warning_texts(r.warnings, view.options):
        ws.append([lab("warnings"), warning], bold_first=True)
    if r.identifying and not view.options.show_identifiers:
        ws.append([view.label("masked", mask=MASK)])
    titles = _findings_titles(view)
    if len(titles) > 1:  # more findings than a sheet holds (--max-findings 0)
        ws.append([view.label("findings_sheets", n=len(view.findings), sheets=len(titles), rows=EXCEL_ROWS - 1,
                              names=", ".join(titles))])

    ws.table([lab("file"), lab("records"), lab("records_with", sev="ERR"), lab("records_with", sev="WRN")], [
        [f, r.records.get(f), r.records_with.get(f, {}).get("ERR", 0), r.records_with.get(f, {}).get("WRN", 0)]
        for f in r.records
    ])
    ws.table([lab("severity"), lab("count")], [list(kv) for kv in sorted(view.severity_counts.items())])
    ws.table([lab("rule"), lab("type"), lab("severity"), lab("count"), lab("listed"), lab("not_listed"),
              lab("description"), lab("hint")], [
        [x.info.rule, x.info.type, x.info.severity, x.count, x.listed, x.not_listed, x.description, x.hint]
        for x in view.fired
    ])
    if view.not_evaluated:
        ws.row += 1
        ws.append([lab("not_evaluated")], fmt=book.bold)
        ws.table([lab("rule"), lab("status"), lab("reason"), lab("description")],
                 [[x.info.rule, status_text(x.info.status, view.options), x.reason, x.description]
                  for x in view.not_evaluated], gap=False)


def _findings_sheet(book: _Book, view: ReportView, stream: bool):
    """The findings sheet(s): with their header only and what `xlsx_package.write` needs to stream the rows
    in, (sheets, rows, shared strings), if `stream`; else with their rows written through XlsxWriter (None)."""
    hints = {x.info.rule: x.hint for x in view.rules}
    # The JSON finding's columns (expected, related and cause too), then the hint.
    widths = [12, 6, 8, 28, 8, 8, 10, 8, 34, 20, 90, 12, 60, 34, 70]
    total = len(view.findings)
    titles = _findings_titles(view)
    parts = len(titles)

    def count(part: int) -> int:
        return min(EXCEL_ROWS - 1, total - part * (EXCEL_ROWS - 1))

    def sheet(part: int) -> _Sheet:
        ws = book.sheet(titles[part], widths, rows=count(part))
        ws.header([view.label(c) for c in FINDINGS_SHEET_COLUMNS])
        return ws

    first = sheet(0)
    if stream:
        # The rows are made later, as xlsx_package writes the file (see the module's docstring).
        sheets = [(ws.ws.get_name(), count(part))
                  for part, ws in enumerate([first, *(sheet(part) for part in range(1, parts))])]
        shared = xlsx_rows.SharedStrings()
        xml = xlsx_rows.RowXml(shared, book.wrap._get_xf_index(), WRAP_FROM, len(widths))
        block, one = xlsx_rows.findings_rows(xml, FINDING_COLUMNS, hints)
        return sheets, itertools.chain.from_iterable(view.findings.rendered(block, one)), shared
    rows = iter(view.findings)
    for part in range(parts):
        ws = first if part == 0 else sheet(part)
        for row in itertools.islice(rows, EXCEL_ROWS - 1):
            ws.append([related_text(row[c]) if isinstance(row[c], list) else row[c] for c in FINDING_COLUMNS]
                      + [hints.get(row["rule"], "")])
    return None


def _findings_titles(view: ReportView) -> list[str]:
    """The findings sheets' names: a sheet holds EXCEL_ROWS rows, its header included, so more listed findings
    (--max-findings 0) go on to "Bevindingen (2)", ..."""
    parts = max(1, -(-len(view.findings) // (EXCEL_ROWS - 1)))
    return [view.label("findings") + (f" ({part + 1})" if part else "") for part in range(parts)]


def _rules_sheet(book: _Book, view: ReportView) -> None:
    lab = view.label
    ws = book.sheet(lab("rules"), [12, 6, 8, 28, 8, 16, 8, 8, 80, 80, 50], rows=len(view.rules))
    ws.header([lab("rule"), lab("type"), lab("severity"), lab("file"), lab("ddid"), lab("status"), lab("count"),
               lab("listed"), lab("description"), lab("hint"), lab("reason")])
    for x in view.rules:
        i = x.info
        ws.append([i.rule, i.type, i.severity, i.file, i.ddid, status_text(i.status, view.options), x.count,
                   x.listed, x.description, x.hint, x.reason])


def _import_sheet(book: _Book, report: ImportReport, options: ReportOptions) -> None:
    lab = lambda key, **kw: label(key, options, **kw)  # noqa: E731
    ws = book.sheet(lab("import"), [28, 48, 12, 12, 16, 12, 12, 12])
    ws.append([lab("import")], fmt=book.title)
    for key, value in [
        ("delivery", report.delivery), ("provider", report.provider), ("standard", report.standard or "-"),
        ("phase", report.phase or "-"), ("timestamp", report.timestamp.isoformat(timespec="seconds")),
        ("versions", versions_text(report.versions)), ("codelists", codelists_text(report.codelists, options)),
    ]:
        ws.append([lab(key), value], bold_first=True)
    for warning in warning_texts(report.warnings, options):
        ws.append([lab("warnings"), warning], bold_first=True)
    t = report.totals
    rows = [[f.file, *f.counts()] for f in report.files]
    rows.append([lab("total"), *t.counts()])
    ws.table([lab("file"), *(lab(c) for c in IMPORT_COUNTS)], rows)
