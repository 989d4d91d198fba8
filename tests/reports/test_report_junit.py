"""The JUnit report: a rule is a test case, its findings a failure, a rule not evaluated is skipped."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from report_support import DELIVERY, STANDARD


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
