"""A vendor's export job over the JSON API: a per-provider token, scoped and revocable; the OpenAPI document."""
from __future__ import annotations

import logging
import re
import time

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from portal_support import A, B
from disval.core.portal.accounts import create_token
from disval.core.store import accounts as book
from disval.core.store.delivery_store import open_store


@pytest.fixture
def token_for(app, portal_url):
    """token_for(provider, scopes) -> a client carrying a new token of that provider."""
    def make(provider=A, scopes=("upload", "read")):
        with open_store(portal_url) as store:
            secret, kept = create_token(store, *provider, list(scopes), "export job", "admin_a")
        client = TestClient(app)
        client.headers["Authorization"] = f"Bearer {secret}"
        client.secret, client.token_id = secret, kept.id
        return client
    return make


def _upload(client, provider, path, phase=None, name=None):
    data = {"phase": phase} if phase else {}
    return client.post(f"/api/v1/providers/{provider[0]}/{provider[1]}/deliveries", data=data,
                       files={"zip": (name or path.name, path.read_bytes(), "application/zip")})


def _poll(client, url, timeout=120):
    end = time.monotonic() + timeout
    while True:
        status = client.get(url).json()
        if status["done"] or time.monotonic() > end:
            return status
        time.sleep(0.1)


def test_upload_poll_and_fetch_reports_with_a_token(token_for, make_delivery, caplog):
    caplog.set_level(logging.DEBUG)
    job = token_for()
    answer = _upload(job, A, make_delivery(A, "test"))
    assert answer.status_code == 202
    accepted = answer.json()
    assert accepted["status"] == "queued" and accepted["notes"]
    status = _poll(job, accepted["status_url"])
    assert status["state"] == "accepted" and status["assessment"] == "positive"
    listing = job.get(f"{accepted['status_url']}/reports").json()
    assert {r["name"] for r in listing} == set(status["reports"])
    json_report = next(r for r in listing if r["name"].endswith(".json"))
    fetched = job.get(json_report["url"])
    assert fetched.status_code == 200 and fetched.json()["assessment"] == "positive"
    assert [d["id"] for d in job.get(f"/api/v1/providers/{A[0]}/{A[1]}/deliveries").json()] == [accepted["id"]]
    assert job.secret not in caplog.text  # tokens never reach a log


def test_refused_at_once_is_a_clear_json_answer(token_for, make_delivery):
    job = token_for()
    good = make_delivery(A, "test")
    answer = _upload(job, A, good, name="export.zip")
    assert answer.status_code == 422 and "naming convention" in answer.json()["error"]
    answer = _upload(job, A, good, phase="production")
    assert answer.status_code == 422 and "TEST" in answer.json()["error"]


def test_scopes_are_kept_to(token_for, make_delivery):
    reader, uploader = token_for(scopes=["read"]), token_for(scopes=["upload"])
    assert _upload(reader, A, make_delivery(A, "test")).status_code == 403
    answer = _upload(uploader, A, make_delivery(A, "test", day=2))
    assert answer.status_code == 202
    assert uploader.get(answer.json()["status_url"]).status_code == 404  # may deliver, may not read back
    assert reader.get(answer.json()["status_url"]).status_code == 200


def test_a_revoked_or_unknown_token_is_refused(token_for, portal_url):
    job = token_for()
    assert job.get(f"/api/v1/providers/{A[0]}/{A[1]}/deliveries").status_code == 200
    with open_store(portal_url) as store:
        book.revoke_token(store, job.token_id)
    answer = job.get(f"/api/v1/providers/{A[0]}/{A[1]}/deliveries")
    assert answer.status_code == 401 and "revoked" in answer.json()["error"]
    stranger = TestClient(job.app)
    assert stranger.get(f"/api/v1/providers/{A[0]}/{A[1]}/deliveries").status_code == 401
    stranger.headers["Authorization"] = "Bearer dv_made-up"
    assert stranger.get(f"/api/v1/providers/{A[0]}/{A[1]}/deliveries").status_code == 401


def test_a_token_of_a_deactivated_provider_is_refused(token_for, portal_url):
    job = token_for(provider=B)
    with open_store(portal_url) as store:
        store.deactivate_provider(*B)
    assert job.get(f"/api/v1/providers/{B[0]}/{B[1]}/deliveries").status_code == 403


def test_the_openapi_document_lists_every_api_route(app):
    document = TestClient(app).get("/api/openapi.json").json()
    assert document["openapi"].startswith("3.")
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    served = set()
    for route in app.routes:
        if isinstance(route, Route) and route.path.startswith("/api/"):
            path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
            served |= {(path, m.lower()) for m in route.methods - {"HEAD"}}
    assert served == documented


def test_an_upload_over_the_size_limit_is_refused_before_it_is_read(portal_url, make_delivery):
    from disval.core.portal.app import create_app

    small = create_app(portal_url, worker=False, secret_key="s" * 40, max_upload=1024)
    with open_store(portal_url) as store:
        secret, _ = create_token(store, *A, ["upload"], "job", "admin")
    client = TestClient(small)
    client.headers["Authorization"] = f"Bearer {secret}"
    answer = _upload(client, A, make_delivery(A, "test", trajects=50, profiles=50))
    assert answer.status_code == 413 and "larger than this portal accepts" in answer.text
    with open_store(portal_url) as store:
        assert store.deliveries(*A) == []


def test_a_streamed_upload_is_cut_off_at_the_size_limit(portal_url):
    from disval.core.portal.app import create_app

    small = create_app(portal_url, worker=False, secret_key="s" * 40, max_upload=64 << 10)
    with open_store(portal_url) as store:
        secret, _ = create_token(store, *A, ["upload"], "job", "admin")

    def body():  # no Content-Length: the limit is kept while the body streams in
        yield b"--x\r\nContent-Disposition: form-data; name=\"zip\"; filename=\"a.zip\"\r\n\r\n"
        for _ in range(64):
            yield b"0" * 4096
        yield b"\r\n--x--\r\n"

    client = TestClient(small)
    answer = client.post(f"/api/v1/providers/{A[0]}/{A[1]}/deliveries", content=body(),
                         headers={"Authorization": f"Bearer {secret}", "Content-Type": "multipart/form-data; boundary=x"})
    assert answer.status_code == 413
    with open_store(portal_url) as store:
        assert store.deliveries(*A) == []


def test_an_organisation_admin_makes_a_token_in_the_portal_and_it_works(app, browser, make_delivery):
    admin = browser("admin_a")
    made = admin.post(f"/providers/{A[0]}/{A[1]}/tokens", {"label": "EPD export", "scope_upload": "1",
                                                           "scope_read": "1"})
    assert made.status_code == 201
    secret = re.search(r'id="new-token">([^<]+)<', made.text).group(1)
    assert "set-cookie" not in made.headers or secret not in made.headers["set-cookie"]
    page = admin.get(f"/providers/{A[0]}/{A[1]}/tokens").text
    assert secret not in page  # shown once
    # the page's title is its title, and the people on it are listed once (not also inside <title>)
    assert re.search(r"<title>API tokens · disval portal</title>", page) and page.count("<h2>People</h2>") == 1
    job = TestClient(app)
    job.headers["Authorization"] = f"Bearer {secret}"
    assert _upload(job, A, make_delivery(A, "test")).status_code == 202
    assert browser("dm_a").get(f"/providers/{A[0]}/{A[1]}/tokens").status_code == 403  # not a data manager's
