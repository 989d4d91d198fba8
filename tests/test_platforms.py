"""disval starts wherever the README says it does (issue 12): every Python from requires-python on, and Windows.

The suite itself is run on every Python the development machine has (see the README, "Running the tests");
these tests hold the claims between such runs: the source uses nothing newer than the declared floor, and no
module needs a POSIX-only part of the standard library to be imported or to validate a delivery.
"""
from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "contrib" / "examples" / "DIS_GBG_OHW_TEST_010_94001234_00_20180201_01.zip"
SOURCES = ["core", "plugins", "rules", "contrib", "tests"]
# Standard-library modules that exist on POSIX only: a module-level import of one kills disval on Windows.
POSIX_ONLY = ["fcntl", "termios", "tty", "pty", "pwd", "grp", "resource", "syslog", "crypt"]


def _floor() -> str:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'^requires-python\s*=\s*">=\s*(\d+\.\d+)"', text, re.M)
    assert match, "pyproject.toml declares no requires-python = \">=X.Y\""
    return match.group(1)


def test_the_source_uses_nothing_newer_than_requires_python():
    pytest.importorskip("vermin", reason="vermin is in the test extra: pip install -e '.[test]'")
    floor = _floor()
    done = subprocess.run(
        [sys.executable, "-c", "import sys, vermin; sys.exit(vermin.main())",
         f"--target={floor}-", "--violations", "--no-tips", *SOURCES],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, f"code that needs a Python newer than {floor}:\n{done.stdout}{done.stderr}"


def test_python_310_gets_a_toml_parser():
    # tomllib is 3.11+; on 3.10 disval reads its layouts with tomli, which must then be a dependency.
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    if tuple(map(int, _floor().split("."))) < (3, 11):
        assert re.search(r'"tomli[^"]*;\s*python_version\s*<\s*\\"3\.11\\""', text), "tomli is not required on 3.10"


def test_disval_imports_and_validates_without_posix_only_modules(tmp_path):
    # As on Windows: importing any of these raises ImportError. Every disval module must import, and validate
    # and the SQLite store's provider lock must work.
    script = textwrap.dedent(f"""
        import importlib, pkgutil, sys
        for name in {POSIX_ONLY!r}:
            sys.modules[name] = None
        import disval
        failed = []
        for mod in pkgutil.walk_packages(disval.__path__, "disval."):
            try:
                importlib.import_module(mod.name)
            except ImportError as exc:
                if any(p in str(exc) for p in {POSIX_ONLY!r}):
                    failed.append(f"{{mod.name}}: {{exc}}")
        assert not failed, failed
        from disval.core.cli import main
        from disval.core.store.delivery_store import open_store
        code = main(["validate", {str(EXAMPLE)!r}, "--format", "json", "-o", {str(tmp_path / "r.json")!r}])
        with open_store("sqlite:///" + {str(tmp_path / "store.db")!r}) as store:
            with store.lock_provider("94001234", "00"):
                pass
        sys.exit(code)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "r.json").exists()


def test_the_user_data_directory_is_the_platforms(monkeypatch, tmp_path):
    # platformdirs: XDG on Linux; %LOCALAPPDATA% on Windows and ~/Library/Application Support on macOS follow.
    platformdirs = pytest.importorskip("platformdirs")
    from disval.core.store.delivery_store import default_store_url

    monkeypatch.delenv("DISVAL_STORE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    expected = Path(platformdirs.user_data_dir("disval", appauthor=False)) / "disval.db"
    assert default_store_url() == f"sqlite:///{expected}"
    if sys.platform.startswith("linux"):
        assert expected == tmp_path / "disval" / "disval.db"
