"""Signing in and calling the API while an import holds the SQLite store's one writer.

An import into SQLite keeps the database's write lock for its whole length
(seconds for a million records, minutes for more). The portal must not hang
meanwhile: reading pages and statuses never needed the lock, but every API call
noted when its token was last used, and every sign-in wrote an audit entry,
and both waited for the import. Here another connection holds the lock the way
an import does (`BEGIN IMMEDIATE`), and the requests are made on threads that
must finish while it is still held.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from contextlib import contextmanager

import pytest
from starlette.testclient import TestClient

from portal_support import A, PASSWORD, Browser
from disval.core.plugins import get_plugin_manager
from disval.core.portal.accounts import create_token
from disval.core.portal.app import create_app
from disval.core.store import accounts as book
from disval.core.store.delivery_store import open_store

DONE_WITHIN = 60.0  # seconds: far below the store's busy timeout (600 s) that a waiting request would use


@pytest.fixture
def sqlite_portal(tmp_path, password_hash):
    """(path of an SQLite store with the test users, its URL)."""
    from portal_support import seed

    path = tmp_path / "disval.db"
    url = f"sqlite:///{path}"
    with open_store(url) as store:
        seed(store, password_hash)
    return path, url


@contextmanager
def import_holding(path):
    """Hold the database's write lock as an import does, until the block ends; yields a function that
    lets it go early."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN IMMEDIATE")
    held = [True]

    def release():
        if held:
            held.clear()
            conn.execute("ROLLBACK")
            conn.close()

    try:
        yield release
    finally:
        release()


def finished_while_held(work, release) -> object:
    """Run `work()` on a thread and return its result; fails if it does not finish in DONE_WITHIN while
    the lock is held (the lock is then let go first, so that the waiting request ends cleanly)."""
    out: dict = {}
    thread = threading.Thread(target=lambda: out.setdefault("result", work()), daemon=True)
    thread.start()
    thread.join(DONE_WITHIN)
    if thread.is_alive():
        release()
        thread.join()
        pytest.fail("the request waited for the import's write lock")
    return out["result"]


def _audit(url, action):
    with open_store(url) as store:
        return [e for e in book.audit_log(store) if e.action == action]


def test_api_calls_and_sign_ins_do_not_wait_for_an_import(sqlite_portal):
    path, url = sqlite_portal
    with open_store(url) as store:
        secret, token = create_token(store, *A, ["read"], "status poller", "admin_a")
    app = create_app(url, pm=get_plugin_manager(), secret_key="k" * 40, poll=0.1, report_formats=["json"],
                     require_real_codelists=False)
    with TestClient(app) as api:
        api.headers["Authorization"] = f"Bearer {secret}"
        person, intruder = Browser(app), Browser(app)
        before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        with import_holding(path) as release:
            listing = finished_while_held(lambda: api.get(f"/api/v1/providers/{A[0]}/{A[1]}/deliveries"), release)
            signed_in = finished_while_held(lambda: person.login("dm_a", PASSWORD), release)
            refused = finished_while_held(lambda: intruder.login("dm_a", "wrong password"), release)
            # Held back, not lost: nothing could be written yet.
            assert _audit(url, "signed in") == [] and _audit(url, "sign-in failed") == []
        assert listing.status_code == 200 and listing.json() == []
        assert signed_in.status_code == 303  # signed in: the session reaches the provider's page
        assert person.get(f"/providers/{A[0]}/{A[1]}").status_code == 200
        assert refused.status_code == 401
        with open_store(url) as store:  # the note of the call made during the import was skipped...
            assert book.tokens(store, *A)[0].last_used_at is None
        assert api.get(f"/api/v1/providers/{A[0]}/{A[1]}/deliveries").status_code == 200
        with open_store(url) as store:  # ...and the next call writes it
            assert book.tokens(store, *A)[0].last_used_at is not None
    # The app is closed: what was held back is written, with the time the sign-in happened.
    (ok,) = _audit(url, "signed in")
    (failed,) = _audit(url, "sign-in failed")
    assert ok.actor == "dm_a" and failed.actor == "dm_a"
    assert before <= ok.at <= dt.datetime.now(dt.timezone.utc)


def test_sign_ins_are_audited_at_once_when_no_import_runs(sqlite_portal):
    _, url = sqlite_portal
    app = create_app(url, pm=get_plugin_manager(), secret_key="k" * 40, poll=0.1, report_formats=["json"],
                     require_real_codelists=False)
    with TestClient(app):
        assert Browser(app).login("viewer_a", PASSWORD).status_code == 303
        assert [e.actor for e in _audit(url, "signed in")] == ["viewer_a"]  # written before the answer
