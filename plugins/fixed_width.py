"""Built-in record reader: fixed-width members, as every GA prescribes (§4.1-4.2).

Registered through `disval_record_reader` like any reader plugin, and
`trylast`, so an installed reader wins. It answers only for standards whose
`reader` is "fixed-width" (the default); a standard that names another reader
needs the plugin that provides it.
"""
from __future__ import annotations

from disval.core.plugins import hookimpl
from disval.core.reader import read_records

NAME = "fixed-width"


@hookimpl(trylast=True)
def disval_record_reader(standard, layout):
    """`read_records` for a fixed-width standard, else None."""
    return read_records if standard.reader == NAME else None
