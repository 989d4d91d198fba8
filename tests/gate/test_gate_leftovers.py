"""Issue 11, point 8: what a kill leaves behind, a full disk under --output-dir, names that are no names."""
from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import threading
import time

import pytest

from disval.core.gate import kept_reports as gate_module  # where the kept reports are written out
from disval.core import workdir
from disval.core.cli import main
from disval.core.gate.process import write_stored_reports
from gate_support import AGB, BRANCH, DISVAL, OTHER_AGB, delivery, disval, outcome_json, register


def _work_dirs(root):
    return sorted(root.glob(f"{workdir.PREFIX}*"))


def test_a_killed_submit_leaves_no_copy_of_the_delivery_behind(store, store_url, tmp_path):
    register(store)
    register(store, OTHER_AGB)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    paused = tmp_path / "paused"  # the gate holds here once its copy of the zip is on disk (workdir.pause_point)
    env = {**os.environ, "DISVAL_STORE": store_url, "TMPDIR": str(tmp),
           workdir.PAUSE_AT: f"gate-working-copy={paused}"}
    big = delivery(tmp_path, "test", "20180201", trajects=300, profiles=300)
    process = subprocess.Popen([*DISVAL, "submit", str(big)], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300  # the machine may be busy
    while not paused.exists():
        assert process.poll() is None, f"it ended before it could be killed: {process.communicate()}"
        assert time.monotonic() < deadline, "the gate never reached its working copy"
        time.sleep(0.01)
    assert [p.name for d in _work_dirs(tmp) for p in d.glob("*.zip")] == [big.name]  # the copy, while it works
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)
    left = _work_dirs(tmp)
    assert len(left) == 1, left
    left = left[0]
    assert list(left.glob("*.zip")), "the kill left the copy of the zip behind (as it used to, for good)"

    env.pop(workdir.PAUSE_AT)
    done = subprocess.run([*DISVAL, "submit", str(delivery(tmp_path, "test", "20180201", agb=OTHER_AGB))],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert _work_dirs(tmp) == [], "the next submit removes what the killed one left"


def test_a_live_process_keeps_its_working_directory(tmp_path):
    with workdir.working_directory("gate", root=tmp_path) as mine:
        (mine / "copy.zip").write_bytes(b"koppelnummers")
        assert workdir.sweep(tmp_path) == [] and (mine / "copy.zip").exists()
    assert not mine.exists()


def test_submit_on_a_full_disk_prints_the_outcome_and_keeps_the_reports(store, store_url, tmp_path, monkeypatch,
                                                                        capsys):
    register(store)

    def full_disk(path, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(gate_module, "write_atomically", full_disk)
    out = tmp_path / "out"
    code = main(["submit", "--store", store_url, "--format", "json", "--output-dir", str(out),
                 str(delivery(tmp_path, "test", "20180201"))])
    captured = capsys.readouterr()
    doc = json.loads(captured.out)  # the outcome is printed, as for any submit
    assert code == 0 and doc["delivery"]["status"] == "accepted"  # the delivery's own exit code: it was processed
    assert doc["reports"] and all(r["path"] is None and "No space left" in r["error"] for r in doc["reports"].values())
    assert "No space left on device" in captured.err and f"disval report {doc['delivery']['id']}" in captured.err
    assert "Traceback" not in captured.err
    monkeypatch.undo()
    assert main(["report", "--store", store_url, str(doc["delivery"]["id"]), "--output-dir", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(doc["reports"])


def test_a_zip_name_that_is_not_utf8_is_rejected_as_a_bad_name(store, store_url, tmp_path):
    register(store)
    good = delivery(tmp_path, "test", "20180201")
    bad = tmp_path / os.fsdecode(b"DIS_GBG_OHW_TEST_010_94001234_00_20180201_\xff\xfe.zip")
    bad.write_bytes(good.read_bytes())
    done = disval("submit", "--format", "json", bad, store_url=store_url)
    assert done.returncode == 1, done.stderr  # it used to be 2, "could not run"
    doc = outcome_json(done)
    assert doc["receipt"]["reasons"][0]["rule"] == "ZIP-NAME"
    assert doc["delivery"]["name"] == "DIS_GBG_OHW_TEST_010_94001234_00_20180201_\ufffd\ufffd.zip"


@pytest.mark.parametrize("length", [240, 300])
def test_reports_of_a_very_long_name_are_written_under_a_shortened_name(store, tmp_path, length):
    stem = "DIS_GBG_OHW_PROD_" + "9" * length
    names = [f"{stem}.json", f"{stem}.import.json"]
    reports = {name: store.put_blob(name.encode()) for name in names}
    paths = write_stored_reports(store, reports, tmp_path / "out")
    assert [p.read_bytes() for p in paths] == [n.encode() for n in names]
    assert [p.name.endswith(end) for p, end in zip(paths, [".json", ".import.json"])] == [True, True]  # what it is
    assert all(len(os.fsencode(p.name)) <= workdir.NAME_MAX for p in paths)


def test_a_submit_that_fails_to_write_reports_keeps_the_exit_code_of_the_rejection(store, store_url, tmp_path,
                                                                                    monkeypatch, capsys):
    register(store, AGB, BRANCH, user="someone-else")  # rule 1819: validated, then assessed negative
    monkeypatch.setattr(gate_module, "write_atomically",
                        lambda path, data: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device")))
    code = main(["submit", "--store", store_url, "--output-dir", str(tmp_path / "out"),
                 str(delivery(tmp_path, "test", "20180201"))])
    captured = capsys.readouterr()
    assert code == 1 and "assessed negative" in captured.out and "were not written" in captured.err


def test_threads_opening_working_directories_at_once_never_remove_each_others(tmp_path):
    """Issue 14: the portal opens one per upload, from many threads. A sweep in one thread used to
    take the lock of a directory another thread had just created but not locked yet, and remove it
    under its creator: that upload was answered 500 and not kept."""
    threads, rounds = 16, 60
    start = threading.Barrier(threads)
    failures: list[str] = []

    def work(n: int) -> None:
        for r in range(rounds):
            try:
                start.wait(timeout=60)  # all at once, every round: the race is in the first milliseconds
                with workdir.working_directory("upload", root=tmp_path) as mine:
                    (mine / "upload.zip").write_bytes(b"%d/%d" % (n, r))
                    time.sleep(0.001)
                    if (mine / "upload.zip").read_bytes() != b"%d/%d" % (n, r):
                        failures.append(f"thread {n} round {r}: its copy changed")
            except Exception as exc:  # what the portal answered 500 for
                failures.append(f"thread {n} round {r}: {type(exc).__name__}: {exc}")

    pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=300)
    assert failures == [], f"{len(failures)} of {threads * rounds} failed, e.g. {failures[:3]}"
    assert _work_dirs(tmp_path) == [], "every directory is removed when its block ends"



def _open_for_a_while(root: str, seconds: float, results) -> None:
    """One process of the test below: open working directories one after another for `seconds`."""
    opened, failed = 0, []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        opened += 1
        try:
            with workdir.working_directory("gate", root=root) as mine:
                (mine / "copy.zip").write_bytes(b"koppelnummers")
                if (mine / "copy.zip").read_bytes() != b"koppelnummers":
                    failed.append("its copy changed")
        except Exception as exc:  # what made a worker's delivery end `failed` (FileNotFoundError: .owner)
            failed.append(f"{type(exc).__name__}: {exc}")
    results.put((opened, failed))


def test_processes_opening_working_directories_at_once_never_remove_each_others(tmp_path):
    """Issue 15: several `disval worker`s on one machine share its temporary directory. A sweep in one
    process took the lock of a directory another process had just created the lock file of but not
    locked yet, and removed it under its creator: that delivery ended `failed` (seen in the worker
    benchmark). A race: before the fix, this caught it in about one run of two (1-2 of ~1,400)."""
    import multiprocessing

    context = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
    results = context.Queue()
    pool = [context.Process(target=_open_for_a_while, args=(str(tmp_path), 3.0, results)) for _ in range(8)]
    for p in pool:
        p.start()
    got = [results.get(timeout=120) for _ in pool]
    for p in pool:
        p.join(timeout=60)
    opened, failed = sum(n for n, _ in got), [f for _, fs in got for f in fs]
    assert opened > len(pool)
    assert failed == [], f"{len(failed)} of {opened} failed, e.g. {failed[:3]}"
    assert _work_dirs(tmp_path) == [], "every directory is removed when its block ends"
