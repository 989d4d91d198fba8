"""The gate in two steps, as the portal and a job queue use it: receive (keep + queue) and drain (process)."""
from __future__ import annotations

import pytest

from disval.core.gate.process import Gate, drain
from disval.core.gate.receiving import make_request, receive
from disval.core.pipeline import UsageError
from gate_support import AGB, BRANCH, delivery, register


def test_receive_only_queues_and_drain_processes_in_ga_order(store, pm, tmp_path):
    register(store)
    request = make_request(pm, formats=["json"])
    # Received in the wrong order: the later-created one first.
    later = receive(delivery(tmp_path, "test", "20180302"), store, pm=pm, request=request)
    earlier = receive(delivery(tmp_path, "test", "20180301"), store, pm=pm, request=request)
    assert [store.delivery(d.id).status for d in (later, earlier)] == ["queued", "queued"]
    assert store.delivery(later.id).reports == {}

    drain(store, AGB, BRANCH, pm=pm)

    done = {d.id: d for d in store.deliveries(AGB, BRANCH)}
    assert done[earlier.id].status == done[later.id].status == "accepted"
    assert done[earlier.id].started_at <= done[later.id].started_at  # GA order: creation date first
    assert set(done[later.id].reports) == {later.name.removesuffix(".zip") + ".json"}


def test_received_under_its_own_name_when_the_file_is_named_otherwise(store, pm, tmp_path):
    register(store)
    zip_path = delivery(tmp_path, "test", "20180301")
    kept_as = tmp_path / "upload-1234.zip"
    kept_as.write_bytes(zip_path.read_bytes())
    d = receive(kept_as, store, pm=pm, request=make_request(pm), name=zip_path.name)
    assert (d.name, d.agb, d.phase) == (zip_path.name, AGB, "test")


def test_a_bad_request_is_refused_before_anything_is_kept(store, pm):
    with pytest.raises(UsageError, match="unknown report format"):
        make_request(pm, formats=["pdf"])
    with pytest.raises(UsageError, match="no installed standard has the policy"):
        make_request(pm, policy="nonsense")


def test_a_delivery_is_processed_as_kept_when_its_file_changed_after_receipt(store, pm, tmp_path):
    """`submit` takes its working copy from the file it received (no read back from the store) only while
    that file holds the bytes kept: a file overwritten in between is processed from the kept zip."""
    register(store)
    request = make_request(pm, formats=["json"])
    zip_path = delivery(tmp_path, "test", "20180301")
    kept = receive(zip_path, store, pm=pm, request=request)
    zip_path.write_bytes(b"not a zip any more")
    reads = []
    save_blob = store.save_blob
    store.save_blob = lambda *args: (reads.append(args[0]), save_blob(*args))[1]
    done, = Gate(store, pm, received_from={kept.id: zip_path}).run([kept])
    assert (done.status, done.assessment, reads) == ("accepted", "positive", [kept.sha256])

    unchanged = delivery(tmp_path / "again", "test", "20180302")
    second = receive(unchanged, store, pm=pm, request=request)
    done, = Gate(store, pm, received_from={second.id: unchanged}).run([second])
    assert (done.status, done.assessment, reads) == ("accepted", "positive", [kept.sha256])  # not read back
