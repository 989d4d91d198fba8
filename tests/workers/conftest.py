"""The job queue's tests: a fresh PostgreSQL database per test (they skip without a server), real
`disval worker` and `disval submit --queue` processes, and deliveries made by the gate tests' helpers."""
from __future__ import annotations

import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "gate"))

pytest.importorskip("procrastinate", reason="the job queue needs procrastinate: pip install -e '.[postgresql]'")

from disval.core.plugins import get_plugin_manager  # noqa: E402
from disval.core.store.delivery_store import open_store  # noqa: E402


@pytest.fixture(scope="session")
def pm():
    """The plugin manager disval itself builds."""
    return get_plugin_manager()


@pytest.fixture
def pg_url(postgres_server):
    """The URL of a new, empty PostgreSQL database (dropped afterwards); skips without a server."""
    admin, reason = postgres_server
    if admin is None:
        pytest.skip(reason)
    import psycopg

    name = f"disval_jobs_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(admin)
    yield f"{parts.scheme}://{parts.netloc}/{name}" + (f"?{parts.query}" if parts.query else "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_store(pg_url, pm):
    """An open, empty PostgreSQL store, with the job queue's tables."""
    store = open_store(pg_url, pm=pm)
    yield store
    store.close()


@pytest.fixture(autouse=True)
def samples_allowed(tmp_path_factory, monkeypatch):
    """The deliveries are validated against the shipped sample codelists; a fresh store may be created."""
    config = tmp_path_factory.getbasetemp() / "workers-disval.toml"
    if not config.exists():
        config.write_text("require-real-codelists = false\ncreate = true\n", encoding="utf-8")
    monkeypatch.setenv("DISVAL_CONFIG", str(config))
    return config
