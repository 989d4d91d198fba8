"""The gate's commands as a user runs them: exit codes, the JSON outcome, one line on stderr for trouble."""
from __future__ import annotations

import json

from gate_support import AGB, BRANCH, BT, GZ, PAKBON, delivery, disval, outcome_json, with_field


def test_provider_commands(store_url):
    added = disval("provider", "add", AGB, BRANCH, "--user", "gbg94001234", "--name", "Praktijk De Linde",
                   store_url=store_url)
    assert added.returncode == 0, added.stderr
    twice = disval("provider", "add", AGB, BRANCH, "--user", "x", store_url=store_url)
    assert (twice.returncode, twice.stderr.count("\n")) == (2, 1) and "already registered" in twice.stderr
    assert disval("provider", "notify-software-change", AGB, BRANCH, "--supplier", "X", "--package", "Y",
                  store_url=store_url).returncode == 0
    assert disval("provider", "deactivate", AGB, BRANCH, "--on", "2018-06-01", store_url=store_url).returncode == 0
    listed = json.loads(disval("provider", "list", "--format", "json", store_url=store_url, check=True).stdout)
    assert listed["providers"] == [{
        "agb": AGB, "branch": BRANCH, "user": "gbg94001234", "name": "Praktijk De Linde", "active": False,
        "deactivated_on": "2018-06-01", "phase": "connect", "standard": None, "supplier": None, "package": None}]
    unknown = disval("provider", "deactivate", "11111111", "00", store_url=store_url)
    assert unknown.returncode == 2 and "not registered" in unknown.stderr and "Traceback" not in unknown.stderr


def test_submit_exit_codes_and_json_outcome(store_url, tmp_path):
    disval("provider", "add", AGB, BRANCH, "--user", "gbg94001234", store_url=store_url, check=True)
    test_zip, prod_zip = delivery(tmp_path, "test", "20180201"), delivery(tmp_path, "production", "20180301")
    ok = disval("submit", "--format", "json", "--output-dir", tmp_path / "out", test_zip, store_url=store_url)
    assert ok.returncode == 0, ok.stderr
    doc = outcome_json(ok)
    assert set(doc) == {"delivery", "provider", "phase", "receipt", "assessment", "imported", "discarded", "reports",
                        "failure"}
    assert doc["failure"] is None
    assert doc["provider"] == {"agb": AGB, "branch": BRANCH} and doc["phase"] == "test"
    assert doc["receipt"] == {"status": "accepted", "reasons": []} and doc["assessment"] == "positive"
    assert doc["delivery"]["name"] == test_zip.name and doc["imported"] == {} and doc["discarded"] == []
    for name, kept in doc["reports"].items():
        assert kept["path"] == str(tmp_path / "out" / name) and len(kept["sha256"]) == 64

    imported = outcome_json(disval("submit", "--format", "json", prod_zip, store_url=store_url, check=True))
    assert imported["imported"] == {BT: 10, GZ: 10} and imported["delivery"]["status"] == "imported"

    again = disval("submit", "--format", "json", prod_zip, store_url=store_url)
    assert again.returncode == 1
    assert outcome_json(again)["receipt"]["reasons"][0]["rule"] == "ZIP-DUPLICATE"

    bad = with_field(delivery(tmp_path, "production", "20180302"), tmp_path / "bad", BT, 1, "3262", "2018")
    negative = disval("submit", "--format", "json", bad, store_url=store_url)
    assert (negative.returncode, outcome_json(negative)["assessment"]) == (1, "negative")

    text = disval("submit", delivery(tmp_path, "production", "20180303"), store_url=store_url)
    assert text.returncode == 0 and "imported, assessed positive; imported 10 BEHANDELTRAJECT.txt" in text.stdout

    history = json.loads(disval("deliveries", AGB, BRANCH, "--format", "json", store_url=store_url,
                                check=True).stdout)
    rows = history["deliveries"]
    assert [(r["phase"], r["status"]) for r in rows] == [
        ("test", "accepted"), ("production", "imported"), ("production", "rejected"),
        ("production", "assessed_negative"), ("production", "imported")]
    assert rows[3]["findings"] == {"ERR": 1} and rows[4]["imported"] == {BT: 10, GZ: 10}
    assert all(r["submitted_at"] and r["processed_at"] for r in rows)
    assert disval("deliveries", AGB, BRANCH, store_url=store_url, check=True).stdout.count("production") == 4

    listed = disval("report", str(rows[1]["id"]), store_url=store_url, check=True).stdout.split()
    assert f"{prod_zip.name[:-4]}.import.json" in listed
    report = disval("report", str(rows[1]["id"]), f"{prod_zip.name[:-4]}.import.json", store_url=store_url,
                    check=True)
    assert json.loads(report.stdout)["totals"]["imported"] == 20

    again = disval("revalidate", str(rows[1]["id"]), "--format", "json", store_url=store_url)
    assert again.returncode == 0 and json.loads(again.stdout)["assessment"] == "positive"
    assert "assessed positive then, positive now" in again.stderr


def test_submit_could_not_run(tmp_path):
    # What is checked here comes before the store is used, so one kind of store is enough.
    store_url = f"sqlite:///{tmp_path}/disval.db"
    disval("provider", "list", "--create", store_url=store_url, check=True)
    cases = [
        (["submit", tmp_path / "missing.zip"], "no such file"),
        (["submit", "--policy", "strictest", delivery(tmp_path, "test")], "no blocking policy 'strictest'"),
        (["submit", "--codelists", tmp_path / "nowhere", delivery(tmp_path, "test")], "does not exist"),
        (["submit", "--report-formats", "pdf", delivery(tmp_path, "test")], "unknown report format pdf"),
        (["submit", "--store", "mysql://someone@somewhere/db", delivery(tmp_path, "test")], "no store plugin"),
        (["revalidate", "99", ], "there is no delivery 99"),
    ]
    for args, message in cases:
        done = disval(*args, store_url=store_url)
        assert done.returncode == 2, (args, done.stderr)
        assert message in done.stderr and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    rejected = disval("submit", "--format", "json", delivery(tmp_path, "test"), store_url=store_url)
    assert rejected.returncode == 1  # an unknown provider is a rejection, not a failure to run
    assert outcome_json(rejected)["receipt"]["reasons"][0]["rule"] == "ZIP-CUSTOMER-UNKNOWN"


def test_several_zips_in_one_submit_are_processed_in_order(store_url, tmp_path):
    disval("provider", "add", AGB, BRANCH, "--user", "gbg94001234", store_url=store_url, check=True)
    zips = [delivery(tmp_path, "test", day) for day in ("20180205", "20180201")]
    bad = with_field(delivery(tmp_path, "test", "20180203"), tmp_path / "bad", PAKBON, 1, "3234", "07")
    done = disval("submit", "--format", "json", *zips, bad, store_url=store_url)
    assert done.returncode == 1
    outcomes = {o["delivery"]["name"][-15:-4]: o for o in map(json.loads, done.stdout.splitlines())}
    assert outcomes["20180201_01"]["delivery"]["status"] == "accepted"
    assert [r["rule"] for r in outcomes["20180203_01"]["receipt"]["reasons"]] == ["1806"]
    assert outcomes["20180203_01"]["discarded"] == [zips[0].name]
    assert outcomes["20180205_01"]["delivery"]["status"] == "discarded"
