"""Deliveries: kept zips, duplicates, ordering, outcomes, and the discard rule."""
from __future__ import annotations

import datetime as dt
import hashlib
import os

import pytest

from disval.core.store.delivery_store import StoreError
from disval.core.store.values import BLOB_PART
from disval.plugins.ga_ohw_gbg import standard as ohw_gbg
from store_support import AGB, BRANCH, USER, zip_name


def add(store, day="20180301", seq="01", status="queued", phase="PROD", content=None, agb=AGB):
    """A delivery in `status`; `imported` through a real (empty) full load, the only way there."""
    z = zip_name(day, seq, phase, agb=agb)
    content = content if content is not None else z.name.encode()
    d = store.add_delivery(z.name, content, z, status="accepted" if status == "imported" else status)
    if status == "imported":
        store.import_delivery(d.id, ohw_gbg(), [])
    return store.delivery(d.id)


def test_a_delivery_and_its_zip_are_kept(store, tmp_path):
    big = os.urandom(2 * BLOB_PART + 123)  # three parts
    path = tmp_path / "upload.zip"
    path.write_bytes(big)
    z = zip_name()
    d = store.add_delivery(z.name, path, z, standard="GA-OHW-GBG-1.0", at=dt.datetime(2018, 3, 2, 9, 30))
    assert (d.agb, d.branch, d.phase, d.created, d.sequence) == (AGB, BRANCH, "production", dt.date(2018, 3, 1), "01")
    assert (d.status, d.standard, d.size) == ("queued", "GA-OHW-GBG-1.0", len(big))
    assert d.sha256 == hashlib.sha256(big).hexdigest()
    assert d.submitted_at == dt.datetime(2018, 3, 2, 9, 30, tzinfo=dt.timezone.utc)
    assert d.disval and d.processed_at is None and d.reasons == [] and d.imported == {}
    assert store.read_blob(d.sha256) == big
    assert store.save_blob(d.sha256, tmp_path / "back.zip").read_bytes() == big
    assert store.delivery(d.id) == d


def test_the_same_content_is_stored_once(store):
    a = add(store, content=b"same bytes")
    b = add(store, seq="02", content=b"same bytes")
    assert a.sha256 == b.sha256
    assert store._exec("SELECT COUNT(*) FROM blobs").fetchone()[0] == 1


def test_an_empty_zip_is_kept_too(store, tmp_path):
    d = add(store, content=b"")
    assert store.read_blob(d.sha256) == b""
    with pytest.raises(StoreError, match="no zip with sha256"):
        store.read_blob("0" * 64)
    with pytest.raises(StoreError, match="no zip with sha256"):
        store.save_blob("0" * 64, tmp_path / "none.zip")
    assert not (tmp_path / "none.zip").exists()


def test_a_zip_whose_name_does_not_parse_is_kept_without_provider(store):
    d = store.add_delivery("whatever.zip", b"PK", None, status="rejected", reasons=["ZIP-NAME"])
    assert (d.agb, d.phase, d.created, d.status, d.reasons) == (None, None, None, "rejected", ["ZIP-NAME"])


def test_already_delivered_by_name_and_by_content(store):
    first = add(store, content=b"first")
    assert store.already_delivered(first.name, "f" * 64) == first  # same name, other content
    assert store.already_delivered("DIS_GBG_OHW_PROD_010_94001234_00_20180302_01.zip", first.sha256) == first
    assert store.already_delivered("other.zip", "f" * 64) is None
    assert store.already_delivered(first.name, first.sha256, exclude=first.id) is None  # not itself


def test_rejected_and_discarded_deliveries_may_be_offered_again(store):
    rejected = add(store, status="rejected", content=b"r")
    discarded = add(store, seq="02", status="discarded", content=b"d")
    assert store.already_delivered(rejected.name, rejected.sha256) is None
    assert store.already_delivered(discarded.name, discarded.sha256) is None
    again = add(store, content=b"r")
    assert store.already_delivered(rejected.name, rejected.sha256, exclude=rejected.id) == again


def test_last_accepted_orders_by_creation_date_then_sequence(store):
    store.add_provider(AGB, BRANCH, USER)
    assert store.last_accepted(AGB, BRANCH) is None
    add(store, "20180301", "02", "imported")
    newest = add(store, "20180302", "01", "assessed_negative")
    add(store, "20180301", "03", "accepted")
    add(store, "20180303", "01", "queued")  # not yet received
    add(store, "20180304", "01", "rejected")
    add(store, "20180305", "01", "discarded")
    add(store, "20180309", "01", "accepted", agb="03001234")  # another provider
    assert store.last_accepted(AGB, BRANCH) == newest
    test = add(store, "20180201", "05", "accepted", phase="TEST")
    assert store.last_accepted(AGB, BRANCH, phase="test") == test
    assert store.last_accepted(AGB, BRANCH, phase="production") == newest
    assert store.last_accepted(AGB, BRANCH, before=newest.id).order == (dt.date(2018, 3, 1), "03")


def test_deliveries_are_listed_in_processing_order(store):
    add(store, "20180302", "01")
    add(store, "20180301", "02", "accepted")
    add(store, "20180301", "01", "rejected")
    listed = store.deliveries(AGB, BRANCH)
    assert [(d.created.day, d.sequence) for d in listed] == [(1, "01"), (1, "02"), (2, "01")]
    assert [d.status for d in store.deliveries(AGB, BRANCH, statuses=["queued", "accepted"])] == ["accepted", "queued"]
    assert store.deliveries("03001234", BRANCH) == []


def test_outcomes_are_recorded(store):
    d = add(store)
    done = dt.datetime(2018, 3, 2, 10, tzinfo=dt.timezone.utc)
    out = store.update_delivery(
        d.id, status="assessed_negative", assessment="negative", counts={"BEHANDELTRAJECT.txt": {"processed": 3}},
        packing_slip={"3339": "LEVERANCIER"}, reports={"validation": "/reports/x.pdf"}, processed_at=done,
    )
    assert (out.status, out.assessment, out.processed_at) == ("assessed_negative", "negative", done)
    assert out.counts == {"BEHANDELTRAJECT.txt": {"processed": 3}} and out.packing_slip == {"3339": "LEVERANCIER"}
    assert out.reports == {"validation": "/reports/x.pdf"}
    with pytest.raises(StoreError, match="import_delivery"):
        store.update_delivery(d.id, status="imported")
    with pytest.raises(StoreError, match="import_delivery"):
        store.add_delivery("x.zip", b"x", status="imported")
    with pytest.raises(ValueError):
        store.update_delivery(d.id, status="lost")
    with pytest.raises(TypeError, match="sha256"):
        store.update_delivery(d.id, sha256="x")
    with pytest.raises(StoreError, match="no delivery 999"):
        store.update_delivery(999, status="accepted")


def test_a_rejection_at_receipt_discards_the_later_queued_deliveries(store):
    earlier = add(store, "20180301", "01", "queued")
    rejected = add(store, "20180301", "02", "rejected")
    later = [add(store, "20180301", "03"), add(store, "20180302", "01")]
    done = add(store, "20180303", "01", "accepted")
    other = add(store, "20180305", "01", agb="03001234")
    discarded = store.discard_after(rejected.id, "ZIP-DISCARDED")
    assert [d.id for d in discarded] == [d.id for d in later]
    assert all(d.status == "discarded" and d.reasons == ["ZIP-DISCARDED"] and d.processed_at for d in discarded)
    assert [store.delivery(d.id).status for d in (earlier, done, other)] == ["queued", "accepted", "queued"]
