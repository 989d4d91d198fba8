"""Issue 11, point 8: a zip whose file name is not UTF-8, or too long to write reports under, is a bad
name (ZIP-NAME, exit 1) for `disval validate`, not "could not run" (exit 2)."""
from __future__ import annotations

import json
import os
import zipfile

from disval.core.cli import main
from disval.core.workdir import NAME_MAX


def _zip(path):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("PAKBON.txt", "x")
    return path


def test_a_name_that_is_not_utf8_is_reported_as_zip_name(tmp_path, capsys):
    bad = _zip(tmp_path / os.fsdecode(b"DIS_GBG_OHW_PROD_\xff\xfe.zip"))
    assert main(["validate", "--format", "json", str(bad)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["delivery"] == "DIS_GBG_OHW_PROD_\ufffd\ufffd.zip"
    assert [f["rule"] for f in report["findings"] if f["rule"].startswith("ZIP-NAME")] == ["ZIP-NAME"]
    assert bad.exists()  # the user's zip is left where it was


def test_reports_of_a_very_long_name_are_written_under_a_name_that_fits(tmp_path, capsys):
    long = _zip(tmp_path / ("DIS_GBG_OHW_PROD_" + "9" * 234 + ".zip"))  # 255 bytes: the longest a file may have
    out = tmp_path / "out"
    assert main(["validate", "--format", "json,text", "--output-dir", str(out), str(long)]) == 1
    written = sorted(out.iterdir())
    assert [p.suffix for p in written] == [".json", ".txt"]
    assert all(len(os.fsencode(p.name)) <= NAME_MAX for p in written)
    assert json.loads(written[0].read_text())["delivery"] == long.name
    capsys.readouterr()
