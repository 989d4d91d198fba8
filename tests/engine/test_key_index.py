"""References looked up in a file's key index (issue 13): the run directory and the sorted-query search
give the verdict a set of the keys gives, also when many keys share a hash."""
from __future__ import annotations

import random

import numpy as np
import pytest

from disval.core.engine import key_index, key_values
from disval.core.engine.key_index import KeyIndex
from disval.core.engine.key_values import Chunks

WIDTH = 12


def _keys(values: list[bytes]) -> np.ndarray:
    return np.array([v.ljust(WIDTH) for v in values], dtype=f"S{WIDTH}")


def _case(seed: int, n: int):
    rng = random.Random(seed)
    known = [b"BT%08d" % rng.randrange(10**8) for _ in range(n)]
    index_keys = _keys(known)
    # The file's keys in three chunks, as batches bring them.
    cuts = (0, n // 3, n * 5 // 6, n)
    chunks = Chunks([(np.arange(a, b, dtype=np.uint32) + 1, index_keys[a:b]) for a, b in zip(cuts, cuts[1:])],
                    (WIDTH,))
    queries = [rng.choice(known) if rng.random() < 0.8 else b"BT%08d" % rng.randrange(10**8) for _ in range(2 * n)]
    queries[7] = b" " + queries[7].strip()  # a leading space: compared without it
    lines = np.arange(1, len(queries) + 1, dtype=np.uint32)
    if seed % 2:  # references that come out of line order (looked up at the end, from several columns)
        order = rng.sample(range(len(queries)), len(queries))
        lines, queries = lines[order], [queries[i] for i in order]
    return set(known), chunks, lines, _keys(queries)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("directory", [True, False])
@pytest.mark.parametrize("colliding", [False, True])
def test_missing_and_found_are_exact(seed, directory, colliding, monkeypatch):
    if not directory:  # an index too big for the run directory: searched with sorted queries
        monkeypatch.setattr(key_index, "_DIRECTORY_MOST", 0)
    if colliding:  # a hash of ten values: every key shares its hash with dozens of others
        monkeypatch.setattr(key_values, "key_hashes", lambda ks: (np.frombuffer(ks.tobytes(), np.uint8)
                                                                  .reshape(len(ks), -1)[:, 9] % 10)
                            .astype(np.uint64) << np.uint64(60))
    known, chunks, lines, queries = _case(seed, 300 if colliding else 3000)
    index = KeyIndex(chunks, WIDTH)
    assert (index.starts is not None) == directory
    is_key = np.array([q.strip() in known for q in queries.tolist()])
    for want_found, got in ((False, index.missing(lines, queries)), (True, index.found(lines, queries))):
        chosen = np.flatnonzero(is_key == want_found)
        chosen = chosen[np.argsort(lines[chosen], kind="stable")]
        assert got[0].tolist() == lines[chosen].tolist()
        assert got[1].tolist() == queries[chosen].tolist()
