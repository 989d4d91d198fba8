"""The receiving side's operator: every provider and the queue, registering and deactivating, requeue,
revalidate, and the audit log of who did what."""
from __future__ import annotations

from portal_support import A, B, delivered_id
from disval.core.store import accounts as book
from disval.core.store.delivery_store import Failure, open_store


def test_the_operator_sees_every_provider_and_the_queue(app, browser, make_delivery):
    app.state.portal.worker.stop()  # so that the delivery stays queued
    dm_b = browser("dm_b")
    waiting = delivered_id(dm_b.upload(B, make_delivery(B, "test"), "test"))
    page = browser("op").get("/operator")
    assert page.status_code == 200
    assert A[0] in page.text and B[0] in page.text
    queue = page.text.split("<h2>Queue</h2>")[1].split("<h2>Providers</h2>")[0]
    assert f"/deliveries/{waiting}" in queue and "queued" in queue


def test_register_and_deactivate_a_provider_and_it_is_audited(browser, portal_url, make_delivery):
    op = browser("op")
    answer = op.post("/operator/providers", {"agb": "94009999", "branch": "01", "username": "gbg94009999",
                                             "name": "Nieuwe praktijk"})
    assert answer.status_code == 303
    assert "Registered 94009999 01" in op.get("/operator").text
    assert op.post(f"/operator/providers/{A[0]}/{A[1]}/deactivate").status_code == 303
    with open_store(portal_url) as store:
        assert store.provider("94009999", "01").name == "Nieuwe praktijk"
        assert not store.provider(*A).active
    # A deactivated provider's delivery is rejected at receipt (the gate's rule), and the page says so:
    dm = browser("dm_a")
    assert "not active" in dm.get(f"/providers/{A[0]}/{A[1]}").text
    status = dm.wait(delivered_id(dm.upload(A, make_delivery(A, "test"), "test")))
    assert status["state"] == "rejected" and "ZIP-CUSTOMER-INACTIVE" in status["timeline"][-1]["text"]
    audit = op.get("/operator/audit").text
    for line in ("provider registered", "provider deactivated", "uploaded", "signed in"):
        assert line in audit
    bad = op.post("/operator/providers", {"agb": "123", "branch": "1", "username": "x"})
    assert bad.status_code == 400 and "8 digits" in bad.text


def test_a_failed_delivery_is_requeued_and_processed_again(app, browser, make_delivery, portal_url):
    dm = browser("dm_a")
    delivery_id = delivered_id(dm.upload(A, make_delivery(A, "test"), "test"))
    dm.wait(delivery_id)
    with open_store(portal_url) as store:  # as if processing had raised
        store.update_delivery(delivery_id, status="failed", assessment=None,
                              failure=Failure("OSError", "disk full", "gate.py:1 in _work"))
    failed = dm.get(f"/deliveries/{delivery_id}").text
    assert "Processing failed on the receiving side" in failed and "disk full" not in failed  # the error: operators only
    op = browser("op")
    assert "disk full" in op.get(f"/deliveries/{delivery_id}").text
    assert op.post(f"/operator/deliveries/{delivery_id}/requeue").status_code == 303
    assert dm.wait(delivery_id)["state"] == "accepted"
    with open_store(portal_url) as store:
        assert store.delivery(delivery_id).failure is None
        assert any(e.action == "requeued" and e.actor == "op" for e in book.audit_log(store))


def test_revalidate_with_the_rules_of_its_time(browser, make_delivery):
    dm = browser("dm_a")
    delivery_id = delivered_id(dm.upload(A, make_delivery(A, "test"), "test"))
    dm.wait(delivery_id)
    op = browser("op")
    answer = op.post(f"/operator/deliveries/{delivery_id}/revalidate")
    assert answer.status_code == 303
    assert "assessment positive" in op.get(answer.headers["location"]).text
    refused = dm.post(f"/operator/deliveries/{delivery_id}/revalidate")
    assert refused.status_code == 404


def test_an_organisation_admin_gives_and_takes_roles_for_their_provider_only(browser, portal_url):
    admin = browser("admin_a")
    assert admin.post(f"/providers/{A[0]}/{A[1]}/members", {"login": "nobody", "role": "viewer"}).status_code == 303
    assert "nobody is viewer" in admin.get(f"/providers/{A[0]}/{A[1]}/tokens").text
    assert browser("nobody").get(f"/providers/{A[0]}/{A[1]}").status_code == 200
    admin.post(f"/providers/{A[0]}/{A[1]}/members", {"login": "nobody", "role": "none"})
    assert browser("nobody").get(f"/providers/{A[0]}/{A[1]}").status_code == 404
    assert admin.post(f"/providers/{B[0]}/{B[1]}/members", {"login": "admin_a", "role": "data_manager"}) \
        .status_code == 404
    assert browser("dm_a").post(f"/providers/{A[0]}/{A[1]}/members", {"login": "dm_a", "role": "org_admin"}) \
        .status_code == 403
    with open_store(portal_url) as store:
        assert [m.role for m in book.memberships(store, "dm_a")] == ["data_manager"]
        assert book.memberships(store, "nobody") == []
