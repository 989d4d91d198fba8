"""Fixtures of the cluster tests: a fresh PostgreSQL database, the pausing plugin, a lab of namespaces."""
from __future__ import annotations


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
def pg_url(request):
    """A new, empty database on the test server (psycopg URL)."""
    _needs_workers()
    return request.getfixturevalue("fresh_pg_url")


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
