"""The portal beside other processes on one store: what one process knows, every process serving it shows.

With workers on other machines and several portal processes (issue 15), a
delivery's progress and the count of failed sign-ins live in the store, not in
a process's memory.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

from starlette.testclient import TestClient

from portal_support import A, Browser

from disval.core.plugins import get_plugin_manager
from disval.core.portal.app import create_app
from disval.core.store.delivery_store import open_store
from disval.core.workdir import PAUSE_AT

SUBMIT = [sys.executable, "-m", "disval.core.cli", "submit", "--no-require-real-codelists", "--format", "json"]


def _only_delivery(store_url):
    with open_store(store_url) as store:
        ds = store.deliveries(*A)
    return ds[0] if ds else None


def test_a_delivery_processed_by_another_process_shows_its_progress_in_the_portal(app, browser, make_delivery,
                                                                                   portal_url, tmp_path):
    app.state.portal.worker.stop()  # the portal processes nothing itself: the submit does it all
    zip_path = make_delivery(A, "test", trajects=300, profiles=300)
    paused = tmp_path / "paused"  # the submit holds after each figure it wrote (plugins/delivery_progress.py)
    env = {**os.environ, "DISVAL_STORE": portal_url, PAUSE_AT: f"delivery-progress={paused}"}
    submit = subprocess.Popen([*SUBMIT, str(zip_path)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    dm = browser("dm_a")
    seen = []
    deadline = time.monotonic() + 300
    try:
        while submit.poll() is None and time.monotonic() < deadline:
            if not paused.exists():
                time.sleep(0.01)
                continue
            d = _only_delivery(portal_url)
            status = dm.get(f"/deliveries/{d.id}/status.json").json()
            page = dm.get(f"/deliveries/{d.id}").text
            seen.append((status["state"], status["progress"], status["timeline"][-1]["text"], page))
            time.sleep(1.1)  # longer than the second between two figures: the next batch writes one
            paused.unlink()
        out, err = submit.communicate(timeout=300)
    finally:
        if submit.poll() is None:
            submit.kill()
    assert submit.returncode == 0, err
    validating = [(progress, text, page) for state, progress, text, page in seen if state == "validating"]
    assert validating, f"the portal never showed the other process validating: {[s[:2] for s in seen]}"
    counted = [(progress, text, page) for progress, text, page in validating if progress and progress["records"]]
    assert counted, f"no figure with records read came through: {[s[:2] for s in seen]}"
    progress, text, page = counted[-1]
    assert progress["expected"] == 601 and 0 < progress["records"] <= 601  # 300 + 300 + the packing slip
    assert f"of 601 records" in text and text in page  # the delivery page says it too, not only the JSON
    final = dm.get(f"/deliveries/{_only_delivery(portal_url).id}/status.json").json()
    assert final["state"] == "accepted" and final["progress"] is None  # the figure goes when the status says it


def test_sign_in_failures_count_across_portal_processes_on_one_store(portal_url):
    """Two app instances on one store stand for two `disval serve` processes behind a load balancer:
    an attacker who spreads guesses over them still gets five in fifteen minutes, not five per process."""
    apps = [create_app(portal_url, pm=get_plugin_manager(), secret_key="k" * 40, worker=False) for _ in range(2)]
    with TestClient(apps[0]), TestClient(apps[1]):
        one, two = Browser(apps[0]), Browser(apps[1])
        answers = [(one if n % 2 else two).login("dm_a", "wrong password").status_code for n in range(7)]
        assert answers[:5] == [401] * 5 and answers[5:] == [429, 429]
        # Even the right password waits now, on either process; the message says for how long.
        for b in (one, two):
            refused = b.login("dm_a")
            assert refused.status_code == 429 and "Too many failed attempts" in refused.text
        # Another login from another address is not held up by them.
        elsewhere = _browser_at(apps[1], "192.0.2.7")
        assert elsewhere.login("viewer_a").status_code == 303


def _browser_at(app, address: str) -> Browser:
    """A browser whose requests come from `address` (the throttle counts per address too)."""
    b = Browser.__new__(Browser)
    b.client = TestClient(app, follow_redirects=False, client=(address, 50000))
    return b


def test_stalled_follows_the_figure_of_the_process_at_work_and_stays_when_it_is_killed(portal_url, make_delivery,
                                                                                       tmp_path):
    """"Stalled" means: no figure for `stall_after` seconds, whichever process works on the delivery. Held
    longer than that it shows stalled; its next figure makes it validating again (though processing began
    long before); killed with -9, it stays stalled."""
    import signal

    app = create_app(portal_url, pm=get_plugin_manager(), secret_key="k" * 40, worker=False, stall_after=2)
    paused = tmp_path / "paused"
    env = {**os.environ, "DISVAL_STORE": portal_url, PAUSE_AT: f"delivery-progress={paused}"}
    with TestClient(app):
        dm = Browser(app)
        assert dm.login("dm_a").status_code == 303
        submit = subprocess.Popen([*SUBMIT, str(make_delivery(A, "test", trajects=300, profiles=300))], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            def held_status():
                deadline = time.monotonic() + 300
                while not paused.exists():
                    assert submit.poll() is None, submit.communicate()
                    assert time.monotonic() < deadline
                    time.sleep(0.01)
                return dm.get(f"/deliveries/{_only_delivery(portal_url).id}/status.json").json()

            while ((status := held_status())["progress"] or {}).get("stage") != "validating":
                paused.unlink()  # the receipt's figure (before processing is marked begun): on to the validation's
            assert status["state"] == "validating"
            time.sleep(2.5)  # held past stall_after: no figure came
            status = dm.get(f"/deliveries/{_only_delivery(portal_url).id}/status.json").json()
            assert status["state"] == "stalled" and status["timeline"][-1]["step"] == "stalled"
            paused.unlink()
            status = held_status()  # its next figure, more than stall_after after processing began
            assert status["state"] == "validating" and status["progress"]["records"] > 0
            os.kill(submit.pid, signal.SIGKILL)
            submit.communicate(timeout=60)
        finally:
            if submit.poll() is None:
                submit.kill()
        time.sleep(2.5)
        status = dm.get(f"/deliveries/{_only_delivery(portal_url).id}/status.json").json()
        assert status["state"] == "stalled" and not status["done"]


def test_a_requeued_delivery_is_queued_whatever_figure_a_killed_process_left(app, browser, make_delivery, portal_url):
    from disval.core.gate.receiving import make_request, receive

    portal = app.state.portal
    portal.worker.stop()
    with open_store(portal_url) as store:
        d = receive(make_delivery(A, "test"), store, pm=portal.pm, request=make_request(portal.pm))
        # A process died validating it an hour ago (its figure stayed); an operator put it back in the queue.
        store.live().put_progress(d.id, "validating", 10, 81, new=True)
        store.live()._exec("UPDATE delivery_progress SET updated = updated - 3600")
    status = browser("dm_a").get(f"/deliveries/{d.id}/status.json").json()
    assert status["state"] == "queued" and status["progress"] is None
    assert status["timeline"][-1]["step"] == "queued"
