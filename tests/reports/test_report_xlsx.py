"""The Excel report: summary, findings (filter on, header frozen) and rules sheets."""
from __future__ import annotations

import io
from dataclasses import replace

import openpyxl

from report_support import DELIVERY

from disval.core.gate.processing_reports import quality_view
from disval.core.report_view import FINDING_COLUMNS
from disval.core.standard import DIS_POLICY

LAST = openpyxl.utils.get_column_letter(len(FINDING_COLUMNS) + 1)  # the findings sheet's last column: the hint


def workbook(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data))


def values(ws):
    return [list(row) for row in ws.iter_rows(values_only=True)]


def test_three_sheets(render, result):
    wb = workbook(render("xlsx", result))
    assert wb.sheetnames == ["Samenvatting", "Bevindingen", "Validaties"]
    assert workbook(render("xlsx", result, lang="en")).sheetnames == ["Summary", "Findings", "Rules"]


def test_findings_sheet_filters_and_frozen_header(render, result):
    ws = workbook(render("xlsx", result, max_examples=2))["Bevindingen"]
    assert ws.freeze_panes == "A2"
    # the JSON findings keys (expected, related and cause too), then the hint
    assert ws.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(FINDING_COLUMNS) + 1)}{ws.max_row}"
    table = values(ws)
    assert len(FINDING_COLUMNS) == 14 and table[0][0] == "Validatie" and table[0][14] == "Hint"
    assert len(table) - 1 == 12  # 15 kept; the cap of 2 leaves out one of 1801 and two of 1758
    first = dict(zip(FINDING_COLUMNS, table[1]))
    assert (first["rule"], first["line"], first["column"], first["column_end"], first["value"]) == (
        "1801", 2, 36, 43, "20180305")


def test_each_finding_carries_its_rules_hint(render, result):
    table = values(workbook(render("xlsx", result, lang="en"))["Findings"])
    rows = [dict(zip(table[0], row)) for row in table[1:]]
    by_rule = {row["Rule"]: row for row in rows}
    assert by_rule["1801"]["Hint"] == "A trajectory cannot start after the delivery was created."
    assert by_rule["1758"]["Hint"] == "Use a profession code valid on the component date."
    assert by_rule["1987"]["Hint"] in ("", None)  # a rule without a hint leaves the cell empty


def test_every_sheet_prints_landscape_one_page_wide_with_widths(render, result, import_report):
    for data in (render("xlsx", result), render("xlsx", import_report)):
        for ws in workbook(data).worksheets:
            assert ws.page_setup.orientation == "landscape", ws.title
            assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
            # fitToWidth may be left out: 1 is its default in the file format
            assert (ws.page_setup.fitToWidth or 1, ws.page_setup.fitToHeight) == (1, 0), ws.title
            assert ws.column_dimensions["A"].width > 10, ws.title
    wb = workbook(render("xlsx", result))
    assert wb["Bevindingen"].print_title_rows == "$1:$1"
    assert round(wb["Bevindingen"].column_dimensions["K"].width) in (90, 91)  # the message (plus cell padding)
    assert wb["Bevindingen"]["A1"].font.b and wb["Samenvatting"]["A1"].font.sz == 14


def test_long_text_wraps_in_its_cell(render, result):
    ws = workbook(render("xlsx", result))["Validaties"]
    cell = next(c for row in ws.iter_rows() for c in row if isinstance(c.value, str) and len(c.value) > 60)
    assert cell.alignment.wrap_text


def test_a_value_that_looks_like_a_formula_stays_text(render, result):
    ws = workbook(render("xlsx", result))["Bevindingen"]
    cell = next(c for row in ws.iter_rows() for c in row if c.value == '=HYPERLINK("http://x")')
    assert cell.data_type == "s"


def test_summary_sheet(render, result):
    table = values(workbook(render("xlsx", result, max_examples=2))["Samenvatting"])
    flat = [v for row in table for v in row if v is not None]
    for expected in ("Validatierapport", DELIVERY, "negatief", "Records met ERR"):
        assert expected in flat, expected
    assert ["GELEVERD_ZORGPROFIEL.txt", 120, 6, 0] == table[[r[0] for r in table].index("GELEVERD_ZORGPROFIEL.txt")][:4]
    header = next(row for row in table if row[:2] == ["Validatie", "Type"])
    rule = next(row for row in table if row[0] == "1801")
    entry = dict(zip(header, rule))
    assert (entry["Aantal"], entry["Getoond"], entry["Niet getoond"]) == (5, 2, 3)
    assert entry["Omschrijving"] == "3262 Begindatum behandeltraject > 3233 Creatiedatum pakbon"
    assert entry["Hint"].startswith("Een traject kan niet beginnen")
    assert ["ERR", 16] in [row[:2] for row in table] and ["WRN", 1] in [row[:2] for row in table]


def test_rules_sheet_lists_every_rule_with_status_and_count(render, result):
    ws = workbook(render("xlsx", result))["Validaties"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref
    table = values(ws)
    by_rule = {row[0]: dict(zip(table[0], row)) for row in table[1:]}
    assert set(by_rule) == {r.rule for r in result.rules} | {"REC-CHARSET"}
    assert by_rule["1771"]["Aantal"] == 0 and by_rule["1771"]["Status"] == "actief"
    assert by_rule["1812"]["Status"] == "vraagt eerdere gegevens"
    assert by_rule["1758"]["Aantal"] == 4


def test_quality_and_import(render, result, import_report):
    wb = workbook(render("xlsx", quality_view(result, DIS_POLICY)))
    assert wb["Samenvatting"]["A1"].value == "Kwaliteitsrapport"
    assert len(values(wb["Bevindingen"])) == 2
    assert wb["Bevindingen"].auto_filter.ref == f"A1:{LAST}2"
    wb = workbook(render("xlsx", import_report))
    table = values(wb.active)
    assert ["GELEVERD_ZORGPROFIEL.txt", 120, 110, 4, 6, 100, 4, 3] in [row[:8] for row in table]
    assert ["Totaal", 161, 149, 6, 6, 100, 4, 3] in [row[:8] for row in table]


def test_thousands_of_findings_are_all_listed_under_one_filter(render, result):
    # Written in one streaming pass (tests/bench/xlsx_report.py prints the time for 100,000).
    many = [replace(result.findings[5], line=k) for k in range(1, 5001)]
    big = replace(result, findings=many, counts={"1801": len(many)})
    wb = openpyxl.load_workbook(io.BytesIO(render("xlsx", big)), read_only=True)
    rows = list(wb["Bevindingen"].iter_rows(values_only=True))
    assert len(rows) == 5001
    assert [r[4] for r in rows[1:]] == list(range(1, 5001))  # the line column, in delivery order
    hint = len(FINDING_COLUMNS)  # the column after the JSON finding's keys
    assert all(r[0] == "1801" and r[hint].startswith("Een traject kan niet beginnen") for r in rows[1:])
    wb = workbook(render("xlsx", big))
    assert wb["Bevindingen"].auto_filter.ref == f"A1:{LAST}5001"
