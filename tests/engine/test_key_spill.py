"""Keys beyond the memory budget go to disk (issue 13): same findings, nothing left behind.

The findings themselves are compared with the reference engine in
test_equivalence.py and test_family_rules.py under a budget of 0 and of a
few KB; here: what a user of the machine would notice besides the findings.
"""
from __future__ import annotations

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
