"""What the portal tests share besides fixtures: two providers, a user per role, a browser per person."""
from __future__ import annotations

import re
import time
from pathlib import Path

from starlette.testclient import TestClient

from disval.core.store import accounts as book

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


def seed(store, password_hash) -> None:
    """Providers A and B, and the users of `USERS` with their roles."""
    for agb, branch in (A, B):
        store.add_provider(agb, branch, f"gbg{agb}", f"Praktijk {agb}")
    for login, (operator, roles) in USERS.items():
        book.add_user(store, login, login.replace("_", " "), f"{login}@example.org", password_hash, operator=operator)
        for (agb, branch), role in roles:
            book.grant(store, login, agb, branch, role)


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


def delivered_id(response) -> int:
    """The delivery id an upload redirected to."""
    assert response.status_code == 303, response.text[:500]
    return int(response.headers["location"].rsplit("/", 1)[1])
