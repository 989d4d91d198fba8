"""A provider's data manager delivers through the portal: TEST, then production; the timeline; the reports."""
from __future__ import annotations

import io
import zipfile

import openpyxl

from portal_support import A, delivered_id


def test_sign_in_is_needed_and_wrong_passwords_are_refused(browser):
    anonymous = browser()
    assert anonymous.get("/providers").status_code == 303
    assert anonymous.get("/providers").headers["location"].startswith("/login")
    wrong = anonymous.login("dm_a", "not the password")
    assert wrong.status_code == 401 and "wrong" in wrong.text
    assert anonymous.get("/providers").status_code == 303  # still not signed in


def test_test_then_production_reach_their_end_with_reports(browser, make_delivery):
    dm = browser("dm_a")
    page = dm.get(f"/providers/{A[0]}/{A[1]}")
    assert page.status_code == 200 and "no positive TEST delivery yet" in page.text

    test_id = delivered_id(dm.upload(A, make_delivery(A, "test", day=1), "test"))
    status = dm.wait(test_id)
    assert status["state"] == "accepted" and status["assessment"] == "positive"
    assert [s["step"] for s in status["timeline"]] == ["received", "started", "accepted"]

    prod_id = delivered_id(dm.upload(A, make_delivery(A, "production", day=2), "production"))
    status = dm.wait(prod_id)
    assert status["state"] == "imported", status
    assert [s["step"] for s in status["timeline"]][-2:] == ["accepted", "imported"]
    assert "Imported: 10 record(s)" in status["timeline"][-1]["text"]  # 5 trajects + 5 profiles

    page = dm.get(f"/deliveries/{prod_id}")
    assert page.status_code == 200 and "imported" in page.text
    for title in ("Validation report", "Import report", "Quality report"):
        assert f"<h3>{title}</h3>" in page.text
    names = status["reports"]
    assert any(n.endswith(".import.json") for n in names) and any(n.endswith(".quality.json") for n in names)
    html_name = next(n for n in names if n.endswith(".html") and ".import." not in n and ".quality." not in n)
    shown = dm.get(f"/deliveries/{prod_id}/reports/{html_name}")
    assert shown.status_code == 200 and shown.headers["content-type"].startswith("text/html")
    assert "sandbox" in shown.headers["content-security-policy"]  # the report's script runs, cut off from the portal
    xlsx_name = next(n for n in names if n.endswith(".xlsx") and ".import." not in n and ".quality." not in n)
    got = dm.get(f"/deliveries/{prod_id}/reports/{xlsx_name}?download=1")
    assert got.headers["content-disposition"].startswith("attachment")
    workbook = openpyxl.load_workbook(io.BytesIO(got.content))
    assert workbook.sheetnames

    listing = dm.get(f"/providers/{A[0]}/{A[1]}")
    assert "settings fixed by delivery" in listing.text  # the TEST delivery fixed the connect-phase settings


def test_a_report_format_added_by_a_plugin_appears(browser, make_delivery):
    # Every installed format is kept (the app fixture names four; `disval serve` takes all of them):
    dm = browser("dm_a")
    status = dm.wait(delivered_id(dm.upload(A, make_delivery(A, "test"), "test")))
    assert {n.rsplit(".", 1)[1] for n in status["reports"]} >= {"json", "txt", "html", "xlsx"}


def test_what_can_be_checked_at_once_is_answered_at_once_and_nothing_is_kept(browser, make_delivery, tmp_path,
                                                                           portal_url):
    from disval.core.store.delivery_store import open_store

    dm = browser("dm_a")
    good = make_delivery(A, "test")
    cases = {
        "not a zip": (good.name, b"this is not a zip at all", "test", "not a readable zip"),
        "bad name": ("holiday-photos.zip", good.read_bytes(), "test", "does not follow the naming convention"),
        "html name": ("<img src=x onerror=alert(1)>.zip", good.read_bytes(), "test", "naming convention"),
        "other provider": (good.name.replace(A[0], "94005678"), good.read_bytes(), "test", "for provider 94005678"),
        "other phase": (good.name, good.read_bytes(), "production", "was chosen"),
        "zip bomb": (good.name, _bomb(), "test", "zip bomb"),
        "empty zip": (good.name, _empty_zip(), "test", "empty"),
    }
    for label, (name, content, phase, expected) in cases.items():
        answer = dm.upload(A, good, phase, name=name, content=content)
        assert answer.status_code == 422, label
        assert expected in answer.text, (label, answer.text[:2000])
        assert "Nothing was kept" in answer.text
        assert "<img src=x" not in answer.text  # the hostile name is shown escaped, never as HTML
    with open_store(portal_url) as store:
        assert store.deliveries(*A) == []


def test_a_file_name_with_a_path_is_kept_by_its_base_name(browser, make_delivery, portal_url):
    from disval.core.store.delivery_store import open_store

    dm = browser("dm_a")
    good = make_delivery(A, "test")
    delivery_id = delivered_id(dm.upload(A, good, "test", name=f"../../etc/{good.name}"))
    with open_store(portal_url) as store:
        assert store.delivery(delivery_id).name == good.name


def test_delivered_before_is_said_at_once_and_the_gate_rejects_it(browser, make_delivery):
    dm = browser("dm_a")
    zip_path = make_delivery(A, "test")
    first = delivered_id(dm.upload(A, zip_path, "test"))
    dm.wait(first)
    again = dm.upload(A, zip_path, "test")
    page = dm.get(again.headers["location"])
    assert "delivered before" in page.text
    status = dm.wait(delivered_id(again))
    assert status["state"] == "rejected" and "ZIP-DUPLICATE" in status["timeline"][-1]["text"]


def test_a_rejected_delivery_discards_the_ones_queued_behind_it_and_says_which(app, browser, make_delivery,
                                                                               portal_url):
    from disval.core.gate.receiving import make_request, receive
    from disval.core.store.delivery_store import open_store

    dm = browser("dm_a")
    portal = app.state.portal
    portal.worker.stop()  # queue both before anything is processed
    bad = make_delivery(A, "test", day=1)
    with zipfile.ZipFile(bad, "a") as z:
        z.writestr("UNKNOWN.txt", "not part of the GA")
    later = make_delivery(A, "test", day=2)
    with open_store(portal_url) as store:
        store.deactivate_provider(*A)  # receipt: the customer is no longer active
        request = make_request(portal.pm, formats=["json"])
        first = receive(bad, store, pm=portal.pm, request=request)
        second = receive(later, store, pm=portal.pm, request=request)
        from disval.core.gate.process import drain
        drain(store, *A, pm=portal.pm)
    assert dm.wait(first.id)["state"] == "rejected"
    status = dm.wait(second.id)
    assert status["state"] == "discarded"
    assert f"because delivery {first.name} was rejected at receipt" in status["timeline"][-1]["text"]


def test_a_running_delivery_that_stops_moving_shows_stalled(app, browser, make_delivery, portal_url):
    import datetime as dt

    from disval.core.gate.receiving import make_request, receive
    from disval.core.store.delivery_store import open_store

    portal = app.state.portal
    portal.worker.stop()
    with open_store(portal_url) as store:
        d = receive(make_delivery(A, "test"), store, pm=portal.pm, request=make_request(portal.pm))
        dm = browser("dm_a")
        assert dm.get(f"/deliveries/{d.id}/status.json").json()["state"] == "queued"
        # Its processing began an hour ago and nothing has moved since (the process died at it):
        store.update_delivery(d.id, started_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1))
    status = dm.get(f"/deliveries/{d.id}/status.json").json()
    assert status["state"] == "stalled" and not status["done"]
    assert "Stalled" in dm.get(f"/deliveries/{d.id}").text


def test_progress_is_shown_while_validating(app, browser, make_delivery, monkeypatch):
    from disval.core.plugins import hookimpl
    from disval.plugins import delivery_progress

    # Every figure written at once: this delivery is read in far less than the second between two figures.
    monkeypatch.setattr(delivery_progress, "INTERVAL", 0.0)

    dm = browser("dm_a")
    seen = []

    class LookWhileItRuns:  # asks the status endpoint from inside the validation, as a poll would land
        @hookimpl
        def disval_records_read(self, file, records):
            status = dm.get(f"/deliveries/{delivery_id}/status.json").json()
            seen.append((status["state"], status["progress"], status["timeline"][-1]["text"]))

    app.state.portal.pm.register(LookWhileItRuns())
    app.state.portal.worker.stop()  # know the id before it starts
    upload = dm.upload(A, make_delivery(A, "test", trajects=40, profiles=40), "test")
    delivery_id = delivered_id(upload)
    from disval.core.portal.worker import Worker

    worker = Worker(app.state.portal.store_url, app.state.portal.pm, poll=0.1)
    worker.start()
    try:
        assert dm.wait(delivery_id)["state"] == "accepted"
    finally:
        worker.stop()
    assert seen and all(state == "validating" for state, _, _ in seen)
    last_state, progress, text = seen[-1]
    assert progress["expected"] == 81 and progress["records"] > 0  # 40 + 40 + the packing slip
    assert text.startswith("Validating: ") and "of 81 records" in text


def _bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("BEHANDELTRAJECT.txt", b"0" * (64 << 20))  # 64 MiB of zeros: a ratio past 1000
    return buffer.getvalue()


def _empty_zip() -> bytes:
    buffer = io.BytesIO()
    zipfile.ZipFile(buffer, "w").close()
    return buffer.getvalue()



def test_identifying_values_stay_masked_in_pages_and_every_report(browser, tmp_path):
    import datetime as dt

    from disval.core.faults import plant_fault
    from disval.core.generate import generate_delivery
    from disval.core.pipeline import standards
    from disval.core.plugins import get_plugin_manager

    ggz = next(s for s in standards(get_plugin_manager()).values() if "GGZ" in s.id)
    made = generate_delivery(tmp_path / "ggz", standard=ggz.id, phase="test", provider=A[0], branch=A[1],
                             created=dt.date(2018, 3, 1))
    secret = "19991399"  # a date of birth (identifying) that is no date: a finding carries it
    planted = plant_fault(made, tmp_path / "planted", "PATIENT.txt", 1, "1444", secret, standard=ggz)
    dm = browser("dm_a")
    delivery_id = delivered_id(dm.upload(A, planted, "test"))
    status = dm.wait(delivery_id)
    assert status["state"] == "assessed_negative"
    assert secret not in dm.get(f"/deliveries/{delivery_id}").text + dm.get(f"/deliveries/{delivery_id}/status.json").text
    for name in status["reports"]:
        content = dm.get(f"/deliveries/{delivery_id}/reports/{name}?download=1").content
        if name.endswith(".xlsx"):
            workbook = openpyxl.load_workbook(io.BytesIO(content))
            content = " ".join(str(c.value) for ws in workbook for row in ws.iter_rows() for c in row).encode()
        assert secret.encode() not in content, name
    json_report = next(n for n in status["reports"] if n.endswith(".json"))
    assert '"1444"' in dm.get(f"/deliveries/{delivery_id}/reports/{json_report}").text  # the finding is there, masked
