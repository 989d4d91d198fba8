"""The long fuzz runner (tests/bench/fuzz_long.py): segments add up honestly in its ledger (issue 11).

The closing figures of issue 11 come from this script, run for hours in
segments: what it prints as cumulative must be exactly the executions its
workers finished, and a segment may not run the inputs of an earlier one again.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

RUNNER = Path(__file__).resolve().parents[1] / "bench" / "fuzz_long.py"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(RUNNER), *args], capture_output=True, text=True, timeout=600)


def _cumulative(out: str) -> int:
    lines = [line for line in out.splitlines() if line.startswith("cumulative")]
    assert lines, out
    return int(re.search(r"executions ([\d,]+)", lines[-1]).group(1).replace(",", ""))


def test_segments_add_up_in_the_ledger(tmp_path):
    ledger, crashes = tmp_path / "ledger.jsonl", tmp_path / "crashes"
    first = _run("--executions", "3", "--workers", "2", "--every", "0", "--ledger", str(ledger),
                 "--crashes", str(crashes))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "segment 1: 2 worker(s)" in first.stdout
    assert _cumulative(first.stdout) == 3
    lines = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert {line["worker"] for line in lines} == {0, 1}
    assert sum(line["executions"] for line in lines) == 3
    assert all(line["peak_rss_mib"] > 0 and line["cpu_seconds"] > 0 for line in lines)
    # each line says which code ran it: this checkout's commit
    head = subprocess.run(["git", "-C", str(RUNNER.parent), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode == 0:
        assert {line["commit"].removesuffix("+dirty") for line in lines} == {head.stdout.strip()}

    # --total: the next segment runs only what is missing, with a seed of its own
    second = _run("--total", "5", "--every", "0", "--ledger", str(ledger), "--crashes", str(crashes))
    assert second.returncode == 0, second.stdout + second.stderr
    assert "segment 2:" in second.stdout
    assert _cumulative(second.stdout) == 5

    # a line cut short by a kill mid-write is not counted, and the report still reads
    with ledger.open("a") as fh:
        fh.write('{"segment": 2, "worker": 0, "executions": 1000')
    report = _run("--report", "--ledger", str(ledger))
    assert report.returncode == 0
    assert _cumulative(report.stdout) == 5
    assert "over 2 segment(s)" in report.stdout
    assert "segment 1 (commit " in report.stdout and "segment 2 (commit " in report.stdout

    again = _run("--seed", "1", "--executions", "1", "--ledger", str(ledger))
    assert again.returncode == 2
    assert "segment seed 1 is already in" in again.stderr
    assert not crashes.exists()
