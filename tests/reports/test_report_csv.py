"""The CSV report: one row per listed finding, opening cleanly in a Dutch Excel."""
from __future__ import annotations

import csv
import io

from disval.core.report_view import FINDING_COLUMNS, related_text
from disval.core.gate.processing_reports import quality_view
from disval.core.standard import DIS_POLICY


def rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 byte order mark, so that Excel reads UTF-8"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


def test_one_row_per_listed_finding(render, result):
    table = rows(render("csv", result))
    assert table[0] == list(FINDING_COLUMNS)
    assert len(table) - 1 == len(result.findings)
    assert len(rows(render("csv", result, max_examples=1))) - 1 == len(result.counts)


def test_rows_are_the_json_findings(render, result):
    import json

    findings = json.loads(render("json", result))["findings"]
    for row, finding in zip(rows(render("csv", result))[1:], findings):
        # The other fields a rule read are one cell: "3233 Creatiedatum pakbon = '20180201'".
        expected = ["" if v is None else related_text(v) if isinstance(v, list) else str(v) for v in finding.values()]
        if finding["value"] and finding["value"].startswith("="):
            expected[FINDING_COLUMNS.index("value")] = "'" + finding["value"]
        assert row == expected


def test_windows_line_ends_and_non_ascii(render, result):
    data = render("csv", result)
    assert b"\r\n" in data
    assert "één".encode("utf-8") not in data  # hints are not findings' columns
    assert rows(render("csv", result, lang="en"))[1][FINDING_COLUMNS.index("message")].startswith("3262 Start date")


def test_formula_like_values_are_defused_but_negative_numbers_are_not(render, result):
    import dataclasses

    result.findings.append(dataclasses.replace(result.findings[-1], rule="1751", value="-5", line=99))
    table = rows(render("csv", result))
    values = [r[FINDING_COLUMNS.index("value")] for r in table[1:]]
    assert "'=HYPERLINK(\"http://x\")" in values
    assert "-5" in values


def test_quality_and_import(render, result, import_report):
    assert len(rows(render("csv", quality_view(result, DIS_POLICY)))) == 2
    table = rows(render("csv", import_report))
    assert table[0] == ["file", "processed", "imported", "rejected", "already_present", "inserted", "changed",
                        "deleted"]
    assert table[2] == ["GELEVERD_ZORGPROFIEL.txt", "120", "110", "4", "6", "100", "4", "3"]
