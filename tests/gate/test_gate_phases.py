"""Phases (connect -> production) and the full-load import (GA §4.1.2, §5.2.1; the production phase)."""
from __future__ import annotations

import json

from disval.core.gate.process import submit
from gate_support import AGB, BRANCH, BT, GZ, PAKBON, delivery, register, with_field, without_last_records


def records(store, file=None):
    return {(f, key): fields for f, key, fields in store.records(AGB, BRANCH, file)}


def test_a_test_delivery_is_validated_and_reported_never_imported(store, tmp_path, pm):
    register(store)
    o = submit(delivery(tmp_path, "test"), store, pm=pm)
    assert (o.receipt, o.status, o.assessment, o.imported, o.exit_code) == ("accepted", "accepted", "positive", {}, 0)
    assert records(store) == {}
    assert sorted(o.reports) == [f"{o.name[:-4]}.json", f"{o.name[:-4]}.txt"]  # the validation report only
    report = json.loads(store.read_blob(o.reports[f"{o.name[:-4]}.json"]))
    assert report["assessment"] == "positive"


def test_the_first_positive_test_delivery_fixes_the_settings(store, tmp_path, pm):
    register(store)
    negative = with_field(delivery(tmp_path, "test", "20180201"), tmp_path / "neg", BT, 1, "3262", "20991301")
    assert submit(negative, store, pm=pm).status == "assessed_negative"
    assert store.provider_settings(AGB, BRANCH) is None
    o = submit(delivery(tmp_path, "test", "20180202"), store, pm=pm)
    settings = store.provider_settings(AGB, BRANCH)
    assert (settings.standard, settings.supplier, settings.package, settings.delivery_id) == (
        "GA-OHW-GBG-1.0", "DISVAL", "DISVAL GENERATE", o.delivery)
    later = submit(delivery(tmp_path, "test", "20180203"), store, pm=pm)
    assert later.status == "accepted" and store.provider_settings(AGB, BRANCH).delivery_id == o.delivery


def test_production_before_a_positive_connect_delivery_is_declined(store, tmp_path, pm):
    register(store)
    early = submit(delivery(tmp_path, "production", "20180201"), store, pm=pm)
    assert (early.receipt, early.status, [r.rule for r in early.reasons]) == ("rejected", "rejected", ["ZIP-CONTRACT"])
    assert "connect phase" in early.reasons[0].message and early.exit_code == 1
    assert submit(delivery(tmp_path, "test", "20180202"), store, pm=pm).status == "accepted"
    o = submit(delivery(tmp_path, "production", "20180301"), store, pm=pm)
    assert (o.status, o.imported, o.exit_code) == ("imported", {BT: 10, GZ: 10}, 0)
    assert len(records(store, BT)) == 10 and len(records(store, GZ)) == 10


def test_a_decline_does_not_discard_the_connect_delivery_queued_behind_it(store, tmp_path, pm):
    from disval.core.gate.process import submit_many

    register(store)
    outcomes = submit_many([delivery(tmp_path, "production", "20180201"), delivery(tmp_path, "test", "20180202")],
                           store, pm=pm)
    assert [o.status for o in outcomes] == ["rejected", "accepted"]


def test_a_new_release_of_the_standard_restarts_the_connect_phase(store, tmp_path, pm):
    register(store)
    store.fix_provider_settings(AGB, BRANCH, "GA-OHW-GBG-0.9", "DISVAL", "DISVAL GENERATE")  # fixed under the old one
    o = submit(delivery(tmp_path, "production", "20180301"), store, pm=pm)
    assert [r.rule for r in o.reasons] == ["ZIP-CONTRACT"]
    message = o.reasons[0].message
    assert "GA-OHW-GBG-0.9" in message and "GA-OHW-GBG-1.0" in message and "back in the connect phase" in message
    assert submit(delivery(tmp_path, "test", "20180302"), store, pm=pm).status == "accepted"
    assert store.provider_settings(AGB, BRANCH).standard == "GA-OHW-GBG-1.0"
    assert submit(delivery(tmp_path, "production", "20180303"), store, pm=pm).status == "imported"


def test_a_second_production_delivery_replaces_the_first(store, tmp_path, pm):
    register(store)
    submit(delivery(tmp_path, "test", "20180201"), store, pm=pm)
    first = submit(delivery(tmp_path, "production", "20180301"), store, pm=pm)
    before = records(store)
    assert first.imported == {BT: 10, GZ: 10} and len(before) == 20
    # The same trajects, less the last traject and its zorgprofiel, one afspraaknummer changed.
    second_zip = without_last_records(delivery(tmp_path, "production", "20180301", "02"), tmp_path / "second")
    second_zip = with_field(second_zip, second_zip, GZ, 1, "3348", "CHANGED")
    second = submit(second_zip, store, pm=pm)
    assert (second.status, second.imported) == ("imported", {BT: 9, GZ: 9})
    after = records(store)
    assert set(after) == set(before) - {(BT, "BT0000000010"), (GZ, "BC000000000010")}
    assert after[(GZ, "BC000000000001")]["3348"] == "CHANGED"
    assert {k: v for k, v in after.items() if k != (GZ, "BC000000000001")} == {
        k: v for k, v in before.items() if k in after and k != (GZ, "BC000000000001")}
    report = json.loads(store.read_blob(second.reports[f"{second.name[:-4]}.import.json"]))
    assert report["files"] == {
        BT: {"processed": 9, "imported": 9, "rejected": 0, "already_present": 9, "inserted": 0, "changed": 0,
             "deleted": 1},
        GZ: {"processed": 9, "imported": 9, "rejected": 0, "already_present": 8, "inserted": 0, "changed": 1,
             "deleted": 1},  # one afspraaknummer changed; the last records were not delivered again
    }


def test_a_negative_production_delivery_leaves_the_records_alone(store, tmp_path, pm):
    register(store)
    submit(delivery(tmp_path, "test", "20180201"), store, pm=pm)
    submit(delivery(tmp_path, "production", "20180301"), store, pm=pm)
    before = records(store)
    bad = with_field(delivery(tmp_path, "production", "20180302"), tmp_path / "bad", BT, 2, "3262", "2018")
    o = submit(bad, store, pm=pm)
    assert (o.receipt, o.status, o.assessment, o.imported, o.exit_code) == (
        "accepted", "assessed_negative", "negative", {}, 1)
    assert records(store) == before
    assert sorted(n.rsplit(".", 1)[-1] for n in o.reports) == ["json", "txt"]  # validation report only


def test_an_imported_delivery_keeps_its_import_and_quality_reports(store, tmp_path, pm):
    register(store)
    submit(delivery(tmp_path, "test", "20180201"), store, pm=pm)
    o = submit(delivery(tmp_path, "production", "20180301"), store, pm=pm, output_dir=tmp_path / "out",
               formats=("json", "csv"))
    stem = o.name[:-4]
    assert sorted(o.reports) == sorted(f"{stem}{kind}.{ext}" for kind in ("", ".import", ".quality")
                                       for ext in ("json", "csv"))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(o.reports)
    for path in o.paths:
        assert path.read_bytes() == store.read_blob(o.reports[path.name])
    imported = json.loads((tmp_path / "out" / f"{stem}.import.json").read_text())
    assert imported["totals"] == {"processed": 20, "imported": 20, "rejected": 0, "already_present": 0,
                                  "inserted": 20, "changed": 0, "deleted": 0}
    quality = json.loads((tmp_path / "out" / f"{stem}.quality.json").read_text())
    assert (quality["schema"], quality["counts"]["by_rule"]) == ("disval.quality/1", {})
    assert store.delivery(o.delivery).packing_slip["3339"] == "DISVAL"


def test_the_guidance_policy_imports_what_dis_would_reject(store, tmp_path, pm):
    register(store)
    submit(delivery(tmp_path, "test", "20180201"), store, pm=pm)
    bad = with_field(delivery(tmp_path, "production", "20180301"), tmp_path / "bad", BT, 2, "3262", "2018")
    o = submit(bad, store, pm=pm, policy="guidance")
    assert (o.status, o.assessment) == ("imported", "positive")
    quality = json.loads(store.read_blob(o.reports[f"{o.name[:-4]}.quality.json"]))
    assert quality["policy"] == "guidance" and set(quality["counts"]["by_rule"]) == {"1769"}
    assert [f["line"] for f in quality["findings"]] == [2]
    assert len(records(store, BT)) == 10 and PAKBON not in {f for f, _ in records(store)}
