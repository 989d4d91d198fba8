"""Issue 11, point 1: a delivery whose processing raises ends `failed`; its provider's queue goes on.

Each test plants one delivery that makes processing raise (a stand-in for any
bug a hostile zip may find: the validation or the import raises for that
delivery only) and runs on SQLite and PostgreSQL.
"""
from __future__ import annotations

import json

import pytest

from disval.core.gate import process as gate_module
from disval.core.cli import main
from disval.core.gate.process import requeue, submit, submit_many
from gate_support import AGB, BRANCH, BT, GZ, delivery, register


class Planted(RuntimeError):
    """What the planted delivery makes processing raise."""


@pytest.fixture
def connected(store, tmp_path, pm):
    """A provider past its connect phase."""
    register(store)
    assert submit(delivery(tmp_path, "test", "20180201"), store, pm=pm).status == "accepted"
    return store


@pytest.fixture
def poison(monkeypatch):
    """Make validation raise for the deliveries whose names are added to the returned set."""
    poisoned: set[str] = set()
    real = gate_module.validate

    def validate(path, **kwargs):
        if path.name in poisoned:
            raise Planted(f"planted failure for {path.name}")
        return real(path, **kwargs)

    monkeypatch.setattr(gate_module, "validate", validate)
    return poisoned


def by_name(store):
    return {d.name: d for d in store.deliveries(AGB, BRANCH)}


def test_a_delivery_that_raises_fails_and_the_next_of_its_provider_is_processed(connected, poison, tmp_path, pm):
    bad, good = delivery(tmp_path, day="20180302"), delivery(tmp_path, day="20180303", seed=2)
    poison.add(bad.name)
    first, second = submit_many([bad, good], connected, pm=pm)

    assert (first.status, first.exit_code, second.status, second.exit_code) == ("failed", 2, "imported", 0)
    failed = by_name(connected)[bad.name]
    assert failed.status == "failed" and failed.processed_at is not None
    assert failed.failure.type.endswith("Planted") and failed.failure.message == f"planted failure for {bad.name}"
    assert "test_gate_failures.py" in failed.failure.where  # where it was raised, for the operator
    assert "in _assess" in failed.failure.where
    assert first.as_dict()["failure"]["message"] == failed.failure.message
    assert first.discarded == [] and by_name(connected)[good.name].imported == {BT: 10, GZ: 10}


def test_a_failed_delivery_is_not_received_so_an_earlier_one_submitted_later_is_accepted(
        connected, poison, tmp_path, pm):
    late = delivery(tmp_path, day="20180310")
    poison.add(late.name)
    assert submit(late, connected, pm=pm).status == "failed"
    earlier = submit(delivery(tmp_path, day="20180305", seed=3), connected, pm=pm)
    assert (earlier.status, earlier.reasons) == ("imported", [])  # no ZIP-ORDER against the failed one


def test_a_failure_during_the_import_keeps_the_previous_records(connected, tmp_path, pm, monkeypatch):
    assert submit(delivery(tmp_path, day="20180301"), connected, pm=pm).status == "imported"
    before = sorted(connected.records(AGB, BRANCH))
    bad, good = delivery(tmp_path, day="20180302"), delivery(tmp_path, day="20180303")
    real, planted = connected.import_delivery, {bad.name}

    def import_delivery(delivery_id, standard, batches, finish=None, **kwargs):
        # The import breaks for `bad` after its records were written, inside the import's transaction.
        def broken(counts):
            if connected.delivery(delivery_id).name in planted:
                assert sorted(connected.records(AGB, BRANCH)) != before  # written, not yet committed
                raise Planted("the import broke")
            return finish(counts)
        return real(delivery_id, standard, batches, broken, **kwargs)

    monkeypatch.setattr(connected, "import_delivery", import_delivery)
    outcome = submit(bad, connected, pm=pm)
    assert (outcome.status, outcome.receipt, outcome.assessment) == ("failed", "accepted", "positive")
    assert sorted(connected.records(AGB, BRANCH)) == before and by_name(connected)[bad.name].imported == {}

    planted.clear()
    assert submit(good, connected, pm=pm).status == "imported"
    assert by_name(connected)[good.name].imported == {BT: 10, GZ: 10}


def test_requeue_processes_it_again_in_order_and_discard_gives_it_up(connected, poison, tmp_path, pm):
    bad, other = delivery(tmp_path, day="20180302"), delivery(tmp_path, day="20180303")
    poison.update({bad.name, other.name})
    failed = submit_many([bad, other], connected, pm=pm)
    assert [o.status for o in failed] == ["failed", "failed"]

    poison.clear()  # the bug was fixed
    (again,) = requeue([failed[0].delivery], connected, pm=pm)
    assert (again.status, again.failure) == ("imported", None)
    assert by_name(connected)[bad.name].failure is None

    from disval.core.gate import failures
    gone = failures.discard(connected, failed[1].delivery)
    assert gone.status == "discarded" and "Planted" in gone.reasons[0] and gone.failure is not None
    # discarded: never received, so the same zip may be offered again
    assert submit(other, connected, pm=pm).status == "imported"

    with pytest.raises(gate_module.UsageError, match="is imported: only a failed delivery can be requeued"):
        requeue([again.delivery], connected, pm=pm)


def test_the_commands_report_a_failed_delivery_and_requeue_it(connected, poison, store_url, tmp_path, capsys):
    bad = delivery(tmp_path, day="20180302")
    poison.add(bad.name)
    assert main(["submit", "--store", store_url, "--format", "json", str(bad)]) == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["delivery"]["status"] == "failed" and doc["receipt"]["status"] is None
    assert doc["failure"]["type"].endswith("Planted") and doc["failure"]["where"][-1].endswith("in validate")
    failed_id = doc["delivery"]["id"]

    assert main(["deliveries", "--store", store_url, AGB, BRANCH]) == 0
    listing = capsys.readouterr().out
    assert f"{failed_id}: failed: " in listing and "planted failure for" in listing

    assert main(["report", "--store", store_url, str(failed_id)]) == 0
    assert "its processing failed" in capsys.readouterr().err

    assert main(["discard", "--store", store_url, "1"]) == 2  # the TEST delivery did not fail
    assert "only a failed delivery can be discarded" in capsys.readouterr().err

    poison.clear()
    assert main(["requeue", "--store", store_url, str(failed_id)]) == 0
    assert f"(delivery {failed_id}): imported" in capsys.readouterr().out


def test_a_delivery_every_process_died_at_fails_instead_of_killing_the_next(connected, tmp_path, pm):
    from disval.core.gate.failures import MAX_ATTEMPTS
    from disval.core.pipeline import choose_standard

    deadly = delivery(tmp_path, day="20180302")
    std = choose_standard(pm, deadly.name)
    kept = connected.add_delivery(deadly.name, deadly, std.naming.parse(deadly.name), standard=std.id,
                                  validation={"request": {}})
    # as if MAX_ATTEMPTS processes had begun it and were killed (by the OOM killer, say) each time
    connected.update_delivery(kept.id, attempts=MAX_ATTEMPTS, started_at=kept.submitted_at)

    after = submit(delivery(tmp_path, day="20180303"), connected, pm=pm)
    assert after.status == "imported"
    died = connected.delivery(kept.id)
    assert died.status == "failed" and died.failure.type.endswith("Interrupted")
    assert f"began {MAX_ATTEMPTS} times and never finished" in died.failure.message

    (again,) = requeue([kept.id], connected, pm=pm)  # the operator tries once more: a fresh count
    assert again.reasons[0].rule == "ZIP-ORDER" and connected.delivery(kept.id).attempts == 1
