"""`disval serve` on a PostgreSQL store processes nothing itself: an upload is received and its drain
deferred, and a `disval worker` processes it; the portal's status follows from the store."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent))  # live_portal, smtp_catcher

httpx = pytest.importorskip("httpx2", reason="the portal test talks HTTP with httpx2 (the test extra)")
pytest.importorskip("uvicorn", reason="disval serve needs the serve extra")

from gate_support import delivery  # noqa: E402
from jobs_support import jobs, run_disval  # noqa: E402
from live_portal import LivePortal  # noqa: E402

from disval.core.store.delivery_store import open_store  # noqa: E402

AGB = "94001234"


def test_serve_with_postgresql_defers_uploads_and_a_worker_processes_them(pg_url, tmp_path):
    with LivePortal(pg_url, tmp_path / "serve", workers=0) as portal:
        portal.add_provider(AGB)
        token = portal.token(AGB)
        zip_path = delivery(tmp_path, "test", "20180201", agb=AGB)
        with httpx.Client(base_url=portal.url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
            with open(zip_path, "rb") as f:
                answer = client.post(f"/api/v1/providers/{AGB}/00/deliveries",
                                     files={"zip": (zip_path.name, f, "application/zip")}, data={"phase": "test"})
            assert answer.status_code == 202, answer.text
            status_url = answer.json()["status_url"]
            time.sleep(1.5)  # the in-process worker of an SQLite portal would have processed it by now
            status = client.get(status_url).json()
            assert status["state"] == "queued" and not status["done"]
            with open_store(pg_url) as store:
                assert [j["args"] for j in jobs(store, "todo")] == [{"agb": AGB, "branch": "00"}]
            assert "queued for the 'disval worker's" in portal.output()

            done = run_disval("worker", "--until-empty", store_url=pg_url)
            assert done.returncode == 0, done.stderr
            status = client.get(status_url).json()
            assert status["done"] and status["state"] == "accepted"
            assert any(step["step"] == "started" for step in status["timeline"])
