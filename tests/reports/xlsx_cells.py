"""How the xlsx tests compare two workbooks: as openpyxl reads them, cell by cell and sheet by sheet."""
from __future__ import annotations

import io
import zipfile

import openpyxl


def readable(data: bytes) -> None:
    """The workbook is a sound zip: every member's CRC checks out."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None


def cells(data: bytes) -> dict:
    """{sheet: what a reader sees of it}: each non-empty cell's value, type, bold and wrap, and the sheet's
    used range, filter, frozen panes, printed header rows, column widths and page setup."""
    readable(data)
    book = openpyxl.load_workbook(io.BytesIO(data))
    seen = {}
    for ws in book.worksheets:
        seen[ws.title] = {
            "dimensions": ws.dimensions, "filter": ws.auto_filter.ref, "frozen": ws.freeze_panes,
            "print titles": ws.print_title_rows, "orientation": ws.page_setup.orientation,
            "widths": {k: d.width for k, d in ws.column_dimensions.items()},
            "cells": {c.coordinate: (c.value, c.data_type, bool(c.font.b), c.font.sz, bool(c.alignment.wrap_text),
                                     c.alignment.vertical)
                      for row in ws.iter_rows() for c in row if c.value is not None},
        }
    return seen
