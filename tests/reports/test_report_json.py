"""The JSON report is a public contract: exact keys, a schema version, nulls where there is no value."""
from __future__ import annotations

import json

from report_support import BT, DELIVERY, GZ, PB, STANDARD

from disval.core.gate.processing_reports import quality_view
from disval.core.standard import DIS_POLICY

KEYS = [
    "schema", "delivery", "standard", "assessment", "policy", "phase", "records", "records_with_findings", "counts",
    "findings", "not_listed", "not_evaluated", "rules", "codelists", "versions", "warnings",
    "started", "duration_seconds",  # added by issue 12; keys are only ever added, at the end
]
FINDING_KEYS = ["rule", "type", "severity", "file", "line", "column", "column_end", "ddid", "field", "value", "message",
                "expected", "related", "cause"]


def load(render, report, **options):
    return json.loads(render("json", report, **options))


def test_the_contract(render, result):
    doc = load(render, result)
    assert list(doc) == KEYS
    assert doc["schema"] == "disval.validation/1"
    assert (doc["delivery"], doc["standard"], doc["assessment"], doc["policy"], doc["phase"]) == (
        DELIVERY, STANDARD, "negative", "dis", "test")
    assert doc["records"] == {BT: 40, GZ: 120, PB: 1}
    assert doc["records_with_findings"][PB] == {"ERR": 0, "WRN": 1}
    assert doc["counts"]["by_rule"] == result.counts
    assert doc["counts"]["by_severity"] == {"ERR": 16, "WRN": 1}
    assert all(list(f) == FINDING_KEYS for f in doc["findings"])
    assert len(doc["findings"]) == len(result.findings)
    assert doc["not_listed"] == {"1801": 2}
    assert doc["versions"] == result.versions
    assert doc["warnings"] == result.warnings


def test_findings_are_in_delivery_order_with_nulls_for_no_location(render, result):
    doc = load(render, result)
    first = doc["findings"][0]
    assert first == {
        "rule": "1801", "type": "BR", "severity": "ERR", "file": BT, "line": 2, "column": 36, "column_end": 43,
        "ddid": "3262", "field": "Begindatum behandeltraject", "value": "20180305",
        "message": "3262 Begindatum behandeltraject > 3233 Creatiedatum pakbon",
        "expected": None, "related": [], "cause": None,
    }
    member = next(f for f in doc["findings"] if f["rule"] == "739")
    assert member["line"] is None and member["column"] is None and member["ddid"] is None and member["value"] is None


def test_not_evaluated_and_codelists(render, result):
    doc = load(render, result, lang="en")
    assert doc["not_evaluated"] == [
        {"rule": "1812", "status": "needs store", "reason": "needs earlier deliveries of the provider",
         "message": "3339 Software supplier changed without informing the NZa"},
        {"rule": "1767", "status": "not applicable", "reason": "PATIENT.txt is not part of GA OHW-GBG 1.0",
         "message": "3258 Link number is not delivered in PATIENT.txt"},
    ]
    assert doc["codelists"][0] == {"name": "CL_BEROEP_GBG", "release": "2018-01-01",
                                   "source": "20180101 cl beroep_gbg v20171201.txt", "sample": False}
    assert doc["codelists"][2]["release"] is None


def test_rules_explain_every_number(render, result):
    doc = load(render, result, lang="en")
    rules = {r["rule"]: r for r in doc["rules"]}
    assert set(rules) >= {"1771", "1812", "REC-CHARSET"}  # silent, not evaluated, and reader ids too
    assert rules["1801"]["hint"] == "A trajectory cannot start after the delivery was created."
    assert (rules["1801"]["count"], rules["1801"]["listed"]) == (5, 3)
    assert rules["1771"]["count"] == 0


def test_capping_keeps_counts(render, result):
    doc = load(render, result, max_examples=1)
    assert doc["counts"]["by_rule"]["1801"] == 5
    assert sum(f["rule"] == "1801" for f in doc["findings"]) == 1
    assert doc["not_listed"]["1801"] == 4


def test_masked_value(render, result):
    doc = load(render, result)
    charset = next(f for f in doc["findings"] if f["rule"] == "REC-CHARSET")
    assert charset["value"] == "***"


def test_quality_report_has_the_same_shape(render, result):
    doc = load(render, quality_view(result, DIS_POLICY))
    assert list(doc) == KEYS
    assert doc["schema"] == "disval.quality/1"
    assert doc["counts"]["by_rule"] == {"1788": 1}
    assert [f["rule"] for f in doc["findings"]] == ["1788"]


def test_import_report(render, import_report):
    doc = load(render, import_report)
    assert doc["schema"] == "disval.import/1"
    assert doc["files"][GZ] == {"processed": 120, "imported": 110, "rejected": 4, "already_present": 6,
                              "inserted": 100, "changed": 4, "deleted": 3}
    assert doc["totals"] == {"processed": 161, "imported": 149, "rejected": 6, "already_present": 6,
                             "inserted": 100, "changed": 4, "deleted": 3}
    assert doc["timestamp"] == "2018-03-02T09:30:00+00:00"
    assert doc["provider"] == "94001234-00" and doc["phase"] == "production"
    assert doc["codelists"][0]["name"] == "CL_BEROEP_GBG"
