"""The job queue's tests: a fresh PostgreSQL database per test (they skip without a server), real
`disval worker` and `disval submit --queue` processes, and deliveries made by the gate tests' helpers."""
from __future__ import annotations

import sys
from pathlib import Path

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
def pg_url(fresh_pg_url):
    """The URL of a new, empty PostgreSQL database (dropped afterwards); skips without a server."""
    return fresh_pg_url


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
