"""What the two mails about a delivery say, for every way its processing can end, as they arrive over SMTP:
the zip name, the status in plain words, the counts and the link, and none of the delivery's record values."""
from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from private_values import leaked
from smtp_catcher import body, everything

from disval.core.faults import plant_fault
from disval.core.gate.process import submit
from disval.core.generate import generate_delivery
from disval.core.plugins import get_plugin_manager
from disval.core.store.delivery_store import open_store
from disval.plugins.mail import MailSettings, compose, delivery_path
from disval.plugins.mail.outbox import Outbox

AGB, BRANCH = "94001234", "00"
URL = "https://portal.zorg.example/disval"


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    """One delivery of each ending, processed by the gate in a SQLite store: {ending: (Delivery, zip)}."""
    where = tmp_path_factory.mktemp("mail-deliveries")
    store = open_store(f"sqlite:///{where / 'store.db'}")
    store.add_provider(AGB, BRANCH, f"gbg{AGB}", "Praktijk")
    pm = get_plugin_manager(load_entry_points=False)

    def made(phase, day, seq="01", agb=AGB):
        return generate_delivery(where / f"{phase}-{agb}-{day}-{seq}", trajects=12, profiles=30, seed=int(day[-2:]),
                                 phase=phase, provider=agb, created=dt.date(2018, 3, int(day[-2:])), sequence=seq)

    out = {}
    test_ok = made("test", "20180301")
    faulty = plant_fault(made("test", "20180302"), where / "faulty", "BEHANDELTRAJECT.txt", 2, "3262", "20991301")
    prod = made("production", "20180303")
    stranger = made("test", "20180304", agb="03001234")  # not registered: rejected at receipt
    for ending, path in (("accepted", test_ok), ("assessed_negative", faulty), ("imported", prod),
                         ("rejected", stranger)):
        o = submit(path, store, pm=pm)
        assert o.status == ending, (ending, o.as_dict())
        out[ending] = (store.delivery(o.delivery), path)
    yield out
    store.close()
    shutil.rmtree(where, ignore_errors=True)


@pytest.fixture
def sent(mail_server):
    """Send compose()'s mails through a real SMTP server and return them as they arrived."""
    settings = replace(MailSettings(host="127.0.0.1", port=mail_server.port, sender="portal@nza.example",
                                    public_url=URL + "/"), retry_delay=0.05)
    box = Outbox(settings)

    def send(event, delivery, lang="nl"):
        box.put(compose(event, delivery, replace(settings, lang=lang), ["dm@praktijk.example"]))
        return mail_server.wait_for(len(mail_server.messages) + 1)[-1]

    yield send
    box.close()


@pytest.mark.parametrize("ending", ["accepted", "assessed_negative", "imported", "rejected"])
def test_neither_mail_holds_a_record_value_of_the_delivery(processed, sent, ending):
    d, zip_path = processed[ending]
    for event in ("received", "processed"):
        for lang in ("nl", "en"):
            message = sent(event, d, lang)
            assert leaked(everything(message), zip_path) == [], f"{event} mail ({lang}) shows record values"
            assert d.name in message["Subject"] and d.name in body(message)
            assert f"{URL}{delivery_path(d.id)}" in body(message)  # the link to the delivery page


def test_the_received_mail_says_it_is_queued_and_nothing_of_an_outcome(processed, sent):
    d, _ = processed["assessed_negative"]
    text = body(sent("received", d, "en"))
    assert "received on" in text and "queued for processing" in text and "TEST (connect phase)" in text
    assert "negative" not in text and "Findings" not in text


def test_the_processed_mail_states_the_assessment_and_the_counts(processed, sent):
    d, _ = processed["assessed_negative"]
    m = sent("processed", d, "en")
    assert m["Subject"] == f"Delivery {d.name}: assessed negative"
    text = body(m)
    assert "Assessment: negative" in text
    records = d.counts["records"]
    assert f"BEHANDELTRAJECT.txt {records['BEHANDELTRAJECT.txt']}" in text
    assert f"Findings: {d.counts['findings']['ERR']} ERR" in text


def test_an_import_is_reported_with_its_record_counts_in_dutch(processed, sent):
    d, _ = processed["imported"]
    m = sent("processed", d)
    assert m["Subject"] == f"Aanlevering {d.name}: geaccepteerd en ingelezen"
    text = body(m)
    assert "Fase: productie" in text and "Beoordeling: positief" in text
    assert "Records ingelezen: " in text and f"GELEVERD_ZORGPROFIEL.txt {d.imported['GELEVERD_ZORGPROFIEL.txt']}" in text
    assert "geen patiëntgegevens" in text


def test_a_rejection_names_the_receipt_criterion_not_its_message(processed, sent):
    d, _ = processed["rejected"]
    text = body(sent("processed", d, "en"))
    assert "rejected at receipt" in text and "Rejected for: ZIP-CUSTOMER-UNKNOWN" in text
    assert "Findings" not in text
    (reason,) = d.reasons
    assert reason.partition(": ")[2] not in text  # the kept message (which may quote values) stays out


def test_the_processed_mail_answers_the_received_one(processed, sent):
    d, _ = processed["accepted"]
    first, second = sent("received", d), sent("processed", d)
    assert second["In-Reply-To"] == first["Message-ID"] == second["References"]


def test_a_hostile_zip_name_cannot_add_mail_headers(processed):
    d, _ = processed["accepted"]
    hostile = replace(d, name="X.zip\r\nBcc: everyone@example.org")
    m = compose("received", hostile, MailSettings(host="127.0.0.1"), ["dm@praktijk.example"])
    assert m["Bcc"] is None and "\n" not in m["Subject"].replace("\n ", "")
    assert "everyone@example.org" in m["Subject"]  # shown as text, harmless
