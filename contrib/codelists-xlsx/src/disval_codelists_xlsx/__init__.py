"""NZa codelists from an Excel workbook, through `disval_codelist_provider`.

Which source is used, in order:

1. `--codelists PATH` ending in `.xlsx`: that workbook;
2. `--codelists DIR` (anything else): not ours, the built-in directory provider reads it;
3. no `--codelists` and the environment variable `DISVAL_CODELISTS_XLSX` set: that workbook;
4. otherwise: not ours, so the standard's shipped text codelists are used.

This hook is not `trylast`, so when it answers it wins over the built-in
directory provider; when it returns None the built-in one answers as before.
"""
from __future__ import annotations

import os
from pathlib import Path

from disval.core.plugins import hookimpl

from .provider import WorkbookCodelistProvider

ENV_VAR = "DISVAL_CODELISTS_XLSX"
SUFFIX = ".xlsx"

__all__ = ["ENV_VAR", "WorkbookCodelistProvider", "disval_codelist_provider", "workbook_location"]


def workbook_location(location: str | None) -> Path | None:
    """The workbook to read for `--codelists location`, by the rule in the module docstring, or None."""
    if location is None:
        location = os.environ.get(ENV_VAR) or None
        if location is None:
            return None
        if not location.lower().endswith(SUFFIX):
            raise ValueError(f"{ENV_VAR}={location}: expected the path of an {SUFFIX} workbook of NZa codelists")
    return Path(location) if str(location).lower().endswith(SUFFIX) else None


@hookimpl
def disval_codelist_provider(standard, location):
    """A provider for the workbook named by `location` or the environment, else None."""
    path = workbook_location(location)
    return None if path is None else WorkbookCodelistProvider(path, getattr(standard, "codelists", None))
