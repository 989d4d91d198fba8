"""Progress on stderr: shown when asked (or on a terminal), silent when piped."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "contrib" / "examples" / "DIS_GBG_OHW_TEST_010_94001234_00_20180201_01.zip"


def _run(*args):
    return subprocess.run([sys.executable, "-m", "disval.core.cli", "validate", str(EXAMPLE), "--format", "json",
                           *args], capture_output=True, text=True)


def test_piped_run_prints_no_progress_on_stderr():
    done = _run()
    assert done.returncode == 0
    # Only the one warning that the shipped sample codelists were used (tests/validation/test_sample_codelists.py).
    assert done.stderr.count("\n") == 1 and "SAMPLE codelists" in done.stderr and "records read" not in done.stderr


def test_progress_when_asked_counts_every_record():
    done = _run("--progress")
    assert done.returncode == 0
    last = done.stderr.strip().split("\r")[-1]
    # 1 packing slip + 40 trajects + 120 profiles, and a rate
    assert "161 records read" in last and "/s)" in last
    assert done.stdout.lstrip().startswith("{")  # the report itself is untouched on stdout
