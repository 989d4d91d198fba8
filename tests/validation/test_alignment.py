"""One rule for alignment: a value is compared without its spaces, and a finding shows it as delivered.

GA §4.2 aligns AN values left with trailing spaces; §6.1.2 aligns AN values
with a digit pattern right. disval compares a value without its leading and
trailing spaces in codelist lookups, `=`, `!=`, `in (...)` and orderings alike
(README, "Decisions"), in both engines; a finding shows the value as
delivered, leading spaces included.
"""
from __future__ import annotations

import csv
import json

import openpyxl
import pytest

from disval.core.pipeline import validate

from planting import GZ, plant, run_cli

RULES = """
3311 = '{code}' => WRN AL-01 BR "equal to the code"
3311 in ('{code}', 'BC99') => WRN AL-02 BR "in a list holding the code"
3311 != '{code}' => WRN AL-03 BR "not equal to the code"
3311 not in ('{code}') => WRN AL-04 BR "not in a list holding the code"
3311 >= '{code}' and 3311 <= '{code}' => WRN AL-05 BR "ordered as the code"
3311 = '  {code}' => WRN AL-06 BR "a literal is compared without its spaces too"
"""


@pytest.fixture(scope="module")
def misaligned(clean, tmp_path_factory):
    """Profile 1 with its component code right-aligned ('   BC01'), profile 2 with the same code left-aligned."""
    out = tmp_path_factory.mktemp("aligned")
    code = clean.field(GZ, 1, "3311").strip()
    rules = out / "alignment.rules"
    rules.write_text(RULES.format(code=code), encoding="utf-8")
    path = plant(clean.path, out / "one", GZ, 1, f3311="   " + code)
    path = plant(path, out / "two", GZ, 2, f3311=code)
    return path, rules, code


@pytest.mark.parametrize("engine", ["columnar", "reference"])
def test_leading_spaces_count_the_same_in_a_codelist_lookup_and_in_comparisons(misaligned, engine):
    path, rules, code = misaligned
    result = validate(path, extra_rules=(str(rules),), engine=engine, max_per_rule=None)
    at = {line: {f.rule for f in result.findings if f.file == GZ and f.line == line} for line in (1, 2)}
    assert at[1] == at[2] == {"AL-01", "AL-02", "AL-05", "AL-06"}  # the codelist rule 1753 does not fire either
    shown = {f.line: f.value for f in result.findings if f.rule == "AL-01"}
    assert shown == {1: "   " + code, 2: code}  # as delivered: leading spaces kept, trailing padding dropped


def test_every_report_format_shows_the_value_with_its_leading_spaces(misaligned, tmp_path):
    path, rules, code = misaligned
    done = run_cli("validate", str(path), "--rules", str(rules), "--format", "json,text,csv,junit,html,xlsx",
                   "--output-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr  # WRN only
    stem = path.name.removesuffix(".zip")
    report = json.loads((tmp_path / f"{stem}.json").read_text(encoding="utf-8"))
    assert {f["value"] for f in report["findings"] if f["rule"] == "AL-01"} == {"   " + code, code}
    quoted = f"'   {code}'"
    assert quoted in (tmp_path / f"{stem}.txt").read_text(encoding="utf-8")
    assert quoted in (tmp_path / f"{stem}.junit.xml").read_text(encoding="utf-8")
    html = (tmp_path / f"{stem}.html").read_text(encoding="utf-8")
    assert f"<code>&#x27;   {code}&#x27;</code>" in html  # in a <code>, which keeps white space
    # The data formats carry the value exactly, in their own quoting.
    with open(tmp_path / f"{stem}.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    assert {r["value"] for r in rows if r["rule"] == "AL-01"} == {"   " + code, code}
    book = openpyxl.load_workbook(tmp_path / f"{stem}.xlsx", read_only=True)
    cells = {c for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row}
    assert "   " + code in cells
