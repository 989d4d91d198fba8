"""Render a report in every installed format and check that each output holds what it must.

Used by the hostile-name tests and the fuzz test (issue 11, point 5): a report
of a hostile delivery must render in every format, and each output must be
well formed for its kind, with no raw control character where a reader would
meet it (a terminal, an XML parser, a spreadsheet).
"""
from __future__ import annotations

import csv
import io
import json
import re
import time
import xml.etree.ElementTree as ET

import openpyxl

from disval.core.plugins import get_plugin_manager
from disval.core.reports import ReportOptions, formats_by_name, report_kind

# C0 controls but tab/LF/CR, DEL and C1: what a terminal or an XML 1.0 parser must not meet raw.
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


_FORMATS: dict = {}


def render_every_format(report, options: ReportOptions | None = None, skip=(), stages=None) -> dict[str, bytes]:
    """format name -> output, for every installed format (but `skip`) that writes this kind of report.

    `stages` (a dict), when given, gains the CPU seconds each format took, as "render <name>".
    """
    if not _FORMATS:
        _FORMATS.update(formats_by_name(get_plugin_manager()))
    options = options or ReportOptions()
    kind = report_kind(report)
    out = {}
    for name, fmt in _FORMATS.items():
        if kind in fmt.kinds and name not in skip:
            began = time.process_time()
            out[name] = fmt.render(report, options)
            if stages is not None:
                stages[f"render {name}"] = stages.get(f"render {name}", 0.0) + time.process_time() - began
    return out


def problems(name: str, data: bytes) -> list[str]:
    """What is wrong with the output of format `name` (empty when it is well formed)."""
    try:
        if name == "xlsx":
            openpyxl.load_workbook(io.BytesIO(data))
            return []
        text = data.decode("utf-8-sig")
        if name == "json":
            json.loads(text)
        elif name == "junit":
            ET.fromstring(data)
        elif name == "csv":
            list(csv.reader(io.StringIO(text), delimiter=";"))
    except Exception as exc:  # noqa: BLE001 - any failure to read the output back is the finding
        return [f"{name}: does not read back: {type(exc).__name__}: {exc}"]
    if name in ("text", "html", "junit", "csv"):
        raw = RAW_CONTROL.search(text)
        if raw:
            return [f"{name}: raw control character {raw.group()!r} at {raw.start()}"]
    return []
