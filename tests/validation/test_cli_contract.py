"""`disval validate --format json` as other tools see it: the public contract of issue 2, part 8, and exit codes.

Run as a subprocess, the way a user or a CI job runs it.
"""
from __future__ import annotations

import json

import pytest

from planting import BT, GZ, NOT_DECIDABLE, PB, PROFILES, TRAJECTS, edit_member, plant, run_cli, write_zip

TOP_KEYS = {"delivery", "standard", "assessment", "records", "findings", "not_evaluated"}
FINDING_KEYS = {"rule", "type", "severity", "file", "line", "column", "ddid", "value", "message"}


def validate_json(path, *extra: str):
    done = run_cli("validate", str(path), "--format", "json", *extra)
    assert "Traceback" not in done.stderr
    return done, json.loads(done.stdout)


def test_positive_delivery(clean):
    done, report = validate_json(clean.path)
    assert done.returncode == 0
    assert TOP_KEYS <= set(report)
    assert report["delivery"] == clean.name
    assert report["standard"] == "GA-OHW-GBG-1.0"
    assert report["assessment"] == "positive"
    assert report["records"] == {BT: TRAJECTS, GZ: PROFILES, PB: 1}
    assert report["findings"] == []


def test_not_evaluated_lists_the_rules_one_delivery_cannot_decide(clean):
    _, report = validate_json(clean.path)
    listed = report["not_evaluated"]
    assert all({"rule", "status"} <= set(item) for item in listed)
    assert {item["rule"]: item["status"] for item in listed} == NOT_DECIDABLE


def test_record_finding(clean, tmp_path):
    line = clean.lonely[-1]
    done, report = validate_json(plant(clean.path, tmp_path, BT, line, f3262="20180202", f3263=""))
    assert done.returncode == 1
    assert report["assessment"] == "negative"
    [finding] = report["findings"]
    assert FINDING_KEYS <= set(finding)
    assert {k: finding[k] for k in FINDING_KEYS - {"message"}} == {
        "rule": "1801", "type": "BR", "severity": "ERR", "file": BT, "line": line, "column": 36,
        "ddid": "3262", "value": "20180202",
    }
    assert finding["message"] == "3262 Begindatum behandeltraject > 3233 Creatiedatum pakbon"


def test_file_level_finding_has_null_line(clean, tmp_path):
    done, report = validate_json(edit_member(clean.path, tmp_path, GZ, lambda records: None))
    assert done.returncode == 1
    [finding] = report["findings"]
    assert FINDING_KEYS <= set(finding)
    assert (finding["rule"], finding["file"], finding["line"]) == ("726", GZ, None)


def test_count_finding_has_null_line(clean, tmp_path):
    _, report = validate_json(plant(clean.path, tmp_path, PB, 1, f3345=str(TRAJECTS + 1)))
    [finding] = report["findings"]
    assert (finding["rule"], finding["file"], finding["line"], finding["ddid"]) == ("1642", BT, None, "3345")


def test_zip_level_finding_has_null_file_and_line(clean, tmp_path):
    done, report = validate_json(write_zip(tmp_path / "delivery.zip", clean.members))
    assert done.returncode == 1
    [finding] = [f for f in report["findings"] if f["rule"] == "ZIP-NAME"]
    assert FINDING_KEYS <= set(finding)
    assert (finding["rule"], finding["file"], finding["line"], finding["severity"]) == ("ZIP-NAME", None, None, "ERR")


def test_warning_alone_is_positive(clean, tmp_path):
    """WRN never blocks under the default policy: 3337 '1.0' breaks NN.N (1788, WRN) and nothing else."""
    done, report = validate_json(plant(clean.path, tmp_path, PB, 1, f3337="1.0"))
    assert done.returncode == 0
    assert report["assessment"] == "positive"
    assert {f["rule"]: f["severity"] for f in report["findings"]} == {"1788": "WRN"}


# ---------------------------------------------------------------- could not run: exit 2, one line, no traceback


@pytest.mark.parametrize("args", [
    ("validate", "no-such-delivery.zip"),
    ("validate", "."),  # a directory, not a zip
    ("validate", "{clean}", "--format", "no-such-format"),
    ("validate", "{clean}", "--policy", "no-such-policy"),
    ("validate", "{clean}", "--standard", "no-such-standard"),
    ("validate", "{clean}", "--format", "json,text"),  # several formats need --output-dir
])
def test_cannot_run(args, clean):
    done = run_cli(*(a.format(clean=clean.path) for a in args))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("disval: "), done.stderr


@pytest.mark.parametrize("args", [("validate",), ("validate", "--no-such-option", "x.zip"), ()])
def test_bad_usage(args):
    done = run_cli(*args)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
