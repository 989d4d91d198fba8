"""`revalidate -o` and `report -o` write where they are pointed like `validate -o` does (issue 12)."""
from __future__ import annotations

import io
import json
import os
import stat
import subprocess

import openpyxl

from gate_support import AGB, BRANCH, delivery, disval, outcome_json


def test_revalidate_and_report_follow_the_output_name(tmp_path):
    store_url = f"sqlite:///{tmp_path}/disval.db"  # the output, not the store, is under test: one kind suffices
    disval("provider", "add", AGB, BRANCH, "--user", "gbg94001234", store_url=store_url, check=True)
    done = outcome_json(disval("submit", "--format", "json", delivery(tmp_path, "test", "20180201"),
                               store_url=store_url, check=True))
    number = str(done["delivery"]["id"])

    xlsx = tmp_path / "again.xlsx"
    again = disval("revalidate", number, "-o", str(xlsx), store_url=store_url)
    assert again.returncode == 0, again.stderr
    assert openpyxl.load_workbook(io.BytesIO(xlsx.read_bytes())).sheetnames[0] == "Samenvatting"
    refused = disval("revalidate", number, "-o", str(tmp_path / "again.pdf"), store_url=store_url)
    assert refused.returncode == 2 and "cannot tell the report format" in refused.stderr

    name = next(n for n in done["reports"] if n.endswith(".json"))
    fifo = tmp_path / "kept-report"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    try:
        kept = disval("report", number, name, "-o", str(fifo), store_url=store_url)
        if stat.S_ISFIFO(fifo.stat().st_mode) and reader.poll() is None:
            try:  # if disval never opened the pipe, cat still waits for a writer: let it see one, and EOF
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:  # no reader left: cat has read everything and ended meanwhile
                pass
        data, _ = reader.communicate(timeout=60)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()
    assert kept.returncode == 0, kept.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert json.loads(data)["delivery"] == done["delivery"]["name"]
