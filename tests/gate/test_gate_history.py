"""The rules that need history, evaluated through submit: 1656, 2054, 1812, 1813, 1819."""
from __future__ import annotations

import pytest

from disval.core.gate.process import submit
from gate_support import AGB, BRANCH, BT, GZ, PAKBON, delivery, register, with_field


@pytest.fixture
def imported(store, tmp_path, pm):
    """A provider in production whose first PROD delivery (10 trajects, 10 zorgprofielen) is imported."""
    register(store)
    assert submit(delivery(tmp_path, "test", "20180201"), store, pm=pm).status == "accepted"
    assert submit(delivery(tmp_path, "production", "20180301"), store, pm=pm).status == "imported"
    return store


def second(tmp_path, *change):
    """The next production delivery: the same records (same seed and date, sequence 02), one field changed."""
    zip_path = delivery(tmp_path, "production", "20180301", "02")
    return with_field(zip_path, tmp_path / "changed", *change) if change else zip_path


def counts(store, outcome) -> dict[str, int]:
    import json

    report = json.loads(store.read_blob(outcome.reports[f"{outcome.name[:-4]}.json"]))
    return report["counts"]["by_rule"]


def test_no_history_rule_fires_for_the_same_records_again(imported, tmp_path, pm):
    o = submit(second(tmp_path), imported, pm=pm)
    assert (o.status, counts(imported, o)) == ("imported", {})


def test_1656_a_traject_number_stored_under_another_koppelnummer(imported, tmp_path, pm):
    before = sorted(imported.records(AGB, BRANCH))
    o = submit(second(tmp_path, BT, 3, "3258", "KMOVED"), imported, pm=pm)
    assert (o.status, o.assessment, counts(imported, o)) == ("assessed_negative", "negative", {"1656": 1})
    assert sorted(imported.records(AGB, BRANCH)) == before


def test_1656_does_not_look_at_another_provider(imported, tmp_path, pm):
    register(imported, "03001234")
    other = delivery(tmp_path, "test", "20180301", agb="03001234")
    moved = with_field(other, tmp_path / "other", BT, 3, "3258", "KMOVED")
    assert counts(imported, submit(moved, imported, pm=pm)) == {}


def test_2054_a_component_number_stored_under_another_traject(imported, tmp_path, pm):
    o = submit(second(tmp_path, GZ, 4, "3309", "BT0000000005"), imported, pm=pm)  # BC..04 was under BT..04
    found = counts(imported, o)
    assert found == {"2054": 1}
    assert (o.status, o.assessment) == ("imported", "positive")  # WRN: reported, not blocking
    quality = imported.read_blob(o.reports[f"{o.name[:-4]}.quality.json"]).decode()
    assert '"2054"' in quality


@pytest.mark.parametrize("ddid, rule, notice", [
    ("3339", "1812", {"supplier": "NIEUWSOFT"}),
    ("3334", "1813", {"package": "NIEUWPAKKET"}),
])
def test_software_changed_without_and_with_notice(imported, tmp_path, pm, ddid, rule, notice):
    value = next(iter(notice.values()))
    changed = second(tmp_path, PAKBON, 1, ddid, value)
    o = submit(changed, imported, pm=pm)
    assert (o.status, counts(imported, o)) == ("assessed_negative", {rule: 1})
    imported.notify_software_change(AGB, BRANCH, **notice)
    again = delivery(tmp_path, "production", "20180301", "03")
    o = submit(with_field(again, tmp_path / "again", PAKBON, 1, ddid, value), imported, pm=pm)
    assert (o.status, counts(imported, o)) == ("imported", {})
    # The notice covered one change; the new software is what the next delivery is held to.
    back = with_field(delivery(tmp_path, "production", "20180301", "04"), tmp_path / "back", PAKBON, 1, ddid,
                      "DISVAL" if ddid == "3339" else "DISVAL GENERATE")
    assert counts(imported, submit(back, imported, pm=pm)) == {rule: 1}


def test_1819_a_user_that_is_not_the_providers_account(store, tmp_path, pm):
    register(store, user="someone-else")
    o = submit(delivery(tmp_path, "test", "20180201"), store, pm=pm)
    assert (o.status, counts(store, o)) == ("assessed_negative", {"1819": 1})
    assert store.provider_settings(AGB, BRANCH) is None


def test_every_history_rule_is_evaluated_and_quiet_for_the_registered_account(store, tmp_path, pm):
    import json

    register(store)
    o = submit(delivery(tmp_path, "test", "20180201"), store, pm=pm)
    report = json.loads(store.read_blob(o.reports[f"{o.name[:-4]}.json"]))
    assert report["counts"]["by_rule"] == {}
    not_evaluated = {r["rule"] for r in report["not_evaluated"]}
    assert not_evaluated.isdisjoint({"1656", "2054", "1812", "1813", "1819"})
