"""The Excel report: a summary sheet, a findings sheet to filter, and a rules sheet.

Registries send this workbook beside their PDF; a data manager filters the
findings sheet by file or rule and hands rows to the vendor. The findings
sheet has the columns of the JSON findings, one row per listed finding.
"""
from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from disval.core.processing_reports import IMPORT_COUNTS, ImportReport
from disval.core.reports import ReportOptions
from disval.core.report_view import (
    FINDING_COLUMNS, MASK, ReportView, codelists_text, label, related_text, run_text, status_text, validation_view,
    versions_text, visible_import, warning_texts,
)

BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)


def render(report, options: ReportOptions) -> bytes:
    """The report as an .xlsx workbook."""
    wb = Workbook()
    if isinstance(report, ImportReport):
        _import_sheet(wb.active, visible_import(report), options)
    else:
        view = validation_view(report, options)
        _summary_sheet(wb.active, view)
        _findings_sheet(wb.create_sheet(view.label("findings")), view)
        _rules_sheet(wb.create_sheet(view.label("rules")), view)
    wb.properties.creator = "disval"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _summary_sheet(ws, view: ReportView) -> None:
    r, lab = view.result, view.label
    ws.title = lab("summary")
    ws.append([view.title])
    ws["A1"].font = TITLE
    assessment = lab(r.assessment) if r.assessment in ("positive", "negative") else r.assessment
    for key, value in [
        ("delivery", r.delivery), ("standard", r.standard + (f" ({r.standard_title})" if r.standard_title else "")),
        ("policy", r.policy), ("phase", r.phase or "-"), ("assessment", assessment),
        ("versions", versions_text(r.versions)), ("run", run_text(r, view.options)),
        ("codelists", codelists_text(r.codelists, view.options)),
    ]:
        _append(ws, [lab(key), value], bold_first=True)
    for warning in warning_texts(r.warnings, view.options):
        _append(ws, [lab("warnings"), warning], bold_first=True)
    if r.identifying and not view.options.show_identifiers:
        ws.append([view.label("masked", mask=MASK)])

    _table(ws, [lab("file"), lab("records"), lab("records_with", sev="ERR"), lab("records_with", sev="WRN")], [
        [f, r.records.get(f), r.records_with.get(f, {}).get("ERR", 0), r.records_with.get(f, {}).get("WRN", 0)]
        for f in r.records
    ])
    _table(ws, [lab("severity"), lab("count")], [list(kv) for kv in sorted(view.severity_counts.items())])
    _table(ws, [lab("rule"), lab("type"), lab("severity"), lab("count"), lab("listed"), lab("not_listed"),
                lab("description"), lab("hint")], [
        [x.info.rule, x.info.type, x.info.severity, x.count, x.listed, x.not_listed, x.description, x.hint]
        for x in view.fired
    ])
    if view.not_evaluated:
        ws.append([])
        ws.append([lab("not_evaluated")])
        ws.cell(ws.max_row, 1).font = BOLD
        _table(ws, [lab("rule"), lab("status"), lab("reason"), lab("description")],
               [[x.info.rule, status_text(x.info.status, view.options), x.reason, x.description]
                for x in view.not_evaluated], gap=False)
    _widths(ws, [26, 48, 16, 16, 10, 12, 70, 70])


def _findings_sheet(ws, view: ReportView) -> None:
    ws.append([view.label(c) for c in FINDING_COLUMNS])
    for row in view.findings:
        _append(ws, [related_text(row[c]) if isinstance(row[c], list) else row[c] for c in FINDING_COLUMNS])
    _header_row(ws)
    _widths(ws, [12, 6, 8, 28, 8, 8, 10, 8, 34, 20, 90, 12, 60, 34])


def _rules_sheet(ws, view: ReportView) -> None:
    lab = view.label
    ws.append([lab("rule"), lab("type"), lab("severity"), lab("file"), lab("ddid"), lab("status"), lab("count"),
               lab("listed"), lab("description"), lab("hint"), lab("reason")])
    for x in view.rules:
        i = x.info
        status = status_text(i.status, view.options)
        _append(ws, [i.rule, i.type, i.severity, i.file, i.ddid, status, x.count, x.listed, x.description, x.hint,
                     x.reason])
    _header_row(ws)
    _widths(ws, [12, 6, 8, 28, 8, 16, 8, 8, 80, 80, 50])


def _import_sheet(ws, report: ImportReport, options: ReportOptions) -> None:
    lab = lambda key, **kw: label(key, options, **kw)  # noqa: E731
    ws.title = lab("import")
    ws.append([lab("import")])
    ws["A1"].font = TITLE
    for key, value in [
        ("delivery", report.delivery), ("provider", report.provider), ("standard", report.standard or "-"),
        ("phase", report.phase or "-"), ("timestamp", report.timestamp.isoformat(timespec="seconds")),
        ("versions", versions_text(report.versions)), ("codelists", codelists_text(report.codelists, options)),
    ]:
        _append(ws, [lab(key), value], bold_first=True)
    for warning in warning_texts(report.warnings, options):
        _append(ws, [lab("warnings"), warning], bold_first=True)
    t = report.totals
    rows = [[f.file, *f.counts()] for f in report.files]
    rows.append([lab("total"), *t.counts()])
    _table(ws, [lab("file"), *(lab(c) for c in IMPORT_COUNTS)], rows)
    _widths(ws, [28, 48, 12, 12, 16, 12, 12, 12])


def _append(ws, values, bold_first: bool = False) -> None:
    """Append a row, keeping text text: openpyxl would store a string that starts with '=' as a formula."""
    ws.append(list(values))
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str) and cell.value.startswith("="):
            cell.data_type = "s"
    if bold_first:
        ws.cell(ws.max_row, 1).font = BOLD


def _table(ws, headers, rows, gap: bool = True) -> None:
    if gap:
        ws.append([])
    ws.append(headers)
    for cell in ws[ws.max_row]:
        cell.font = BOLD
    for row in rows:
        _append(ws, row)


def _header_row(ws) -> None:
    """Bold, frozen header with a filter over every column."""
    for cell in ws[1]:
        cell.font = BOLD
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(ws.max_column)}{max(ws.max_row, 1)}"


def _widths(ws, widths) -> None:
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and len(cell.value) > 60:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
