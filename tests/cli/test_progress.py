"""Progress on stderr: shown when asked (or on a terminal), silent when piped."""
from __future__ import annotations

import datetime as dt
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


def test_progress_in_a_log_is_plain_lines_with_percentage_and_time_left():
    import io

    from disval.plugins.progress import Progress

    now = [0.0]
    log = io.StringIO()  # not a terminal: a line of its own every `every` seconds, no carriage returns
    progress = Progress(log, every=5.0, clock=lambda: now[0])
    progress.disval_validation_started("D.zip", None, {"PAKBON.txt": 1, "A.txt": 99, "B.txt": 100})
    for seconds, (file, records) in enumerate([("PAKBON.txt", 1), ("A.txt", 49), ("A.txt", 99), ("B.txt", 50)]):
        now[0] = 5.0 * (seconds + 1)
        progress.disval_records_read(file, records)
    progress.disval_validation_finished(None)
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and len(lines) == 5
    assert lines[1].startswith("D.zip: 50 records read (5/s), 25%, about 30 s left")
    assert lines[3] == "D.zip: 150 records read (8/s), 75%, about 7 s left B.txt"
    assert lines[-1].startswith("D.zip: 150 records read") and lines[-1].endswith("done")


def test_submit_and_revalidate_take_progress(tmp_path):
    store = f"sqlite:///{tmp_path}/disval.db"
    run = lambda *args: subprocess.run([sys.executable, "-m", "disval.core.cli", *args, "--store", store],  # noqa: E731
                                       capture_output=True, text=True)
    assert run("provider", "add", "94001234", "00", "--user", "gbg94001234").returncode == 0
    done = run("submit", str(EXAMPLE), "--progress", "--no-require-real-codelists")
    assert done.returncode == 0, done.stderr
    assert "161 records read" in done.stderr and "%" not in done.stderr.splitlines()[-1]
    again = run("revalidate", "1", "--progress", "--format", "json")
    assert again.returncode == 0 and "161 records read" in again.stderr


def test_submit_shows_the_records_written_of_each_file_while_it_imports(tmp_path):
    from disval.core.generate import generate_delivery

    store = f"sqlite:///{tmp_path}/disval.db"
    run = lambda *args: subprocess.run([sys.executable, "-m", "disval.core.cli", *map(str, args), "--store",  # noqa: E731
                                        store], capture_output=True, text=True)
    assert run("provider", "add", "94001234", "00", "--user", "gbg94001234").returncode == 0
    connect, production = (
        generate_delivery(tmp_path / phase, trajects=300, profiles=700, seed=1, phase=phase, provider="94001234",
                          branch="00", created=dt.date(2018, month, 1))
        for phase, month in (("test", 2), ("production", 3)))
    assert run("submit", connect, "--no-require-real-codelists").returncode == 0
    done = run("submit", production, "--progress", "--no-require-real-codelists")
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()  # not a terminal: plain lines
    importing = [line for line in lines if ": importing " in line]
    name = production.name
    # Each file announced when its writing starts and when it is done, parents first, after the validation.
    assert importing[0] == f"{name}: importing BEHANDELTRAJECT.txt: 0 of 300 records written (0%)"
    assert importing[-1].startswith(f"{name}: importing GELEVERD_ZORGPROFIEL.txt: 700 of 700 records written (100%")
    assert any(line.startswith(f"{name}: importing BEHANDELTRAJECT.txt: 300 of 300 records written (100%")
               for line in importing)
    assert lines.index(importing[0]) > max(i for i, line in enumerate(lines) if "records read" in line)
    assert "\r" not in done.stderr


def test_the_import_progress_in_a_log_says_each_file_at_its_start_and_end_and_in_between_every_few_seconds():
    import io

    from disval.plugins.progress import Progress

    now = [0.0]
    log = io.StringIO()
    progress = Progress(log, every=5.0, clock=lambda: now[0])
    for seconds, (file, written, total) in enumerate([("A.txt", 0, 10), ("A.txt", 10, 10), ("B.txt", 0, 300_000),
                                                      ("B.txt", 100_000, 300_000), ("B.txt", 200_000, 300_000),
                                                      ("B.txt", 300_000, 300_000)]):
        now[0] = 2.0 * seconds  # every 2 s: only a start, an end, or a line 5 s after the last is written
        progress.disval_records_imported("D.zip", file, written, total)
    assert log.getvalue().splitlines() == [
        "D.zip: importing A.txt: 0 of 10 records written (0%)",
        "D.zip: importing A.txt: 10 of 10 records written (100%, 5/s)",
        "D.zip: importing B.txt: 0 of 300,000 records written (0%)",
        "D.zip: importing B.txt: 300,000 of 300,000 records written (100%, 50,000/s)",
    ]
