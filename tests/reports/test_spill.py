"""Findings beyond the in-memory budget spill to disk: every report stays exactly what it was.

A real validation of a delivery in which every record is faulty, once with the
default budget (everything in memory) and once with a budget of a few
findings (dozens of sorted runs on disk, read back in frames of three), must
give the same findings in the same order and byte-identical reports in every
format; the xlsx workbook is compared member by member (its creation time
differs).
"""
from __future__ import annotations

import dataclasses
import gc
import io
import json
import random
import zipfile

import pytest
from report_support import make_result

from disval.core import finding_store
from disval.core.faults import rewrite_member
from disval.core.finding_store import FindingList, FindingStore
from disval.core.findings import Finding
from disval.core.generate import generate_delivery
from disval.core.pipeline import validate
from disval.core.plugins import get_plugin_manager
from disval.core.report_view import FINDING_COLUMNS, finding_row, validation_view
from disval.core.reports import ReportOptions, formats_by_name, render_to
from disval.plugins.reports.json import document

BT, GZ = "BEHANDELTRAJECT.txt", "GELEVERD_ZORGPROFIEL.txt"
OPTIONS = [ReportOptions(), ReportOptions(max_examples=2, lang="en"), ReportOptions(show_identifiers=True)]


def _faulty(tmp_path):
    """Every profile violates a rule (three kinds in turn), one with a control character; every traject
    has a bad stoornis code, and one traject line is cut short."""
    clean = generate_delivery(tmp_path / "clean", trajects=30, profiles=90, seed=3)
    faults = [(88, b"    -5"), (40, b"XX99                "), (60, b"20190231")]

    def profiles(lines):
        for i, line in enumerate(lines):
            at, value = faults[i % 3]
            line = line[:at] + value + line[at + len(value):]
            if i == 7:
                line = line[:30] + b"\x01" + line[31:]
            yield line

    def trajects(lines):
        for i, line in enumerate(lines):
            line = line[:51] + b"X" + line[52:]
            yield line[:40] + b"\r\n" if i == 4 else line

    path = rewrite_member(clean, tmp_path / "faulty", GZ, profiles)
    return rewrite_member(path, path, BT, trajects)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """(in memory, spilled): the same delivery validated with the default budget and with one of 7."""
    path = _faulty(tmp_path_factory.mktemp("spill"))
    pm = get_plugin_manager()
    whole = validate(path, pm=pm)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(finding_store, "SPILL_AFTER", 7)
        mp.setattr(finding_store, "FRAME", 3)
        spilled = validate(path, pm=pm)
    # The two runs differ only in when they ran.
    spilled = dataclasses.replace(spilled, started=whole.started, duration=whole.duration)
    return whole, spilled, pm


def test_a_tiny_budget_spills_and_gives_the_same_findings_in_the_same_order(pair):
    whole, spilled, _ = pair
    assert not whole.findings.spilled and spilled.findings.spilled
    assert len(whole.findings) > 100
    assert list(spilled.findings) == list(whole.findings)
    assert spilled.counts == whole.counts and spilled.values == whole.values
    assert spilled.listed_out == whole.listed_out
    # Follow-ons found after the run (the cut traject's key) carry their cause on disk too.
    assert any(f.cause for f in spilled.findings)
    assert [f.cause for f in spilled.findings] == [f.cause for f in whole.findings]


@pytest.mark.parametrize("name", ["text", "json", "csv", "html", "junit", "xlsx"])
@pytest.mark.parametrize("options", OPTIONS, ids=["default", "en-capped", "identifiers"])
def test_every_format_writes_the_same_report_from_disk(pair, name, options):
    whole, spilled, pm = pair
    fmt = formats_by_name(pm)[name]
    expected, got = fmt.render(whole, options), fmt.render(spilled, options)
    streamed = io.BytesIO()
    render_to(fmt, spilled, options, streamed)
    if name == "xlsx":
        assert _members(got) == _members(expected) == _members(streamed.getvalue())
    else:
        assert got == expected
        assert streamed.getvalue() == expected


def _members(xlsx: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(xlsx)) as z:
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}  # core.xml: creation time


def test_xlsx_lists_every_spilled_finding(pair):
    from openpyxl import load_workbook

    _, spilled, pm = pair
    data = formats_by_name(pm)["xlsx"].render(spilled, ReportOptions())
    sheet = load_workbook(io.BytesIO(data), read_only=True).worksheets[1]
    assert sheet.max_row - 1 == len(spilled.findings)


@pytest.mark.parametrize("which", ["spilled", "by hand"])
def test_streamed_json_is_exactly_json_dumps_of_the_document(pair, which):
    result = pair[1] if which == "spilled" else make_result()
    pm = pair[2]
    for options in OPTIONS:
        view = validation_view(result, options, escape_controls=False)
        expected = (json.dumps(document(view), ensure_ascii=False, indent=2) + "\n").encode("utf-8")
        assert formats_by_name(pm)["json"].render(result, options) == expected


def test_a_finding_row_has_the_columns_of_the_json_contract():
    f = Finding("1", "V", "ERR", "A.txt", 3, 4, "9", "x", "m", related=(("8", "n", "v"),))
    rule = make_result().rules[0]
    assert tuple(finding_row(f, rule, (), ReportOptions())) == FINDING_COLUMNS


def _random_findings(n: int, seed: int = 1) -> list[Finding]:
    rng = random.Random(seed)
    return [
        Finding(rule=rng.choice(["10", "20", "REC-EOL"]), type="V", severity="ERR",
                file=rng.choice(["B.txt", "A.txt", None]), line=rng.choice([None, *range(1, 40)]),
                column=rng.choice([None, 5, 9]), ddid=rng.choice([None, "3257"]),
                value=rng.choice([None, "", "  x", "é\x00", "\udcff"]), message="m", expected=rng.choice([None, "3"]),
                related=rng.choice([(), (("3258", "Koppelnummer", "K1"), ("3233", "Datum", None))]))
        for _ in range(n)
    ]


def test_a_store_reads_back_in_delivery_order_however_small_its_budget():
    findings = _random_findings(500)
    store = FindingStore(budget=13, frame=4)
    for f in findings[:200]:
        store.add(f)
    for rule in ("10", "20", "REC-EOL"):
        store.extend(rule, (f for f in findings[200:] if f.rule == rule))
    listed = FindingList(store)
    assert listed.spilled and len(listed) == 500
    # Delivery order; findings at the same place keep the order they came in (a stable sort).
    by_rule = {r: [f for f in findings[:200] if f.rule == r] + [f for f in findings[200:] if f.rule == r]
               for r in ("10", "20", "REC-EOL")}
    in_order = sorted((f for r in by_rule for f in by_rule[r]), key=Finding.sort_key)
    assert list(listed) == in_order
    assert listed == in_order and listed[0] == in_order[0] and listed[-1] == in_order[-1]
    assert listed[3:6] == in_order[3:6]
    for rule, kept in by_rule.items():
        assert list(listed.by_rule(rule)) == sorted(kept, key=Finding.sort_key)
        assert listed.kept[rule] == len(kept)


def test_a_rewrite_reaches_every_kept_finding_once_and_no_later_one():
    store = FindingStore(budget=5, frame=2)
    store.extend("10", (Finding("10", "V", "ERR", "A.txt", n, None, None, "v", "m") for n in range(1, 23)))
    store.rewrite("10", lambda f: dataclasses.replace(f, value=f.value + "!"))
    store.extend("10", (Finding("10", "V", "ERR", "A.txt", n, None, None, "v", "m") for n in range(23, 30)))
    values = [f.value for f in FindingList(store)]
    assert values == ["v!"] * 22 + ["v"] * 7


def test_the_spill_directory_goes_with_its_findings():
    store = FindingStore(budget=2, frame=2)
    for f in _random_findings(9):
        store.add(f)
    directory = store.directory
    assert directory is not None and directory.is_dir()
    assert (directory.stat().st_mode & 0o077) == 0  # private: values may be koppelnummers
    del store
    gc.collect()
    assert not directory.exists()


def test_xlsx_continues_on_another_sheet_where_one_is_full(pair, monkeypatch):
    from openpyxl import load_workbook

    from disval.plugins.reports import xlsx_workbook

    _, spilled, pm = pair
    monkeypatch.setattr(xlsx_workbook, "EXCEL_ROWS", 50)  # Excel's limit is 1,048,576 rows
    data = formats_by_name(pm)["xlsx"].render(spilled, ReportOptions())
    book = load_workbook(io.BytesIO(data), read_only=True)
    parts = [ws for ws in book.worksheets if ws.title.startswith("Bevindingen")]
    assert len(parts) == -(-len(spilled.findings) // 49) > 1
    assert [p.title for p in parts[:2]] == ["Bevindingen", "Bevindingen (2)"]
    assert all(p.max_row <= 50 for p in parts)
    lines = [row[4] for p in parts for row in p.iter_rows(min_row=2, values_only=True)]
    assert lines == [f.line for f in spilled.findings]
