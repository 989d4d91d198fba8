"""`disval user`, `disval token` and `disval serve` on the command line."""
from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time

import httpx2 as httpx

from disval.core.cli import main
from disval.core.portal.accounts import check_password, token_hash
from disval.core.store import accounts as book
from disval.core.store.delivery_store import open_store


def _run(capsys, monkeypatch, *args, stdin=""):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(["--no-config", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_users_roles_and_tokens(tmp_path, capsys, monkeypatch):
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    with open_store(store_url) as store:
        store.add_provider("94001234", "00", "gbg94001234")
    code, out, _ = _run(capsys, monkeypatch, "user", "add", "anna", "--store", store_url, "--email", "a@example.org",
                        "--password-stdin", "--role", "data_manager", "--provider", "94001234", "00",
                        stdin="a long enough password\n")
    assert code == 0 and "added user anna" in out
    code, _, err = _run(capsys, monkeypatch, "user", "add", "bob", "--store", store_url, "--password-stdin",
                        stdin="short\n")
    assert code == 2 and "at least 10 characters" in err
    code, out, err = _run(capsys, monkeypatch, "token", "create", "94001234", "00", "--scope", "upload",
                          "--store", store_url)
    assert code == 0 and "shown once" in err
    secret = out.strip()
    code, out, _ = _run(capsys, monkeypatch, "token", "list", "94001234", "00", "--store", store_url)
    assert "upload" in out and secret not in out
    with open_store(store_url) as store:
        anna = book.user(store, "anna")
        assert check_password(anna.password_hash, "a long enough password")
        assert [m.role for m in book.memberships(store, "anna")] == ["data_manager"]
        (kept,) = book.tokens(store, "94001234", "00")
        assert kept.token_hash == token_hash(secret) and kept.scopes == ("upload",)
    code, out, _ = _run(capsys, monkeypatch, "user", "password", "anna", "--store", store_url, "--password-stdin",
                        stdin="another long password\n")
    assert code == 0
    code, out, _ = _run(capsys, monkeypatch, "user", "deactivate", "anna", "--store", store_url)
    assert code == 0 and "may no longer sign in" in out
    with open_store(store_url) as store:
        anna = book.user(store, "anna")
        assert check_password(anna.password_hash, "another long password") and not anna.active
    code, out, _ = _run(capsys, monkeypatch, "token", "revoke", str(kept.id), "--store", store_url)
    assert code == 0 and "revoked" in out
    with open_store(store_url) as store:
        assert not book.tokens(store, "94001234", "00")[0].active
    code, _, err = _run(capsys, monkeypatch, "user", "grant", "nobody", "94001234", "00", "--role", "viewer",
                        "--store", store_url)
    assert code == 2 and "no user 'nobody'" in err
    code, _, err = _run(capsys, monkeypatch, "token", "create", "94001234", "00", "--scope", "delete",
                        "--store", store_url)
    assert code == 2 and "scopes must be among" in err


def test_disval_serve_serves_pages_and_never_logs_a_token(tmp_path):
    from disval.core.portal.accounts import create_token

    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    with open_store(store_url) as store:
        store.add_provider("94001234", "00", "gbg94001234")
        secret, _ = create_token(store, "94001234", "00", ["read"], "job", "cli")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DISVAL_STORE": store_url}
    server = subprocess.Popen([sys.executable, "-m", "disval.core.cli", "--no-config", "serve", "--port", str(port)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        page = None
        for _ in range(150):
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except httpx.TransportError:
                if server.poll() is not None:
                    break
                time.sleep(0.2)
        assert page is not None, server.communicate(timeout=10)
        assert page.status_code == 200 and "Sign in" in page.text
        assert httpx.get(f"http://127.0.0.1:{port}/api/openapi.json").json()["info"]["title"] == "disval portal API"
        listed = httpx.get(f"http://127.0.0.1:{port}/api/v1/providers/94001234/00/deliveries",
                           headers={"Authorization": f"Bearer {secret}"})
        assert listed.status_code == 200 and listed.json() == []
    finally:
        server.terminate()
        out, err = server.communicate(timeout=30)
    assert "/api/v1/providers/94001234/00/deliveries" in out + err  # the access log is on...
    assert secret not in out + err  # ...and the token is not in it
