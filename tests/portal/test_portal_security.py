"""No cross-provider reads: every role, and tokens, try every route on another provider's things; all refused.

The routes are taken from the app itself, so a route added later is in the matrix too.
"""
from __future__ import annotations

import re

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from portal_support import A, B, USERS, delivered_id
from disval.core.portal.accounts import create_token
from disval.core.store import accounts as book
from disval.core.store.delivery_store import open_store

REFUSED = (401, 403, 404)


@pytest.fixture
def b_things(app, browser, make_delivery, portal_url):
    """Provider B's delivery (processed, with reports), a token of B and a token of A."""
    dm_b = browser("dm_b")
    delivery_id = delivered_id(dm_b.upload(B, make_delivery(B, "test"), "test"))
    status = dm_b.wait(delivery_id)
    assert status["state"] == "accepted"
    with open_store(portal_url) as store:
        _, b_token = create_token(store, *B, ["upload", "read"], "B's job", "admin")
        a_secret, _ = create_token(store, *A, ["upload", "read"], "A's job", "admin")
    return {"delivery": delivery_id, "name": status["name"], "report": status["reports"][0], "token": b_token.id,
            "a_token": a_secret}


def _urls(app, things):
    """Every route with path parameters, filled in with B's: (method, path)."""
    values = {"agb": B[0], "branch": B[1], "delivery": things["delivery"], "name": things["report"],
              "token": things["token"], "action": "deactivate"}
    for route in app.routes:
        if not isinstance(route, Route) or not route.param_convertors:
            continue
        path = route.path
        for param in route.param_convertors:
            path = re.sub(r"\{" + param + r"(:[a-z]+)?\}", str(values[param]), path)
        for method in sorted(route.methods - {"HEAD"}):
            yield method, path


def _try(client_post, client_get, method, path):
    if method == "GET":
        return client_get(path)
    files = {"zip": ("x.zip", b"PK\x05\x06" + b"\0" * 18, "application/zip")} if path.endswith(("upload", "deliveries")) \
        else None
    return client_post(path, {"phase": "test", "scope_read": "1", "label": "x"}, files=files)


@pytest.mark.parametrize("login", [u for u, (op, roles) in USERS.items() if not op and (B, "data_manager") not in roles]
                         + [None])
def test_every_route_refuses_another_providers_things(app, browser, b_things, portal_url, login):
    who = browser(login)
    urls = list(_urls(app, b_things))
    assert len(urls) >= 15  # pages, operator pages and the API
    for method, path in urls:
        answer = _try(who.post, who.get, method, path)
        if login is None and not path.startswith("/api/"):
            assert answer.status_code == 303 and answer.headers["location"].startswith("/login"), (method, path)
        else:
            assert answer.status_code in REFUSED, (login, method, path, answer.status_code)
        assert b_things["name"] not in answer.text, (login, method, path)  # nothing of B's in the refusal
    _nothing_changed(portal_url, b_things)


def test_a_token_of_one_provider_reaches_nothing_of_another(app, b_things, portal_url):
    client = TestClient(app, follow_redirects=False)
    client.headers["Authorization"] = f"Bearer {b_things['a_token']}"
    for method, path in _urls(app, b_things):
        answer = _try(lambda p, d, files=None: client.post(p, data=d, files=files), client.get, method, path)
        if path.startswith("/api/"):
            assert answer.status_code in REFUSED, (method, path, answer.status_code)
        else:  # a token is no session: the pages send it to sign in
            assert answer.status_code in (303, *REFUSED), (method, path)
        assert b_things["name"] not in answer.text
    _nothing_changed(portal_url, b_things)


def test_guessed_ids_look_the_same_as_ids_that_do_not_exist(app, browser, b_things):
    dm_a = browser("dm_a")
    token_client = TestClient(app)
    token_client.headers["Authorization"] = f"Bearer {b_things['a_token']}"
    for path in ("/deliveries/{}", "/deliveries/{}/status.json", "/deliveries/{}/reports/x.json"):
        theirs, missing = dm_a.get(path.format(b_things["delivery"])), dm_a.get(path.format(999999))
        assert theirs.status_code == missing.status_code == 404
        assert theirs.text == missing.text
    for path in ("/api/v1/deliveries/{}", "/api/v1/deliveries/{}/reports"):
        theirs, missing = token_client.get(path.format(b_things["delivery"])), token_client.get(path.format(999999))
        assert theirs.status_code == missing.status_code == 404 and theirs.json() == missing.json()


def test_the_owner_and_the_operator_do_see_it(browser, b_things):
    for login in ("dm_b", "op"):
        who = browser(login)
        assert who.get(f"/deliveries/{b_things['delivery']}").status_code == 200
        assert who.get(f"/deliveries/{b_things['delivery']}/reports/{b_things['report']}").status_code == 200
    assert browser("dm_a").get("/operator").status_code == 404  # the operator pages do not exist for others


def test_a_viewer_may_read_but_not_deliver(browser, make_delivery):
    viewer = browser("viewer_a")
    assert viewer.get(f"/providers/{A[0]}/{A[1]}").status_code == 200
    assert "Upload" not in viewer.get(f"/providers/{A[0]}/{A[1]}").text
    assert viewer.upload(A, make_delivery(A, "test"), "test").status_code == 403


def test_forms_without_the_sessions_csrf_token_are_refused(app, browser, make_delivery, portal_url):
    dm = browser("dm_a")
    zip_path = make_delivery(A, "test")
    forged = dm.client.post(f"/providers/{A[0]}/{A[1]}/upload", data={"phase": "test", "csrf": "guessed"},
                            files={"zip": (zip_path.name, zip_path.read_bytes(), "application/zip")})
    assert forged.status_code == 403 and "did not come from this portal" in forged.text
    login_form = TestClient(app, follow_redirects=False).post("/login", data={"login": "dm_a", "password": "x"})
    assert login_form.status_code == 403
    with open_store(portal_url) as store:
        assert store.deliveries(*A) == []


def test_delivery_derived_text_is_escaped_on_every_page(browser, portal_url, make_delivery):
    hostile = "<script>alert('x')</script>"
    zip_path = make_delivery(A, "test")
    with open_store(portal_url) as store:
        from disval.core.plugins import get_plugin_manager
        from disval.core.pipeline import choose_standard

        std = choose_standard(get_plugin_manager(), zip_path.name)
        d = store.add_delivery(zip_path.name, zip_path, std.naming.parse(zip_path.name), standard=std.id,
                               status="rejected", reasons=[f"ZIP-NAME: {hostile}"])
        store.update_delivery(d.id, reports={f"{hostile}.json": store.put_blob(b"{}")})
    for login in ("dm_a", "op"):
        who = browser(login)
        for path in (f"/deliveries/{d.id}", f"/providers/{A[0]}/{A[1]}", "/operator"):
            page = who.get(path)
            if page.status_code == 404:
                continue
            assert hostile not in page.text, (login, path)
        assert "&lt;script&gt;" in who.get(f"/deliveries/{d.id}").text


def test_sign_in_attempts_are_limited(browser):
    guesser = browser()
    answers = [guesser.login("dm_a", f"guess {n}").status_code for n in range(7)]
    assert answers[:5] == [401] * 5 and answers[5:] == [429, 429]
    assert "Too many failed attempts" in guesser.login("dm_a").text  # even the right password waits now


def test_passwords_and_tokens_are_kept_hashed(portal_url):
    from disval.core.portal.accounts import token_hash

    with open_store(portal_url) as store:
        secret, kept = create_token(store, *A, ["read"], "job", "admin")
        u = book.user(store, "dm_a")
        assert u.password_hash.startswith("$argon2")
        assert kept.token_hash == token_hash(secret) and secret not in repr(kept)
        rows = store._exec("SELECT token_hash, hint, label FROM api_tokens").fetchall()
        assert all(secret not in " ".join(map(str, r)) for r in rows)
        entries = book.audit_log(store)
        assert entries and all(secret not in e.detail for e in entries)


def _nothing_changed(portal_url, things):
    with open_store(portal_url) as store:
        assert store.provider(*B).active
        assert [d.id for d in store.deliveries(*B)] == [things["delivery"]]
        assert book.token(store, things["token"]).active


def test_a_deactivated_user_is_signed_out_and_cannot_sign_in(browser, portal_url):
    dm = browser("dm_a")
    assert dm.get("/providers").status_code == 200
    with open_store(portal_url) as store:
        book.set_user_active(store, "dm_a", False)
    assert dm.get("/providers").status_code == 303  # the running session ends at its next request
    assert browser().login("dm_a").status_code == 401


def test_behind_https_the_session_cookie_is_secure_and_http_only(portal_url):
    from disval.core.portal.app import create_app

    app = create_app(portal_url, worker=False, secret_key="s" * 40, base_url="https://portal.example.org")
    cookie = TestClient(app, base_url="https://testserver").get("/login").headers["set-cookie"]
    assert "secure" in cookie.lower() and "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
