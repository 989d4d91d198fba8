"""Fixtures of the plugin tests: contrib plugins loaded from their source, a clean GA delivery.

The contrib packages are not installed in the test environment. Unit tests
import them from contrib/*/src and register the module objects with
`get_plugin_manager(extra=...)`; the entry-point path is tested with a
temporary `.dist-info` on sys.path (see `installed`), which is what
importlib.metadata reads for an installed distribution. That is the same
loading code a `pip install` exercises, in milliseconds instead of the
minute a throwaway venv and a build would take.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from disval.core.generate import generate_delivery

from contrib_packages import PACKAGES, load_contrib  # noqa: F401  (load_contrib: see contrib_packages)


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """`installed(name)`: make a contrib package look pip-installed, entry point and all.

    Writes `<dist>-0.1.0.dist-info/` with METADATA and the project's entry
    point into a temporary directory on sys.path; `pm.load_setuptools_entrypoints`
    and `disval plugins` then see it as an installed distribution. Returns the
    directory, to put on PYTHONPATH for a subprocess.
    """
    try:
        import tomllib  # novermin (3.10 takes the fallback below)
    except ImportError:  # Python 3.10
        import tomli as tomllib

    site = tmp_path / "site"
    site.mkdir()

    def install(name: str) -> Path:
        project = tomllib.loads((PACKAGES[name] / "pyproject.toml").read_text(encoding="utf-8"))["project"]
        dist = project["name"].replace("-", "_")
        info = site / f"{dist}-{project['version']}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n", encoding="utf-8")
        lines = [f"{k} = {v}" for k, v in project["entry-points"]["disval"].items()]
        (info / "entry_points.txt").write_text("[disval]\n" + "\n".join(lines) + "\n", encoding="utf-8")
        load_contrib(name)  # the import the entry point names resolves to this module
        return site

    monkeypatch.syspath_prepend(str(site))
    return install


@pytest.fixture(scope="session")
def ga_delivery(tmp_path_factory) -> Path:
    """A clean GA OHW-GBG 1.0 test delivery: 6 trajects, 12 profiles, created 2018-02-01."""
    return generate_delivery(tmp_path_factory.mktemp("ga"), trajects=6, profiles=12, seed=11)
