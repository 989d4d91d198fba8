"""Findings kept as blocks (one template, lines and values as lists) give exactly the reports of findings
kept one object each.

The columnar kernels report a batch's violations as one `FindingBlock`; the
JSON report writes a block whole, in delivery order by a windowed sort. The
same delivery validated with blocks and with them turned off (every finding an
object, as before) must give the same findings and byte-identical reports in
every format, in memory and spilled to disk.
"""
from __future__ import annotations

import dataclasses
import heapq
import io
import random
import zipfile

import pytest

from disval.core import finding_store
from disval.core.engine import columnar
from disval.core.faults import rewrite_member
from disval.core.finding_block import FindingBlock, block_of, merged
from disval.core.finding_store import FindingList, FindingStore
from disval.core.findings import Finding
from disval.core.generate import generate_delivery
from disval.core.pipeline import validate
from disval.core.plugins import get_plugin_manager
from disval.core.reports import ReportOptions, formats_by_name

from xlsx_cells import cells

BT, GZ = "BEHANDELTRAJECT.txt", "GELEVERD_ZORGPROFIEL.txt"
OPTIONS = [ReportOptions(), ReportOptions(max_examples=2, lang="en"), ReportOptions(show_identifiers=True)]


def _faulty(tmp_path):
    """Every profile violates a rule and names a traject that is not there (a key per profile); the
    trajects' keys repeat (uniqueness), their 4046 is wrong, one has a control character."""
    clean = generate_delivery(tmp_path / "clean", trajects=40, profiles=150, seed=5)
    # Values that the xlsx sheet's XML must escape as XlsxWriter does (&, <, its own _x0041_ escape).
    faults = [(88, b"    -5"), (40, b"XX99                "), (60, b"20190231"), (40, b" &<_x0041_>%{0}     ")]

    def profiles(lines):
        for i, line in enumerate(lines):
            at, value = faults[i % 4]
            yield line[:at] + value + line[at + len(value):]

    def trajects(lines):
        for i, line in enumerate(lines):
            key = (b"DUP" if i % 2 else b"T\x01%d" % i).ljust(20)
            yield key + line[20:51] + b"X" + line[52:]

    path = rewrite_member(clean, tmp_path / "faulty", GZ, profiles)
    return rewrite_member(path, path, BT, trajects)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """{(blocks, spilled): result} of one delivery."""
    path = _faulty(tmp_path_factory.mktemp("blocks"))
    pm = get_plugin_manager()
    out = {}
    for blocks in (True, False):
        for spilled in (False, True):
            with pytest.MonkeyPatch.context() as mp:
                if not blocks:
                    mp.setattr(columnar, "_FEW", 1 << 62)  # every finding made one at a time
                if spilled:
                    mp.setattr(finding_store, "SPILL_AFTER", 7)
                    mp.setattr(finding_store, "FRAME", 3)
                    mp.setattr(finding_store, "BLOCK_FRAME", 5)
                out[blocks, spilled] = validate(path, pm=pm)
    first = out[True, False]
    return {k: dataclasses.replace(r, started=first.started, duration=first.duration) for k, r in out.items()}, pm


def test_blocks_are_used_and_give_the_same_findings(runs):
    results, _ = runs
    objects = list(results[False, False].findings)
    assert len(objects) > 300
    assert results[True, False].findings._store.blocks  # the kernels' findings stayed columnar
    assert results[True, True].findings.spilled
    for key, result in results.items():
        assert list(result.findings) == objects, key
        assert result.counts == results[False, False].counts and result.values == results[False, False].values


@pytest.mark.parametrize("spilled", [False, True], ids=["memory", "spilled"])
@pytest.mark.parametrize("name", ["text", "json", "csv", "html", "junit", "xlsx"])
@pytest.mark.parametrize("options", OPTIONS, ids=["default", "en-capped", "identifiers"])
def test_every_format_writes_the_same_report_from_blocks(runs, name, options, spilled):
    results, pm = runs
    fmt = formats_by_name(pm)[name]
    expected, got = fmt.render(results[False, False], options), fmt.render(results[True, spilled], options)
    if name == "xlsx":
        assert _members(got) == _members(expected)
    else:
        assert got == expected


@pytest.mark.parametrize("rows", [None, 50], ids=["one sheet", "sheets of 50 rows"])
@pytest.mark.parametrize("spilled", [False, True], ids=["memory", "spilled"])
@pytest.mark.parametrize("options", OPTIONS, ids=["default", "en-capped", "identifiers"])
def test_the_findings_sheets_read_as_xlsxwriter_writes_them_cell_by_cell(runs, monkeypatch, options, spilled, rows):
    from disval.plugins.reports import xlsx_package, xlsx_workbook

    results, pm = runs
    if rows:
        monkeypatch.setattr(xlsx_workbook, "EXCEL_ROWS", rows)  # Excel's limit is 1,048,576 rows
    fmt = formats_by_name(pm)["xlsx"]
    data = fmt.render(results[True, spilled], options)
    fast = cells(data)
    with monkeypatch.context() as mp:
        mp.setattr(xlsx_package, "available", lambda format_class: False)  # every cell through XlsxWriter
        assert cells(fmt.render(results[True, spilled], options)) == fast
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert "xl/sharedStrings.xml" in z.namelist()  # the streamed rows' repeated texts, shared
    if rows and options.max_examples is None:
        assert sum(name.startswith("Bevindingen") for name in fast) > 4  # the findings went on


def _members(xlsx: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(xlsx)) as z:
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}  # core.xml: creation time


def _random_streams(seed: int):
    """Streams of blocks and lists of findings, each in delivery order, with keys that collide."""
    rng = random.Random(seed)
    streams = []
    for s in range(rng.randint(1, 6)):
        rule = rng.choice(["10", "9", "REC-EOL"])
        file = rng.choice(["A.txt", "B.txt"])
        if rng.random() < 0.6:
            lines = sorted(rng.choices(range(1, 60), k=rng.randint(1, 40)))
            head = Finding(rule, "V", "ERR", file, None, rng.choice([3, 7]), "1", None, f"m{s}")
            cuts = sorted({0, len(lines), *rng.choices(range(len(lines)), k=3)})
            streams.append([block_of(head, lines[a:b], [f"{s}:{i}" for i in range(a, b)])
                            for a, b in zip(cuts, cuts[1:])])
        else:
            found = sorted((Finding(rule, "V", "ERR", rng.choice([file, None]), rng.choice([None, *range(1, 60)]),
                                    rng.choice([None, 3, 7]), None, f"{s}:{i}", "m")
                            for i in range(rng.randint(1, 40))), key=Finding.sort_key)
            streams.append([found[:10], found[10:]])
    return streams


@pytest.mark.parametrize("chunk", [4096, 3])
@pytest.mark.parametrize("seed", range(40))
def test_the_windowed_merge_orders_as_a_merge_of_the_findings(seed, chunk, monkeypatch):
    from disval.core import finding_block

    monkeypatch.setattr(finding_block, "CHUNK", chunk)  # units rendered a few findings at a time
    streams = _random_streams(seed)
    expected = [f.value for f in heapq.merge(*(
        [f for unit in stream for f in (unit.findings() if isinstance(unit, FindingBlock) else unit)]
        for stream in streams), key=Finding.sort_key)]
    got = [v for texts in merged(streams, lambda b: list(b.values), lambda f: f.value) for v in texts]
    assert got == expected


def test_a_block_spilled_and_read_back_is_the_same_findings():
    head = Finding("10", "V", "ERR", "A.txt", None, 5, "9", None, "m", column_end=8, field="F",
                   related=(("8", "n", None), ("7", "o", None)))
    block = block_of(head, [2, 4, 9], ["a", None, "é\x00"], [("x", None), ("y", "z"), (None, None)])
    store = FindingStore(budget=2)
    store.extend_block("10", block)
    assert store.spilled
    assert list(FindingList(store)) == block.findings()
    assert block.findings()[2] == dataclasses.replace(head, line=9, value="é\x00",
                                                      related=(("8", "n", None), ("7", "o", None)))


def test_a_block_out_of_order_is_kept_as_findings():
    head = Finding("10", "V", "ERR", "A.txt", None, 5, None, None, "m")
    store = FindingStore()
    store.extend_block("10", block_of(head, [5, 6], ["a", "b"]))
    store.extend_block("10", block_of(head, [1, 2], ["c", "d"]))
    assert [f.line for f in FindingList(store)] == [1, 2, 5, 6]


@pytest.mark.parametrize("lang, words", [("nl", "bladen"), ("en", "sheets")])
def test_the_summary_sheet_says_on_which_sheets_the_findings_are(runs, monkeypatch, lang, words):
    from openpyxl import load_workbook

    from disval.plugins.reports import xlsx_workbook

    results, pm = runs
    result = results[True, True]
    fmt = formats_by_name(pm)["xlsx"]
    summary = load_workbook(io.BytesIO(fmt.render(result, ReportOptions(lang=lang))), read_only=True).worksheets[0]
    assert not any(words in str(cell) for row in summary.iter_rows(values_only=True) for cell in row)
    monkeypatch.setattr(xlsx_workbook, "EXCEL_ROWS", 50)  # Excel's limit is 1,048,576 rows
    book = load_workbook(io.BytesIO(fmt.render(result, ReportOptions(lang=lang))), read_only=True)
    said = [cell for row in book.worksheets[0].iter_rows(values_only=True) for cell in row
            if cell and words in str(cell)]
    sheets = [ws.title for ws in book.worksheets[1:-1]]
    assert len(said) == 1 and len(sheets) == -(-len(result.findings) // 49)
    assert str(len(result.findings)) in said[0] and ", ".join(sheets) in said[0]


@pytest.mark.parametrize("spilled", [False, True], ids=["memory", "spilled"])
@pytest.mark.parametrize("options", OPTIONS, ids=["default", "en-capped", "identifiers"])
def test_the_csv_report_is_what_the_csv_module_writes_row_by_row(runs, options, spilled):
    """The CSV report makes its rows itself (a block's shared cells once); the reference is Python's csv
    module writing every finding's row, as the report did before."""
    import codecs
    import csv

    from disval.core.report_view import FINDING_COLUMNS, validation_view
    from disval.plugins.reports.csv import _cell

    results, pm = runs
    reference = io.StringIO()
    writer = csv.writer(reference, delimiter=";", lineterminator="\r\n")
    writer.writerow(FINDING_COLUMNS)
    for row in validation_view(results[False, False], options).findings:
        writer.writerow([_cell(row[c]) for c in FINDING_COLUMNS])
    got = formats_by_name(pm)["csv"].render(results[True, spilled], options)
    assert got == codecs.BOM_UTF8 + reference.getvalue().encode("utf-8")


def test_csv_cells_are_quoted_as_the_csv_module_quotes_them():
    import csv

    from disval.plugins.reports.csv import _line

    rng = random.Random(13)
    alphabet = ['a', 'é', ' ', ';', '"', "'", '\r', '\n', ',', '=', '-', '5', '%', '\t', '\\']
    for _ in range(3000):
        cells = ["".join(rng.choices(alphabet, k=rng.randint(0, 6))) for _ in range(rng.randint(1, 5))]
        cells += rng.choice([[], [None], [7], [-5]])
        reference = io.StringIO()
        csv.writer(reference, delimiter=";", lineterminator="\r\n").writerow(cells)
        assert _line(cells) == reference.getvalue(), cells


def test_the_html_values_of_a_block_are_escaped_as_one_by_one():
    from html import escape

    from disval.plugins.reports.html import _escaped

    for values in (["a&b", None, "<x>", "'q'", '"', ""], ["cut\x00inside", None, "&"], [None, None], []):
        assert _escaped(values) == [None if v is None else escape(v, quote=True) for v in values]
