"""A line that is not a record of its file's length is always a finding (issue 9, part 5).

GA OHW-GBG declares a record-length rule per file (1643, 1652, 1653); a
standard that declares none for a file still gets `REC-LENGTH` there, since
a line that is no record has none of its fields checked.
"""
from __future__ import annotations

import pytest

from disval.core.pipeline import validate
from disval.plugins.ga_ohw_gbg import standard

from planting import BT, edit_member


@pytest.fixture(scope="module")
def without_length_rules(tmp_path_factory):
    """The GA's rules file without its three record-length rules: a standard that declares none."""
    text = standard().rule_files[0].read_text(encoding="utf-8")
    kept = [line for line in text.splitlines(keepends=True) if not line.startswith("record length of ")]
    assert len(kept) == len(text.splitlines()) - 3
    path = tmp_path_factory.mktemp("rules") / "no_length.rules"
    path.write_text("".join(kept), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def short_line(clean, tmp_path_factory):
    """The clean delivery with one traject that no profile refers to cut 3 bytes short."""
    line = clean.lonely[0]

    def cut(records):
        records[line - 1] = records[line - 1][:-3]
        return records

    return edit_member(clean.path, tmp_path_factory.mktemp("short"), BT, cut), line


@pytest.mark.parametrize("engine", ["columnar", "reference"])
def test_a_short_line_is_a_blocking_finding_without_a_length_rule(short_line, without_length_rules, engine):
    path, line = short_line
    width = standard().layout.file(BT).record_length
    result = validate(path, rule_files=(without_length_rules,), engine=engine, max_per_rule=None)
    assert {rule: n for rule, n in result.counts.items() if n} == {"REC-LENGTH": 1}
    (finding,) = result.findings
    assert (finding.rule, finding.file, finding.line, finding.value) == ("REC-LENGTH", BT, line, str(width - 3))
    assert f"{width - 3} posities, verwacht {width}" in finding.message
    assert result.assessment == "negative"
    assert result.records_with[BT] == {"ERR": 1}


def test_the_standards_own_length_rule_reports_it_and_rec_length_does_not(short_line):
    path, line = short_line
    result = validate(path, max_per_rule=None)
    assert {rule: n for rule, n in result.counts.items() if n} == {"1643": 1}
    assert [(f.rule, f.line) for f in result.findings] == [("1643", line)]


def test_rec_length_speaks_the_reports_language_and_shows_the_expected_length(short_line, without_length_rules):
    from disval.core.reports import ReportOptions
    from disval.plugins.reports import text

    path, line = short_line
    width = standard().layout.file(BT).record_length
    result = validate(path, rule_files=(without_length_rules,), max_per_rule=None)
    (finding,) = result.findings
    assert finding.expected == str(width)
    # Table cells wrap: compare with the white space folded.
    english = " ".join(text.render(result, ReportOptions(lang="en")).decode().split())
    dutch = " ".join(text.render(result, ReportOptions(lang="nl")).decode().split())
    assert f"{width - 3} positions, expected {width}" in english and "posities" not in english
    assert f"{width - 3} posities, verwacht {width}" in dutch
    assert f"'{width - 3}' (expected {width})" in english and f"'{width - 3}' (verwacht {width})" in dutch
    assert "Write every record with exactly the file's record length" in english
