"""The outbox against a real SMTP server on loopback: mail arrives, passing refusals are retried,
a server that is down, refusing or hung never reaches the code that queued the mail."""
from __future__ import annotations

import logging
import socket
import time
from dataclasses import replace
from email.message import EmailMessage

import pytest
from smtp_catcher import MailCatcher, body, free_port

import disval.plugins.mail as mail
from disval.plugins.mail import MailSettings
from disval.plugins.mail.outbox import Outbox


def _settings(port: int, **changes) -> MailSettings:
    return replace(MailSettings(host="127.0.0.1", port=port, sender="portal@zorg.example"),
                   **{"retry_delay": 0.05, "timeout": 5, **changes})


def _message(n: int = 1) -> EmailMessage:
    m = EmailMessage()
    m["Subject"], m["From"], m["To"] = f"delivery {n}", "portal@zorg.example", "dm@zorg.example, ad@zorg.example"
    m.set_content(f"body {n}\n")
    return m


def test_queued_mail_arrives_at_every_recipient(mail_server):
    box = Outbox(_settings(mail_server.port))
    box.put(_message(1))
    box.put(_message(2))
    (first, second) = mail_server.wait_for(2)
    assert [first["Subject"], second["Subject"]] == ["delivery 1", "delivery 2"]
    assert mail_server.envelopes[0] == ["dm@zorg.example", "ad@zorg.example"]
    assert body(second) == "body 2\n"
    assert box.close() and box.sent == 2 and not box.undelivered


def test_a_passing_refusal_is_tried_again_until_it_goes_through():
    with MailCatcher(answers=["451 4.3.0 try again later", "421 4.3.2 busy"]) as server:
        box = Outbox(_settings(server.port))
        box.put(_message())
        (arrived,) = server.wait_for(1)
        assert arrived["Subject"] == "delivery 1"
        assert server.refused == 2
        assert box.close() and box.sent == 1 and not box.undelivered


def test_a_refusal_for_good_is_given_up_at_once_and_logged(caplog):
    with MailCatcher(answers=["550 5.1.1 mailbox unavailable"]) as server:
        box = Outbox(_settings(server.port, attempts=4))
        with caplog.at_level(logging.WARNING, logger="disval.mail"):
            box.put(_message())
            assert box.wait_idle(10)
        assert server.refused == 1 and not server.messages  # not tried again
        (given_up,) = box.undelivered
        assert given_up.attempts == 1 and "550" in given_up.reason
        assert given_up.recipients == ["dm@zorg.example", "ad@zorg.example"]
        assert "gave up 'delivery 1'" in caplog.text and "550" in caplog.text
        box.close()


def test_a_server_that_is_down_is_tried_the_set_number_of_times_then_logged(caplog):
    box = Outbox(_settings(free_port(), attempts=3))
    with caplog.at_level(logging.WARNING, logger="disval.mail"):
        box.put(_message())
        assert box.wait_idle(10)
    (given_up,) = box.undelivered
    assert given_up.attempts == 3 and "ConnectionRefused" in given_up.reason
    assert caplog.text.count("failed") == 2 and "gave up" in caplog.text


def test_a_hung_server_does_not_hold_up_the_caller_nor_the_outbox():
    """A server that accepts the connection and never answers: put() returns at once; the outbox gives
    each message up after its timeout and goes on with the next."""
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen()
    try:
        box = Outbox(_settings(hung.getsockname()[1], attempts=1, timeout=0.5))
        started = time.monotonic()
        box.put(_message(1))
        box.put(_message(2))
        assert time.monotonic() - started < 0.4  # queued, not sent, in the caller's thread
        assert box.wait_idle(10)
        assert [u.subject for u in box.undelivered] == ["delivery 1", "delivery 2"]
        assert all("timed out" in u.reason for u in box.undelivered)
    finally:
        hung.close()


def test_close_sends_what_is_queued_and_cuts_retries_short():
    with MailCatcher() as server:
        box = Outbox(_settings(server.port))
        for n in range(5):
            box.put(_message(n))
        assert box.close(timeout=20)
        assert len(server.messages) == 5
    down = Outbox(_settings(free_port(), attempts=50, retry_delay=30))
    down.put(_message())
    started = time.monotonic()
    assert down.close(timeout=20)  # not 50 tries 30 s apart: given up when closing
    assert time.monotonic() - started < 15 and down.undelivered


def test_no_host_no_notifier():
    """Without --smtp-host, disval serve registers no notifier: nothing is even looked up."""
    assert mail.notifier_from(environ={}) is None
    with pytest.raises(ValueError, match="needs an SMTP host"):
        mail.MailNotifier(MailSettings(host=None))


def test_the_hook_never_raises_into_the_gate(caplog, mail_server):
    """A store without portal accounts (or any error while preparing a mail) is logged, not raised."""
    class Delivery:
        id, agb, branch = 7, "94001234", "00"

    class BrokenStore:
        def _exec(self, *a, **k):
            raise RuntimeError("no such table: memberships")

    notifier = mail.MailNotifier(_settings(mail_server.port))
    with caplog.at_level(logging.ERROR, logger="disval.mail"):
        notifier.disval_delivery_event(event="processed", delivery=Delivery(), store=BrokenStore())
    assert "could not prepare the processed mail of delivery 7" in caplog.text
    assert notifier.close()
    assert not mail_server.messages
