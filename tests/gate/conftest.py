"""The gate tests run against real stores of both kinds (`store_url` in tests/conftest.py)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from disval.core.plugins import get_plugin_manager  # noqa: E402
from disval.core.store import open_store  # noqa: E402


@pytest.fixture(scope="session")
def pm():
    """The plugin manager disval itself builds: the gate uses every built-in plugin."""
    return get_plugin_manager()


@pytest.fixture
def store(store_url, pm):
    """An open, empty store of each kind."""
    s = open_store(store_url, pm=pm)
    yield s
    s.close()
