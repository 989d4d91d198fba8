"""The portal's tests: the app in process (Starlette's TestClient) on a store of each kind.

Two providers (A and B), a user for every role, and a browser per user. The
worker runs inside the app, as under `disval serve`.
"""
from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the portal needs the serve extra: pip install -e '.[serve]'")
pytest.importorskip("httpx", reason="Starlette's TestClient needs httpx")

from starlette.testclient import TestClient  # noqa: E402

from disval.core.generate import generate_delivery  # noqa: E402
from disval.core.plugins import get_plugin_manager  # noqa: E402
from disval.core.portal.accounts import hash_password  # noqa: E402
from disval.core.portal.app import create_app  # noqa: E402
from disval.core.store import accounts as book  # noqa: E402
from disval.core.store.delivery_store import open_store  # noqa: E402

A = ("94001234", "00")
B = ("94005678", "00")
PASSWORD = "correct horse battery staple"
# login -> (operator, [(provider, role)])
USERS = {
    "dm_a": (False, [(A, "data_manager")]),
    "viewer_a": (False, [(A, "viewer")]),
    "admin_a": (False, [(A, "org_admin")]),
    "vendor_a": (False, [(A, "vendor")]),
    "dm_b": (False, [(B, "data_manager")]),
    "nobody": (False, []),
    "op": (True, []),
}
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture(scope="session")
def password_hash():
    """One argon2 hash for every test user: hashing is slow on purpose."""
    return hash_password(PASSWORD)


def seed(store, password_hash) -> None:
    """Providers A and B, and the users of `USERS` with their roles."""
    for agb, branch in (A, B):
        store.add_provider(agb, branch, f"gbg{agb}", f"Praktijk {agb}")
    for login, (operator, roles) in USERS.items():
        book.add_user(store, login, login.replace("_", " "), f"{login}@example.org", password_hash, operator=operator)
        for (agb, branch), role in roles:
            book.grant(store, login, agb, branch, role)


@pytest.fixture
def portal_url(store_url, password_hash):
    """A store of each kind with providers A and B and a user for every role."""
    with open_store(store_url) as store:
        seed(store, password_hash)
    return store_url


@pytest.fixture
def app(portal_url):
    """The portal app (worker included), running: its lifespan is entered."""
    application = create_app(portal_url, pm=get_plugin_manager(), secret_key="k" * 40, poll=0.1,
                             report_formats=["json", "text", "html", "xlsx"], require_real_codelists=False)
    with TestClient(application):
        yield application


class Browser:
    """One person's browser: their own cookies, the CSRF token of their session, and a few habits."""

    def __init__(self, app):
        self.client = TestClient(app, follow_redirects=False)

    def get(self, path, **kw):
        return self.client.get(path, **kw)

    def post(self, path, data=None, **kw):
        return self.client.post(path, data={"csrf": self.csrf(), **(data or {})}, **kw)

    def csrf(self) -> str:
        """The session's CSRF token, as the pages carry it."""
        page = self.client.get("/login")
        return _CSRF.search(page.text).group(1)

    def login(self, login: str, password: str = PASSWORD):
        return self.post("/login", {"login": login, "password": password, "next": "/"})

    def upload(self, provider, path: Path, phase: str, name: str | None = None, content: bytes | None = None):
        agb, branch = provider
        body = path.read_bytes() if content is None else content
        return self.post(f"/providers/{agb}/{branch}/upload", {"phase": phase},
                         files={"zip": (name or path.name, body, "application/zip")})

    def wait(self, delivery_id: int, timeout: float = 120) -> dict:
        """Poll the status JSON, as the page does, until the delivery is done."""
        end = time.monotonic() + timeout
        while True:
            status = self.get(f"/deliveries/{delivery_id}/status.json").json()
            if status["done"] or time.monotonic() > end:
                return status
            time.sleep(0.1)


@pytest.fixture
def browser(app):
    """A browser per login, signed in: browser("dm_a")."""
    made = {}

    def open_as(login: str | None = None) -> Browser:
        if login not in made:
            b = made[login] = Browser(app)
            if login is not None:
                assert b.login(login).status_code == 303
        return made[login]

    return open_as


def delivered_id(response) -> int:
    """The delivery id an upload redirected to."""
    assert response.status_code == 303, response.text[:500]
    return int(response.headers["location"].rsplit("/", 1)[1])


@pytest.fixture
def make_delivery(tmp_path):
    """A valid generated delivery: make_delivery(provider, phase, day=1, seq="01")."""
    def make(provider=A, phase="test", day: int = 1, seq: str = "01", **sizes):
        agb, branch = provider
        where = tmp_path / f"{phase}-{agb}-{day}-{seq}"
        return generate_delivery(where, phase=phase, provider=agb, branch=branch, created=dt.date(2018, 3, day),
                                 sequence=seq, trajects=sizes.get("trajects", 5), profiles=sizes.get("profiles", 5))
    return make
