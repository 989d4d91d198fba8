"""Where `disval validate` writes (issue 12): the format follows `-o`'s name, devices and pipes stay what they are,
`-` is stdout, and a reader that stops early (`| head`) gets no traceback."""
from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "contrib" / "examples"
FAULTY = EXAMPLES / "faulty" / "DIS_GBG_OHW_TEST_010_94001234_00_20180301_01.zip"


def disval(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "disval.core.cli", *args], capture_output=True, timeout=120, **kw)


def test_the_format_follows_the_name_of_the_output(tmp_path):
    out = tmp_path / "report.xlsx"
    done = disval("validate", str(FAULTY), "-o", str(out))
    assert done.returncode == 1, done.stderr
    wb = openpyxl.load_workbook(io.BytesIO(out.read_bytes()))
    assert wb.sheetnames[0] == "Samenvatting"
    out = tmp_path / "report.JSON"
    assert disval("validate", str(FAULTY), "-o", str(out)).returncode == 1
    assert json.loads(out.read_text(encoding="utf-8"))["assessment"] == "negative"
    out = tmp_path / "report.xml"  # only junit.xml ends in .xml
    assert disval("validate", str(FAULTY), "-o", str(out)).returncode == 1
    assert out.read_text(encoding="utf-8").startswith("<?xml")


def test_an_explicit_format_wins_over_the_name(tmp_path):
    out = tmp_path / "report.xlsx"
    assert disval("validate", str(FAULTY), "-o", str(out), "--format", "json").returncode == 1
    assert json.loads(out.read_text(encoding="utf-8"))["schema"] == "disval.validation/1"


def test_a_name_no_format_writes_is_refused_before_anything_is_written(tmp_path):
    out = tmp_path / "report.pdf"
    done = disval("validate", str(FAULTY), "-o", str(out))
    assert done.returncode == 2
    stderr = done.stderr.decode()
    assert "cannot tell the report format from the name 'report.pdf'" in stderr and ".xlsx (xlsx)" in stderr
    assert "Traceback" not in stderr
    assert not out.exists()


def test_dash_is_stdout_even_for_a_binary_format():
    done = disval("validate", str(FAULTY), "-o", "-", "--format", "xlsx")
    assert done.returncode == 1
    assert openpyxl.load_workbook(io.BytesIO(done.stdout)).sheetnames[0] == "Samenvatting"


def test_a_named_pipe_is_written_into_not_replaced(tmp_path):
    fifo = tmp_path / "report-pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    try:
        done = disval("validate", str(FAULTY), "-o", str(fifo))
        if stat.S_ISFIFO(fifo.stat().st_mode) and reader.poll() is None:
            try:  # if disval never opened the pipe, cat still waits for a writer: let it see one, and EOF
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:  # no reader left: cat has read everything and ended meanwhile
                pass
        received, _ = reader.communicate(timeout=60)
    finally:
        if reader.poll() is None:  # the old behaviour: the pipe was replaced and cat waits for ever
            reader.kill()
            reader.wait()
    assert done.returncode == 1, done.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode), "the named pipe was replaced by a file"
    assert received.decode("utf-8").startswith("Validatierapport")
    assert not [p for p in tmp_path.iterdir() if p != fifo]  # no temporary file left beside it


def test_a_regular_file_is_replaced_whole_and_a_link_to_it_is_kept(tmp_path):
    target = tmp_path / "real.json"
    target.write_text("old and much longer than nothing" * 1000, encoding="utf-8")
    link = tmp_path / "report.json"
    link.symlink_to(target)
    assert disval("validate", str(FAULTY), "-o", str(link)).returncode == 1
    assert link.is_symlink()
    assert json.loads(target.read_text(encoding="utf-8"))["assessment"] == "negative"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["real.json", "report.json"]


def test_a_directory_as_output_is_a_clear_error(tmp_path):
    done = disval("validate", str(FAULTY), "-o", str(tmp_path))
    assert done.returncode == 2
    assert "is a directory" in done.stderr.decode() and "Traceback" not in done.stderr.decode()


@pytest.mark.parametrize("args, code", [(("validate", str(FAULTY), "--max-findings", "0"), 1), (("plugins",), 141)])
def test_a_reader_that_stops_early_gets_no_traceback(args, code):
    # The read end is closed before disval writes anything, as `head -0` would: every write meets a closed pipe.
    proc = subprocess.Popen([sys.executable, "-m", "disval.core.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == code  # validate still says the assessment
    assert "Broken pipe" not in stderr and "Traceback" not in stderr and "Exception ignored" not in stderr
    # Nothing else either, but the line that says the shipped sample codelists were used (on every run).
    assert [line for line in stderr.splitlines() if "SAMPLE codelists" not in line] == []
