"""Keys beyond the memory budget go to disk (issue 13): same findings, nothing left behind.

The findings themselves are compared with the reference engine in
test_equivalence.py and test_family_rules.py under a budget of 0 and of a
few KB; here: what a user of the machine would notice besides the findings.
"""
from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from disval.core.engine import key_spill
from disval.core.faults import rewrite_member
from disval.core.generate import generate_delivery
from disval.core.pipeline import validate
from disval.core.workdir import PREFIX


@pytest.fixture(scope="module")
def delivery(tmp_path_factory) -> Path:
    """A generated delivery with a repeated profile, a misaligned repeat and a dangling reference."""
    clean = generate_delivery(tmp_path_factory.mktemp("clean"), trajects=300, profiles=1200, seed=7)

    def faults(lines):
        lines = list(lines)
        lines.append(lines[0])  # 3310 twice (1988)
        lines.append(b" " + lines[1][:19] + lines[1][20:])  # 3310 again, with a leading space: still a repeat
        lines[7] = lines[7][:20] + b"BT_NONE".ljust(20) + lines[7][40:]  # 3309 of no traject (1987)
        return [b"".join(lines)]

    return rewrite_member(clean, tmp_path_factory.mktemp("faulty"), "GELEVERD_ZORGPROFIEL.txt", faults)


def _spill_dirs(root: Path) -> list[Path]:
    return sorted(root.glob(f"{PREFIX}keys-*"))


def test_spilled_keys_are_removed_after_the_run_and_findings_do_not_change(delivery, tmp_path, monkeypatch):
    """Keys are koppelnummers and the like: the spill files go when the run ends."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    seen = []
    write = key_spill.Segments.write

    def watched(self, *args):
        seen.extend(_spill_dirs(tmp_path))  # while the run is on, its directory is there
        return write(self, *args)

    monkeypatch.setattr(key_spill.Segments, "write", watched)
    in_memory = validate(delivery, max_per_rule=None)
    assert not seen
    monkeypatch.setenv("DISVAL_KEY_MEMORY", "0")
    spilled = validate(delivery, max_per_rule=None)
    assert seen, "nothing was spilled"
    assert _spill_dirs(tmp_path) == []
    assert spilled.findings == in_memory.findings and spilled.counts == in_memory.counts
    assert {r: n for r, n in spilled.counts.items() if r in ("1987", "1988")} == {"1987": 1, "1988": 2}


def test_a_malformed_budget_falls_back_to_the_default(monkeypatch):
    monkeypatch.setenv("DISVAL_KEY_MEMORY", "lots")
    assert key_spill.budget_bytes() == key_spill.DEFAULT_MIB << 20
    monkeypatch.setenv("DISVAL_KEY_MEMORY", "0.5")
    assert key_spill.budget_bytes() == 1 << 19
    monkeypatch.setenv("DISVAL_KEY_MEMORY", "-3")
    assert key_spill.budget_bytes() == 0


@pytest.mark.parametrize("budget_mib", [None, "0"])
def test_hash_collisions_never_change_a_verdict(delivery, budget_mib, monkeypatch):
    """With a hash that gives every key one of four values, repeats, references and partitions all meet
    keys that share a hash: matches are confirmed on the bytes, so the findings stay the same."""
    from disval.core.engine import key_values

    honest = validate(delivery, max_per_rule=None)
    monkeypatch.setattr(key_values, "key_hashes", lambda ks: (np.frombuffer(ks.tobytes(), np.uint8)
                                                              .reshape(len(ks), -1)[:, -1] % 4).astype(np.uint64)
                        << np.uint64(62))
    if budget_mib is not None:
        monkeypatch.setenv("DISVAL_KEY_MEMORY", budget_mib)
    colliding = validate(delivery, max_per_rule=None)
    assert colliding.findings == honest.findings and colliding.counts == honest.counts


def _refuse_writes_after(monkeypatch, allowed: int) -> None:
    """Writes of spilled keys fail as on a full disk once `allowed` of them have gone through."""
    done = []
    real = key_spill.KeyMemory.new_file

    def new_file(self):
        path = real(self)
        if len(done) >= allowed:
            # A directory stands where the file would go, so opening it fails; the error is what a
            # full disk gives.
            def full(*args, **kwargs):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
            monkeypatch.setattr(key_spill, "open", full, raising=False)
        done.append(path)
        return path

    monkeypatch.setattr(key_spill.KeyMemory, "new_file", new_file)


def test_a_full_disk_while_keys_spill_is_a_located_error_and_leaves_nothing_behind(delivery, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("DISVAL_KEY_MEMORY", "0")
    _refuse_writes_after(monkeypatch, allowed=1)
    with pytest.raises(key_spill.SpillFailed) as caught:
        validate(delivery, max_per_rule=None)
    message = str(caught.value)
    # whose keys, which file, how many bytes, the room left, and what to do
    assert ".txt (" in message and str(tmp_path) in message and ".keys" in message
    assert "No space left on device" in message and "free there" in message
    assert "bytes" in message or "MiB" in message
    assert "DISVAL_KEY_MEMORY" in message and "TMPDIR" in message
    assert caught.value.errno == errno.ENOSPC and caught.value.needed > 0
    assert _spill_dirs(tmp_path) == []  # the keys written before the disk filled are gone too


def _tiny_tmpfs(path: Path) -> bool:
    """Mount a 64 KiB tmpfs at `path` (root only, and where the container allows it)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("mount"):
        return False
    path.mkdir()
    return subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def test_a_really_full_disk_gives_one_line_from_the_command_line(tmp_path):
    """On a real 64 KiB file system: `disval validate` says what happened in one line, exit code 2."""
    small = tmp_path / "small"
    if not _tiny_tmpfs(small):
        pytest.skip("needs root and a mountable tmpfs to fill a real disk")
    try:
        big = generate_delivery(tmp_path / "big", trajects=5000, profiles=20000, seed=3)
        env = {**os.environ, "TMPDIR": str(small), "DISVAL_KEY_MEMORY": "0", "DISVAL_CACHE_DIR": "none"}
        run = subprocess.run([sys.executable, "-m", "disval.core.cli", "validate", str(big), "--no-progress"],
                             capture_output=True, text=True, env=env)
        assert run.returncode == 2, run.stderr
        assert "Traceback" not in run.stderr
        lines = [line for line in run.stderr.splitlines() if "cannot put the remembered keys" in line]
        assert len(lines) == 1 and str(small) in lines[0] and "No space left on device" in lines[0]
        assert not list(small.glob(f"{PREFIX}keys-*/*.keys"))  # what was written is removed again
    finally:
        subprocess.run(["umount", str(small)], capture_output=True)
