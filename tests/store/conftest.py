"""Every store test runs against SQLite and PostgreSQL (`store_url`, in tests/conftest.py)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from store_support import open_url  # noqa: E402


@pytest.fixture
def store(store_url):
    """An open, empty store of each kind."""
    s = open_url(store_url)
    yield s
    s.close()
