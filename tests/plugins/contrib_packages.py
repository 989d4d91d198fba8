"""The contrib packages, loaded from their source trees (shared by the plugin tests).

A module of its own, not conftest.py: test modules import these names, and
`conftest` is not a unique module name when several test folders run together.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTRIB = ROOT / "contrib"
PACKAGES = {  # import name -> the contrib project that holds it
    "disval_org_example": CONTRIB / "org-rules",
    "disval_codelists_xlsx": CONTRIB / "codelists-xlsx",
    "disval_dataset_csv": CONTRIB / "dataset-csv",
}


def load_contrib(name: str):
    """Import a contrib package from its source tree without putting that tree on sys.path.

    Keeping contrib/*/src off sys.path for the whole session means no other
    test can pick a contrib plugin up by accident.
    """
    if name in sys.modules:
        return sys.modules[name]
    if "." in name:  # a module of a contrib package: load the package, then import as usual
        load_contrib(name.split(".")[0])
        return importlib.import_module(name)
    package_dir = PACKAGES[name] / "src" / name
    spec = importlib.util.spec_from_file_location(name, package_dir / "__init__.py",
                                                  submodule_search_locations=[str(package_dir)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
