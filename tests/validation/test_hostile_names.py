"""Control characters in member and zip names (issue 11, point 5): every report format holds them.

A member named with a terminal escape sequence, BEL and NUL-like bytes, in a
zip whose own name carries control characters: the validation report renders
in every format, XML stays XML, the xlsx opens, no raw control character
reaches a terminal, and JSON keeps the name exactly.
"""
from __future__ import annotations

import datetime as dt
import json

import pytest

from disval.core.pipeline import validate
from disval.core.gate.processing_reports import FileImport, ImportReport
from disval.core.reports import ReportOptions

from hostile import renamed, zip_bytes
from planting import BT, PB
from rendering import problems, render_every_format

ESCAPE = "\x1b[2J\x1b[31m"  # clear the screen, then red


@pytest.mark.parametrize("member_name", [ESCAPE + "X.txt", "A\x07\x08\x0b\x0c\x7f\x85.txt", "\x01" * 3])
def test_member_name_with_control_characters(member_name, clean, tmp_path):
    data = renamed(zip_bytes(clean.members), PB, member_name.encode("utf-8"), utf8_flag=True)
    path = tmp_path / (clean.name[:-4] + "\x1b]0;title\x07.zip")
    path.write_bytes(data)
    result = validate(path)
    assert (("739", member_name) in {(f.rule, f.file) for f in result.findings})
    outputs = render_every_format(result, ReportOptions(max_examples=None))
    assert set(outputs) >= {"text", "json", "csv", "xlsx", "html", "junit"}
    for name, output in outputs.items():
        assert problems(name, output) == []
    listed = {f["file"] for f in json.loads(outputs["json"])["findings"]}
    assert member_name in listed  # JSON escapes it itself, exactly
    assert "\\x1b" in outputs["text"].decode() or "\\x01" in outputs["text"].decode()


def test_import_report_with_control_characters_in_names():
    report = ImportReport(
        delivery="DIS\x1b[2J_GBG\x00.zip", provider="94001234\x9b-00",
        files=[FileImport(BT + "\x07", 3, 2, 1)], timestamp=dt.datetime(2018, 3, 2, tzinfo=dt.timezone.utc),
        warnings=["a warning with \x1b[5m blink"],
    )
    outputs = render_every_format(report)
    assert outputs
    for name, output in outputs.items():
        assert problems(name, output) == []


def test_zip_name_that_is_not_utf8(clean, tmp_path):
    """A file name of bytes that are not UTF-8 (surrogateescape in Python) renders as \\xNN everywhere."""
    path = tmp_path / (clean.name[:-4] + "\udcff.zip")
    path.write_bytes(zip_bytes(clean.members))
    result = validate(path)
    for name, output in render_every_format(result).items():
        assert problems(name, output) == []
    assert "\\xff" in json.loads(render_every_format(result)["json"])["delivery"]
