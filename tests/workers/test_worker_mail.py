"""The mail after processing comes from the process that processed: a `disval worker` with the mail options
(taken through the same plugin hooks as `disval serve`) mails the provider's data managers."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))  # smtp_catcher

from gate_support import delivery, register  # noqa: E402
from jobs_support import run_disval  # noqa: E402
from smtp_catcher import MailCatcher, body  # noqa: E402

from disval.core.store import accounts  # noqa: E402

AGB = "94001234"


def test_a_worker_with_an_smtp_host_mails_the_outcome_with_a_link_to_the_portal(pg_store, pg_url, tmp_path):
    register(pg_store, AGB)
    accounts.add_user(pg_store, "dm", "Data Manager", "dm@example.org", "not a usable hash")
    accounts.grant(pg_store, "dm", AGB, "00", "data_manager")
    zip_path = delivery(tmp_path, "test", "20180201", agb=AGB)
    queued = run_disval("submit", zip_path, "--queue", store_url=pg_url)
    assert queued.returncode == 0, queued.stderr
    with MailCatcher() as mail:
        done = run_disval("worker", "--until-empty", "--smtp-host", "127.0.0.1", "--smtp-port", str(mail.port),
                          "--smtp-from", "gate@example.org", "--base-url", "https://portal.example.org",
                          store_url=pg_url)
        assert done.returncode == 0, done.stderr
        [message] = mail.wait_for(1)  # the worker sends what it queued before it exits
    assert mail.envelopes[0] == ["dm@example.org"]
    text = body(message)
    assert zip_path.name in text and "https://portal.example.org/" in text


def test_a_worker_without_an_smtp_host_sends_no_mail_and_says_nothing_of_it(pg_store, pg_url, tmp_path):
    register(pg_store, AGB)
    zip_path = delivery(tmp_path, "test", "20180201", agb=AGB)
    assert run_disval("submit", zip_path, "--queue", store_url=pg_url).returncode == 0
    done = run_disval("worker", "--until-empty", store_url=pg_url)
    assert done.returncode == 0 and "Traceback" not in done.stderr and "smtp" not in done.stderr.lower()
