"""`disval rules`: every rule with number, type, severity, file, DDID, status and description."""
from __future__ import annotations

import json

from disval.core.cli import main


def test_rules_json_lists_every_rule_with_its_status(capsys):
    assert main(["rules", "--standard", "GA-OHW-GBG-1.0", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    rules = {r["rule"]: r for r in doc["rules"]}
    assert doc["standard"] == "GA-OHW-GBG-1.0"
    assert len(rules) == 79
    assert {k: rules["1801"][k] for k in ("type", "severity", "file", "ddid", "status")} == {
        "type": "BR", "severity": "ERR", "file": "BEHANDELTRAJECT.txt", "ddid": "3262", "status": "active"}
    assert rules["1819"]["status"] == "needs store"
    assert rules["1767"]["status"] == "not applicable" and "PATIENT.txt" in rules["1767"]["reason"]
    assert rules["1788"]["valid_from"] == "2015-01-01"
    assert rules["1801"]["source"].startswith("3262 > 3233 => ERR 1801 BR")


def test_rules_text_is_a_table_with_a_summary(capsys):
    assert main(["rules", "--standard", "GA-OHW-GBG-1.0"]) == 0
    out = capsys.readouterr().out
    assert "79 rules, 69 active" in out
    assert any(line.split()[:6] == ["1801", "BR", "ERR", "BEHANDELTRAJECT.txt", "3262", "active"]
               for line in out.splitlines())


def test_a_broken_extra_rules_file_is_one_located_error(tmp_path, capsys):
    bad = tmp_path / "org.rules"
    bad.write_text("3226 > 3233 => ERR 9001 BR \"typo\"\n", encoding="utf-8")
    assert main(["rules", "--standard", "GA-OHW-GBG-1.0", "--rules", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"disval: {bad}:1:1: error: unknown field 3226")
    assert "Traceback" not in err
