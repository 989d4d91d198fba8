"""Fixtures of the cluster tests: a fresh PostgreSQL database, the pausing plugin, a lab of namespaces."""
from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import pytest

import netlab
from cluster_support import pausing_plugin


def _needs_workers() -> None:
    try:
        import procrastinate  # noqa: F401
        import disval.core.workers  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"the job queue is not installed ({exc}): pip install 'disval[postgresql]'")


@pytest.fixture
def pg_url(postgres_server):
    """A new, empty database on the test server (psycopg URL)."""
    _needs_workers()
    admin, reason = postgres_server
    if admin is None:
        pytest.skip(reason)
    import psycopg

    name = f"disval_cluster_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(admin)
    yield f"{parts.scheme}://{parts.netloc}/{name}" + (f"?{parts.query}" if parts.query else "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def plugin_dir(tmp_path):
    """A directory holding the pausing plugin, to put on a worker's PYTHONPATH."""
    return pausing_plugin(tmp_path / "plugin")


@pytest.fixture
def lab():
    """PostgreSQL in a network namespace of its own, two worker slots; all removed afterwards."""
    _needs_workers()
    why = netlab.why_not()
    if why:
        pytest.skip(why)
    made = netlab.Lab().start()
    try:
        made.add_slot(1)
        made.add_slot(2)
        yield made
    finally:
        made.close()
