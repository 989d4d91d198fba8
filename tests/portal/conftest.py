"""The portal's tests: the app in process (Starlette's TestClient) on a store of each kind.

Two providers (A and B), a user for every role, and a browser per user. The
worker runs inside the app, as under `disval serve`.
"""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the portal needs the serve extra: pip install -e '.[serve]'")
pytest.importorskip("httpx2", reason="Starlette's TestClient needs httpx2")

from starlette.testclient import TestClient  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))

from portal_support import A, B, PASSWORD, USERS, Browser, delivered_id, seed  # noqa: E402,F401

from disval.core.generate import generate_delivery  # noqa: E402
from disval.core.plugins import get_plugin_manager  # noqa: E402
from disval.core.portal.accounts import hash_password  # noqa: E402
from disval.core.portal.app import create_app  # noqa: E402
from disval.core.store.delivery_store import open_store  # noqa: E402


@pytest.fixture(scope="session")
def password_hash():
    """One argon2 hash for every test user: hashing is slow on purpose."""
    return hash_password(PASSWORD)


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


@pytest.fixture
def make_delivery(tmp_path):
    """A valid generated delivery: make_delivery(provider, phase, day=1, seq="01")."""
    def make(provider=A, phase="test", day: int = 1, seq: str = "01", **sizes):
        agb, branch = provider
        where = tmp_path / f"{phase}-{agb}-{day}-{seq}"
        return generate_delivery(where, phase=phase, provider=agb, branch=branch, created=dt.date(2018, 3, day),
                                 sequence=seq, trajects=sizes.get("trajects", 5), profiles=sizes.get("profiles", 5))
    return make
