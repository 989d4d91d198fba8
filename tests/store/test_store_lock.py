"""lock_provider: one process at a time per provider, other providers in parallel (GA §4.3.1)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from disval.core.store.schema import MIGRATIONS
from store_support import AGB, BRANCH, USER, open_url

WORKER = Path(__file__).with_name("store_support.py")


def _hold(url, agb, branch, seconds):
    return subprocess.Popen(
        [sys.executable, str(WORKER), "hold", url, agb, branch, str(seconds)], stdout=subprocess.PIPE, text=True
    )


def _wait_for(process, word):
    """Read the worker's lines until `word`; its timestamp."""
    for line in process.stdout:
        what, when = line.split()
        if what == word:
            return float(when)
    raise AssertionError(f"worker ended before {word!r}")


def _times(process):
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 0
    return {line.split()[0]: float(line.split()[1]) for line in out.splitlines()}


def test_two_processes_for_the_same_provider_take_turns(store_url):
    open_url(store_url).close()  # created before the race, so the workers only lock
    first = _hold(store_url, AGB, BRANCH, 1.5)
    first_in = _wait_for(first, "enter")
    second = _hold(store_url, AGB, BRANCH, 0)
    second_times = _times(second)
    first_out = _wait_for(first, "exit")
    first.communicate(timeout=60)
    assert second_times["ready"] < first_out  # it was waiting while the first held the lock ...
    assert second_times["enter"] >= first_out  # ... and got in only after it let go
    assert first_in < first_out


def test_a_different_provider_is_not_blocked(store_url):
    open_url(store_url).close()
    first = _hold(store_url, AGB, BRANCH, 8)
    _wait_for(first, "enter")
    other = _times(_hold(store_url, "03001234", BRANCH, 0))
    same_agb_other_branch = _times(_hold(store_url, AGB, "01", 0))
    first_out = _wait_for(first, "exit")
    first.communicate(timeout=60)
    assert other["exit"] < first_out
    assert same_agb_other_branch["exit"] < first_out


def test_a_killed_holder_releases_the_lock(store_url):
    open_url(store_url).close()
    holder = _hold(store_url, AGB, BRANCH, 120)
    _wait_for(holder, "enter")
    holder.kill()
    holder.wait(timeout=60)
    store = open_url(store_url)
    try:
        with store.lock_provider(AGB, BRANCH):  # would hang if the dead process still held it
            pass
    finally:
        store.close()


def test_processes_opening_a_new_store_at_once_create_it_once(store_url):
    workers = [_hold(store_url, f"9400000{n}", BRANCH, 0) for n in range(4)]
    for worker in workers:
        _times(worker)
    store = open_url(store_url)
    try:
        assert store.schema_version() == len(MIGRATIONS)
        assert store._exec("SELECT COUNT(*) FROM schema_version").fetchone()[0] == len(MIGRATIONS)
    finally:
        store.close()


def test_a_process_that_waits_for_a_provider_says_so_and_for_whom(store_url):
    open_url(store_url).close()
    first = _hold(store_url, AGB, BRANCH, 2)
    _wait_for(first, "enter")
    second = subprocess.Popen([sys.executable, str(WORKER), "hold", store_url, AGB, BRANCH, "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err = second.communicate(timeout=120)
    first.communicate(timeout=60)
    assert second.returncode == 0
    assert f"waiting for provider {AGB} {BRANCH}: " in err and "is processing its deliveries" in err
    assert f"{first.pid}" in err  # the process (SQLite) or the disval session (PostgreSQL) holding it


def test_a_write_to_a_locked_sqlite_store_says_it_waits_and_for_whom(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/s.db"
    open_url(url).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys, time\n"
         f"c = sqlite3.connect({str(tmp_path / 's.db')!r}, isolation_level=None)\n"
         "c.execute('BEGIN IMMEDIATE'); print('held', flush=True); time.sleep(2.5); c.execute('COMMIT')"],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    store = open_url(url)
    try:
        store.add_provider(AGB, BRANCH, USER)  # waits for the holder, then writes
        assert store.provider(AGB, BRANCH) is not None
    finally:
        store.close()
    holder.communicate(timeout=60)
    err = capsys.readouterr().err
    assert f"waiting for the SQLite store {tmp_path / 's.db'}: process {holder.pid} (" in err
    assert "is writing to it" in err
