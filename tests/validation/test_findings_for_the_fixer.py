"""What the person fixing the export needs on each finding: every value involved, expected
against found, the distinct failing values with their counts, identical findings as one row."""
from __future__ import annotations

import json

from disval.core.faults import rewrite_member
from disval.core.findings import Finding, RuleInfo, ValidationResult
from disval.core.generate import generate_delivery
from disval.core.pipeline import validate
from disval.core.reports import ReportOptions
from disval.plugins.reports import json as json_report, text

from planting import BT, GZ, edit_member, plant


def test_a_two_field_rule_shows_both_values(clean, tmp_path):
    line = clean.lonely[-1]
    result = validate(plant(clean.path, tmp_path, BT, line, f3262="20180202", f3263=""))
    [finding] = result.findings
    assert (finding.rule, finding.ddid, finding.value) == ("1801", "3262", "20180202")
    assert finding.related == (("3233", "Creatiedatum", "20180201"),)
    shown = text.render(result, ReportOptions(lang="en")).decode()
    assert "3233 Creation date = '20180201'" in shown and "Also read" in shown


def test_a_record_length_says_what_was_found_and_expected(clean, tmp_path):
    line = clean.lonely[0]

    def shorten(records):
        records[line - 1] = records[line - 1][:-1]
        return records

    result = validate(edit_member(clean.path, tmp_path, BT, shorten))
    [finding] = [f for f in result.findings if f.rule == "1643"]
    expected = len(clean.lines[BT][0])
    assert (finding.value, finding.expected) == (str(expected - 1), str(expected))
    assert f"'{expected - 1}' (expected {expected})" in text.render(result, ReportOptions(lang="en")).decode()


def test_1651_prints_the_packing_slips_count_and_the_real_count(clean, tmp_path):
    result = validate(edit_member(clean.path, tmp_path, GZ, lambda records: records[:-1]))
    [finding] = [f for f in result.findings if f.rule == "1651"]
    real = len(clean.lines[GZ]) - 1
    assert (finding.value, finding.expected) == (str(real), str(real + 1))
    doc = json.loads(json_report.render(result, ReportOptions()))
    row = next(f for f in doc["findings"] if f["rule"] == "1651")
    assert (row["value"], row["expected"]) == (str(real), str(real + 1))


def test_identical_findings_are_one_row_with_their_count_and_values_are_counted(tmp_path):
    zip_path = generate_delivery(tmp_path / "many", trajects=300, profiles=300, seed=3)

    def lf_only(lines):
        return [line.replace(b"\r\n", b"\n") for line in lines]

    broken = rewrite_member(zip_path, tmp_path / "lf", BT, lf_only)
    result = validate(broken)
    assert result.counts["REC-EOL"] == 300
    assert result.values["REC-EOL"] == {None: 300}
    shown = text.render(result, ReportOptions(lang="en")).decode()
    listing = shown[shown.index("REC-EOL V ERR"):]
    rows = [line for line in listing.splitlines()[1:] if BT in line]
    assert len(rows) == 1 and "(300×)" in rows[0] and "1, 2, 3, 4, 5, …" in rows[0]


def test_distinct_failing_values_are_counted_over_every_finding_listed_or_not(clean, tmp_path):
    path = clean.path
    for i, line in enumerate((1, 2, 3, 4)):  # three trajects with one bad date, one with another
        path = plant(path, tmp_path / str(i), BT, line, f3262="20189999" if line < 4 else "2018AB01")
    result = validate(path, max_per_rule=1)
    assert result.counts["1769"] == 4 and len([f for f in result.findings if f.rule == "1769"]) == 1
    doc = json.loads(json_report.render(result, ReportOptions(max_examples=1)))
    rule = next(r for r in doc["rules"] if r["rule"] == "1769")
    assert rule["values"] == [{"value": "20189999", "count": 3}, {"value": "2018AB01", "count": 1}]
    assert rule["other_values"] == 0
    assert "'20189999' 3×, '2018AB01' 1×" in text.render(result, ReportOptions(max_examples=1)).decode()


def test_values_of_identifying_fields_are_not_listed_unless_asked():
    # No rule of GA OHW-GBG 1.0 reports a filled koppelnummer in one delivery (1656 needs the store),
    # so the result is built by hand: 3258 is identifying, its values stay out of the counts shown.
    info = RuleInfo(rule="1656", type="OH", severity="ERR", file=BT, ddid="3258", status="active", message="m")
    finding = Finding("1656", "OH", "ERR", BT, 1, 21, "3258", "K123", "m",
                      related=(("3258", "Koppelnummer", "K123"),))
    result = ValidationResult(
        delivery="d.zip", standard="S", standard_title="", policy="dis", assessment="negative", records={BT: 1},
        findings=[finding], counts={"1656": 2}, rules=[info], not_evaluated=[], identifying=("3258",),
        values={"1656": {"K123": 2}},
    )
    hidden = json.loads(json_report.render(result, ReportOptions()))
    assert hidden["rules"][0]["values"] == [] and "K123" not in json.dumps(hidden)
    shown = json.loads(json_report.render(result, ReportOptions(show_identifiers=True)))
    assert shown["rules"][0]["values"] == [{"value": "K123", "count": 2}]
    assert shown["findings"][0]["related"] == [{"ddid": "3258", "field": "Koppelnummer", "value": "K123"}]


def test_follow_on_findings_name_their_cause(clean, tmp_path):
    # A traject with a profile, one byte too short: its key is still legible, but the traject is no
    # record, so the profiles that name it fail 1987. They are follow-ons of the 1643 on that line.
    referenced = next(i for i in range(1, len(clean.lines[BT]) + 1) if i not in clean.lonely)

    def shorten(records):
        records[referenced - 1] = records[referenced - 1][:-1]
        return records

    result = validate(edit_member(clean.path, tmp_path, BT, shorten))
    follow_ons = [f for f in result.findings if f.rule == "1987"]
    assert follow_ons and all(f.cause == f"{BT}:{referenced} 1643" for f in follow_ons)
    assert all(f.cause is None for f in result.findings if f.rule != "1987")
    shown = text.render(result, ReportOptions(lang="en")).decode()
    assert f"{len(follow_ons)} of these follow from an earlier finding: {BT}:{referenced} 1643" in shown
    doc = json.loads(json_report.render(result, ReportOptions()))
    assert {f["cause"] for f in doc["findings"] if f["rule"] == "1987"} == {f"{BT}:{referenced} 1643"}


def test_causes_of_follow_ons_are_the_same_when_the_broken_lines_keys_spill_to_disk(clean, tmp_path, monkeypatch):
    # Two referenced trajects cut short, and a later broken line that repeats the first one's key: the
    # cause is the first line with that key. With no memory for keys (DISVAL_KEY_MEMORY=0) the broken
    # lines' keys go to disk like every other remembered key, and the causes stay the same.
    from disval.core.engine import key_spill

    referenced = [i for i in range(1, len(clean.lines[BT]) + 1) if i not in clean.lonely][:2]

    def shorten(records):
        first = records[referenced[0] - 1]
        for i in referenced:
            records[i - 1] = records[i - 1][:-1]
        records.append(first[:-2])  # the same key again, on a later broken line
        return records

    path = edit_member(clean.path, tmp_path, BT, shorten)
    in_memory = validate(path, max_per_rule=None)
    whose = []
    write = key_spill.Segments.write
    monkeypatch.setattr(key_spill.Segments, "write", lambda self, *a: (whose.append(self.whose), write(self, *a)))
    monkeypatch.setenv("DISVAL_KEY_MEMORY", "0")
    spilled = validate(path, max_per_rule=None)
    assert any("wrong length" in w for w in whose)  # the broken lines' keys did go to disk
    causes = {f.cause for f in spilled.findings if f.rule == "1987"}
    assert causes == {f"{BT}:{line} 1643" for line in referenced}
    assert spilled.findings == in_memory.findings
