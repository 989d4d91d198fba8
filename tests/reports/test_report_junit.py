"""The JUnit report: a rule is a test case, its findings a failure, a rule not evaluated is skipped."""
from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

from report_support import DELIVERY, STANDARD

from disval.core.standard import DIS_POLICY, GUIDANCE_POLICY

EXAMPLE = Path(__file__).resolve().parents[2] / "contrib" / "examples" / "DIS_GBG_OHW_TEST_010_94001234_00_20180201_01.zip"


def suite(render, result, **options):
    root = ET.fromstring(render("junit", result, **options))
    assert root.tag == "testsuites"
    (s,) = root.findall("testsuite")
    return s


def test_one_testcase_per_rule(render, result):
    s = suite(render, result)
    cases = s.findall("testcase")
    numbers = [c.get("name").split(" ", 1)[0] for c in cases]
    assert sorted(numbers) == sorted({r.rule for r in result.rules} | {"REC-CHARSET"})
    assert all(c.get("classname") == STANDARD for c in cases)
    assert s.get("name") == DELIVERY
    assert (s.get("tests"), s.get("failures"), s.get("skipped"), s.get("errors")) == (str(len(cases)), "8", "2", "0")


def test_findings_are_failures_with_examples(render, result):
    s = suite(render, result, max_examples=2)
    case = next(c for c in s.findall("testcase") if c.get("name").startswith("1801 "))
    assert case.get("name") == "1801 3262 Begindatum behandeltraject > 3233 Creatiedatum pakbon"
    (failure,) = case.findall("failure")
    assert failure.get("message").startswith("5 x ERR 1801")
    assert "BEHANDELTRAJECT.txt regel 9 kolommen 36-43: 3262 Begindatum behandeltraject = '20180402'" in failure.text
    assert "nog 3 niet getoond" in failure.text
    assert "Hint: Een traject" in failure.text


def test_silent_rules_pass_and_not_evaluated_are_skipped(render, result):
    cases = {c.get("name").split(" ", 1)[0]: c for c in suite(render, result).findall("testcase")}
    assert list(cases["1771"]) == []
    (skipped,) = cases["1812"].findall("skipped")
    # The status in the report's language (Dutch by default), the reason as the result gives it.
    assert skipped.get("message") == "vraagt eerdere gegevens: needs earlier deliveries of the provider"


def test_properties_carry_provenance(render, result):
    props = {p.get("name"): p.get("value") for p in suite(render, result).find("properties")}
    assert props["assessment"] == "negative"
    assert props["codelist CL_BEROEP_GBG"] == "2018-01-01 20180101 cl beroep_gbg v20171201.txt"
    assert "disval 0.1.0" in props["versions"]


def _cases(s):
    return {c.get("name").split(" ", 1)[0]: c for c in s.findall("testcase")}


def test_a_finding_that_does_not_block_is_a_passing_case_that_says_what_it_found(render, result):
    # Under the regular DIS policy a WRN never rejects: 1788 (WRN) passes, with its finding in system-out.
    s = suite(render, replace(result, blocking=DIS_POLICY))
    assert (s.get("failures"), s.get("skipped")) == ("7", "2")
    case = _cases(s)["1788"]
    assert case.find("failure") is None
    assert "1 x WRN 1788: 3337 Versienummer GA bevat geen geldige waarde" in case.find("system-out").text
    assert "PAKBON.txt regel 1" in case.find("system-out").text
    props = {p.get("name"): p.get("value") for p in case.find("properties")}
    assert props == {"severity": "WRN", "count": "1", "blocking": "no"}
    assert _cases(s)["1801"].find("failure") is not None  # an ERR still fails


def test_nothing_fails_when_the_delivery_passed(render, result):
    # What the exit code says (0, positive) is what the CI shows: no failed case, the findings still readable.
    passed = replace(result, assessment="positive", blocking=GUIDANCE_POLICY)
    s = suite(render, passed)
    assert s.get("failures") == "0"
    assert all(c.find("failure") is None for c in s.findall("testcase"))
    assert "5 x ERR 1801" in _cases(s)["1801"].find("system-out").text
    props = {p.get("name"): p.get("value") for p in s.find("properties")}
    assert (props["assessment"], props["findings ERR"], props["findings WRN"]) == ("positive", "16", "1")


def test_a_delivery_with_only_warnings_passes_in_ci(tmp_path):
    # End to end: the clean example with an organisation rule that warns on every traject exits 0, and its
    # JUnit report has no failure.
    rules = tmp_path / "org.rules"
    rules.write_text('3262 is filled => WRN 9001 BR "traject begint"\n', encoding="utf-8")
    out = tmp_path / "report.junit.xml"
    done = subprocess.run([sys.executable, "-m", "disval.core.cli", "validate", str(EXAMPLE), "--rules", str(rules),
                           "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    s = ET.parse(out).getroot().find("testsuite")
    assert s.get("failures") == "0"
    case = _cases(s)["9001"]
    assert case.find("failure") is None and "WRN 9001" in case.find("system-out").text
