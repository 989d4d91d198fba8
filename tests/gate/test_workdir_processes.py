"""Working directories between processes: a sweep in one process never removes the directory another
process is claiming or working in, and still removes a killed process's."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from disval.core import workdir

# One process that claims a working directory in ROOT, writes into it, and says whether it survived.
CLAIM = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from disval.core import workdir
    root, rounds = Path(sys.argv[1]), int(sys.argv[2])
    lost = 0
    for r in range(rounds):
        with workdir.working_directory("race", root=root) as mine:
            (mine / "copy.zip").write_bytes(b"koppelnummers")
            time.sleep(0.002)
            if not (mine / "copy.zip").exists():
                lost += 1
    print(lost)
""")


def _work_dirs(root):
    return sorted(root.glob(f"{workdir.PREFIX}*"))


def test_processes_claiming_and_sweeping_at_once_never_remove_each_others(tmp_path):
    processes, rounds = 4, 150
    started = [subprocess.Popen([sys.executable, "-c", CLAIM, str(tmp_path), str(rounds)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(processes)]
    results = [p.communicate(timeout=300) for p in started]
    for p, (out, err) in zip(started, results):
        assert p.returncode == 0, err  # a directory removed under its owner ends in an OSError
        assert out.strip() == "0", f"{out.strip()} of {rounds} directories vanished while their process worked"
    assert _work_dirs(tmp_path) == []


def test_a_killed_process_s_directory_is_removed_by_the_next_process(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import sys, time
        from disval.core import workdir
        with workdir.working_directory("gate", root=sys.argv[1]) as mine:
            (mine / "copy.zip").write_bytes(b"koppelnummers")
            print(mine, flush=True)
            time.sleep(600)
    """), str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        mine = holder.stdout.readline().strip()
        assert mine, "the holder never claimed its directory"
        assert workdir.sweep(tmp_path) == [], "a live process's directory stays"
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.communicate(timeout=60)
    assert [str(p) for p in workdir.sweep(tmp_path)] == [mine]
    assert _work_dirs(tmp_path) == []
