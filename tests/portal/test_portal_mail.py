"""An upload through the portal mails the provider's data managers twice, through a real SMTP server on
loopback: at receipt and after processing, with the link to the delivery page and no value of the delivery."""
from __future__ import annotations

import logging
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent))

from private_values import leaked  # noqa: E402
from smtp_catcher import MailCatcher, body, everything, free_port  # noqa: E402

from starlette.testclient import TestClient  # noqa: E402

import disval.plugins.mail as mail  # noqa: E402
from disval.core.plugins import get_plugin_manager  # noqa: E402
from disval.core.portal.app import create_app  # noqa: E402
from disval.plugins.mail import MailSettings  # noqa: E402

A = ("94001234", "00")  # provider A of tests/portal/conftest.py (not imported: another `conftest` may be loaded)
BASE = "https://dis-portal.example"
DATA_MANAGERS_OF_A = ["admin_a@example.org", "dm_a@example.org"]  # dm_a (data manager), admin_a (org admin)


def delivered_id(response) -> int:
    """The delivery id an upload redirected to."""
    assert response.status_code == 303, response.text[:500]
    return int(response.headers["location"].rsplit("/", 1)[1])


@pytest.fixture
def mail_server():
    """The SMTP server the portal sends to."""
    with MailCatcher() as server:
        yield server


@pytest.fixture
def notifier(mail_server):
    """The notifier `disval serve --smtp-host 127.0.0.1 --smtp-port ... --base-url BASE` registers."""
    n = mail.MailNotifier(replace(MailSettings(host="127.0.0.1", port=mail_server.port, sender="portal@nza.example",
                                               public_url=BASE, lang="en"), retry_delay=0.05))
    yield n
    n.close()


@pytest.fixture
def app(portal_url, notifier):
    """tests/portal/conftest.py's app, with the notifier registered as `disval serve` registers it."""
    application = create_app(portal_url, pm=get_plugin_manager(), secret_key="k" * 40, poll=0.1,
                             report_formats=["json", "text", "html", "xlsx"], require_real_codelists=False,
                             plugins=[notifier])
    with TestClient(application):
        yield application


def test_an_upload_brings_two_mails_to_the_data_managers_with_the_link_and_no_patient_data(
        browser, make_delivery, mail_server):
    zip_path = make_delivery(A, "test")
    dm = browser("dm_a")
    d = delivered_id(dm.upload(A, zip_path, "test"))
    assert dm.wait(d)["status"] == "accepted"
    received, processed = sorted(mail_server.wait_for(2), key=lambda m: m["X-Disval-Event"] != "received")
    assert [received["X-Disval-Event"], processed["X-Disval-Event"]] == ["received", "processed"]
    for m in (received, processed):
        assert sorted(a.strip() for a in m["To"].split(",")) == DATA_MANAGERS_OF_A  # not the viewer, vendor, B
        assert f"{BASE}/deliveries/{d}" in body(m)
        assert zip_path.name in m["Subject"]
        assert leaked(everything(m), zip_path) == []
    assert "queued for processing" in body(received)
    assert processed["Subject"] == f"Delivery {zip_path.name}: accepted" and "Assessment: positive" in body(processed)
    # the link leads a signed-in data manager to the delivery, and nobody else
    assert dm.get(f"/deliveries/{d}").status_code == 200
    assert browser("dm_b").get(f"/deliveries/{d}").status_code == 404


def test_a_production_import_is_mailed_with_its_counts(browser, make_delivery, mail_server):
    dm = browser("dm_a")
    connect = delivered_id(dm.upload(A, make_delivery(A, "test"), "test"))  # the connect phase comes first
    assert dm.wait(connect)["status"] == "accepted"
    zip_path = make_delivery(A, "production", day=2, trajects=7, profiles=9)
    d = delivered_id(dm.upload(A, zip_path, "production"))
    assert dm.wait(d)["status"] == "imported"
    processed = next(m for m in mail_server.wait_for(4) if m["X-Disval-Event"] == "processed"
                     and m["X-Disval-Delivery"] == str(d))
    text = body(processed)
    assert "accepted and imported" in processed["Subject"]
    assert "Phase: production" in text and "Records imported: " in text
    assert leaked(everything(processed), zip_path) == []


def test_a_mail_server_that_is_down_changes_nothing_for_the_delivery(browser, make_delivery, notifier, caplog):
    notifier.outbox.settings = replace(notifier.settings, port=free_port(), attempts=2)  # nothing listens there
    dm = browser("dm_a")
    with caplog.at_level(logging.ERROR, logger="disval.mail"):
        d = delivered_id(dm.upload(A, make_delivery(A, "test"), "test"))
        assert dm.wait(d)["status"] == "accepted"
        # the processed mail is queued just after the status says done: wait for both to be given up
        deadline = time.monotonic() + 30
        while len(notifier.outbox.undelivered) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(notifier.outbox.undelivered) == 2  # received and processed, both given up and logged
    assert caplog.text.count("mail: gave up") == 2
