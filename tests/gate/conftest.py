"""The gate tests run against real stores of both kinds (`store_url` in tests/conftest.py)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from disval.core.plugins import get_plugin_manager  # noqa: E402
from disval.core.store.delivery_store import open_store  # noqa: E402


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


@pytest.fixture(autouse=True)
def gate_test_config(tmp_path_factory, monkeypatch):
    """Every `disval` the gate tests run (in process or as a child process) reads this configuration:
    the deliveries are validated against the shipped sample codelists, which `disval submit` otherwise
    refuses to assess positive, and a test's fresh store may be created by any command. The tests of
    those two defaults themselves (test_gate_cli_habits.py) run without it."""
    config = tmp_path_factory.getbasetemp() / "gate-disval.toml"
    if not config.exists():
        config.write_text("require-real-codelists = false\ncreate = true\n", encoding="utf-8")
    monkeypatch.setenv("DISVAL_CONFIG", str(config))
    return config
