"""The Excel report's findings sheets as written by disval's own zip writer (xlsx_package, xlsx_rows).

Whatever the values, the workbook must read exactly as the one XlsxWriter
writes cell by cell (the reference: the same workbook with `available`
saying no), with any deflate library and however full the shared-strings
table; text stays text; a failing disk is an error, not a hang.
"""
from __future__ import annotations

import dataclasses
import io
import re
import threading
import zipfile

import pytest
from report_support import GZ, finding, make_result
from xlsx_cells import cells, readable

from disval.core.delivery_zip import inflaters
from disval.core.reports import ReportOptions
from disval.plugins.reports import xlsx_package, xlsx_rows
from disval.plugins.reports.xlsx import render, write

# Values a delivery can carry into a cell: formulas, Excel's own escape, control characters, XML's
# specials, spaces at either end, % and braces (the row templates' own syntax), characters beyond U+FFFF,
# and a text longer than a cell holds (Excel cuts it at 32,767 UTF-16 units).
HOSTILE = ["=SUM(A1:A9)", "+31 6 1234", "-1", "@IMPORTXML(x)", "_x0041_", "a_x00e9_b", "\x01\x1f\x0b end",
           "a & <b> \"c\"", " leading", "trailing ", "\t", "%s %d %% {0} {}", "😀 emoji", "x" * 40_000,
           "😀" * 20_000, "\ufffe\uffff", "tab\tnew\nline\r"]


def hostile_result():
    """The report tests' result with a finding of each hostile value, and one whose message (shared by
    its rule's findings) looks like Excel's escape."""
    result = make_result()
    extra = [finding("1758", GZ, 100 + i, "3314", value, "Beroepcode", 69, 88) for i, value in enumerate(HOSTILE)]
    extra.append(finding("1758", GZ, 200, "3314", "v", "Beroepcode", 69, 88, message="_x0041_ & <x> \x02"))
    return dataclasses.replace(result, findings=result.findings + extra,
                               counts=dict(result.counts, **{"1758": result.counts["1758"] + len(extra)}))


def reference(result, options: ReportOptions, monkeypatch) -> dict:
    """The workbook as XlsxWriter writes it cell by cell, as a reader sees it."""
    with monkeypatch.context() as mp:
        mp.setattr(xlsx_package, "available", lambda format_class: False)
        return cells(render(result, options))


@pytest.mark.parametrize("options", [ReportOptions(), ReportOptions(lang="en", show_identifiers=True)],
                         ids=["nl", "en-identifiers"])
def test_hostile_values_read_as_xlsxwriter_writes_them(monkeypatch, options):
    result = hostile_result()
    data = render(result, options)
    assert cells(data) == reference(result, options, monkeypatch)
    sheet = cells(data)["Bevindingen" if options.lang == "nl" else "Findings"]["cells"]
    shown = {v[0]: v[1] for v in sheet.values()}
    for value in ("=SUM(A1:A9)", "+31 6 1234", "@IMPORTXML(x)", "-1"):
        assert shown[value] == "s", value  # text, never a formula
    assert "x" * 32_767 in shown and "x" * 40_000 not in shown  # cut where Excel cuts


def test_a_text_like_a_rich_string_stays_the_text(monkeypatch):
    # XlsxWriter would write a text "<r>...</r>" as raw rich-text XML; the findings sheet escapes it.
    result = make_result()
    odd = finding("1758", GZ, 100, "3314", "<r><t>x</t></r>", "Beroepcode", 69, 88)
    result = dataclasses.replace(result, findings=result.findings + [odd])
    sheet = cells(render(result, ReportOptions()))["Bevindingen"]["cells"]
    assert "<r><t>x</t></r>" in {v[0] for v in sheet.values()}


@pytest.mark.parametrize("limit", [0, 3])
def test_a_full_shared_strings_table_leaves_texts_in_their_cells(monkeypatch, limit):
    result = hostile_result()
    expected = reference(result, ReportOptions(), monkeypatch)
    monkeypatch.setattr(xlsx_rows, "SHARED_MAX", limit)
    data = render(result, ReportOptions())
    assert cells(data) == expected
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.read("xl/sharedStrings.xml").count(b"<si>") == limit


def test_each_repeated_text_is_stored_once():
    result = make_result()
    many = [dataclasses.replace(result.findings[5], line=k) for k in range(1, 2001)]
    data = render(dataclasses.replace(result, findings=many, counts={"1801": len(many)}), ReportOptions())
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        shared = z.read("xl/sharedStrings.xml").decode()
        sheet = z.read("xl/worksheets/sheet2.xml").decode()
    message = "3262 Begindatum behandeltraject &gt; 3233 Creatiedatum pakbon"
    assert shared.count(message) == 1 and message not in sheet
    assert len(re.findall(r"<row\b", sheet)) == 2001


@pytest.mark.parametrize("library", inflaters())
def test_every_deflate_library_writes_the_same_workbook(monkeypatch, library):
    result = hostile_result()
    expected = reference(result, ReportOptions(), monkeypatch)
    monkeypatch.setenv("DISVAL_INFLATER", library)
    data = render(result, ReportOptions())
    readable(data)
    assert cells(data) == expected


class _FullDisk(io.RawIOBase):
    """A file that takes `room` bytes, then fails as a full disk does."""

    def __init__(self, room: int):
        self.room = room

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if len(data) > self.room:
            raise OSError(28, "No space left on device")
        self.room -= len(data)
        return len(data)


@pytest.mark.parametrize("room", [10, 20_000, 60_000])
def test_a_full_disk_is_an_error_not_a_hang(room):
    result = make_result()
    many = [dataclasses.replace(result.findings[9], line=k, value=f"v{k}") for k in range(1, 20_001)]
    big = dataclasses.replace(result, findings=many, counts={"1987": len(many)})
    raised = []

    def run():
        try:
            write(big, ReportOptions(), _FullDisk(room))
        except OSError as e:
            raised.append(e)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(120)
    assert not worker.is_alive()
    assert raised and raised[0].errno == 28
